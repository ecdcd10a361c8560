"""Queue mode: how throughput grows with worker processes, and what the queue adds to one task.

Side by side in one run, on one Postgres and one Redis:
  1. throughput: a front door and 1, 2 and 4 `a2a-bridge worker` processes (8 turns at once each)
     on an agent that makes one call to the scripted backend, which answers in 1 s; the callers
     keep twice the workers' capacity in flight. Ideal: 8 tasks/s per worker.
  2. latency: a trivial agent (no model call), one blocking SendMessage at a time, served in one
     process against the same agent behind a front door and one worker; medians.
Writes bench/results-queue.md.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from a2a_bridge.testing import services  # noqa: E402
from a2a_bridge.testing.ports import free_port  # noqa: E402
from bench.fanout import ModelWorker  # noqa: E402
from bench.roundtrip import V1, wait_listening  # noqa: E402
from bench.servers import TrivialRunner  # noqa: E402

RESULTS = ROOT / "bench" / "results-queue.md"
PER_WORKER = 8
LATENCY = 1.0

# The agents the processes below serve, by MODULE:ATTR.
model_worker = ModelWorker(os.environ.get("BENCH_LLM_URL", "http://127.0.0.1:1"))
trivial = TrivialRunner()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "a2a_bridge.cli", *args, "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=20)


def _message(text: str) -> dict[str, object]:
    return {"messageId": f"m-{time.monotonic_ns()}", "role": "ROLE_USER", "parts": [{"data": {"query": text}}]}


async def _send_many(url: str, count: int, in_flight: int) -> float:
    """Send ``count`` blocking tasks, ``in_flight`` at a time; tasks per second."""
    gate = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=in_flight)) as http:

        async def one(n: int) -> None:
            body = {"jsonrpc": "2.0", "id": n, "method": "SendMessage", "params": {"message": _message(f"q{n}")}}
            async with gate:
                reply = (await http.post(url + "/", json=body, headers=V1)).json()
            assert reply["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", reply

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return count / (time.perf_counter() - started)


def _latencies(url: str, count: int) -> float:
    """Median ms of one blocking SendMessage at a time."""
    samples = []
    with httpx.Client(timeout=30) as http:
        for n in range(count):
            body = {"jsonrpc": "2.0", "id": n, "method": "SendMessage", "params": {"message": _message(f"q{n}")}}
            started = time.perf_counter()
            reply = http.post(url + "/", json=body, headers=V1).json()
            samples.append((time.perf_counter() - started) * 1000)
            assert reply["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", reply
    return statistics.median(samples[5:])


def _serve(target: str, store: str, *extra: str, env: dict[str, str] | None = None) -> tuple[str, subprocess.Popen]:
    port = free_port()
    process = _cli("serve", target, "--port", str(port), "--store", store, *extra, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_listening(url + "/healthz")
    return url, process


def measure() -> list[str]:
    lines: list[str] = []
    with services.postgres() as postgres, services.redis() as redis:
        llm_port = free_port()
        llm = subprocess.Popen(
            [sys.executable, "-m", "a2a_bridge.cli", "backend", "scripted", "--port", str(llm_port),
             "--latency", str(LATENCY)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        env = {"BENCH_LLM_URL": f"http://127.0.0.1:{llm_port}/v1"}
        try:
            wait_listening(f"http://127.0.0.1:{llm_port}/v1/models")
            rows = []
            for workers in (1, 2, 4):
                store = postgres.create_database(f"throughput_{workers}")
                queue = redis.url
                name = f"model-worker-{workers}"
                url, front = _serve(
                    "bench.queue_workers:model_worker", store, "--queue", queue, "--name", name, env=env
                )
                started = [
                    _cli("worker", "bench.queue_workers:model_worker", "--queue", queue, "--store", store,
                         "--name", name, "--concurrency", str(PER_WORKER), env=env)
                    for _ in range(workers)
                ]  # fmt: skip
                try:
                    capacity = PER_WORKER * workers
                    asyncio.run(_send_many(url, capacity, capacity))  # warm-up: every worker has started
                    rate = statistics.median(asyncio.run(_send_many(url, capacity * 4, capacity * 2)) for _ in range(3))
                finally:
                    _stop([*started, front])
                rows.append((workers, rate, rate / (capacity / LATENCY)))
            base = rows[0][1]
            lines += [
                f"## Throughput: workers on a model that answers in {LATENCY:.0f} s ({PER_WORKER} turns at once each)",
                "",
                "| workers | tasks/s | of ideal | against 1 worker |",
                "|---:|---:|---:|---:|",
                *(f"| {w} | {r:.1f} | {e:.2f} | {r / base:.2f}x |" for w, r, e in rows),
                "",
            ]
            store = postgres.create_database("latency_direct")
            url, direct = _serve("bench.queue_workers:trivial", store)
            try:
                in_process = _latencies(url, 105)
            finally:
                _stop([direct])
            store = postgres.create_database("latency_queue")
            url, front = _serve("bench.queue_workers:trivial", store, "--queue", redis.url)
            worker = _cli("worker", "bench.queue_workers:trivial", "--queue", redis.url, "--store", store)
            try:
                _latencies(url, 10)
                queued = _latencies(url, 105)
            finally:
                _stop([worker, front])
            lines += [
                "## Latency: one trivial task at a time, Postgres store in both",
                "",
                "| served | median ms |",
                "|---|---:|",
                f"| in one process | {in_process:.1f} |",
                f"| front door + queue + one worker | {queued:.1f} |",
                f"| added by the queue | {queued - in_process:.1f} |",
                "",
            ]
        finally:
            llm.terminate()
            llm.wait()
    return lines


def main() -> int:
    lines = measure()
    stamp = datetime.date.today().isoformat()
    header = [
        "# Queue mode",
        "",
        f"Measured {stamp} on {platform.machine()}, {os.cpu_count()} cores, with `python bench/queue_workers.py`"
        " (part of `make bench`). Every process (callers, front door, workers, Postgres, Redis, the scripted"
        " model) shares these cores.",
        "",
    ]
    RESULTS.write_text("\n".join(header + lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
