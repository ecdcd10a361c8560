"""Every A2A outcome an agent can give, over both bindings, with the a2a-sdk client.

Two agents act the outcomes out, chosen by the message id they see: a plain
runner (tests/conformance/tck_runner.py) and a LangGraph graph served through
the adapter (tests/conformance/tck_graph.py). Both are the TCK's systems under test.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from a2a.types import GetTaskRequest, Message, Part, Role, SubscribeToTaskRequest, TaskState
from a2a_bridge_langgraph import emit
from a2a_calls import V1
from conformance.tck_graph import tck_graph
from conformance.tck_runner import TEXT_FILE_URL, TckRunner
from google.protobuf.json_format import MessageToDict
from langgraph.graph import END, START, MessagesState, StateGraph
from sdk import BINDINGS, SECRET, collect, request, sdk_client

from a2a_bridge import ConfigurationError, DirectReply, Done, NeedsInput, Progress, to_a2a

SECRETS = {"orchestrator": SECRET}


def scenario(name: str, *, text: str = "go", task_id: str = "") -> Message:
    return Message(role=Role.ROLE_USER, message_id=f"{name}-1", parts=[Part(text=text)], task_id=task_id)


@pytest.fixture(params=["runner", "graph"])
def served(request, live_server):
    if request.param == "runner":
        return live_server(to_a2a(TckRunner(), secrets=SECRETS))
    return live_server(to_a2a(tck_graph(), secrets=SECRETS, direct_replies=True))


async def send(url: str, binding: str, name: str, **fields):
    client = await sdk_client(url, binding=binding, streaming=False)
    events = await collect(client, request(scenario(name, **fields)))
    assert len(events) == 1
    return events[0]


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("road", ["blocking", "return_immediately", "streaming"])
async def test_a_direct_reply_is_a_message_and_no_task(served, binding, road):
    client = await sdk_client(served.url, binding=binding, streaming=road == "streaming")
    config = {"return_immediately": True} if road == "return_immediately" else {}
    events = await collect(client, request(scenario("tck-message-response"), **config))

    assert len(events) == 1
    event = events[0]
    assert event.HasField("message")
    assert event.message.role == Role.ROLE_AGENT
    assert [p.text for p in event.message.parts] == ["Direct message response"]
    assert not event.message.task_id
    async with httpx.AsyncClient(headers={**V1, "Authorization": f"Bearer {SECRET}"}) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
        listed = await http.post(served.url + "/", json=body)
    page = listed.json()
    assert page["result"].get("tasks", []) == []


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize(
    ("name", "state", "message"),
    [
        ("tck-reject-task", TaskState.TASK_STATE_REJECTED, "rejected"),
        ("tck-auth-required", TaskState.TASK_STATE_AUTH_REQUIRED, "Sign in to the TCK's service first."),
        ("tck-input-required", TaskState.TASK_STATE_INPUT_REQUIRED, "The TCK asks for more input."),
    ],
)
async def test_a_runner_ends_its_turn_in_every_state_a2a_has(served, binding, name, state, message):
    event = await send(served.url, binding, name)

    assert event.task.status.state == state
    assert [p.text for p in event.task.status.message.parts if p.text] == [message]


@pytest.mark.parametrize("binding", BINDINGS)
async def test_an_auth_required_task_resumes_with_the_next_message(served, binding):
    first = await send(served.url, binding, "tck-auth-required")
    assert MessageToDict(first.task.status.message.parts[1].data) == {"authorizationUrl": "https://example.com/auth"}

    second = await send(served.url, binding, "tck-complete-task", text="signed in", task_id=first.task.id)

    assert second.task.id == first.task.id
    assert second.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert "".join(p.text for a in second.task.artifacts for p in a.parts) == "Resumed with: signed in"


@pytest.mark.parametrize("binding", BINDINGS)
async def test_file_artifacts_carry_their_name_and_media_type_by_bytes_and_by_url(served, binding):
    by_bytes = (await send(served.url, binding, "tck-artifact-file")).task.artifacts[0].parts[0]
    by_url = (await send(served.url, binding, "tck-artifact-file-url")).task.artifacts[0].parts[0]

    assert (by_bytes.raw, by_bytes.filename, by_bytes.media_type) == (b"tck", "output.txt", "text/plain")
    assert (by_url.url, by_url.filename, by_url.media_type) == (TEXT_FILE_URL.url, "output.txt", "text/plain")


async def test_the_runner_sees_the_id_of_the_message_it_answers(live_server):
    seen = []

    async def agent(turn):
        seen.append(turn.message_id)
        yield Done(text="ok")

    server = live_server(to_a2a(agent, secrets=SECRETS))
    await send(server.url, "JSONRPC", "caller-chosen-id")

    assert seen == ["caller-chosen-id-1"]


async def test_a_direct_reply_after_the_task_exists_fails_the_task_and_says_why_in_the_log(live_server, caplog):
    async def late_reply(turn):
        yield Progress("working")
        yield DirectReply("too late")

    late_reply.direct_replies = True  # type: ignore[attr-defined]
    server = live_server(to_a2a(late_reply, secrets=SECRETS))
    event = await send(server.url, "JSONRPC", "late")

    assert event.task.status.state == TaskState.TASK_STATE_FAILED
    assert "ref " in event.task.status.message.parts[0].text
    assert "DirectReply on a task" in caplog.text


@pytest.mark.parametrize("binding", BINDINGS)
async def test_subscribing_to_a_task_that_waits_for_input_follows_its_next_turn(served, binding):
    waiting = (await send(served.url, binding, "tck-input-required")).task
    follower = await sdk_client(served.url, binding=binding, streaming=True)
    stream = follower.subscribe(SubscribeToTaskRequest(id=waiting.id))
    first = await anext(stream)
    assert first.task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED

    rest = asyncio.ensure_future(_drain(stream))
    await asyncio.sleep(0.2)
    await send(served.url, binding, "tck-complete-task", text="more", task_id=waiting.id)
    events = await asyncio.wait_for(rest, timeout=10)

    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    client = await sdk_client(served.url, binding=binding, streaming=False)
    stored = await client.get_task(GetTaskRequest(id=waiting.id))
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED


async def _drain(stream):
    return [event async for event in stream]


def one_node_graph(node):
    builder = StateGraph(MessagesState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    return builder.compile()


async def test_a_graph_node_sees_the_message_id_in_its_config(live_server):
    seen = []

    def node(state: MessagesState, config) -> dict:
        seen.append(config["metadata"]["a2a_message_id"])
        return {}

    server = live_server(to_a2a(one_node_graph(node), secrets=SECRETS))
    await send(server.url, "JSONRPC", "graph-message")

    assert seen == ["graph-message-1"]


async def test_a_node_that_emits_what_only_interrupt_can_say_fails_the_task_and_says_why_in_the_log(
    live_server, caplog
):
    from langgraph.graph import END, START, MessagesState, StateGraph

    def node(state: MessagesState) -> dict:
        emit(NeedsInput("a question"))
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    server = live_server(to_a2a(builder.compile(), secrets=SECRETS))
    event = await send(server.url, "JSONRPC", "emits-a-question")

    assert event.task.status.state == TaskState.TASK_STATE_FAILED
    assert "a node cannot emit NeedsInput" in caplog.text
    assert "interrupt(" in caplog.text


def test_direct_replies_of_a_graph_is_true_or_false():
    with pytest.raises(ConfigurationError, match="direct_replies must be True or False, got 'yes'"):
        to_a2a(tck_graph(), direct_replies="yes")
