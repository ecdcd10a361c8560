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


def _finished(task_id: str):
    from a2a.types import Task, TaskStatus

    return Task(id=task_id, context_id="c", status=TaskStatus(state=TaskState.TASK_STATE_COMPLETED))


async def _registrations(configs, task_ids: list[str]) -> dict[str, int]:
    return {task_id: len(await configs.get_info_for_dispatch(task_id)) for task_id in task_ids}


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_forgotten_tasks_webhook_registrations_go_with_it(kind, tmp_path):
    """keep_tasks=1: of four finished tasks with a webhook each, one task and one registration remain."""
    from a2a.server.context import ServerCallContext
    from a2a.types import TaskPushNotificationConfig

    from a2a_bridge.server.handling.request_state import TaskOwner
    from a2a_bridge.server.store_url import parse_store_url
    from a2a_bridge.server.stores import open_store, push_config_store
    from a2a_bridge.server.stores.leases import LeaseKeeper

    url = "memory" if kind == "memory" else f"sqlite:///{tmp_path}/tasks.db"
    opened = open_store(parse_store_url(url), keep_tasks=1, lease_seconds=15)
    configs = push_config_store(opened.engine)
    opened.forget_push_configs_with_tasks(configs)
    context = ServerCallContext(user=TaskOwner("alice"))
    ids = [f"t-{n}" for n in range(4)]
    try:
        for task_id in ids:
            hook = TaskPushNotificationConfig(task_id=task_id, id="hook", url="https://hooks.example/a2a")
            await configs.set_info(task_id, hook, context)
            await opened.task_store.save(_finished(task_id), context)
            await asyncio.sleep(0.01)  # distinct last_updated times: the oldest is trimmed first
        if opened.shared is not None:
            await LeaseKeeper(opened.shared, keep_tasks=1, recover=None).trim()
        kept = [task_id for task_id in ids if await opened.task_store.get(task_id, context) is not None]
        assert kept == ["t-3"]
        assert await _registrations(configs, ids) == {"t-0": 0, "t-1": 0, "t-2": 0, "t-3": 1}
    finally:
        await opened.close()


def test_a_served_agent_forgets_webhooks_with_its_tasks(tmp_path):
    """The app links its push store to its task store, for either kind."""
    for store in ("memory", f"sqlite:///{tmp_path}/tasks.db"):
        app = to_a2a(EchoAgent(), store=store, push_notifications=True)
        handler = app.state.request_handler
        linked = handler.task_store.push_configs
        assert linked is handler.push.config_store, store
