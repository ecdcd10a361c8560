"""Prometheus ``/metrics`` on a served agent, and on a queue worker's health port.

Real servers on loopback, real model calls to the scripted backend; the text is
read with ``prometheus_client``'s own parser.
"""

from __future__ import annotations

import asyncio

import graphs
import httpx
from a2a_calls import V1
from agents import CrashingAgent, SlowAgent
from prometheus_client.parser import text_string_to_metric_families
from sdk import SECRET

from a2a_bridge import Backend, to_a2a
from a2a_bridge.server.observers.agent_metrics import error_kind

AUTH = {"Authorization": f"Bearer {SECRET}"}


def samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(url + "/metrics", headers=AUTH, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def send(url: str, text: str, *, method: str = "SendMessage", params: dict | None = None) -> dict:
    message = {"role": "ROLE_USER", "messageId": f"m-{text}", "parts": [{"text": text}]}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {"message": message}}
    return httpx.post(url + "/", json=body, headers={**V1, **AUTH}, timeout=30).json()


def test_a_graph_reports_calls_turns_tokens_by_model_and_errors_by_kind(live_server, scripted_backend):
    chat = Backend(scripted_backend.base_url, model="scripted-model").chat_model()
    server = live_server(to_a2a(graphs.chat_graph(chat, name="metered"), secrets={"orchestrator": SECRET}))
    scripted_backend.reply("A100 spot costs $0.82/hr")
    scripted_backend.reply("H200 costs $3.70/hr")

    assert httpx.get(server.url + "/metrics", timeout=10).status_code == 401, "protected like the other routes"
    tasks = [send(server.url, "What does an A100 cost?"), send(server.url, "And an H200?")]
    usages = [t["result"]["task"]["metadata"]["usage"] for t in tasks]
    missing = send(server.url, "", method="GetTask", params={"id": "no-such-task"})
    assert missing["error"]["code"] == -32001

    found = samples(server.url)
    agent = {"agent": "metered"}
    assert value(found, "a2a_bridge_call_duration_seconds_count", **agent, method="SendMessage") == 2
    assert value(found, "a2a_bridge_call_duration_seconds_count", **agent, method="GetTask") == 1
    assert value(found, "a2a_bridge_task_states_total", **agent, state="completed") == 2
    assert value(found, "a2a_bridge_turns_in_flight", **agent) == 0
    assert value(found, "a2a_bridge_turn_duration_seconds_count", **agent) == 2
    assert {u["model"] for u in usages} == {"scripted-model"}, "the model the backend answered as"
    prompt = sum(u["promptTokens"] for u in usages)
    completion = sum(u["completionTokens"] for u in usages)
    assert value(found, "a2a_bridge_tokens_total", **agent, model="scripted-model", kind="input") == prompt > 0
    assert value(found, "a2a_bridge_tokens_total", **agent, model="scripted-model", kind="output") == completion > 0
    assert value(found, "a2a_bridge_errors_total", **agent, kind="task_not_found") == 1
    assert value(found, "a2a_bridge_errors_total", **agent, kind="agent_failed") == 0


async def test_a_failing_runner_and_a_running_turn_show_in_the_metrics(live_server):
    slow = SlowAgent()
    crashing = live_server(to_a2a(CrashingAgent(), name="crashing", secrets={"orchestrator": SECRET}))
    running = live_server(to_a2a(slow, name="slow", secrets={"orchestrator": SECRET}))

    failed = await asyncio.to_thread(send, crashing.url, "fail please")
    assert failed["result"]["task"]["status"]["state"] == "TASK_STATE_FAILED"
    found = await asyncio.to_thread(samples, crashing.url)
    assert value(found, "a2a_bridge_task_states_total", agent="crashing", state="failed") == 1
    assert value(found, "a2a_bridge_errors_total", agent="crashing", kind="agent_failed") == 1

    params = {"message": {"role": "ROLE_USER", "messageId": "m-slow", "parts": [{"text": "go"}]},
              "configuration": {"returnImmediately": True}}  # fmt: skip
    task = (await asyncio.to_thread(send, running.url, "go", params=params))["result"]["task"]
    await asyncio.to_thread(slow.started.wait, 10)
    found = await asyncio.to_thread(samples, running.url)
    assert value(found, "a2a_bridge_turns_in_flight", agent="slow") == 1
    cancel = await asyncio.to_thread(send, running.url, "", method="CancelTask", params={"id": task["id"]})
    assert cancel["result"]["status"]["state"] == "TASK_STATE_CANCELED"
    for _ in range(50):
        found = await asyncio.to_thread(samples, running.url)
        if value(found, "a2a_bridge_turns_in_flight", agent="slow") == 0:
            break
        await asyncio.sleep(0.1)
    assert value(found, "a2a_bridge_turns_in_flight", agent="slow") == 0
    assert value(found, "a2a_bridge_task_states_total", agent="slow", state="canceled") == 1


def test_error_kinds_are_named_after_the_a2a_error():
    from a2a.utils.errors import InvalidParamsError, TaskNotCancelableError

    assert error_kind(InvalidParamsError()) == "invalid_params"
    assert error_kind(TaskNotCancelableError()) == "task_not_cancelable"
    assert error_kind(ValueError("x")) == "internal"
