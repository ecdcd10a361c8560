"""The tutorial's simplified ``POST /tasks/send`` and its own client code."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest
import tutorial_orchestrator
from a2a.types import GetTaskRequest, TaskState
from agents import EchoAgent, LLMWorker
from sdk import sdk_client

from a2a_bridge import Done, NeedsInput, TextDelta, to_a2a
from a2a_bridge.server.bindings.tutorial_schema import TASKS_SEND_EXTENSION
from a2a_bridge.testing import ScriptedBackend

TUTORIAL_SECRET = "your-agent-shared-secret"
PLANNER_MODEL = "meta-llama/Llama-3.3-70B-Instruct"
WORKER_MODEL = "Qwen/Qwen2.5-14B-Instruct"


def test_tasks_send_returns_the_tutorial_result_shape(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, secrets={"orchestrator": TUTORIAL_SECRET}))

    result = httpx.post(
        f"{server.url}/tasks/send",
        headers={
            "Authorization": f"Bearer {TUTORIAL_SECRET}",
            "X-Trace-ID": "trace-abc",
            "X-Parent-Task-ID": "orch-2a3b",
        },
        json={"task_id": "orch-2a3b-step-1", "input": {"query": "GPU pricing", "max_sources": 3}, "context": {}},
        timeout=10,
    ).json()

    assert result["task_id"] == "orch-2a3b-step-1"
    assert result["status"] == "completed"
    assert result["output"] == {"summary": "GPU PRICING", "sources": ["echo://"]}
    assert result["usage"]["total_tokens"] == 5
    turn = agent.turns[0]
    assert turn.data == {"query": "GPU pricing", "max_sources": 3}
    assert turn.trace.trace_id == "trace-abc"
    assert turn.trace.parent_task_id == "orch-2a3b"
    assert turn.metadata["task_id"] == "orch-2a3b-step-1"


async def test_tasks_send_task_is_fetchable_over_a2a(live_server):
    server = live_server(to_a2a(EchoAgent()))
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.url}/tasks/send", json={"task_id": "t-9", "input": {"query": "hi"}})
    result = response.json()
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)

    task = await client.get_task(GetTaskRequest(id=result["a2a_task_id"]))

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert task.context_id == result["context_id"]


def test_traceparent_is_carried_to_the_runner(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent))
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    httpx.post(
        f"{server.url}/tasks/send",
        headers={"traceparent": traceparent},
        json={"task_id": "t", "input": {"query": "q"}},
    )
    assert agent.turns[0].trace.traceparent == traceparent
    assert agent.turns[0].trace.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def mesh(live_server, monkeypatch):
    """Two workers on the tutorial's secret, and a scripted planner, wired into the tutorial's module."""
    with ScriptedBackend(model=PLANNER_MODEL) as planner, ScriptedBackend(model=WORKER_MODEL) as worker_llm:
        hosts = {}
        for name in ("research-worker", "synthesis-worker"):
            worker = LLMWorker(base_url=worker_llm.base_url, model=WORKER_MODEL)
            app = to_a2a(worker, name=name, description=f"{name} agent", secrets={"orchestrator": TUTORIAL_SECRET})
            hosts[name] = live_server(app).url
        monkeypatch.setattr(tutorial_orchestrator, "WORKER_HOSTS", hosts)
        monkeypatch.setattr(tutorial_orchestrator, "ORCHESTRATOR_VLLM", planner.base_url)
        yield planner, worker_llm


async def test_the_tutorials_own_orchestrator_runs_against_bridged_workers(mesh):
    planner, worker_llm = mesh
    plan = [
        {"worker": "research-worker", "query": "GPU cloud pricing trends 2026"},
        {"worker": "synthesis-worker", "query": "Summarise the pricing findings"},
    ]
    planner.reply("Here is the plan: " + json.dumps(plan))
    planner.reply("H100 prices fell; A100 spot is cheapest.")
    worker_llm.rule(lambda r: "pricing trends" in r.last_user, "A100 spot fell to $0.82/hr.")
    worker_llm.rule(lambda r: "Summarise" in r.last_user, "Spot workers halve the cost.")

    answer = await tutorial_orchestrator.run_agent_mesh("Research GPU cloud pricing trends in 2026.")

    assert answer == "H100 prices fell; A100 spot is cheapest."
    synthesis_prompt = planner.requests[1].last_user
    assert "[research-worker]: A100 spot fell to $0.82/hr." in synthesis_prompt
    assert "[synthesis-worker]: Spot workers halve the cost." in synthesis_prompt
    planner_prompt = planner.requests[0].last_user
    assert "research-worker: research-worker agent" in planner_prompt
    assert len(worker_llm.requests) == 2


async def test_the_tutorials_orchestrator_reads_plain_graphs_answers_as_summaries(live_server, monkeypatch):
    """Graphs without an output schema answer /tasks/send in the tutorial's shape: output.summary."""
    import graphs

    from a2a_bridge import Backend

    with ScriptedBackend(model=PLANNER_MODEL) as planner, ScriptedBackend(model=WORKER_MODEL) as worker_llm:
        chat = Backend(worker_llm.base_url, model=WORKER_MODEL).chat_model()
        hosts = {
            name: live_server(to_a2a(graphs.chat_graph(chat, name=name), secrets={"orchestrator": TUTORIAL_SECRET})).url
            for name in ("research-worker", "synthesis-worker")
        }
        monkeypatch.setattr(tutorial_orchestrator, "WORKER_HOSTS", hosts)
        monkeypatch.setattr(tutorial_orchestrator, "ORCHESTRATOR_VLLM", planner.base_url)
        plan = [
            {"worker": "research-worker", "query": "GPU cloud pricing trends 2026"},
            {"worker": "synthesis-worker", "query": "Summarise the pricing findings"},
        ]
        planner.reply(json.dumps(plan))
        planner.reply("Spot is cheapest.")
        worker_llm.rule(lambda r: "pricing trends" in r.last_user, "A100 spot fell to $0.82/hr.")
        worker_llm.rule(lambda r: "Summarise" in r.last_user, "Spot workers halve the cost.")

        assert await tutorial_orchestrator.run_agent_mesh("GPU pricing?") == "Spot is cheapest."
        synthesis_prompt = planner.requests[1].last_user
    assert "[research-worker]: A100 spot fell to $0.82/hr." in synthesis_prompt
    assert "[synthesis-worker]: Spot workers halve the cost." in synthesis_prompt


def test_an_agent_without_output_schema_answers_the_tutorials_output_shape(live_server):
    async def plain(turn):
        yield TextDelta("plain answer")

    server = live_server(to_a2a(plain))
    body = httpx.post(server.url + "/tasks/send", json={"task_id": "t-9", "input": {"query": "q"}}).json()
    assert body["output"] == {"summary": "plain answer", "sources": []}
    assert body["text"] == "plain answer"


def test_tasks_send_answers_an_input_required_task_and_refuses_to_start_over(live_server):
    turns = []

    async def budgeter(turn):
        turns.append(turn)
        if not turn.resuming:
            yield NeedsInput("What is your budget in USD?")
            return
        yield TextDelta(f"budget noted: {turn.data['budget']}")

    url = live_server(to_a2a(budgeter)).url + "/tasks/send"
    context = {"context_id": "fleet-plan-1"}
    asked = httpx.post(url, json={"task_id": "t-1", "input": {"query": "plan"}, "context": context}).json()
    assert (asked["status"], asked["question"]) == ("input_required", "What is your budget in USD?")
    waiting = asked["a2a_task_id"]

    again = httpx.post(url, json={"task_id": "t-2", "input": {"budget": 5000}, "context": context})
    assert again.status_code == 409
    assert f"context.a2a_task_id = '{waiting}'" in again.json()["detail"]
    assert again.json()["errors"][0]["field"] == "context.a2a_task_id"
    assert len(turns) == 1, "the agent never saw the answer as a new task"

    answered = httpx.post(
        url, json={"task_id": "t-1", "input": {"budget": 5000}, "context": {**context, "a2a_task_id": waiting}}
    ).json()
    assert (answered["status"], answered["text"], answered["a2a_task_id"]) == (
        "completed",
        "budget noted: 5000",
        waiting,
    )
    assert turns[1].resuming

    unknown = httpx.post(url, json={"task_id": "t-3", "input": {}, "context": {"a2a_task_id": "no-such-task"}})
    assert unknown.status_code == 404
    empty = httpx.post(url, json={"task_id": "t-4", "input": {}, "context": {"a2a_task_id": ""}})
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (400, "context.a2a_task_id")


def _tasks_send_extension(card):
    [extension] = [e for e in card["capabilities"]["extensions"] if e["uri"] == TASKS_SEND_EXTENSION]
    return extension["params"]


def test_a_text_only_agents_card_states_the_tutorials_task_schema_and_keeps_it(live_server):
    """A tutorial-style orchestrator routes and validates against the card, and the answer matches it."""
    queries = []

    async def plain(turn):
        queries.append((turn.text, turn.data))
        yield TextDelta(f"answer to {turn.text}")

    server = live_server(to_a2a(plain, name="plain-worker"))
    card = httpx.get(server.url + "/.well-known/agent-card.json").json()
    stated = _tasks_send_extension(card)
    assert stated["endpoint"] == server.url + "/tasks/send"
    schema = stated["task_schema"]
    assert schema["input"]["required"] == ["query"]
    task_input = {"query": "GPU pricing"}
    jsonschema.validate(task_input, schema["input"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"text": "GPU pricing"}, schema["input"])

    body = httpx.post(stated["endpoint"], json={"task_id": "t-1", "input": task_input}).json()
    jsonschema.validate(body["output"], schema["output"])
    assert body["output"] == {"summary": "answer to GPU pricing", "sources": []}
    assert queries == [("GPU pricing", None)], "a text-only agent takes the query as its text"


@pytest.mark.parametrize(
    ("task_input", "fields"),
    [
        ({}, ["input.query"]),
        ({"text": "GPU pricing"}, ["input.query", "input.text"]),
        ({"query": ""}, ["input.query"]),
        ({"query": 3}, ["input.query"]),
    ],
)
def test_a_text_only_agent_refuses_input_its_card_does_not_state(live_server, task_input, fields):
    ran = []

    async def plain(turn):
        ran.append(turn)
        yield TextDelta("never")

    url = live_server(to_a2a(plain)).url + "/tasks/send"
    response = httpx.post(url, json={"task_id": "t-1", "input": task_input})
    assert response.status_code == 400
    assert sorted(e["field"] for e in response.json()["errors"]) == fields
    assert "input.query" in response.json()["detail"]
    assert ran == [], "the agent never ran"


def test_an_agent_with_its_own_schemas_states_them_for_tasks_send(live_server):
    input_schema = {"type": "object", "properties": {"gpu": {"type": "string"}}, "required": ["gpu"]}
    output_schema = {"type": "object", "properties": {"hourly_usd": {"type": "number"}}}

    async def pricer(turn):
        yield Done(output={"hourly_usd": 2.5}, text="2.5")

    server = live_server(to_a2a(pricer, input_schema=input_schema, output_schema=output_schema))
    card = httpx.get(server.url + "/.well-known/agent-card.json").json()
    assert _tasks_send_extension(card)["task_schema"] == {"input": input_schema, "output": output_schema}
    body = httpx.post(server.url + "/tasks/send", json={"task_id": "t-1", "input": {"gpu": "H200"}}).json()
    assert body["output"] == {"hourly_usd": 2.5}
