"""The official a2a-sdk client against a served runner, over both bindings."""

from __future__ import annotations

import asyncio

import pytest
from a2a.types import CancelTaskRequest, GetTaskRequest, TaskState
from agents import AskingAgent, CrashingAgent, EchoAgent, RefusingAgent, RendezvousAgent, SlowAgent
from sdk import BINDINGS, SECRET, artifact_data, artifact_texts, collect, request, sdk_client, user_message

from a2a_bridge import to_a2a

SECRETS = {"orchestrator": SECRET}


@pytest.mark.parametrize("binding", BINDINGS)
async def test_blocking_send_completes_with_text_output_and_usage(live_server, binding):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, secrets=SECRETS))
    client = await sdk_client(server.url, binding=binding, streaming=False)

    events = await collect(client, request(user_message(data={"query": "gpu prices fell"})))

    assert len(events) == 1
    task = events[0].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(task, "response") == ["gpu prices fell "]
    assert artifact_data(task, "output") == [{"summary": "GPU PRICES FELL", "sources": ["echo://"]}]
    assert dict(task.metadata["usage"]) == {"promptTokens": 3, "completionTokens": 3, "totalTokens": 6, "calls": 1}
    turn = agent.turns[0]
    assert turn.data == {"query": "gpu prices fell"}
    assert turn.caller == "orchestrator"
    assert turn.task_id == task.id
    assert turn.context_id == task.context_id


@pytest.mark.parametrize("binding", BINDINGS)
async def test_plain_text_fills_the_single_text_field(live_server, binding):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, secrets=SECRETS))
    client = await sdk_client(server.url, binding=binding, streaming=False)

    events = await collect(client, request(user_message(text="hello there")))

    assert events[0].task.status.state == TaskState.TASK_STATE_COMPLETED
    assert agent.turns[0].data == {"query": "hello there"}
    assert agent.turns[0].text == "hello there"


@pytest.mark.parametrize("binding", BINDINGS)
async def test_streaming_send_shows_progress_chunks_and_final_state(live_server, binding):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, secrets=SECRETS, coalesce_interval=0))
    client = await sdk_client(server.url, binding=binding, streaming=True)

    events = await collect(client, request(user_message(data={"query": "one two three"})))

    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    progress = [e.status_update for e in events if e.HasField("status_update")]
    assert progress[0].status.state == TaskState.TASK_STATE_WORKING, "working as soon as the runner starts"
    assert not progress[0].status.HasField("message")
    assert progress[1].status.state == TaskState.TASK_STATE_WORKING
    assert progress[1].status.message.parts[0].text == "echoing"
    assert progress[-1].status.state == TaskState.TASK_STATE_COMPLETED
    chunks = [e.artifact_update for e in events if e.HasField("artifact_update")]
    streamed = [c for c in chunks if c.artifact.name == "response" and not c.last_chunk]
    assert len(streamed) >= 2, "with coalescing off, each word arrives as its own event"
    assert streamed[0].append is False
    assert all(c.append for c in streamed[1:])
    assert "".join(c.artifact.parts[0].text for c in streamed) == "one two three "
    final = [c for c in chunks if c.artifact.name == "response" and c.last_chunk]
    assert [c.artifact.parts[0].text for c in final] == ["one two three "]
    assert final[0].append is False, "the final chunk replaces the streamed pieces with one part"


async def test_streamed_deltas_are_coalesced(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, coalesce_interval=5.0))
    client = await sdk_client(server.url, binding="JSONRPC", streaming=True, secret=None)

    words = " ".join(f"w{i}" for i in range(200))
    events = await collect(client, request(user_message(data={"query": words})))

    chunks = [
        e.artifact_update
        for e in events
        if e.HasField("artifact_update") and e.artifact_update.artifact.name == "response"
    ]
    # The first delta goes out at once; the other 199 wait for the flush before Done.
    assert len(chunks) == 3
    assert chunks[0].artifact.parts[0].text == "w0 "
    assert chunks[0].artifact.parts[0].text + chunks[1].artifact.parts[0].text == words + " "


@pytest.mark.parametrize("binding", BINDINGS)
async def test_get_task_returns_the_finished_task(live_server, binding):
    server = live_server(to_a2a(EchoAgent(), secrets=SECRETS))
    client = await sdk_client(server.url, binding=binding, streaming=False)
    events = await collect(client, request(user_message(data={"query": "keep me"})))
    task_id = events[0].task.id

    fetched = await client.get_task(GetTaskRequest(id=task_id))

    assert fetched.id == task_id
    assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(fetched, "response") == ["keep me "]


@pytest.mark.parametrize("binding", BINDINGS)
async def test_cancel_stops_the_running_work(live_server, binding):
    agent = SlowAgent()
    server = live_server(to_a2a(agent, secrets=SECRETS))
    client = await sdk_client(server.url, binding=binding, streaming=False)

    events = await collect(client, request(user_message(text="go"), return_immediately=True))
    task_id = events[0].task.id
    assert await asyncio.to_thread(agent.started.wait, 5)

    canceled = await client.cancel_task(CancelTaskRequest(id=task_id))

    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    steps_at_cancel = agent.steps
    await asyncio.sleep(0.3)
    assert agent.stopped_cleanly
    assert agent.steps <= steps_at_cancel + 1, "the runner kept working after cancel"
    fetched = await client.get_task(GetTaskRequest(id=task_id))
    assert fetched.status.state == TaskState.TASK_STATE_CANCELED


async def test_tasks_run_concurrently(live_server):
    agent = RendezvousAgent(parties=16)
    server = live_server(to_a2a(agent))
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)

    # Each task finishes only once all 16 are running at the same time.
    results = await asyncio.gather(*(collect(client, request(user_message(text="go"))) for _ in range(16)))

    assert [r[0].task.status.state for r in results] == [TaskState.TASK_STATE_COMPLETED] * 16
    assert agent.max_waiting == 16


@pytest.mark.parametrize("binding", BINDINGS)
async def test_runner_exception_fails_the_task_without_leaking_details(live_server, binding, caplog):
    server = live_server(to_a2a(CrashingAgent()))
    client = await sdk_client(server.url, binding=binding, streaming=False, secret=None)

    events = await collect(client, request(user_message(text="anything")))

    task = events[0].task
    assert task.status.state == TaskState.TASK_STATE_FAILED
    message = task.status.message.parts[0].text
    assert message.startswith("The agent failed while working on this task (ref ")
    assert "hunter2" not in str(task)
    assert "Traceback" not in str(task)
    ref = message.split("ref ")[1].rstrip(").")
    assert any(ref in record.getMessage() for record in caplog.records), "the reference must be in the server log"


async def test_runner_failure_message_reaches_the_caller(live_server):
    server = live_server(to_a2a(RefusingAgent()))
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)

    task = (await collect(client, request(user_message(text="A300?"))))[0].task

    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert task.status.message.parts[0].text == "the query names no GPU I know"


@pytest.mark.parametrize("binding", BINDINGS)
async def test_input_required_then_resume_on_the_same_task(live_server, binding):
    agent = AskingAgent()
    server = live_server(to_a2a(agent))
    client = await sdk_client(server.url, binding=binding, streaming=False, secret=None)

    first = (await collect(client, request(user_message(text="plan my fleet"))))[0].task
    assert first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    assert first.status.message.parts[0].text == "What is your budget in USD?"

    answer = user_message(text="5000", task_id=first.id, context_id=first.context_id)
    second = (await collect(client, request(answer)))[0].task

    assert second.id == first.id
    assert second.status.state == TaskState.TASK_STATE_COMPLETED
    assert "budget noted: 5000" in artifact_texts(second, "response")
    assert [t.resuming for t in agent.turns] == [False, True]
    assert agent.turns[1].task_id == first.id
