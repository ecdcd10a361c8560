"""A blocking send of a new task runs on the bridge's short path; the task keeps every A2A semantic.

GetTask, ListTasks, CancelTask and SubscribeToTask must see such a task while it runs exactly as
they see a task run through the SDK's queues, and the short JSON-RPC path must answer like the SDK.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from a2a.types import CancelTaskRequest, GetTaskRequest, ListTasksRequest, SubscribeToTaskRequest, TaskState
from agents import EchoAgent, SlowAgent, SteadyAgent
from sdk import BINDINGS, SECRET, artifact_texts, as_dict, collect, request, sdk_client, user_message

from a2a_bridge import to_a2a

SECRETS = {"orchestrator": SECRET}
HEADERS = {"Authorization": f"Bearer {SECRET}", "A2A-Version": "1.0"}


async def _running_task_id(client) -> str:
    """The id of the one task a blocking caller is waiting on, found with ListTasks."""
    for _ in range(250):
        listed = await client.list_tasks(ListTasksRequest())
        if listed.tasks:
            return str(listed.tasks[0].id)
        await asyncio.sleep(0.02)
    raise AssertionError("the running task never showed up in ListTasks")


@pytest.mark.parametrize("binding", BINDINGS)
async def test_the_answer_is_the_stored_task(live_server, binding):
    server = live_server(to_a2a(EchoAgent(), secrets=SECRETS))
    client = await sdk_client(server.url, binding=binding, streaming=False)

    answered = (await collect(client, request(user_message(data={"query": "same task"}))))[0].task
    fetched = await client.get_task(GetTaskRequest(id=answered.id))

    assert answered.status.state == TaskState.TASK_STATE_COMPLETED
    assert as_dict(answered) == as_dict(fetched)
    assert [m.role for m in fetched.history][:1] == [1]  # the caller's message opens the history
    assert fetched.history[0].task_id == answered.id


@pytest.mark.parametrize("binding", BINDINGS)
async def test_get_and_cancel_reach_a_task_whose_caller_is_still_waiting(live_server, binding):
    agent = SlowAgent()
    server = live_server(to_a2a(agent, secrets=SECRETS))
    client = await sdk_client(server.url, binding=binding, streaming=False)
    waiting = asyncio.create_task(collect(client, request(user_message(text="go"))))
    assert await asyncio.to_thread(agent.started.wait, 5)
    task_id = await _running_task_id(client)

    running = await client.get_task(GetTaskRequest(id=task_id))
    canceled = await client.cancel_task(CancelTaskRequest(id=task_id))
    answered = (await asyncio.wait_for(waiting, 5))[0].task

    assert running.status.state == TaskState.TASK_STATE_WORKING
    assert running.status.message.parts[0].text == "starting"
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert answered.id == task_id
    assert answered.status.state == TaskState.TASK_STATE_CANCELED
    steps_at_cancel = agent.steps
    await asyncio.sleep(0.3)
    assert agent.stopped_cleanly
    assert agent.steps <= steps_at_cancel + 1, "the runner kept working after cancel"
    fetched = await client.get_task(GetTaskRequest(id=task_id))
    assert fetched.status.state == TaskState.TASK_STATE_CANCELED


@pytest.mark.parametrize("binding", BINDINGS)
async def test_a_subscriber_follows_a_task_whose_caller_is_waiting(live_server, binding):
    server = live_server(to_a2a(SteadyAgent(steps=6, delay=0.1), secrets=SECRETS))
    caller = await sdk_client(server.url, binding=binding, streaming=False)
    follower = await sdk_client(server.url, binding=binding, streaming=True)
    waiting = asyncio.create_task(collect(caller, request(user_message(text="go"))))
    task_id = await _running_task_id(caller)

    followed = [event async for event in follower.subscribe(SubscribeToTaskRequest(id=task_id))]
    answered = (await asyncio.wait_for(waiting, 5))[0].task

    assert followed[0].HasField("task"), "the stream must open with the task"
    assert followed[0].task.id == task_id
    assert followed[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    progress = [
        part.text for e in followed if e.HasField("status_update") for part in e.status_update.status.message.parts
    ]
    assert "step 5" in progress
    assert answered.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_texts(answered, "response") == ["".join(f"step {i} " for i in range(6))]


async def test_a_task_on_an_existing_context_keeps_the_context(live_server):
    server = live_server(to_a2a(EchoAgent(), secrets=SECRETS))
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False)
    context_id = str(uuid.uuid4())

    first = (await collect(client, request(user_message(data={"query": "one"}, context_id=context_id))))[0].task
    second = (await collect(client, request(user_message(data={"query": "two"}, context_id=context_id))))[0].task

    assert first.context_id == second.context_id == context_id
    assert first.id != second.id


@pytest.fixture
def echo_url(live_server):
    return live_server(to_a2a(EchoAgent(), secrets=SECRETS)).url


def _send(url: str, body: dict[str, object], headers: dict[str, str] = HEADERS) -> dict[str, object]:
    response = httpx.post(url + "/", json=body, headers=headers, timeout=10)
    assert response.status_code == 200
    return dict(response.json())


def _message(**fields: object) -> dict[str, object]:
    return {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": "hello"}], **fields}


def test_history_length_limits_the_answer_like_the_sdk(echo_url):
    body = {"jsonrpc": "2.0", "id": "h", "method": "SendMessage", "params": {"message": _message()}}
    body["params"]["configuration"] = {"historyLength": 0}  # type: ignore[index]

    answered = _send(echo_url, body)

    task = answered["result"]["task"]  # type: ignore[index]
    assert answered["id"] == "h"
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert "history" not in task


@pytest.mark.parametrize(
    ("body", "headers", "code", "says"),
    [
        # A missing version header means v0.3, where SendMessage does not exist.
        ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": _message()}},
         {"Authorization": f"Bearer {SECRET}"}, -32009, "version"),
        ({"jsonrpc": "1.0", "id": 1, "method": "SendMessage", "params": {"message": _message()}},
         HEADERS, -32600, "jsonrpc"),
        ({"jsonrpc": "2.0", "id": True, "method": "SendMessage", "params": {"message": _message()}},
         HEADERS, -32600, "id"),
        ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"role": "ROLE_USER"}}},
         HEADERS, -32602, "message.message_id"),
        ({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"parts": "no"}}},
         HEADERS, -32602, "parts"),
        ({"jsonrpc": "2.0", "id": 1, "method": "SendMesage", "params": {}}, HEADERS, -32601, ""),
    ],
)  # fmt: skip
def test_bad_envelopes_get_the_sdks_errors(echo_url, body, headers, code, says):
    answered = _send(echo_url, body, headers)

    error = answered["error"]
    assert error["code"] == code, error  # type: ignore[index]
    assert says in str(error).lower() or says in str(error)
    assert "Traceback" not in str(answered)


@pytest.mark.parametrize(
    ("method", "hint"), [("SendMessage", "'message/send'"), ("GetTask", "'tasks/get'"), ("ListTasks", "")]
)
def test_a_v1_method_without_the_version_header_is_told_what_to_send(echo_url, method, hint):
    params = {"message": _message()} if method == "SendMessage" else {"id": "t"} if method == "GetTask" else {}
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}

    answered = _send(echo_url, body, {"Authorization": f"Bearer {SECRET}"})

    error = answered["error"]
    assert (answered["id"], error["code"]) == (7, -32009)
    assert "the A2A-Version header is missing" in error["message"]
    assert "send 'A2A-Version: 1.0'" in error["message"]
    assert hint in error["message"]
