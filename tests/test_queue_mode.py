"""Queue mode: a front door that queues turns in Redis, and worker processes that may be killed.

Real Postgres and Redis on loopback; the front door and each worker are ``a2a-bridge`` processes,
killed with SIGKILL where a spot instance would be reclaimed.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from a2a.types import SubscribeToTaskRequest, TaskState
from a2a_calls import V1, call, error_of, get_task, message, start_task, state, wait_for_state
from agents import SteadyAgent
from ledgers import recorded
from processes import AgentProcess, serve_process, worker_process
from sdk import request, sdk_client, user_message
from webhook_receiver import Receiver, kinds, webhook

from a2a_bridge import ConfigurationError, Progress, RemoteAgent, run_worker, to_a2a
from a2a_bridge.testing import services
from a2a_bridge.testing.ports import free_port

TERMINAL = {"completed", "failed", "canceled", "rejected"}


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[services.Postgres, services.Redis]]:
    with services.postgres() as postgres, services.redis() as redis:
        yield postgres, redis


@dataclass
class Mesh:
    """A front door and its workers, on one store and one queue; the agent is named after the test."""

    target: str
    store: str
    queue: str
    name: str
    env: dict[str, str]
    front_door: AgentProcess | None = None
    workers: list[AgentProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.front_door is not None
        return self.front_door.url

    def serve(self, *extra: str) -> None:
        args = ["--store", self.store, "--queue", self.queue, "--name", self.name, "--lease-seconds", "2", *extra]
        self.front_door = serve_process(self.target, args=args, env=self.env)

    def add_worker(self, concurrency: int = 16, *extra: str) -> AgentProcess:
        args = ["--name", self.name, "--lease-seconds", "2", "--concurrency", str(concurrency), *extra]
        worker = worker_process(self.target, queue=self.queue, store=self.store, env=self.env, args=args)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in [*self.workers, *([self.front_door] if self.front_door else [])]:
            process.stop()


@pytest.fixture
def mesh(shared, tmp_path, request) -> Iterator[Mesh]:
    postgres, redis = shared
    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    store = postgres.create_database(f"q_{name}")
    env = {"STEADY_MARKER_DIR": str(tmp_path), "STEADY_STEPS": "10"}
    built = Mesh("agents:steady", store, redis.url, f"steady-{name}", env)
    yield built
    built.stop()


def started_by(marker_dir: Path) -> dict[str, int]:
    """Which worker process started each task (the last one to start it)."""
    return {path.read_text(): int(path.name.removeprefix("started-")) for path in marker_dir.glob("started-*")}


def steps_of(marker_dir: Path, task_id: str) -> list[tuple[int, int]]:
    path = marker_dir / f"steps-{task_id}"
    if not path.exists():
        return []
    return [(int(pid), int(step)) for pid, step in (line.split() for line in path.read_text().splitlines())]


def metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.search(rf"^{name}{{[^}}]*}} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics:\n{text}"
    return float(found.group(1))


def test_a_queued_task_waits_for_a_worker_and_any_worker_runs_it(mesh):
    mesh.serve()
    task_id = start_task(mesh.url, "queued")
    time.sleep(0.5)
    assert state(get_task(mesh.url, task_id)) == "submitted", "nothing runs it until a worker comes"
    mesh.add_worker()
    done = wait_for_state(mesh.url, task_id, TERMINAL, timeout=20)
    assert state(done) == "completed"
    output = next(a for a in done["artifacts"] if a["name"] == "output")["parts"][0]["data"]
    assert output["pid"] == mesh.workers[0].process.pid
    assert output["input"] == {"text": "queued"}
    listed = call(mesh.url, "ListTasks", {})["tasks"]
    assert [t["id"] for t in listed] == [task_id]
    blocking = call(mesh.url, "SendMessage", {"message": message("blocking")})["task"]
    assert state(blocking) == "completed"
    assert blocking["artifacts"][0]["parts"][0]["text"].startswith("step 0 step 1")


def test_the_queue_depth_metric_reads_the_true_depth_while_tasks_wait(mesh):
    mesh.serve()
    assert metric(mesh.url, "a2a_bridge_queue_waiting") == 0
    ids = [start_task(mesh.url, f"waiting {n}") for n in range(7)]
    time.sleep(1.1)
    assert metric(mesh.url, "a2a_bridge_queue_waiting") == 7
    assert metric(mesh.url, "a2a_bridge_queue_running") == 0
    assert metric(mesh.url, "a2a_bridge_queue_oldest_wait_seconds") >= 1.0
    assert metric(mesh.url, "a2a_bridge_queue_workers") == 0
    mesh.add_worker(concurrency=3)
    deadline = time.monotonic() + 10
    while metric(mesh.url, "a2a_bridge_queue_running") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(mesh.url, "a2a_bridge_queue_running") == 3, "the worker takes three at a time"
    assert metric(mesh.url, "a2a_bridge_queue_waiting") == 4
    assert metric(mesh.url, "a2a_bridge_queue_workers") == 1
    for task_id in ids:
        assert state(wait_for_state(mesh.url, task_id, TERMINAL, timeout=30)) == "completed"
    assert metric(mesh.url, "a2a_bridge_queue_waiting") == 0
    assert metric(mesh.url, "a2a_bridge_queue_running") == 0
    assert metric(mesh.url, "a2a_bridge_queue_oldest_wait_seconds") == 0


async def test_a_worker_killed_mid_task_leaves_it_to_another_and_the_stream_sees_it_complete(mesh, tmp_path):
    mesh.serve()
    first = mesh.add_worker()
    client = await sdk_client(mesh.url, binding="JSONRPC", streaming=True, secret=None)
    events = []
    killed_at = 0.0
    async for event in client.send_message(request(user_message("survive a kill"))):
        events.append(event)
        task_id = (event.task.id if event.HasField("task") else "") or events[0].task.id
        if not killed_at and len(steps_of(tmp_path, task_id)) >= 2:
            first.kill()
            killed_at = time.monotonic()
            mesh.add_worker()
    assert killed_at, "the worker was killed while the task ran"
    final = events[-1]
    assert final.HasField("status_update")
    assert final.status_update.status.state == TaskState.TASK_STATE_COMPLETED
    steps = steps_of(tmp_path, task_id)
    second = mesh.workers[1].process.pid
    assert {pid for pid, _ in steps} == {first.process.pid, second}
    assert [step for pid, step in steps if pid == second] == list(range(10)), "run again from its start"
    done = await asyncio.to_thread(get_task, mesh.url, task_id)
    assert state(done) == "completed"
    names = [a["name"] for a in done["artifacts"]]
    assert names == ["response", "output"], "the lost run's partial answer is dropped, not doubled"
    assert done["artifacts"][0]["parts"][0]["text"] == "".join(f"step {n} " for n in range(10))
    output = done["artifacts"][1]["parts"][0]["data"]
    assert output["pid"] == second


def test_a_canceled_queued_task_never_starts(mesh, tmp_path):
    mesh.serve()
    task_id = start_task(mesh.url, "never")
    canceled = call(mesh.url, "CancelTask", {"id": task_id})
    assert state(canceled) == "canceled"
    mesh.add_worker()
    after = start_task(mesh.url, "after")
    assert state(wait_for_state(mesh.url, after, TERMINAL, timeout=20)) == "completed"
    assert task_id not in started_by(tmp_path), "the worker skipped the canceled turn"
    assert state(get_task(mesh.url, task_id)) == "canceled"
    assert metric(mesh.url, "a2a_bridge_queue_waiting") == 0


def test_a_canceled_running_task_stops_on_its_worker(mesh, tmp_path):
    mesh.serve()
    mesh.add_worker()
    task_id = start_task(mesh.url, "to cancel")
    deadline = time.monotonic() + 15
    while len(steps_of(tmp_path, task_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state(call(mesh.url, "CancelTask", {"id": task_id})) == "canceled"
    time.sleep(0.5)
    stopped_at = len(steps_of(tmp_path, task_id))
    time.sleep(1.0)
    assert len(steps_of(tmp_path, task_id)) == stopped_at < 10, "the worker stopped the run"
    assert state(get_task(mesh.url, task_id)) == "canceled"
    assert metric(mesh.url, "a2a_bridge_queue_running") == 0


async def test_subscribe_follows_a_queued_task_from_the_queue_to_its_end(mesh):
    mesh.serve()
    task_id = await asyncio.to_thread(start_task, mesh.url, "followed")
    follower = await sdk_client(mesh.url, binding="HTTP+JSON", streaming=True, secret=None)

    async def follow() -> list:
        return [event async for event in follower.subscribe(SubscribeToTaskRequest(id=task_id))]

    following = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    mesh.add_worker()
    events = await asyncio.wait_for(following, timeout=30)
    assert events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED, "it opens with the queued task"
    progress = [
        e.status_update.status.message.parts[0].text
        for e in events
        if e.HasField("status_update") and e.status_update.status.message.parts
    ]
    assert [p for p in progress if p.startswith("step ")][-1] == "step 9"
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED


def test_an_input_required_task_takes_one_answer_on_any_worker(shared, tmp_path):
    postgres, redis = shared
    store = postgres.create_database("q_asking")
    built = Mesh("agents:asking", store, redis.url, "asking-queue", {})
    built.serve()
    built.add_worker()
    built.add_worker()
    try:
        asked = call(built.url, "SendMessage", {"message": message("plan a trip")})["task"]
        assert state(asked) == "input_required"
        assert "budget" in asked["status"]["message"]["parts"][0]["text"]
        answer = {**message("2000"), "taskId": asked["id"], "contextId": asked["contextId"]}
        done = call(built.url, "SendMessage", {"message": answer})["task"]
        assert state(done) == "completed"
        assert re.fullmatch(r"budget noted: 2000 \(pid \d+\)", done["artifacts"][0]["parts"][0]["text"])
        again = {**message("3000"), "taskId": asked["id"]}
        error = error_of(built.url, "SendMessage", {"message": again})
        assert "terminal state" in error["message"]
        texts = [m["parts"][0]["text"] for m in done["history"]]
        assert texts[:3] == ["plan a trip", "What is your budget in USD?", "2000"]
    finally:
        built.stop()


async def test_two_answers_at_once_one_is_taken(shared):
    postgres, redis = shared
    store = postgres.create_database("q_two_answers")
    built = Mesh("agents:asking", store, redis.url, "asking-twice", {})
    built.serve()
    built.add_worker()
    try:
        asked = (await asyncio.to_thread(call, built.url, "SendMessage", {"message": message("trip")}))["task"]
        body = {"message": {**message("x"), "taskId": asked["id"]}, "configuration": {"returnImmediately": True}}
        async with httpx.AsyncClient(timeout=20) as http:

            async def answer(text: str) -> dict:
                body["message"] = {**message(text), "taskId": asked["id"]}
                rpc = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": dict(body)}
                return (await http.post(built.url + "/", json=rpc, headers=V1)).json()

            replies = await asyncio.gather(*(answer(str(n)) for n in range(4)))
        taken = [r for r in replies if "result" in r]
        refused = [r for r in replies if "error" in r]
        assert len(taken) == 1
        assert len(refused) == 3
        assert all("no longer waits" in r["error"]["message"] or "is TASK_STATE" in r["error"]["message"]
                   for r in refused)  # fmt: skip
        done = await asyncio.to_thread(wait_for_state, built.url, asked["id"], TERMINAL, timeout=20)
        assert state(done) == "completed"
    finally:
        built.stop()


def test_queue_mode_needs_a_shared_store_and_a_redis_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def agent(turn):
        yield  # pragma: no cover

    with pytest.raises(ConfigurationError, match=r"queue mode needs a store that the front door and its workers"):
        to_a2a(agent, queue="redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigurationError, match=r"queue 'http://x' must be a Redis URL"):
        to_a2a(agent, store="sqlite:///t.db", queue="http://x")
    with pytest.raises(ConfigurationError, match=r"leave event_bus out"):
        to_a2a(agent, store="sqlite:///t.db", queue="redis://a:1/0", event_bus="redis://b:1/0")
    with pytest.raises(ConfigurationError, match=r"concurrency must be a whole number of at least 1"):
        run_worker(agent, queue="redis://127.0.0.1:1/0", store="sqlite:///t.db", concurrency=0)
    with pytest.raises(ConfigurationError, match=r"keep_tasks must be a whole number of at least 1, got 0"):
        run_worker(agent, queue="redis://127.0.0.1:1/0", store="sqlite:///t.db", keep_tasks=0)
    with pytest.raises(ConfigurationError, match=r"health_port must be a port number from 1 to 65535, got 70000"):
        run_worker(agent, queue="redis://127.0.0.1:1/0", store="sqlite:///t.db", health_port=70000)
    with pytest.raises(ConfigurationError, match=r"lease_seconds must be a number of at least 1, got 0.5"):
        to_a2a(agent, store="sqlite:///t.db", queue="redis://127.0.0.1:1/0", lease_seconds=0.5)

    class Replier:
        direct_replies = True

        async def run(self, turn):
            yield  # pragma: no cover

    with pytest.raises(ConfigurationError, match=r"serve it without queue="):
        to_a2a(Replier(), store="sqlite:///t.db", queue="redis://127.0.0.1:1/0")


@pytest.mark.timeout(240)
async def test_a_thousand_tasks_three_workers_killed_at_random_lose_nothing_and_finish_once(shared, tmp_path):
    """1,000 tasks; three workers, one SIGKILLed and replaced every 1.5 s through the run."""
    postgres, redis = shared
    store = postgres.create_database("q_thousand")
    env = {"STEADY_STEPS": "3", "STEADY_MARKER_DIR": str(tmp_path)}
    built = Mesh("agents:steady", store, redis.url, "steady-thousand", env)
    built.serve()
    for _ in range(3):
        built.add_worker(concurrency=32)
    ids: list[str] = []
    kills = 0
    started = time.monotonic()
    rng = random.Random(17)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            sending = asyncio.Semaphore(32)

            async def send(n: int) -> None:
                params = {"message": message(f"job {n}"), "configuration": {"returnImmediately": True}}
                rpc = {"jsonrpc": "2.0", "id": n, "method": "SendMessage", "params": params}
                async with sending:
                    reply = (await http.post(built.url + "/", json=rpc, headers=V1)).json()
                ids.append(reply["result"]["task"]["id"])

            sends = asyncio.gather(*(send(n) for n in range(1000)))

            async def unfinished() -> int:
                rpc = {"jsonrpc": "2.0", "id": 0, "method": "ListTasks", "params": {"pageSize": 100}}
                count, token = 0, ""
                while True:
                    rpc["params"]["pageToken"] = token
                    page = (await http.post(built.url + "/", json=rpc, headers=V1)).json()["result"]
                    count += sum(1 for t in page["tasks"] if state(t) not in TERMINAL)
                    token = page.get("nextPageToken", "")
                    if not token:
                        return count

            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                await asyncio.sleep(1.5)
                if sends.done() and await unfinished() == 0:
                    break
                victim = built.workers.pop(rng.randrange(len(built.workers)))
                victim.kill()
                kills += 1
                built.add_worker(concurrency=32)
            await sends
    finally:
        built.stop()
    took = time.monotonic() - started
    built.serve()  # a fresh front door reads every task back from the store
    try:
        tasks = {}
        params = {"pageSize": 100, "includeArtifacts": True}
        while True:
            page = await asyncio.to_thread(call, built.url, "ListTasks", params)
            tasks.update((t["id"], t) for t in page["tasks"])
            if not (token := page.get("nextPageToken")):
                break
            params["pageToken"] = token
    finally:
        built.stop()
    assert len(set(ids)) == 1000
    assert set(tasks) == set(ids), "every task is fetchable"
    assert kills >= 3
    runs = []
    for task_id, task in tasks.items():
        assert state(task) == "completed", task
        names = [a["name"] for a in task["artifacts"]]
        assert names == ["response", "output"], f"completed once, with one answer: {task_id} {names}"
        runs.append(len({pid for pid, _ in steps_of(tmp_path, task_id)}))
    reruns = sum(1 for r in runs if r > 1)
    print(f"1000 tasks in {took:.1f} s, {kills} workers killed, {reruns} tasks run again, at most {max(runs)} runs")


async def test_a_worker_whose_queue_entry_was_taken_while_it_held_the_task_takes_it_back_and_runs_it_once(mesh):
    """Redis away past a lease: another worker takes the entry over, but the store's lease says who runs the task."""
    import redis.asyncio as aioredis

    from a2a_bridge.server.queue.work_queue import GROUP, queue_key

    mesh.env["STEADY_STEPS"] = "15"
    mesh.serve()
    first = mesh.add_worker()
    task_id = await asyncio.to_thread(start_task, mesh.url, "taken from under it")
    await asyncio.to_thread(wait_for_state, mesh.url, task_id, {"working"}, timeout=20)
    key = queue_key(mesh.name)
    queue = aioredis.from_url(mesh.queue)
    try:
        [entry] = await queue.xpending_range(key, GROUP, min="-", max="+", count=10)
        runner = entry["consumer"]
        # What XAUTOCLAIM does once the entry sat idle for a lease: another consumer holds it now.
        await queue.xclaim(key, GROUP, "elsewhere", min_idle_time=0, message_ids=[entry["message_id"]])
        deadline = time.monotonic() + 10
        while (await queue.xpending_range(key, GROUP, min="-", max="+", count=10))[0]["consumer"] != runner:
            assert time.monotonic() < deadline, "the worker still running the task never took its entry back"
            await asyncio.sleep(0.1)
        done = await asyncio.to_thread(wait_for_state, mesh.url, task_id, TERMINAL, timeout=30)
    finally:
        await queue.aclose()
    assert state(done) == "completed"
    steps = steps_of(Path(mesh.env["STEADY_MARKER_DIR"]), task_id)
    assert steps == [(first.process.pid, step) for step in range(15)], "run once, by the worker that held it"


def test_a_send_while_redis_is_away_waits_for_it_or_is_undone_and_told_to_send_again(shared, monkeypatch):
    """Nothing is left submitted with no turn queued: the send waits out the outage, or is undone."""
    import redis as redis_client

    from a2a_bridge.server.queue import front_door
    from a2a_bridge.server.queue.work_queue import queue_key
    from a2a_bridge.testing import LiveServer
    from a2a_bridge.testing.fault_proxy import FaultProxy

    postgres, redis = shared
    monkeypatch.setattr(front_door, "QUEUE_OUTAGE_SECONDS", 2.0)
    store = postgres.create_database("q_away")
    with FaultProxy(redis.port) as proxy:
        server = LiveServer(to_a2a(SteadyAgent(steps=1), store=store, queue=f"redis://{proxy.url_host}/0", name="away"))
        server.start()
        try:
            proxy.refuse()
            threading.Timer(1.0, proxy.heal).start()
            params = {"message": message("after the outage"), "configuration": {"returnImmediately": True}}
            waited = call(server.url, "SendMessage", params)
            proxy.refuse()
            refused = error_of(server.url, "SendMessage", {"message": message("never queued")})
            proxy.heal()
            left = call(server.url, "ListTasks", {})["tasks"]
        finally:
            server.stop()
    assert refused["code"] == -32603, refused
    assert "Send it again" in refused["message"], refused
    assert [t["id"] for t in left] == [waited["task"]["id"]], "the send refused left no task behind"
    client = redis_client.Redis.from_url(redis.url)
    try:
        assert client.xlen(queue_key("away")) == 1, "the send that waited was queued once"
    finally:
        client.close()


def test_a_worker_stopped_while_it_holds_a_turn_it_could_not_start_hands_that_turn_back(shared, tmp_path):
    """SIGTERM (a scale-in) after the store failed a turn's first read: the turn goes back, not out of the group."""
    from a2a_bridge.testing.fault_proxy import FaultProxy

    postgres, redis = shared
    store = postgres.create_database("q_held_back")
    env = {"STEADY_MARKER_DIR": str(tmp_path), "STEADY_STEPS": "2"}
    built = Mesh("agents:steady", store, redis.url, "steady-held-back", env)
    built.serve()
    try:
        with FaultProxy(postgres.port) as proxy:
            built.store = store.replace(f"127.0.0.1:{postgres.port}", proxy.url_host)
            first = built.add_worker()
            time.sleep(2.0)  # reading its queue
            proxy.refuse()
            task_id = start_task(built.url, "held back")
            time.sleep(1.5)  # read, and left to lapse: the store was out of reach
            proxy.heal()
            first.stop()
            assert first.process.returncode == 0, "a worker stopped during a store outage exits cleanly"
        built.store = store
        built.add_worker()
        done = wait_for_state(built.url, task_id, TERMINAL, timeout=20)
    finally:
        built.stop()
    assert state(done) == "completed"


def test_a_duplicated_entry_of_a_turn_that_ends_in_a_question_runs_once_across_workers(shared, tmp_path):
    """The copy waits on another worker for the task's lease; once it has it, the turn has already asked."""
    import redis

    from a2a_bridge.server.queue.work_queue import queue_key

    postgres, redis_server = shared
    built = Mesh(
        "agents:slow_asking", postgres.create_database("q_dup_ask"), redis_server.url, "dup-ask",
        {"STEADY_MARKER_DIR": str(tmp_path)},
    )  # fmt: skip
    built.serve()
    built.add_worker(concurrency=1)
    built.add_worker(concurrency=1)
    try:
        task_id = start_task(built.url, "plan a trip")
        wait_for_state(built.url, task_id, {"working"}, timeout=20)
        client = redis.Redis.from_url(built.queue)
        try:
            [(_, fields)] = client.xrange(queue_key(built.name))
            client.xadd(queue_key(built.name), fields)  # a retried XADD; the busy worker cannot take the copy
        finally:
            client.close()
        asked = wait_for_state(built.url, task_id, {"input_required"}, timeout=20)
        assert state(asked) == "input_required", asked["status"]
        time.sleep(3.0)  # a second run would have started and asked again by now
        again = get_task(built.url, task_id)
    finally:
        built.stop()
    starts = (tmp_path / f"starts-{task_id}").read_text().splitlines()
    assert len(starts) == 1, f"the question turn ran {len(starts)} times: {starts}"
    assert len(again["history"]) == len(asked["history"]), "asked once"


def test_take_overs_that_found_the_task_running_elsewhere_are_not_counted_as_runs(shared, tmp_path):
    """A worker cut off from Redis keeps its task; the other's failed take-overs must not use up MAX_RUNS."""
    import redis as redis_client

    from a2a_bridge.server.queue.work_queue import GROUP, queue_key
    from a2a_bridge.testing.fault_proxy import FaultProxy

    postgres, redis = shared
    store = postgres.create_database("q_not_runs")
    env = {"QUIET_MARKER_DIR": str(tmp_path)}
    args = ["--name", "quiet-not-runs", "--lease-seconds", "2", "--concurrency", "4"]
    front_door = serve_process(
        "agents:quiet", args=["--store", store, "--queue", redis.url, "--name", "quiet-not-runs"], env=env
    )
    workers: list[AgentProcess] = []
    try:
        with FaultProxy(redis.port) as proxy:
            cut_off = worker_process(
                "agents:quiet", queue=f"redis://{proxy.url_host}/0", store=store, env=env, args=args
            )
            workers.append(cut_off)
            task_id = start_task(front_door.url, "a long silent step")
            wait_for_state(front_door.url, task_id, {"working"}, timeout=20)
            workers.append(worker_process("agents:quiet", queue=redis.url, store=store, env=env, args=args))
            proxy.refuse()
            counted = []
            with redis_client.Redis.from_url(redis.url) as client:
                for _ in range(32):  # a take-over attempt every few seconds, each finding the task held
                    time.sleep(0.5)
                    [entry] = client.xpending_range(queue_key("quiet-not-runs"), GROUP, min="-", max="+", count=10)
                    counted.append(entry["times_delivered"])
            assert max(counted) <= 2, f"take-overs that did not run it counted as runs: {counted}"
            cut_off.kill()  # now a crash: one real rerun is due
            ticks = tmp_path / f"ticks-{task_id}"
            deadline = time.monotonic() + 20
            while str(workers[1].process.pid) not in ticks.read_text().split():
                assert time.monotonic() < deadline, (
                    f"the other worker never ran it: {state(get_task(front_door.url, task_id))}"
                )
                time.sleep(0.2)
            assert state(get_task(front_door.url, task_id)) == "working", "rerun, not failed as run too often"
    finally:
        for process in [*workers, front_door]:
            process.stop()


def test_a_send_undone_while_the_store_is_away_too_is_undone_once_the_store_is_back(shared, monkeypatch):
    """Redis gone past the wait, and Postgres gone when the undo runs: the caller is still told to send again."""
    from a2a_bridge.server.queue import front_door
    from a2a_bridge.testing import LiveServer
    from a2a_bridge.testing.fault_proxy import FaultProxy

    postgres, redis = shared
    monkeypatch.setattr(front_door, "QUEUE_OUTAGE_SECONDS", 2.0)
    monkeypatch.setattr(front_door, "_UNDO_EVERY_SECONDS", 0.2, raising=False)
    database = postgres.create_database("q_away_both")
    with FaultProxy(redis.port) as to_redis, FaultProxy(postgres.port) as to_postgres:
        store = database.replace(f"127.0.0.1:{postgres.port}", to_postgres.url_host)
        queue = f"redis://{to_redis.url_host}/0"
        server = LiveServer(to_a2a(SteadyAgent(steps=1), store=store, queue=queue, name="away-both")).start()
        try:
            to_redis.refuse()
            threading.Timer(1.5, to_postgres.refuse).start()  # before the front door gives up on Redis
            refused = error_of(server.url, "SendMessage", {"message": message("never queued")})
            to_postgres.heal()
            to_redis.heal()
            deadline = time.monotonic() + 10
            while left := call(server.url, "ListTasks", {})["tasks"]:
                assert time.monotonic() < deadline, f"left behind with no turn queued: {left}"
                time.sleep(0.2)
        finally:
            server.stop()
    assert "Send it again" in refused["message"], refused


def test_the_documented_keda_scaler_reads_the_queue_the_workers_use():
    import yaml

    from a2a_bridge.server.queue.work_queue import GROUP, queue_key

    text = (Path(__file__).parent.parent / "docs" / "queue.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert block
    scaled = yaml.safe_load(block.group(1))
    assert scaled["kind"] == "ScaledObject"
    assert scaled["spec"]["cooldownPeriod"] == 300
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["stream"] == queue_key("research-worker")
    assert trigger["metadata"]["consumerGroup"] == GROUP
    assert trigger["metadata"]["lagCount"] == "20"


def test_a_worker_reports_its_model_usage_through_the_front_door(shared, scripted_backend, tmp_path):
    postgres, redis = shared
    store = postgres.create_database("q_usage")
    scripted_backend.rule(lambda r: "H200" in r.last_user, text="H200s cost about $3.70 an hour.")
    built = Mesh("agents:researcher", store, redis.url, "researcher-queue", {"LLM_BASE_URL": scripted_backend.base_url})
    built.serve()
    health_port = free_port()
    ledger = f"sqlite:///{tmp_path}/costs.db"
    built.add_worker(16, "--health-port", str(health_port), "--ledger", ledger, "--tier", "worker-a100-7b")
    try:
        params = {"message": {**message("x"), "parts": [{"data": {"query": "H200 prices"}}]}}
        task = call(built.url, "SendMessage", params)["task"]
        assert state(task) == "completed"
        assert task["artifacts"][0]["parts"][0]["text"] == "H200s cost about $3.70 an hour."
        usage = task["metadata"]["usage"]
        assert usage["calls"] == 1
        assert usage["promptTokens"] > 0
        assert usage["completionTokens"] > 0
        assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]
        # The worker that ran the turn counts it, on its health port.
        worker_metrics = httpx.get(f"http://127.0.0.1:{health_port}/metrics", timeout=10).text
        assert 'a2a_bridge_task_states_total{agent="researcher-queue",state="completed"} 1.0' in worker_metrics
        tokens = f'a2a_bridge_tokens_total{{agent="researcher-queue",kind="input",model="{usage["model"]}"}}'
        assert f"{tokens} {float(usage['promptTokens'])}" in worker_metrics
        # ... and records it in the cost ledger, priced at its tier.
        [record] = asyncio.run(recorded(ledger, 1))
        assert (record.task_id, record.agent, record.tier) == (task["id"], "researcher-queue", "worker-a100-7b")
        assert record.prompt_tokens == usage["promptTokens"]
        assert len(scripted_backend.requests) == 1, "one model call, made by the worker"
        bad = error_of(built.url, "SendMessage", {"message": {**message("x"), "parts": [{"data": {"q": 1}}]}})
        assert bad["code"] == -32602
        assert "query" in bad["message"]
        assert len(scripted_backend.requests) == 1, "bad input is refused at the front door, never queued"
    finally:
        built.stop()


def test_a_graph_on_a_killed_worker_resumes_on_another_from_its_checkpoint(shared, tmp_path):
    postgres, redis = shared
    store = postgres.create_database("q_graph_resume")
    built = Mesh("graphs:served_steps", store, redis.url, "steps-queue", {"GRAPHS_MARKER_DIR": str(tmp_path)})
    built.serve()
    nodes = tmp_path / "nodes"
    checkpointed = ["--checkpointer", store]
    first = worker_process(built.target, queue=built.queue, store=store, env=built.env,
                           args=["--name", built.name, "--lease-seconds", "2", *checkpointed])  # fmt: skip
    built.workers.append(first)
    try:
        params = {"message": {**message("x"), "parts": [{"data": {"topic": "GPUs"}}]},
                  "configuration": {"returnImmediately": True}}  # fmt: skip
        task_id = call(built.url, "SendMessage", params)["task"]["id"]
        deadline = time.monotonic() + 30
        while (not nodes.exists() or len(nodes.read_text().splitlines()) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()
        second = worker_process(built.target, queue=built.queue, store=store, env=built.env,
                                args=["--name", built.name, "--lease-seconds", "2", *checkpointed])  # fmt: skip
        built.workers.append(second)
        done = wait_for_state(built.url, task_id, TERMINAL, timeout=40)
        assert state(done) == "completed"
        output = next(a for a in done["artifacts"] if a["name"] == "output")["parts"][0]["data"]
        assert output["done"] == ["plan", "research", "draft", "review", "publish"]
        lines = [line.split() for line in nodes.read_text().splitlines()]
        on_second = [node for pid, node in lines if int(pid) == second.process.pid]
        assert [node for pid, node in lines if int(pid) == first.process.pid][:2] == ["plan", "research"]
        assert "plan" not in on_second, "the second worker went on from the checkpoint"
        assert on_second[-1] == "publish"
    finally:
        built.stop()


def test_plain_text_fills_the_text_field_on_a_worker_as_in_one_process(shared, tmp_path):
    """The topic graph's input is ``{topic: str}``: plain text is its topic, queued or not."""
    postgres, redis = shared
    store = postgres.create_database("q_plain_text")
    built = Mesh("graphs:served_topic", store, redis.url, "topic-text", {})
    built.serve()
    built.add_worker()
    try:
        params = {"message": message("GPUs"), "configuration": {"returnImmediately": True}}
        task_id = call(built.url, "SendMessage", params)["task"]["id"]
        done = wait_for_state(built.url, task_id, TERMINAL, timeout=40)
        assert state(done) == "completed", done["status"]
        output = next(a for a in done["artifacts"] if a["name"] == "output")["parts"][0]["data"]
        assert output == {"summary": "notes on GPUs"}
    finally:
        built.stop()


def test_a_duplicated_queue_entry_runs_its_turn_once(mesh, tmp_path):
    """A retried XADD leaves two entries for one turn: one worker takes both, and runs the turn once."""
    import redis

    from a2a_bridge.server.queue.work_queue import queue_key

    mesh.serve()
    task_id = start_task(mesh.url, "once")
    client = redis.Redis.from_url(mesh.queue)
    try:
        [(_, fields)] = client.xrange(queue_key(mesh.name))
        client.xadd(queue_key(mesh.name), fields)
    finally:
        client.close()
    mesh.add_worker()
    done = wait_for_state(mesh.url, task_id, TERMINAL, timeout=20)
    assert state(done) == "completed"
    time.sleep(0.5)  # a second run would still be writing its steps
    steps = [step for _, step in steps_of(tmp_path, task_id)]
    assert sorted(steps) == list(range(10)), f"steps run: {sorted(steps)}"


def test_a_message_sent_again_to_the_front_door_gets_its_first_task(mesh, tmp_path):
    from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION

    mesh.serve()
    mesh.add_worker()
    sent = message("once through the queue")
    idempotent = {"A2A-Extensions": IDEMPOTENT_SEND_EXTENSION}
    started = call(mesh.url, "SendMessage", {"message": sent, "configuration": {"returnImmediately": True}},
                   headers=idempotent)["task"]  # fmt: skip
    again = call(mesh.url, "SendMessage", {"message": sent}, headers=idempotent)["task"]
    assert again["id"] == started["id"]
    assert state(again) == "completed"
    assert [t["id"] for t in call(mesh.url, "ListTasks", {})["tasks"]] == [started["id"]]
    assert sorted(step for _, step in steps_of(tmp_path, started["id"])) == list(range(10)), "the turn ran once"


def test_the_tutorial_shape_works_through_the_front_door(mesh):
    mesh.serve()
    mesh.add_worker()
    body = {"task_id": "t-1", "input": {"query": "H200 prices"}, "context": {}}
    reply = httpx.post(mesh.url + "/tasks/send", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["task_id"] == "t-1"
    assert body["status"] == "completed"
    task = get_task(mesh.url, body["a2a_task_id"])
    output = next(a for a in task["artifacts"] if a["name"] == "output")["parts"][0]["data"]
    assert output["pid"] == mesh.workers[0].process.pid


async def test_grpc_callers_reach_the_workers_through_the_front_door(mesh):
    await asyncio.to_thread(mesh.serve, "--grpc-port", str(free_port()))
    mesh.add_worker()
    async with RemoteAgent(mesh.url, bindings=["GRPC"], retries=0) as agent:
        answer = await agent.send("over gRPC")
        streamed = [event async for event in agent.stream("streamed over gRPC")]
    assert answer.state == "completed"
    assert answer.data["pid"] == mesh.workers[0].process.pid
    assert streamed[-1].state == "completed"
    steps = [event.message for event in streamed if isinstance(event, Progress)]
    assert steps[-1] == "step 9", "the worker's steps, as they happened"


def test_a_turn_redelivered_after_it_ended_with_a_question_is_not_run_again(shared):
    """A worker that saved the question and died before acknowledging: the next worker only acknowledges."""
    import redis as redis_client
    from a2a.types import SendMessageRequest

    from a2a_bridge.server.queue.work_queue import Job, queue_key

    postgres, redis = shared
    store = postgres.create_database("q_redelivered")
    built = Mesh("agents:asking", store, redis.url, "asking-redelivered", {})
    built.serve()
    built.add_worker()
    try:
        asked = call(built.url, "SendMessage", {"message": message("plan a trip")})["task"]
        assert state(asked) == "input_required"
        stale = Job(task_id=asked["id"], owner="", request=SendMessageRequest(message=user_message("plan a trip")),
                    history_before=1)  # fmt: skip
        with redis_client.Redis.from_url(redis.url) as r:
            r.xadd(queue_key(built.name), stale.fields())
            deadline = time.monotonic() + 10
            while r.xlen(queue_key(built.name)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert r.xlen(queue_key(built.name)) == 0, "the worker took the stale turn and acknowledged it"
        after = get_task(built.url, asked["id"])
        assert after["status"] == asked["status"], "the question stands, untouched"
        assert len(after["history"]) == len(asked["history"])
    finally:
        built.stop()


def health(url: str, *, until: int | None = None, timeout: float = 15) -> int:
    """The status of a worker's probe (polled until it is ``until``, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = httpx.get(url, timeout=2).status_code
        except httpx.TransportError:
            status = 0
        if until is None or status == until or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_workers_and_the_front_door_carry_on_after_redis_restarts_empty(shared, tmp_path):
    postgres, _ = shared
    store = postgres.create_database("q_redis_restart")
    probe_port = free_port()
    probe = f"http://127.0.0.1:{probe_port}/healthz"
    built = Mesh("agents:steady", store, "", "steady-restart", {"STEADY_STEPS": "2"})
    try:
        with services.redis() as first_redis:
            port = first_redis.port
            built.queue = first_redis.url
            built.serve()
            built.add_worker(16, "--health-port", str(probe_port))
            assert state(call(built.url, "SendMessage", {"message": message("before")})["task"]) == "completed"
            assert health(probe, until=200) == 200
            assert httpx.get(probe.replace("/healthz", "/tasks"), timeout=2).status_code == 404
            worker_metrics = httpx.get(probe.replace("/healthz", "/metrics"), timeout=2)
            assert worker_metrics.status_code == 200
            completed = 'a2a_bridge_task_states_total{agent="steady-restart",state="completed"} 1.0'
            assert completed in worker_metrics.text
        assert health(probe, until=503) == 503, "a worker cut off from its queue fails its probe"
        with services.redis(port=port):
            done = call(built.url, "SendMessage", {"message": message("after")}, timeout=30)["task"]
            assert state(done) == "completed", "the worker made the group again and took the turn"
            assert metric(built.url, "a2a_bridge_queue_waiting") == 0
            assert health(probe, until=200) == 200
    finally:
        built.stop()


def test_a_worker_delivers_the_push_notifications_of_the_turns_it_runs(mesh):
    from cryptography.fernet import Fernet

    mesh.env["PUSH_KEY"] = Fernet.generate_key().decode()
    with Receiver.started() as receiver:
        # Registrations encrypted at rest: the worker reads them with the front door's key.
        allow = ("--webhook-allow", "127.0.0.0/8", "--push-encryption-key", "env:PUSH_KEY")
        mesh.serve(*allow)
        mesh.add_worker(16, *allow)
        params = {"message": message("pushed"), "configuration": {"taskPushNotificationConfig": webhook(receiver.url)}}
        task = call(mesh.url, "SendMessage", params)["task"]
        assert state(task) == "completed"
        events = receiver.events()
    assert kinds(events)[0] == "statusUpdate TASK_STATE_WORKING"  # the worker's first event: the task was queued before
    assert kinds(events)[-1] == "statusUpdate TASK_STATE_COMPLETED"
    assert {next(iter(e.values()))["taskId"] for e in events} == {task["id"]}
    assert receiver.received[-1]["headers"]["x-a2a-notification-token"] == "task-token-1"
    refused = error_of(mesh.url, "SendMessage", {"message": message("x"), "configuration": {
        "taskPushNotificationConfig": webhook("http://10.1.2.3/hook")}})  # fmt: skip
    assert refused["message"] == (
        "push notification url: 10.1.2.3 is a private address, which this agent does not call "
        "(push_notifications.allow)"
    )
