"""Faults nobody planned for, under load: replicas lose no task, strand none, run none twice, hear every cancel.

Real processes (``a2a-bridge serve``), Postgres and Redis on loopback; the
faults go through :class:`~a2a_bridge.testing.fault_proxy.FaultProxy`, placed
between the replicas and the service. Each scenario is bounded in tasks and
time and stops on its own. The numbers each one measures are in
docs/deploying.md's fault table; queue mode's are in test_queue_chaos.py.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator

import httpx
import pytest
from a2a_calls import call, state, subscribe_events, wait_for_state
from chaos_load import (
    STEPS,
    TERMINAL,
    cancel_latency,
    report,
    run_schedule,
    settle,
    start,
    steps_run,
    stopped_after,
    ticks,
    unfinished,
    until_started,
)
from processes import serve_process

from a2a_bridge.testing import services
from a2a_bridge.testing.fault_proxy import FaultProxy


@pytest.fixture(scope="module")
def postgres() -> Iterator[services.Postgres]:
    with services.postgres() as server:
        yield server


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
            schedule = [
                ("cut every connection", proxy.cut, 0.5),
                ("refuse new connections for 1 s", proxy.refuse, 1.0),
                ("Redis out for 5 s", proxy.refuse, 5.0),
                ("partition for 2 s", proxy.blackhole, 2.0),
                ("50 ms each way for 1 s", lambda: proxy.latency(0.05), 1.0),
                ("reset mid-stream", lambda: proxy.reset_after(50), 0.5),
            ]
            load = run_schedule(urls, schedule, proxy.heal, per_fault=4)
            task_ids = load.task_ids
            assert not load.refused, "a replica refused a send while the fault lasted"
            states = settle(urls, task_ids, timeout=60)
            assert set(states.values()) == {"completed"}, f"lost or stranded: {states}"
            twice = {task_id: steps_run(tmp_path, task_id) for task_id in task_ids}
            assert set(twice.values()) == {STEPS}, f"steps run per task: {twice}"
            for url in urls:
                deadline = time.monotonic() + 15
                while httpx.get(url + "/healthz", timeout=5).json().get("cancels") != "listening":
                    assert time.monotonic() < deadline, f"{url} never listened for cancels again"
                    time.sleep(0.2)
            latency = cancel_latency(urls[0], urls[1], tmp_path)
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
            until_started(lambda: ticks(tmp_path, task_id), 2, timeout=10)
            proxy.refuse()
            canceled = call(b.url, "CancelTask", {"id": task_id}, timeout=30)
            assert state(canceled) == "canceled", "the cancel is taken while the bus is down"
            canceled_at = time.monotonic()
            time.sleep(1.0)
            proxy.heal()
            latency = stopped_after(lambda: ticks(tmp_path, task_id), canceled_at)
            report("Redis refused while a cancel is sent", 1, {task_id: "canceled"}, {}, latency)
            assert latency < 4.0, "stopped within a lease round or two of the cancel"
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
            load = run_schedule(urls, schedule, proxy.heal, per_fault=4)
            task_ids = load.task_ids
            assert not load.refused, "a replica refused a send while the fault lasted"
            states = settle(urls, task_ids, timeout=90)
            stranded = {task_id: s for task_id, s in states.items() if s not in TERMINAL}
            assert not stranded, f"stranded: {stranded}"
            twice = {task_id: steps_run(tmp_path, task_id) for task_id in task_ids}
            assert all(n <= STEPS for n in twice.values()), f"steps run per task: {twice}"
            report("Postgres: cut twice, refused 2 s, slow", len(task_ids), states, twice, None)
            assert not unfinished(urls[0]), "a task the store holds was left unfinished"
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
                until_started(lambda: steps_run(tmp_path, task_id), 1, timeout=10)
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
