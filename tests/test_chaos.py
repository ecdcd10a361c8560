"""Faults nobody planned for, under load: the fleet loses no task, strands none, runs none twice, hears every cancel.

Real processes (``a2a-bridge serve``), Postgres and Redis on loopback; the
faults go through :class:`~a2a_bridge.testing.fault_proxy.FaultProxy`, placed
between the replicas and the service. Each scenario is bounded in tasks and
time and stops on its own. The numbers each one measures are in
docs/deploying.md's fault table.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from a2a_calls import call, message, state, subscribe_events, wait_for_state
from processes import AgentProcess, serve_process

from a2a_bridge.testing import services
from a2a_bridge.testing.fault_proxy import FaultProxy

TERMINAL = {"completed", "failed", "canceled", "rejected"}
STEPS = 5  # the chaos agent's steps, 0.2 s each


@pytest.fixture(scope="module")
def postgres() -> Iterator[services.Postgres]:
    with services.postgres() as server:
        yield server


def steps_run(marker_dir: Path, task_id: str) -> int:
    path = marker_dir / f"steps-{task_id}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def start(url: str, text: str) -> str:
    params = {"message": message(text), "configuration": {"returnImmediately": True}}
    task_id: str = call(url, "SendMessage", params, timeout=30)["task"]["id"]
    return task_id


def settle(urls: list[str], task_ids: list[str], *, timeout: float) -> dict[str, str]:
    """Each task's state once it is terminal (or as it stands when the time is up)."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    for index, task_id in enumerate(task_ids):
        url = urls[index % len(urls)]
        left = max(0.5, deadline - time.monotonic())
        states[task_id] = state(wait_for_state(url, task_id, TERMINAL, timeout=left))
    return states


def report(scenario: str, sent: int, states: dict[str, str], runs: dict[str, int], cancel: float | None) -> None:
    """One line of the fault table (docs/deploying.md), printed for ``pytest -s``."""
    lost = sum(1 for s in states.values() if s not in TERMINAL)
    twice = sum(1 for n in runs.values() if n > STEPS)
    shown = f"{cancel:.1f} s" if cancel is not None else "-"
    print(f"\nFAULTS | {scenario} | {sent} | {lost} | {twice} | {shown}")


def ticks(marker_dir: Path, task_id: str) -> int:
    path = marker_dir / f"ticks-{task_id}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def cancel_latency(a: AgentProcess, b: AgentProcess, marker_dir: Path) -> float:
    """Seconds from a CancelTask on B to the last tick of A's silent run: only the event bus can stop it."""
    task_id = start(a.url, "quiet")
    deadline = time.monotonic() + 10
    while ticks(marker_dir, task_id) < 2:
        assert time.monotonic() < deadline, "the quiet task never started"
        time.sleep(0.05)
    assert state(call(b.url, "CancelTask", {"id": task_id})) == "canceled"
    canceled_at = time.monotonic()
    last_change, seen = canceled_at, ticks(marker_dir, task_id)
    while time.monotonic() - last_change < 1.0:  # a tick is 0.2 s: a second without one is a stop
        time.sleep(0.1)
        if (now := ticks(marker_dir, task_id)) != seen:
            last_change, seen = time.monotonic(), now
        assert time.monotonic() - canceled_at < 15, "A's run went on 15 s after the cancel"
    return last_change - canceled_at


def test_replicas_under_redis_faults_lose_nothing_and_run_nothing_twice(postgres, tmp_path):
    """Two replicas on one Postgres, their event bus behind the proxy: cut, refuse, blackhole, slow, then heal."""
    store = postgres.create_database("chaos_redis")
    with services.redis() as redis, FaultProxy(redis.port) as proxy:
        bus = f"redis://{proxy.url_host}/0"
        args = ["--store", store, "--event-bus", bus, "--lease-seconds", "2"]
        env = {"CHAOS_MARKER_DIR": str(tmp_path)}
        replicas = [serve_process("agents:chaos", args=args, env=env) for _ in range(2)]
        urls = [replica.url for replica in replicas]
        try:
            # What happens to Redis, and for how long, while eight more tasks are sent through both replicas.
            schedule = [
                ("cut every connection", proxy.cut, 0.5),
                ("refuse new connections for 1 s", proxy.refuse, 1.0),
                ("Redis out for 5 s", proxy.refuse, 5.0),
                ("partition for 2 s", proxy.blackhole, 2.0),
                ("50 ms each way for 1 s", lambda: proxy.latency(0.05), 1.0),
                ("reset mid-stream", lambda: proxy.reset_after(50), 0.5),
            ]
            task_ids: list[str] = []
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                for name, fault, seconds in schedule:
                    fault()
                    sent = [pool.submit(start, urls[n % 2], f"load: {name} {n}") for n in range(8)]
                    task_ids += [future.result() for future in sent]
                    time.sleep(seconds)
                    proxy.heal()
            proxy.heal()
            states = settle(urls, task_ids, timeout=60)
            assert set(states.values()) == {"completed"}, f"lost or stranded: {states}"
            twice = {task_id: steps_run(tmp_path, task_id) for task_id in task_ids}
            assert set(twice.values()) == {STEPS}, f"steps run per task: {twice}"
            for url in urls:
                deadline = time.monotonic() + 15
                while httpx.get(url + "/healthz", timeout=5).json().get("cancels") != "listening":
                    assert time.monotonic() < deadline, f"{url} never listened for cancels again"
                    time.sleep(0.2)
            latency = cancel_latency(replicas[0], replicas[1], tmp_path)
            report(
                "Redis: cut, refused 1 s, out 5 s, partitioned 2 s, slow, reset", len(task_ids), states, twice, latency
            )
            assert latency < 2.0, f"a cancel took {latency:.1f} s to cross after the faults"
        finally:
            for replica in replicas:
                replica.stop()


def test_a_cancel_sent_while_the_bus_is_down_stops_the_run_once_it_is_back(postgres, tmp_path):
    """Pub/sub keeps no message for a subscriber that is away: the store's canceled state must reach A anyway."""
    store = postgres.create_database("chaos_lost_cancel")
    with services.redis() as redis, FaultProxy(redis.port) as proxy:
        args = ["--store", store, "--event-bus", f"redis://{proxy.url_host}/0", "--lease-seconds", "2"]
        env = {"CHAOS_MARKER_DIR": str(tmp_path)}
        a, b = (serve_process("agents:chaos", args=args, env=env) for _ in range(2))
        try:
            task_id = start(a.url, "quiet")
            deadline = time.monotonic() + 10
            while ticks(tmp_path, task_id) < 2:
                assert time.monotonic() < deadline, "the quiet task never started"
                time.sleep(0.05)
            proxy.refuse()
            canceled = call(b.url, "CancelTask", {"id": task_id}, timeout=30)
            assert state(canceled) == "canceled", "the cancel is taken while the bus is down"
            canceled_at = time.monotonic()
            time.sleep(1.0)
            proxy.heal()
            last_change, seen = time.monotonic(), ticks(tmp_path, task_id)
            while time.monotonic() - last_change < 1.0:
                time.sleep(0.1)
                if (now := ticks(tmp_path, task_id)) != seen:
                    last_change, seen = time.monotonic(), now
                assert time.monotonic() - canceled_at < 15, "A's run went on 15 s after the cancel"
            report("Redis refused while a cancel is sent", 1, {task_id: "canceled"}, {}, last_change - canceled_at)
            assert last_change - canceled_at < 4.0, "stopped within a lease round or two of the cancel"
        finally:
            a.stop()
            b.stop()


@pytest.mark.timeout(150)
def test_replicas_whose_postgres_connections_are_cut_under_load_strand_no_task(postgres, tmp_path):
    """The store behind the proxy: every connection cut twice, and refused for 2 s, while tasks run."""
    store_db = postgres.create_database("chaos_postgres")
    with services.redis() as redis, FaultProxy(postgres.port) as proxy:
        store = store_db.replace(f"127.0.0.1:{postgres.port}", proxy.url_host)
        args = ["--store", store, "--event-bus", redis.url, "--lease-seconds", "2"]
        env = {"CHAOS_MARKER_DIR": str(tmp_path)}
        replicas = [serve_process("agents:chaos", args=args, env=env) for _ in range(2)]
        urls = [replica.url for replica in replicas]
        try:
            schedule = [
                ("cut every connection", proxy.cut, 0.6),
                ("refuse for 2 s", proxy.refuse, 2.0),
                ("cut again", proxy.cut, 0.6),
                ("200 ms each way for 1 s", lambda: proxy.latency(0.2), 1.0),
            ]
            task_ids: list[str] = []
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                sent = [pool.submit(start, urls[n % 2], f"load before {n}") for n in range(8)]
                task_ids += [future.result() for future in sent]
                for _, fault, seconds in schedule:
                    time.sleep(0.3)  # the load is running when the fault lands
                    fault()
                    time.sleep(seconds)
                    proxy.heal()
                    sent = [pool.submit(start, urls[n % 2], f"load after {n}") for n in range(4)]
                    task_ids += [future.result() for future in sent]
            states = settle(urls, task_ids, timeout=90)
            stranded = {task_id: s for task_id, s in states.items() if s not in TERMINAL}
            assert not stranded, f"stranded: {stranded}"
            twice = {task_id: steps_run(tmp_path, task_id) for task_id in task_ids}
            assert all(n <= STEPS for n in twice.values()), f"steps run per task: {twice}"
            report("Postgres: cut twice, refused 2 s, slow", len(task_ids), states, twice, None)
            for url in urls:
                assert httpx.get(url + "/healthz", timeout=5).status_code == 200
            fresh = start(urls[0], "after the faults")
            assert state(wait_for_state(urls[1], fresh, TERMINAL, timeout=30)) == "completed"
        finally:
            for replica in replicas:
                replica.stop()


def test_a_follower_on_another_replica_rides_out_a_redis_cut(postgres, tmp_path):
    """SubscribeToTask on B for a task A runs: Redis away 5 s mid-stream, the stream still reaches the end."""
    store = postgres.create_database("chaos_follower")
    with services.redis() as redis, FaultProxy(redis.port) as proxy:
        args = ["--store", store, "--event-bus", f"redis://{proxy.url_host}/0", "--lease-seconds", "2"]
        env = {"CHAOS_MARKER_DIR": str(tmp_path)}
        a, b = (serve_process("agents:chaos", args=args, env=env) for _ in range(2))
        try:
            task_id = start(a.url, "followed")
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                following = pool.submit(subscribe_events, b.url, task_id, timeout=30)
                deadline = time.monotonic() + 10
                while steps_run(tmp_path, task_id) < 1:
                    assert time.monotonic() < deadline, "the task never started"
                    time.sleep(0.05)
                proxy.refuse()
                time.sleep(5.0)  # longer than the Redis client's own retries
                proxy.heal()
                events = following.result(timeout=40)
            last = events[-1]
            status = last["statusUpdate"]["status"] if "statusUpdate" in last else last["task"]["status"]
            assert status["state"] == "TASK_STATE_COMPLETED", events[-1]
        finally:
            a.stop()
            b.stop()
