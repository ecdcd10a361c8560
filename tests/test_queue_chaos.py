"""Queue mode under faults nobody planned for: a front door and two workers lose no task and run none twice.

Real processes (``a2a-bridge serve --queue`` and ``a2a-bridge worker``), Postgres
and Redis on loopback. Redis sits behind
:class:`~a2a_bridge.testing.fault_proxy.FaultProxy`; workers are SIGKILLed and
SIGSTOPped; Postgres is restarted. Each scenario is bounded in tasks and time.
The numbers they measure are in docs/queue.md's fault table.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from chaos_load import (
    STEPS,
    cancel_latency,
    pids_run,
    report,
    run_schedule,
    settle,
    start,
    steps_run,
    tick_pids,
    unfinished,
)
from processes import AgentProcess, serve_process, worker_process

from a2a_bridge.testing import services
from a2a_bridge.testing.fault_proxy import FaultProxy
from a2a_bridge.testing.ports import free_port

AGENT = "chaos-queue"


@pytest.fixture(scope="module")
def postgres() -> Iterator[services.Postgres]:
    with services.postgres() as server:
        yield server


@dataclass
class QueueMesh:
    """A front door and its workers on one store and one queue URL (which may go through a proxy)."""

    store: str
    queue: str
    marker_dir: Path
    front_door: AgentProcess | None = None
    workers: list[AgentProcess] = field(default_factory=list)
    health: dict[int, int] = field(default_factory=dict)  # each worker's pid: its health port

    @property
    def env(self) -> dict[str, str]:
        return {"CHAOS_MARKER_DIR": str(self.marker_dir)}

    @property
    def url(self) -> str:
        assert self.front_door is not None
        return self.front_door.url

    def serve(self) -> None:
        args = ["--store", self.store, "--queue", self.queue, "--name", AGENT, "--lease-seconds", "2"]
        self.front_door = serve_process("agents:chaos", args=args, env=self.env)

    def add_worker(self) -> AgentProcess:
        port = free_port()
        args = ["--name", AGENT, "--lease-seconds", "2", "--concurrency", "8", "--health-port", str(port)]
        worker = worker_process("agents:chaos", queue=self.queue, store=self.store, env=self.env, args=args)
        self.workers.append(worker)
        self.health[worker.process.pid] = port
        return worker

    def workers_healthy(self, *, within: float) -> None:
        """Every worker alive says it is healthy (it reads its queue), within ``within`` seconds."""
        deadline = time.monotonic() + within
        for worker in self.workers:
            port = self.health[worker.process.pid]
            while True:
                assert worker.process.poll() is None, "a worker exited"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"worker {worker.process.pid} never became healthy again"
                time.sleep(0.2)

    def stop(self) -> None:
        for process in [*self.workers, *([self.front_door] if self.front_door else [])]:
            if process.process.poll() is None:
                with_signal(process, signal.SIGCONT)
            process.stop()


def with_signal(process: AgentProcess, signum: signal.Signals) -> None:
    process.process.send_signal(signum)


@pytest.fixture
def mesh(postgres, tmp_path, request) -> Iterator[QueueMesh]:
    store = postgres.create_database(f"chaos_{request.node.name[5:40]}")
    built = QueueMesh(store, "", tmp_path)
    yield built
    built.stop()


@pytest.mark.timeout(240)
def test_queue_mode_under_redis_faults_loses_nothing_and_runs_nothing_twice(mesh):
    """Redis behind the proxy: cut, out 1 s, 5 s and 30 s, partitioned, slow, reset, while tasks run and arrive."""
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(services.redis())
        proxy = stack.enter_context(FaultProxy(redis.port))
        mesh.queue = f"redis://{proxy.url_host}/0"
        stack.callback(mesh.stop)  # before Redis stops
        mesh.serve()
        mesh.add_worker()
        mesh.add_worker()
        schedule = [
            ("cut every connection", proxy.cut, 0.5),
            ("Redis out for 1 s", proxy.refuse, 1.0),
            ("Redis out for 5 s", proxy.refuse, 5.0),
            ("Redis out for 30 s", proxy.refuse, 30.0),
            ("partition for 2 s", proxy.blackhole, 2.0),
            ("50 ms each way for 1 s", lambda: proxy.latency(0.05), 1.0),
            ("reset mid-stream", lambda: proxy.reset_after(50), 0.5),
        ]
        long_run = start(mesh.url, "quiet")  # 30 s: its worker keeps it through the outages that follow
        load = run_schedule([mesh.url], schedule, proxy.heal, per_fault=4)
        task_ids = load.task_ids
        for error in load.refused:  # only a send that waited out the whole 30 s outage
            assert "Send it again" in error["message"], error
        assert len(load.refused) <= 4, load.refused
        states = settle([mesh.url], task_ids, timeout=90)
        assert set(states.values()) == {"completed"}, f"lost or stranded: {states}"
        assert not unfinished(mesh.url), "a task the store holds was left unfinished"
        runs = {task_id: steps_run(mesh.marker_dir, task_id) for task_id in task_ids}
        assert set(runs.values()) == {STEPS}, f"steps run per task: {runs}"
        print(f"refused after waiting out the outage, nothing kept: {len(load.refused)}")
        assert settle([mesh.url], [long_run], timeout=30) == {long_run: "completed"}
        assert len(tick_pids(mesh.marker_dir, long_run)) == 1, "the long task was run again by another worker"
        mesh.workers_healthy(within=15)
        latency = cancel_latency(mesh.url, mesh.url, mesh.marker_dir)
        report("Redis: cut, out 1 s, 5 s, 30 s, partitioned 2 s, slow, reset", len(task_ids), states, runs, latency)
        assert latency < 2.0, f"a cancel took {latency:.1f} s to reach the worker after the faults"


@pytest.mark.timeout(240)
def test_queue_mode_under_process_faults_strands_nothing(mesh, postgres):
    """Workers SIGKILLed and SIGSTOPped, Postgres restarted, queue entries duplicated, while tasks run."""
    import redis as redis_client

    from a2a_bridge.server.queue.work_queue import queue_key

    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(services.redis())
        mesh.queue = redis.url
        stack.callback(mesh.stop)  # before Redis stops
        mesh.serve()
        mesh.add_worker()
        mesh.add_worker()
        interrupted: set[int] = set()  # workers a fault stopped mid-run: their tasks may run again

        def kill_one() -> None:
            victim = mesh.workers.pop(0)
            interrupted.add(victim.process.pid)
            victim.kill()
            mesh.add_worker()

        stalled: list[AgentProcess] = []

        def stall_one() -> None:
            stalled.append(mesh.workers[0])
            interrupted.add(mesh.workers[0].process.pid)
            with_signal(mesh.workers[0], signal.SIGSTOP)

        def duplicate_entries() -> None:
            client = redis_client.Redis.from_url(redis.url)
            try:
                for _, fields in client.xrange(queue_key(AGENT)):
                    client.xadd(queue_key(AGENT), fields)
            finally:
                client.close()

        def heal() -> None:
            for worker in stalled:
                with_signal(worker, signal.SIGCONT)
            stalled.clear()

        schedule = [
            ("a worker SIGKILLed", kill_one, 1.0),
            ("a worker stalled (SIGSTOP) for 5 s", stall_one, 5.0),
            ("Postgres restarted", postgres.restart, 1.0),
            ("every queue entry duplicated", duplicate_entries, 1.0),
        ]
        load = run_schedule([mesh.url], schedule, heal, per_fault=8)
        task_ids = load.task_ids
        assert not load.refused, "the front door refused a send while the fault lasted"
        states = settle([mesh.url], task_ids, timeout=90)
        assert set(states.values()) == {"completed"}, f"lost or stranded: {states}"
        assert not unfinished(mesh.url), "a task the store holds was left unfinished"
        runs = {task_id: steps_run(mesh.marker_dir, task_id) for task_id in task_ids}
        again = {task_id: n for task_id, n in runs.items() if n != STEPS}
        assert all(n >= STEPS for n in runs.values()), f"a task completed without running every step: {again}"
        unexplained = {t: n for t, n in again.items() if not pids_run(mesh.marker_dir, t) & interrupted}
        assert not unexplained, f"run twice though no fault stopped its worker: {unexplained}"
        mesh.workers_healthy(within=15)
        latency = cancel_latency(mesh.url, mesh.url, mesh.marker_dir)
        report(
            "workers killed and stalled, Postgres restarted, entries duplicated", len(task_ids), states, runs, latency
        )
        print(f"run again after their worker was killed or stalled: {len(again)}")
        assert latency < 2.0, f"a cancel took {latency:.1f} s to reach the worker after the faults"
