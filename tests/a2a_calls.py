"""Plain A2A v1.0 JSON-RPC calls over httpx, for agents served in their own processes."""

from __future__ import annotations

import time
from typing import Any

import httpx

V1 = {"A2A-Version": "1.0"}


def _reply(
    url: str,
    method: str,
    params: dict[str, Any],
    *,
    secret: str | None,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    headers = {**V1, **({"Authorization": f"Bearer {secret}"} if secret else {}), **(headers or {})}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply: dict[str, Any] = httpx.post(url + "/", json=body, headers=headers, timeout=timeout).json()
    return reply


def call(
    url: str,
    method: str,
    params: dict[str, Any],
    *,
    secret: str | None = None,
    timeout: float = 30,
    headers: dict[str, str] | None = None,
) -> Any:
    """The ``result`` of one call; raises AssertionError carrying the error when there is one."""
    reply = _reply(url, method, params, secret=secret, timeout=timeout, headers=headers)
    assert "error" not in reply, reply["error"]
    return reply["result"]


def stream_events(
    url: str,
    message: dict[str, Any],
    *,
    timeout: float = 60,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every event of one SendStreamingMessage, as the ``result`` of each server-sent event."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendStreamingMessage", "params": {"message": message}}
    sent = {"Accept": "text/event-stream", **({"Authorization": f"Bearer {secret}"} if secret else {})}
    headers = {**V1, **sent, **(headers or {})}
    events = []
    with httpx.stream("POST", url + "/", json=body, headers=headers, timeout=timeout) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(httpx.Response(200, content=line[5:]).json()["result"])
    return events


def subscribe_events(url: str, task_id: str, *, timeout: float = 60, secret: str | None = None) -> list[dict[str, Any]]:
    """Every event of one SubscribeToTask, as the ``result`` of each server-sent event."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "SubscribeToTask", "params": {"id": task_id}}
    headers = {**V1, "Accept": "text/event-stream", **({"Authorization": f"Bearer {secret}"} if secret else {})}
    events = []
    with httpx.stream("POST", url + "/", json=body, headers=headers, timeout=timeout) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(httpx.Response(200, content=line[5:]).json()["result"])
    return events


def error_of(url: str, method: str, params: dict[str, Any], *, secret: str | None = None) -> dict[str, Any]:
    reply = _reply(url, method, params, secret=secret, timeout=30)
    assert "error" in reply, reply
    error: dict[str, Any] = reply["error"]
    return error


def message(text: str) -> dict[str, Any]:
    return {"messageId": f"m-{time.monotonic_ns()}", "role": "ROLE_USER", "parts": [{"text": text}]}


def data_message(data: dict[str, Any]) -> dict[str, Any]:
    return {"messageId": f"m-{time.monotonic_ns()}", "role": "ROLE_USER", "parts": [{"data": data}]}


def start_task(url: str, text: str, *, secret: str | None = None) -> str:
    """Start a task without waiting for it; its id."""
    result = call(url, "SendMessage", {"message": message(text), "configuration": {"returnImmediately": True}},
                  secret=secret)  # fmt: skip
    task_id: str = result["task"]["id"]
    return task_id


def run_task(url: str, text: str, *, secret: str | None = None) -> dict[str, Any]:
    """Send a task and wait for its end; the task."""
    task: dict[str, Any] = call(url, "SendMessage", {"message": message(text)}, secret=secret)["task"]
    return task


def get_task(url: str, task_id: str, *, secret: str | None = None) -> dict[str, Any]:
    task: dict[str, Any] = call(url, "GetTask", {"id": task_id}, secret=secret)
    return task


def state(task: dict[str, Any]) -> str:
    return str(task["status"]["state"]).removeprefix("TASK_STATE_").lower()


def wait_for_state(url: str, task_id: str, states: set[str], *, timeout: float, secret: str | None = None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = get_task(url, task_id, secret=secret)
        if state(task) in states or time.monotonic() > deadline:
            return task
        time.sleep(0.1)
