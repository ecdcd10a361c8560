"""LangGraph graphs served over A2A, called with the official a2a-sdk client.

Every model is the scripted OpenAI-compatible backend, over real HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time

import graphs
import httpx
import pytest
from a2a.types import CancelTaskRequest, GetTaskRequest, ListTasksRequest, Part, TaskState
from sdk import artifact_data, artifact_texts, collect, get_json, get_text, request, sdk_client, user_message

from a2a_bridge import Backend, to_a2a
from a2a_bridge.server.bindings.tutorial_schema import TASKS_SEND_EXTENSION
from a2a_bridge.testing import ScriptedBackend
from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION

CARD = "/.well-known/agent-card.json"


@pytest.fixture
def chat(scripted_backend):
    return Backend(scripted_backend.base_url, model="scripted-model").chat_model()


async def client_for(server, *, streaming=False):
    return await sdk_client(server.url, binding="JSONRPC", streaming=streaming, secret=None)


async def test_messages_graph_answers_text_with_usage(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.chat_graph(chat)))
    scripted_backend.reply("A100 spot costs $0.82/hr")
    client = await client_for(server)

    task = (await collect(client, request(user_message(text="What does an A100 cost?"))))[0].task

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(task, "response") == ["A100 spot costs $0.82/hr"]
    usage = {"promptTokens": 5, "completionTokens": 4, "totalTokens": 9, "calls": 1, "model": "scripted-model"}
    assert dict(task.metadata["usage"]) == usage
    assert scripted_backend.requests[0].last_user == "What does an A100 cost?"
    card = await get_json(server.url + CARD)
    assert card["name"] == "chatter"
    assert card["capabilities"]["streaming"] is True
    uris = [extension["uri"] for extension in card["capabilities"]["extensions"]]
    assert uris == [TASKS_SEND_EXTENSION, IDEMPOTENT_SEND_EXTENSION], (
        "a messages graph takes plain text: no input schema"
    )


async def test_custom_schema_graph_takes_a_data_part_and_returns_output_data(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.brief_graph(chat)))
    scripted_backend.reply("prices fell; spot is cheap; H200 leads")
    client = await client_for(server)

    task = (await collect(client, request(user_message(data={"topic": "GPU pricing", "max_points": 2}))))[0].task

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_data(task, "output") == [
        {"summary": "GPU pricing: 2 points", "points": ["prices fell", "spot is cheap"]}
    ]
    assert scripted_backend.requests[0].last_user == "Brief on GPU pricing in 2 points"
    schema = (await get_json(server.url + CARD))["capabilities"]["extensions"][0]["params"]
    assert schema["input"]["required"] == ["topic", "max_points"]
    assert set(schema["output"]["properties"]) == {"summary", "points"}


async def test_custom_schema_graph_rejects_bad_data_before_any_model_call(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.brief_graph(chat)))
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url + "/message:send",
            json={"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"data": {"topic": "GPUs"}}]}},
            headers={"A2A-Version": "1.0"},
        )
    assert response.status_code == 400
    assert "input.max_points: required field is missing" in response.json()["error"]["message"]
    assert scripted_backend.requests == []


async def test_react_agent_calls_its_tool_and_keeps_its_prompt_private(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.react_agent(chat)))
    scripted_backend.reply(tool_calls=[{"name": "gpu_price", "arguments": {"gpu": "H200"}}])
    scripted_backend.reply("An H200 costs $3.70/hr on demand.")
    client = await client_for(server)

    task = (await collect(client, request(user_message(text="Price of an H200?"))))[0].task

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(task, "response") == ["An H200 costs $3.70/hr on demand."]
    second = scripted_backend.requests[1].messages
    assert {"role": "tool", "content": "$3.70/hr"}.items() <= second[-1].items()
    assert task.metadata["usage"]["calls"] == 2
    assert scripted_backend.requests[0].system == graphs.SYSTEM_PROMPT
    card = await get_text(server.url + CARD)
    assert graphs.SYSTEM_PROMPT not in card
    assert "pricing desk" not in card.lower()
    assert "pricing-desk" in card


async def test_streaming_shows_node_updates_custom_events_and_tokens(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.chat_graph(chat), coalesce_interval=0))
    scripted_backend.reply("one two three four")
    client = await client_for(server, streaming=True)

    events = await collect(client, request(user_message(text="count")))

    statuses = [e.status_update.status for e in events if e.HasField("status_update")]
    notes = [s.message.parts[0].text for s in statuses if s.message.parts]
    assert "thinking" in notes
    assert "node `answer` finished" in notes
    chunks = [e.artifact_update for e in events if e.HasField("artifact_update") and not e.artifact_update.last_chunk]
    assert len(chunks) >= 2, "tokens arrive as they are generated"
    assert "".join(c.artifact.parts[0].text for c in chunks) == "one two three four"
    assert statuses[-1].state == TaskState.TASK_STATE_COMPLETED


async def test_interrupt_becomes_input_required_and_resumes(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.approval_graph(chat)))
    client = await client_for(server)

    first = (await collect(client, request(user_message(text="Plan my fleet"))))[0].task
    assert first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    parts = first.status.message.parts
    assert parts[0].text == "What is your budget in USD?"
    assert json.loads(json.dumps(dict(parts[1].data.struct_value))) == {
        "question": "What is your budget in USD?",
        "currency": "USD",
    }
    assert scripted_backend.requests == []

    scripted_backend.reply("Two A100 spot instances fit $5000.")
    answer = user_message(text="5000", task_id=first.id, context_id=first.context_id)
    second = (await collect(client, request(answer)))[0].task

    assert second.id == first.id
    assert second.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(second, "response") == ["Two A100 spot instances fit $5000."]
    assert scripted_backend.requests[0].last_user == "budget 5000"


async def test_two_messages_in_one_context_share_memory(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.chat_graph(chat)))
    client = await client_for(server)
    first = (await collect(client, request(user_message(text="My fleet is 3 A100s."))))[0].task
    await collect(client, request(user_message(text="How many GPUs?", context_id=first.context_id)))
    await collect(client, request(user_message(text="Fresh start")))

    remembered = [m["content"] for m in scripted_backend.requests[1].messages]
    assert remembered == ["My fleet is 3 A100s.", "echo: My fleet is 3 A100s.", "How many GPUs?"]
    assert [m["content"] for m in scripted_backend.requests[2].messages] == ["Fresh start"]


async def test_sqlite_checkpointer_survives_a_restart(live_server, scripted_backend, chat, tmp_path):
    path = f"sqlite:///{tmp_path / 'threads.db'}"
    first_server = live_server(to_a2a(graphs.chat_graph(chat), checkpointer=path))
    client = await client_for(first_server)
    first = (await collect(client, request(user_message(text="Remember: budget 900"))))[0].task
    first_server.stop()

    second_server = live_server(to_a2a(graphs.chat_graph(chat), checkpointer=path))
    client = await client_for(second_server)
    await collect(client, request(user_message(text="What was the budget?", context_id=first.context_id)))

    remembered = [m["content"] for m in scripted_backend.requests[-1].messages]
    assert remembered[0] == "Remember: budget 900"
    assert remembered[-1] == "What was the budget?"


async def test_cancel_stops_the_running_graph(live_server):
    stoppable = graphs.Stoppable()
    server = live_server(to_a2a(stoppable.graph()))
    client = await client_for(server)
    task = (await collect(client, request(user_message(text="go"), return_immediately=True)))[0].task
    assert await asyncio.to_thread(stoppable.started.wait, 5)

    canceled = await client.cancel_task(CancelTaskRequest(id=task.id))

    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    await asyncio.sleep(0.3)
    steps = stoppable.steps
    await asyncio.sleep(0.3)
    assert stoppable.cancelled
    assert stoppable.steps == steps, "the node kept running after cancel"
    assert (await client.get_task(GetTaskRequest(id=task.id))).status.state == TaskState.TASK_STATE_CANCELED


async def test_a_node_exception_fails_the_task_cleanly(live_server, caplog):
    server = live_server(to_a2a(graphs.failing_graph()))
    client = await client_for(server)

    task = (await collect(client, request(user_message(text="go"))))[0].task

    assert task.status.state == TaskState.TASK_STATE_FAILED
    assert "s3cret" not in str(task)
    assert task.status.message.parts[0].text.startswith("The agent failed while working on this task (ref ")
    assert any("s3cret" in (record.exc_text or "") or record.exc_info for record in caplog.records)


async def test_images_become_content_blocks_and_other_files_are_refused(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.chat_graph(chat)))
    client = await client_for(server)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    message = user_message(text="What is in this chart?")
    message.parts.append(Part(raw=png, media_type="image/png", filename="chart.png"))
    task = (await collect(client, request(message)))[0].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    content = scripted_backend.requests[0].messages[0]["content"]
    assert content[0] == {"type": "text", "text": "What is in this chart?"}
    assert content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()

    pdf = user_message(text="Summarise")
    pdf.parts.append(Part(raw=b"%PDF-1.7", media_type="application/pdf", filename="report.pdf"))
    refused = (await collect(client, request(pdf)))[0].task
    assert refused.status.state == TaskState.TASK_STATE_FAILED
    assert refused.status.message.parts[0].text == (
        "files of type application/pdf ('report.pdf') are not supported; send images or text files"
    )
    assert len(scripted_backend.requests) == 1


@pytest.mark.parametrize(("graph_factory", "latency"), [(graphs.chat_graph, 0.3), (graphs.sync_chat_graph, 1.0)])
async def test_32_concurrent_tasks_overlap(live_server, graph_factory, latency):
    with ScriptedBackend(latency=latency) as slow:
        chat = Backend(slow.base_url, model="scripted-model").chat_model()
        server = live_server(to_a2a(graph_factory(chat)))
        client = await client_for(server)
        start = time.monotonic()
        results = await asyncio.gather(*(collect(client, request(user_message(text=f"q{i}"))) for i in range(32)))
        elapsed = time.monotonic() - start
    assert [r[0].task.status.state for r in results] == [TaskState.TASK_STATE_COMPLETED] * 32
    # Serialised, this takes 32 x latency; a thread pool sized to the cores (6 threads) takes 6 x latency.
    assert elapsed < 4 * latency if latency >= 1 else elapsed < 16 * latency


async def test_a2a_bridge_serve_runs_a_graph_from_a_module():
    from processes import serve_process

    from a2a_bridge import RemoteAgent

    with ScriptedBackend() as llm:
        llm.reply("served from the command line")
        agent = serve_process("graphs:served_chat", env={"GRAPHS_LLM_URL": llm.base_url})
        try:
            async with RemoteAgent(agent.url) as remote:
                card = await remote.card()
                result = await remote.send("hello")
        finally:
            agent.stop()
    assert card.name == "served-chatter"
    assert result.text == "served from the command line"


def test_bad_adapter_options_are_named(chat):
    from a2a_bridge import ConfigurationError

    with pytest.raises(ConfigurationError, match="unknown option"):
        to_a2a(graphs.chat_graph(chat), checkpointr="memory")
    with pytest.raises(ConfigurationError, match="checkpointer must be") as raised:
        to_a2a(graphs.chat_graph(chat), checkpointer="mysql://admin:s3cret@db/x")
    assert "'mysql' URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    from langgraph.graph import MessagesState, StateGraph

    with pytest.raises(ConfigurationError, match="serve the compiled graph"):
        to_a2a(StateGraph(MessagesState))


@pytest.mark.vllm
@pytest.mark.timeout(1500)
async def test_a_graph_on_the_real_embedded_vllm(live_server, embedded_vllm):
    server = live_server(to_a2a(graphs.chat_graph(embedded_vllm.chat_model(max_tokens=24, temperature=0))))
    client = await client_for(server, streaming=True)

    events = await collect(client, request(user_message(text="Name a GPU made by NVIDIA.")))

    final = [e.status_update.status for e in events if e.HasField("status_update")][-1]
    assert final.state == TaskState.TASK_STATE_COMPLETED
    texts = [e.artifact_update for e in events if e.HasField("artifact_update") and e.artifact_update.last_chunk]
    assert texts
    assert texts[-1].artifact.parts[0].text.strip()
    task = await client.get_task(GetTaskRequest(id=events[0].task.id))
    usage = task.metadata["usage"]
    assert usage["promptTokens"] > 0
    assert 0 < usage["completionTokens"] <= 24


@pytest.mark.parametrize("road", ["blocking", "return_immediately", "streaming"])
async def test_a_task_is_working_while_its_first_node_runs(live_server, road):
    """No node has finished and nothing was said yet: the task is still working, not submitted."""
    stoppable = graphs.Stoppable()
    server = live_server(to_a2a(stoppable.graph()))
    client = await client_for(server)
    streaming = await sdk_client(server.url, binding="JSONRPC", streaming=True, secret=None)
    send = request(user_message(text="go"), return_immediately=road == "return_immediately")
    sender = asyncio.ensure_future(collect(streaming if road == "streaming" else client, send))
    assert await asyncio.to_thread(stoppable.started.wait, 5)
    await asyncio.sleep(0.1)
    listed = await client.list_tasks(ListTasksRequest())
    [task] = listed.tasks
    assert task.status.state == TaskState.TASK_STATE_WORKING
    assert (await client.get_task(GetTaskRequest(id=task.id))).status.state == TaskState.TASK_STATE_WORKING
    await client.cancel_task(CancelTaskRequest(id=task.id))
    await sender
