"""CrewAI Flows served over A2A, called over real HTTP; model calls go to the scripted backend."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import crews
import httpx
import pytest
from a2a_bridge_crewai import a2a_agent
from a2a_calls import V1, stream_events
from processes import serve_process

from a2a_bridge import Backend, ConfigurationError, RemoteAgent, to_a2a


def call(url: str, method: str, params: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(url + "/", json=body, headers=V1, timeout=60).json()


def message(data: dict | None = None, text: str = "") -> dict:
    parts = ([{"text": text}] if text else []) + ([{"data": data}] if data is not None else [])
    return {"role": "ROLE_USER", "messageId": uuid.uuid4().hex, "parts": parts}


def stream(url: str, data: dict) -> list[dict]:
    return stream_events(url, message(data))


def progress_of(events: list[dict]) -> list[str]:
    return [
        e["statusUpdate"]["status"]["message"]["parts"][0]["text"]
        for e in events
        if "statusUpdate" in e and e["statusUpdate"]["status"].get("message", {}).get("parts")
    ]


def output(task: dict) -> dict:
    return next(a for a in task["artifacts"] if a["name"] == "output")["parts"][0]["data"]


@pytest.fixture
def llm(scripted_backend):
    return Backend(scripted_backend.base_url, model="scripted-model").crewai_llm()


def test_a_flow_class_is_served_with_its_state_model_as_the_cards_schemas(live_server):
    server = live_server(to_a2a(crews.QuoteFlow))
    card = httpx.get(server.url + "/.well-known/agent-card.json", timeout=10).json()
    assert card["name"] == "quoteflow"
    assert card["description"] == "Prices a GPU order, and discounts a big one."
    assert [s["name"] for s in card["skills"]] == ["price"]
    schemas = next(e for e in card["capabilities"]["extensions"] if "task-schema" in e["uri"])["params"]
    inputs = schemas["input"]
    assert set(inputs["properties"]) == {"gpu", "hours", "usd"}, "the state's id is the flow's, not an input"
    assert inputs["properties"]["hours"]["type"] == "integer"
    assert "required" not in inputs, "CrewAI gives every state field a default"
    assert set(schemas["output"]["properties"]) == {"gpu", "hours", "usd"}

    wrong = call(server.url, "SendMessage", {"message": message({"gpu": "H200", "hours": "many"})})
    assert wrong["error"]["code"] == -32602
    assert "hours" in wrong["error"]["message"]


def test_a_flow_runs_fresh_for_each_task_and_reports_its_methods_and_routes(live_server):
    server = live_server(to_a2a(crews.QuoteFlow()))  # an instance serves the same: a new one per task
    events = stream(server.url, {"gpu": "H200", "hours": 5})
    progress = progress_of(events)
    assert progress[0] == "flow started"
    for line in ("method `price` started", "method `price` finished", "router `size` chose `big`",
                 "method `discount` finished"):  # fmt: skip
        assert line in progress, (line, progress)
    assert "method `as_is` started" not in progress
    final = events[-1]["statusUpdate"]["status"]
    assert final["state"] == "TASK_STATE_COMPLETED"

    big = call(server.url, "SendMessage", {"message": message({"gpu": "H200", "hours": 5})})["result"]["task"]
    assert output(big) == {"gpu": "H200", "hours": 5, "usd": 16.65}
    assert big["artifacts"][0]["parts"][0]["text"] == "H200 for 5 h: $16.65 after a 10% discount"
    small = call(server.url, "SendMessage", {"message": message({"gpu": "A100"})})["result"]["task"]
    assert output(small) == {"gpu": "A100", "hours": 1, "usd": 1.69}, "no state left over from the task before"


def test_a_crew_inside_a_flow_reports_its_progress_and_usage_to_the_task(live_server, scripted_backend, llm):
    server = live_server(to_a2a(crews.research_flow(llm)))
    scripted_backend.reply("H200s rent for $3.70 an hour.")
    events = stream(server.url, {"topic": "H200 prices"})
    progress = progress_of(events)
    assert "method `research` started" in progress
    assert "task `research` started" in progress, "the crew's own events, scoped to this task"
    assert "agent `GPU market researcher` working" in progress
    done = events[-1]["statusUpdate"]
    assert done["status"]["state"] == "TASK_STATE_COMPLETED"
    usage = done["metadata"]["usage"]
    assert usage["calls"] == 1
    assert usage["model"] == "scripted-model"
    task = call(server.url, "GetTask", {"id": done["taskId"]})["result"]
    assert output(task)["facts"] == "H200s rent for $3.70 an hour."
    assert "Research H200 prices for CTOs" in scripted_backend.requests[0].last_user


async def test_cancel_stops_a_flow_before_its_next_method(live_server, caplog):
    crews.PausingFlow.first_started.clear()
    crews.PausingFlow.second_ran.clear()
    server = live_server(to_a2a(crews.PausingFlow))
    params = {"message": message({"seconds": 1.0}), "configuration": {"returnImmediately": True}}
    task = (await asyncio.to_thread(call, server.url, "SendMessage", params))["result"]["task"]
    await asyncio.to_thread(crews.PausingFlow.first_started.wait, 10)
    canceled = await asyncio.to_thread(call, server.url, "CancelTask", {"id": task["id"]})
    assert canceled["result"]["status"]["state"] == "TASK_STATE_CANCELED"
    await asyncio.sleep(2.0)  # the first method's second ends; the flow would go on to the next
    assert not crews.PausingFlow.second_ran.is_set(), "the flow stopped before its next method"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], "a cancel is not an error"
    crews.PausingFlow.first_started.clear()
    done = await asyncio.to_thread(call, server.url, "SendMessage", {"message": message({"seconds": 0.1})})
    assert done["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", "the next task runs whole"
    assert crews.PausingFlow.second_ran.is_set()


def test_a_decorated_flow_serves_with_its_card_fields_and_a_flow_needing_arguments_is_refused(live_server):
    decorated = a2a_agent(name="gpu-quotes", description="Quotes GPU orders.")(crews.QuoteFlow)
    server = live_server(decorated.to_a2a())
    card = httpx.get(server.url + "/.well-known/agent-card.json", timeout=10).json()
    assert (card["name"], card["description"]) == ("gpu-quotes", "Quotes GPU orders.")
    with pytest.raises(ConfigurationError, match=r"NeedsArguments must be constructible without arguments"):
        to_a2a(crews.NeedsArguments)


def test_the_flow_adapter_stays_quiet_on_stdout(live_server, capfd):
    server = live_server(to_a2a(crews.QuoteFlow))
    started = time.monotonic()
    call(server.url, "SendMessage", {"message": message({"gpu": "A100"})})
    assert time.monotonic() - started < 30
    printed = capfd.readouterr().out
    assert "Flow Method Completed" not in printed, "CrewAI's console panels stay out of a server's output"


def test_a_human_feedback_step_asks_the_caller_and_the_answer_resumes_the_same_flow(live_server, tmp_path):
    server = live_server(to_a2a(crews.ApprovalFlow, persistence=f"sqlite:///{tmp_path}/flows.db"))
    asked = call(server.url, "SendMessage", {"message": message({"gpu": "H200"})})["result"]["task"]
    assert asked["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    parts = asked["status"]["message"]["parts"]
    assert parts[0]["text"] == "Approve this order?"
    assert parts[1]["data"] == {"method": "draft", "output": "order for one H200"}

    answer = {**message(text="approved by Dana"), "taskId": asked["id"], "contextId": asked["contextId"]}
    done = call(server.url, "SendMessage", {"message": answer})["result"]["task"]
    assert done["status"]["state"] == "TASK_STATE_COMPLETED"
    assert output(done) == {"gpu": "H200", "verdict": "approved by Dana"}, "the same flow, its state kept"
    assert done["artifacts"][0]["parts"][0]["text"] == "H200: approved by Dana"
    again = call(server.url, "SendMessage", {"message": {**answer, "messageId": uuid.uuid4().hex}})
    assert "terminal state" in again["error"]["message"], "an ended task takes no second answer"


def test_two_tasks_waiting_for_feedback_each_resume_their_own_flow(live_server, tmp_path):
    server = live_server(to_a2a(crews.ApprovalFlow, persistence=f"sqlite:///{tmp_path}/flows.db"))
    first = call(server.url, "SendMessage", {"message": message({"gpu": "H200"})})["result"]["task"]
    second = call(server.url, "SendMessage", {"message": message({"gpu": "A100"})})["result"]["task"]
    for task, verdict in ((second, "no"), (first, "yes")):
        answer = {**message(text=verdict), "taskId": task["id"], "contextId": task["contextId"]}
        done = call(server.url, "SendMessage", {"message": answer})["result"]["task"]
        assert output(done) == {"gpu": "A100" if task is second else "H200", "verdict": verdict}


def test_with_persist_the_context_keeps_the_flows_state_across_tasks(live_server, tmp_path):
    from crewai.flow.persistence import SQLiteFlowPersistence

    flow = crews.notebook_flow(SQLiteFlowPersistence(db_path=str(tmp_path / "notebook.db")))
    server = live_server(to_a2a(flow))
    context = uuid.uuid4().hex
    first = call(server.url, "SendMessage", {"message": {**message({"note": "A100 at $1.69"}), "contextId": context}})
    second = call(server.url, "SendMessage", {"message": {**message({"note": "H200 at $3.70"}), "contextId": context}})
    elsewhere = call(server.url, "SendMessage", {"message": message({"note": "fresh"})})
    assert output(first["result"]["task"])["notes"] == ["A100 at $1.69"]
    assert output(second["result"]["task"])["notes"] == ["A100 at $1.69", "H200 at $3.70"]
    assert second["result"]["task"]["artifacts"][0]["parts"][0]["text"] == "2 notes"
    assert output(elsewhere["result"]["task"])["notes"] == ["fresh"], "another conversation starts empty"


def test_bad_flow_options_are_refused_by_name(llm):
    with pytest.raises(ConfigurationError, match=r"persistence must be 'sqlite:///PATH' or a crewai FlowPersistence"):
        to_a2a(crews.ApprovalFlow, persistence="redis://cache:6379/0")
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) for a CrewAI crew: persistence"):
        to_a2a(crews.research_crew(llm), persistence="sqlite:///x.db")


@pytest.mark.vllm
@pytest.mark.timeout(1500)
async def test_a_flow_running_a_crew_on_the_real_embedded_vllm(live_server, embedded_vllm):
    llm = embedded_vllm.crewai_llm(max_tokens=32, temperature=0)
    server = live_server(to_a2a(crews.research_flow(llm)))
    async with RemoteAgent(server.url, timeout=300) as remote:
        result = await remote.send(data={"topic": "GPU rental prices"})
    assert result.ok, result.message
    assert result.text.strip()
    assert result.data is not None
    assert result.data["facts"] == result.text, "the flow's state holds what its crew wrote"
    assert result.usage is not None
    assert result.usage.calls == 1
    assert 0 < result.usage.completion_tokens <= 32
    assert result.usage.model == embedded_vllm.request_model


def test_a2a_bridge_serve_serves_a_flow_class_by_name():
    agent = serve_process("crews:QuoteFlow", args=["--name", "quotes"])
    try:
        card = httpx.get(agent.url + "/.well-known/agent-card.json", timeout=10).json()
        assert card["name"] == "quotes"
        task = call(agent.url, "SendMessage", {"message": message({"gpu": "A100", "hours": 2})})["result"]["task"]
        assert output(task) == {"gpu": "A100", "hours": 2, "usd": 3.38}
    finally:
        agent.stop()
