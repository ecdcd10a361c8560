"""A caller's mistake, on every binding and both protocol versions: a 4xx or -326xx naming it, one log line.

Each case checks the answer (status or JSON-RPC code, and the words that name
the field or header) and the server's log: nothing at ERROR, no traceback,
and at most one line, which names the request when the bridge wrote it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from agents import EchoAgent
from sdk import SECRET

from a2a_bridge import to_a2a

AUTH = {"Authorization": f"Bearer {SECRET}"}
V1 = {**AUTH, "A2A-Version": "1.0"}


def v03_message(**fields: Any) -> dict[str, Any]:
    return {"kind": "message", "messageId": str(uuid.uuid4()), "role": "user", **fields}


def v03_call(method: str, params: Any, **envelope: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 7, "method": method, "params": params, **envelope}


def v1_message(**fields: Any) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", **fields}


def v1_call(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": "r-1", "method": method, "params": params}


BAD_FILE = [{"kind": "file", "file": {"bytes": "@@@not-base64", "mimeType": "text/plain"}}]
QUERY = [{"kind": "data", "data": {"query": "q"}}]


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 200
    code: int | None = None  # the JSON-RPC error code, when the binding is JSON-RPC
    says: tuple[str, ...] = ()
    logged_by_bridge: bool = False  # then exactly one line, naming the request
    raw: bool = field(default=False)


CASES = [
    Case(
        "v0.3 JSON-RPC file part with bad base64", "/", AUTH,
        v03_call("message/send", {"message": v03_message(parts=BAD_FILE)}),
        code=-32602, says=("params.message.parts[0].file.bytes", "not valid base64"), logged_by_bridge=True,
    ),
    Case(
        "v0.3 JSON-RPC stream with bad base64", "/", AUTH,
        v03_call("message/stream", {"message": v03_message(parts=BAD_FILE)}),
        code=-32602, says=("params.message.parts[0].file.bytes",), logged_by_bridge=True,
    ),
    Case(
        "v0.3 JSON-RPC unknown role", "/", AUTH,
        v03_call("message/send", {"message": v03_message(role="boss", parts=QUERY)}),
        code=-32602, says=("params.message.role", "'boss' is not a valid value", "'agent' or 'user'"),
        logged_by_bridge=True,
    ),
    Case(
        "v0.3 JSON-RPC message without parts", "/", AUTH,
        v03_call("message/send", {"message": v03_message()}),
        code=-32602, says=("params.message.parts: required field is missing",), logged_by_bridge=True,
    ),
    Case(
        "v0.3 JSON-RPC unknown part kind", "/", AUTH,
        v03_call("message/send", {"message": v03_message(parts=[{"kind": "txt", "text": "x"}])}),
        code=-32602, says=("params.message.parts[0].kind", "'text', 'file', 'data'"), logged_by_bridge=True,
    ),
    Case(
        "v0.3 JSON-RPC tasks/get without an id", "/", AUTH, v03_call("tasks/get", {}),
        code=-32602, says=("params.id: required field is missing",), logged_by_bridge=True,
    ),
    Case(
        "JSON-RPC without jsonrpc 2.0", "/", AUTH, {"id": 1, "method": "message/send", "params": {}},
        code=-32600, says=('jsonrpc: must be exactly "2.0"',), logged_by_bridge=True,
    ),
    Case(
        "JSON-RPC params that are not an object", "/", V1, v1_call("GetTask", [1, 2]),
        code=-32602, says=("params: must be an object",), logged_by_bridge=True,
    ),
    Case(
        "JSON-RPC id of the wrong type", "/", V1, {"jsonrpc": "2.0", "id": [1], "method": "GetTask", "params": {}},
        code=-32600, says=("id: must be a string, an integer or null",), logged_by_bridge=True,
    ),
    Case(
        "v1.0 JSON-RPC params of the wrong type", "/", V1, v1_call("GetTask", {"id": "t", "historyLength": "ten"}),
        code=-32602, says=("historyLength",), logged_by_bridge=True,
    ),
    Case(
        "v1.0 JSON-RPC SendMessage whose message is a string", "/", V1, v1_call("SendMessage", {"message": "hi"}),
        code=-32602, says=("message",), logged_by_bridge=True,
    ),
    Case(
        "v1.0 JSON-RPC input that fails the schema", "/", V1,
        v1_call("SendMessage", {"message": v1_message(parts=[{"data": {"query": 3}}])}),
        code=-32602, says=("input.query", "3 is not of type 'string'"), logged_by_bridge=True,
    ),
    Case(
        "JSON-RPC A2A-Version the server does not speak", "/", {**AUTH, "A2A-Version": "9.9"},
        v1_call("GetTask", {"id": "t"}),
        code=-32009, says=("A2A-Version '9.9' is not supported", "A2A-Version: 1.0"), logged_by_bridge=True,
    ),
    Case(
        "v1.0 method without the A2A-Version header", "/", AUTH, v1_call("SendMessage", {"message": v1_message()}),
        code=-32009, says=("the A2A-Version header is missing", "'message/send'"), logged_by_bridge=True,
    ),
    Case("JSON-RPC malformed JSON", "/", V1, b'{"jsonrpc": "2.0",', code=-32700, raw=True),
    Case("v0.3 JSON-RPC malformed JSON", "/", AUTH, b"{not json", code=-32700, raw=True),
    Case("JSON-RPC unknown method", "/", V1, v1_call("NoSuchMethod", {}), code=-32601, says=("Method not found",)),
    Case("v0.3 JSON-RPC unknown task", "/", AUTH, v03_call("tasks/get", {"id": "nope"}), code=-32001),
    Case(
        "HTTP+JSON A2A-Version the server does not speak", "/message:send", {**AUTH, "A2A-Version": "2.0"},
        {"message": v1_message(parts=[{"text": "x"}])},
        status=400, says=("A2A-Version '2.0' is not supported",), logged_by_bridge=True,
    ),
    Case(
        "HTTP+JSON unknown role", "/message:send", V1, {"message": v1_message(role="ROLE_BOSS", parts=QUERY)},
        status=400, says=("message.role",),
    ),
    Case(
        "HTTP+JSON input that fails the schema", "/message:send", V1,
        {"message": v1_message(parts=[{"data": {"colour": "red"}}])},
        status=400, says=("input.colour: unexpected field",),
    ),
    Case("HTTP+JSON malformed JSON", "/message:send", V1, b"{", status=400, says=("JSON",), raw=True),
    Case("HTTP+JSON unknown task", "/tasks/nope", V1, None, status=404, says=("Task not found",)),
    Case(
        "v0.3 HTTP+JSON message without parts", "/v1/message:send", AUTH, {"message": v03_message()},
        status=400, says=("message.parts",),
    ),
    Case(
        "/tasks/send without task_id", "/tasks/send", AUTH, {"input": {"query": "q"}},
        status=400, says=("task_id: required",), logged_by_bridge=True,
    ),
    Case(
        "/tasks/send input that fails the schema", "/tasks/send", AUTH, {"task_id": "t", "input": {"query": 5}},
        status=400, says=("input.query",), logged_by_bridge=True,
    ),
    Case(
        "/tasks/send answer to an unknown task", "/tasks/send", AUTH,
        {"task_id": "t", "input": {"query": "q"}, "context": {"a2a_task_id": "nope"}},
        status=404, says=("no task 'nope' to answer",), logged_by_bridge=True,
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def server():
    from a2a_bridge.testing import LiveServer

    agent = EchoAgent()
    with LiveServer(to_a2a(agent, secrets={"orchestrator": SECRET})) as live:
        yield agent, live


def _send(client: httpx.Client, case: Case) -> httpx.Response:
    if case.body is None:
        return client.get(case.path, headers=case.headers)
    if case.raw:
        return client.post(case.path, content=case.body, headers={**case.headers, "Content-Type": "application/json"})
    return client.post(case.path, json=case.body, headers=case.headers)


def _error_of(response: httpx.Response) -> dict[str, Any]:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        first = next(line for line in response.text.splitlines() if line.startswith("data:"))
        return httpx.Response(200, content=first[5:]).json()["error"]
    body = response.json()
    return body.get("error") or body


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_callers_mistake_is_named_and_logged_once_below_error(server, case, caplog):
    agent, live = server
    turns_before = len(agent.turns)
    caplog.set_level(logging.INFO)
    with httpx.Client(base_url=live.url, timeout=10) as client:
        response = _send(client, case)

    assert response.status_code == case.status, response.text
    error = _error_of(response)
    if case.code is not None:
        assert error["code"] == case.code, error
    text = f"{response.text} {error.get('message', '')}"
    for words in case.says:
        assert words in text, f"{words!r} not in {text}"
    assert "Traceback" not in text
    assert 'File "' not in text
    assert len(agent.turns) == turns_before, "the agent was called"

    lines = [r for r in caplog.records if r.name.startswith("a2a") and r.levelno >= logging.INFO]
    assert [r for r in lines if r.levelno >= logging.ERROR] == [], [r.getMessage() for r in lines]
    assert [r for r in lines if r.exc_info] == []
    assert len(lines) <= 1, [r.getMessage() for r in lines]
    if case.logged_by_bridge:
        [line] = lines
        assert line.levelno == logging.WARNING
        assert line.name == "a2a_bridge.requests"
        assert ("request id" in line.getMessage()) or (case.path in line.getMessage())


def test_a_v03_client_gets_its_errors_in_v03_shape(server):
    _, live = server
    body = v03_call("message/send", {"message": v03_message(parts=BAD_FILE)})
    answer = httpx.post(live.url + "/", json=body, headers=AUTH).json()
    assert answer["id"] == 7
    assert answer["error"]["data"] == {
        "errors": [{"field": "params.message.parts[0].file.bytes", "message": "not valid base64"}]
    }


def test_good_base64_still_reaches_the_agent(server):
    agent, live = server
    parts = [{"kind": "file", "file": {"bytes": "aGVsbG8=", "mimeType": "text/plain"}}, *QUERY]
    body = v03_call("message/send", {"message": v03_message(parts=parts)})
    answer = httpx.post(live.url + "/", json=body, headers=AUTH).json()
    assert answer["result"]["status"]["state"] == "completed", answer
    assert agent.turns[-1].files[0].content == b"hello"
