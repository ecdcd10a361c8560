"""Durable tasks: SQLite and Postgres stores, restarts, leases, and what a second replica may write.

Every server here is a real ``a2a-bridge serve`` process on a real database;
"kill" is SIGKILL.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import re
import time
from collections.abc import Iterator

import pytest
from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.types import Task, TaskState, TaskStatus
from a2a_calls import call, data_message, error_of, get_task, message, run_task, start_task, state, wait_for_state
from processes import serve_process

from a2a_bridge import ConfigurationError, to_a2a
from a2a_bridge.server.handling.handler import LOST_TASK_MESSAGE
from a2a_bridge.server.store_url import parse_store_url
from a2a_bridge.server.stores import open_store
from a2a_bridge.server.stores.database import TaskHeldElsewhere
from a2a_bridge.testing import services

LEASE = "2"
_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[services.Postgres]:
    with services.postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tasks.db"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"tasks_{next(_databases)}")


def steady(store: str, tmp_path, **env: str):
    return serve_process(
        "agents:steady",
        args=["--store", store, "--lease-seconds", LEASE],
        env={"STEADY_MARKER_DIR": str(tmp_path), **env},
    )


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_finished_tasks_survive_a_restart_and_a_running_one_never_stays_working(store_url, tmp_path, how):
    first = steady(store_url, tmp_path)
    try:
        finished = [run_task(first.url, f"job {n}") for n in range(3)]
        running = start_task(first.url, "interrupted")
        wait_for_state(first.url, running, {"working"}, timeout=10)
    finally:
        first.kill() if how == "kill" else first.stop()

    second = steady(store_url, tmp_path)
    try:
        for task in finished:
            again = get_task(second.url, task["id"])
            assert state(again) == "completed"
            assert again["artifacts"] == task["artifacts"]
        ended = wait_for_state(second.url, running, {"failed", "completed", "canceled"}, timeout=20)
        assert state(ended) == "failed", "nobody canceled it: the server stopped"
        assert ended["status"]["message"]["parts"][0]["text"] == LOST_TASK_MESSAGE
        listed = call(second.url, "ListTasks", {"pageSize": 2})
        assert len(listed["tasks"]) == 2
        assert listed["nextPageToken"]
        rest = call(second.url, "ListTasks", {"pageSize": 10, "pageToken": listed["nextPageToken"]})
        ids = {t["id"] for t in listed["tasks"] + rest["tasks"]}
        assert ids == {t["id"] for t in finished} | {running}
    finally:
        second.stop()


def test_one_caller_never_sees_anothers_tasks_in_a_database_store(store_url, tmp_path):
    server = serve_process(
        "agents:steady", secrets={"alice": "alice-secret-0001", "bob": "bob-secret-00001"}, args=["--store", store_url]
    )
    try:
        task = run_task(server.url, "mine", secret="alice-secret-0001")
        assert state(get_task(server.url, task["id"], secret="alice-secret-0001")) == "completed"
        assert error_of(server.url, "GetTask", {"id": task["id"]}, secret="bob-secret-00001")["code"] == -32001
        assert call(server.url, "ListTasks", {}, secret="bob-secret-00001").get("tasks", []) == []
    finally:
        server.stop()


def test_cancel_on_a_second_replica_is_final_and_stops_the_first(postgres_server, tmp_path):
    store = postgres_server.create_database(f"tasks_{next(_databases)}")
    a = steady(store, tmp_path, STEADY_STEPS="100")
    b = steady(store, tmp_path)
    try:
        task_id = start_task(a.url, "long")
        wait_for_state(b.url, task_id, {"working"}, timeout=10)
        canceled = call(b.url, "CancelTask", {"id": task_id})
        assert state(canceled) == "canceled"
        steps_at_cancel = len(get_task(a.url, task_id).get("history", []))
        asyncio.run(asyncio.sleep(1.5))
        for replica in (a, b):
            after = get_task(replica.url, task_id)
            assert state(after) == "canceled", "a canceled task never leaves canceled"
        assert len(get_task(a.url, task_id).get("history", [])) == steps_at_cancel, "replica A stopped working on it"
        again = error_of(b.url, "CancelTask", {"id": task_id})
        assert again["code"] == -32002, "a finished task cannot be canceled again"
    finally:
        a.stop()
        b.stop()


class _Caller(User):
    is_authenticated = True
    user_name = "alice"


async def _two_replicas(url: str):
    parsed = parse_store_url(url)
    return [open_store(parsed, keep_tasks=100, lease_seconds=30) for _ in range(2)]


def _task(state_: int) -> Task:
    return Task(id="task-1", context_id="ctx-1", status=TaskStatus(state=state_))


async def test_two_writers_never_overwrite_each_other(postgres_server):
    url = postgres_server.create_database(f"tasks_{next(_databases)}")
    a, b = await _two_replicas(url)
    context = ServerCallContext(user=_Caller())
    finals: list[str] = []
    a.shared.on_final = finals.append
    try:
        await a.task_store.save(_task(TaskState.TASK_STATE_WORKING), context)
        with pytest.raises(TaskHeldElsewhere, match="running on another replica"):
            await b.task_store.save(_task(TaskState.TASK_STATE_WORKING), context)
        await b.task_store.save(_task(TaskState.TASK_STATE_CANCELED), context)
        await a.task_store.save(_task(TaskState.TASK_STATE_COMPLETED), context)
        assert finals == ["task-1"], "replica A is told to stop its run"
        for replica in (a, b):
            stored = await replica.task_store.get("task-1", context)
            assert stored is not None
            assert stored.status.state == TaskState.TASK_STATE_CANCELED

        # Both replicas racing to write the same new task: one insert wins, the other becomes an update.
        racing = Task(id="task-2", context_id="ctx-1", status=TaskStatus(state=TaskState.TASK_STATE_INPUT_REQUIRED))
        await asyncio.gather(a.task_store.save(racing, context), b.task_store.save(racing, context))
        stored = await a.task_store.get("task-2", context)
        assert stored is not None
        assert stored.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
    finally:
        await a.close()
        await b.close()


async def test_a_lease_renewed_after_it_was_seen_lapsed_is_not_taken_over(postgres_server):
    """B sees A's lease lapsed; A renews it (A was slow, not dead); B's claim must then fail."""
    from sqlalchemy import select, update

    from a2a_bridge.server.stores.database import TaskRow, utcnow
    from a2a_bridge.server.stores.leases import LeaseKeeper

    url = postgres_server.create_database(f"tasks_{next(_databases)}")
    a, b = await _two_replicas(url)
    context = ServerCallContext(user=_Caller())
    recovered: list[str] = []

    async def recover(task_id: str, owner: str) -> None:
        recovered.append(task_id)

    keeper_a = LeaseKeeper(a.shared, keep_tasks=100, recover=None)
    keeper_b = LeaseKeeper(b.shared, keep_tasks=100, recover=recover)
    try:
        await a.task_store.save(_task(TaskState.TASK_STATE_WORKING), context)
        async with a.shared.sessions.begin() as session:  # A's lease runs out while A is paused
            await session.execute(update(TaskRow).values(lease_expires=utcnow()))
        async with b.shared.sessions() as session:
            seen = (await session.execute(select(TaskRow.version))).scalar_one()
        await keeper_a.renew()  # A wakes up and renews before B claims
        assert not await keeper_b._claim("task-1", seen), "B took over a task whose lease A had renewed"
        assert await keeper_b.take_over_lapsed() == 0
        assert recovered == []
    finally:
        await a.close()
        await b.close()


async def test_the_lease_round_stops_only_runs_whose_task_ended_elsewhere(postgres_server):
    """A run that just wrote its own end is not a run to stop: only an end written by another replica is."""
    from a2a_bridge.server.stores.leases import LeaseKeeper

    url = postgres_server.create_database(f"tasks_{next(_databases)}")
    a, b = await _two_replicas(url)
    context = ServerCallContext(user=_Caller())
    stopped: list[str] = []
    a.shared.on_final = stopped.append
    keeper = LeaseKeeper(a.shared, keep_tasks=100, recover=None, running=lambda: ["mine", "theirs"])
    try:
        for task_id in ("mine", "theirs"):
            working = Task(id=task_id, context_id="ctx-1", status=TaskStatus(state=TaskState.TASK_STATE_WORKING))
            await a.task_store.save(working, context)
        done = Task(id="mine", context_id="ctx-1", status=TaskStatus(state=TaskState.TASK_STATE_COMPLETED))
        await a.task_store.save(done, context)  # A's run wrote its end; it is still winding down
        canceled = Task(id="theirs", context_id="ctx-1", status=TaskStatus(state=TaskState.TASK_STATE_CANCELED))
        await b.task_store.save(canceled, context)  # a CancelTask on B, whose message A never heard
        await keeper.stop_finished()
        assert stopped == ["theirs"]
    finally:
        await a.close()
        await b.close()


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("mysql://db/tasks", "is not one of 'memory', 'sqlite:///PATH' or 'postgresql://...'"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///no/such/folder/tasks.db", "the folder 'no/such/folder' does not exist"),
        ("postgresql://user:hunter2@/tasks", "names no host"),
        ("", "store must be"),
    ],
)
def test_a_bad_store_url_says_what_is_wrong_and_hides_the_password(store, message):
    async def agent(turn):
        yield  # pragma: no cover

    with pytest.raises(ConfigurationError, match=re.escape(message)) as raised:
        to_a2a(agent, store=store)
    assert "hunter2" not in str(raised.value)


def test_store_and_task_store_are_one_choice():
    async def agent(turn):
        yield  # pragma: no cover

    with pytest.raises(ConfigurationError, match="either store= or task_store="):
        to_a2a(agent, store="sqlite:///tasks.db", task_store=object())


def test_finished_tasks_beyond_keep_tasks_are_forgotten_oldest_first(tmp_path):
    server = serve_process(
        "agents:steady",
        args=["--store", f"sqlite:///{tmp_path}/tasks.db", "--keep-tasks", "2", "--lease-seconds", "1"],
        env={"STEADY_STEPS": "1"},
    )
    try:
        ids = [run_task(server.url, f"job {n}")["id"] for n in range(4)]
        deadline = time.monotonic() + 10
        while len(call(server.url, "ListTasks", {}).get("tasks", [])) > 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        kept = {t["id"] for t in call(server.url, "ListTasks", {})["tasks"]}
        assert kept == set(ids[2:])
        assert error_of(server.url, "GetTask", {"id": ids[0]})["code"] == -32001
    finally:
        server.stop()


def test_a_graph_on_a_postgres_checkpointer_serves_on_after_postgres_restarts():
    """The conversation claims' own connection is cut by the restart; the next turn opens a new one."""
    with services.postgres() as postgres:
        url = postgres.create_database("checkpoints_restart")
        server = serve_process("graphs:served_topic", args=["--checkpointer", url])
        try:
            first = call(server.url, "SendMessage", {"message": data_message({"topic": "GPUs"})})["task"]
            assert state(first) == "completed"
            postgres.restart()
            for topic in ("TPUs", "CPUs"):
                after = call(server.url, "SendMessage", {"message": data_message({"topic": topic})}, timeout=30)
                assert state(after["task"]) == "completed", after["task"]["status"]
        finally:
            server.stop()


def test_a_graph_with_a_sqlite_checkpointer_resumes_its_task_after_a_restart(tmp_path):
    store = f"sqlite:///{tmp_path}/tasks.db"
    args = ["--store", store, "--checkpointer", f"sqlite:///{tmp_path}/checkpoints.db", "--lease-seconds", "2"]
    env = {"GRAPHS_MARKER_DIR": str(tmp_path)}
    nodes = tmp_path / "nodes"
    first = serve_process("graphs:served_steps", args=args, env=env)
    try:
        params = {"message": data_message({"topic": "GPUs"}), "configuration": {"returnImmediately": True}}
        task_id = call(first.url, "SendMessage", params)["task"]["id"]
        deadline = time.monotonic() + 20
        while (not nodes.exists() or len(nodes.read_text().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        first.kill()
    second = serve_process("graphs:served_steps", args=args, env=env)
    try:
        done = wait_for_state(second.url, task_id, {"completed", "failed", "canceled"}, timeout=30)
        assert state(done) == "completed"
        after_restart = [node for pid, node in (line.split() for line in nodes.read_text().splitlines())
                         if int(pid) == second.process.pid]  # fmt: skip
        assert after_restart[-1] == "publish"
        assert "plan" not in after_restart, "the graph went on from its checkpoint"
    finally:
        second.stop()


def test_a_blocking_caller_whose_tasks_end_cannot_be_saved_is_told_so_not_given_an_unsaved_answer(
    postgres_server, monkeypatch
):
    """The store out of reach past the save's wait: the caller must not read "completed" the store never kept."""
    from agents import SteadyAgent

    from a2a_bridge.server.stores import database
    from a2a_bridge.testing import LiveServer
    from a2a_bridge.testing.fault_proxy import FaultProxy

    monkeypatch.setattr(database, "_OUTAGE_SECONDS", 1.0)
    store = postgres_server.create_database("unsaved_end")
    with FaultProxy(postgres_server.port) as proxy:
        url = store.replace(f"127.0.0.1:{postgres_server.port}", proxy.url_host)
        server = LiveServer(to_a2a(SteadyAgent(steps=3), store=url, lease_seconds=2)).start()
        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                blocked = pool.submit(error_of, server.url, "SendMessage", {"message": message("unsaved")})
                time.sleep(0.3)  # the run has started; its end is what cannot be saved
                proxy.refuse()
                reply = blocked.result(timeout=30)
            proxy.heal()
        finally:
            server.stop()
    assert reply.get("code") == -32603, reply
    assert "could not be saved" in reply["message"], reply
