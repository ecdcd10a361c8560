"""The default store keeps the most recent finished tasks, and never a running one."""

from __future__ import annotations

import asyncio

import pytest
from a2a.types import GetTaskRequest, TaskState
from agents import EchoAgent, SlowAgent
from sdk import collect, request, sdk_client, user_message

from a2a_bridge import ConfigurationError, Done, TextDelta, to_a2a
from a2a_bridge.runner import Turn


class PickyAgent:
    """Echoes fast, except that the text "slow" works until cancelled."""

    name = "picky"

    def __init__(self) -> None:
        self.slow = SlowAgent()

    async def run(self, turn: Turn):
        if turn.text == "slow":
            async for event in self.slow.run(turn):
                yield event
            return
        yield TextDelta(turn.text)
        yield Done()


async def _state(client, task_id: str) -> str:
    try:
        task = await client.get_task(GetTaskRequest(id=task_id))
    except Exception as exc:  # the SDK client raises its own not-found error
        return type(exc).__name__
    return TaskState.Name(task.status.state)


async def test_the_oldest_finished_tasks_are_forgotten_first(live_server):
    server = live_server(to_a2a(EchoAgent(), keep_tasks=2))
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)

    ids = [(await collect(client, request(user_message(data={"query": f"task {i}"}))))[0].task.id for i in range(3)]

    states = [await _state(client, task_id) for task_id in ids]
    assert states[1:] == ["TASK_STATE_COMPLETED", "TASK_STATE_COMPLETED"]
    assert states[0] == "TaskNotFoundError", states[0]


async def test_a_running_task_is_never_forgotten(live_server):
    agent = PickyAgent()
    server = live_server(to_a2a(agent, keep_tasks=1))
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)
    slow = (await collect(client, request(user_message(text="slow"), return_immediately=True)))[0].task.id
    assert await asyncio.to_thread(agent.slow.started.wait, 5)

    for i in range(3):
        await collect(client, request(user_message(text=f"fast {i}")))

    assert await _state(client, slow) == "TASK_STATE_WORKING"


@pytest.mark.parametrize("keep", [0, -1, 2.5, True, "10"])
def test_keep_tasks_must_be_a_positive_whole_number(keep):
    with pytest.raises(ConfigurationError, match="keep_tasks"):
        to_a2a(EchoAgent(), keep_tasks=keep)
