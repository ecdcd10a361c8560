"""Cross-replica streaming: what following a task from another replica adds.

Two replicas (`bench.servers:ticking_app` under uvicorn) share a Postgres store and a Redis event
bus. A task on replica A emits a progress event every 20 ms, each carrying the moment it was
emitted. One subscriber on A and one on B follow the same task at once (SubscribeToTask, the
a2a-sdk client). Reported, as medians over rounds:
  - delivery: received minus emitted, per event, on A (in process) and on B (through Redis);
  - first event: from calling SubscribeToTask to the first event (the task as it is), on A and on B.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.types import SubscribeToTaskRequest

from a2a_bridge.testing import services
from bench.roundtrip import V1, Server, wait_listening


async def _follow(url: str, task_id: str) -> tuple[float, list[float]]:
    client = await create_client(url, ClientConfig(streaming=True, httpx_client=httpx.AsyncClient(timeout=60)))
    asked = time.monotonic()
    first = 0.0
    delays: list[float] = []
    async for event in client.subscribe(SubscribeToTaskRequest(id=task_id)):
        now_ns = time.time_ns()
        if not first:
            first = time.monotonic() - asked
        parts = event.status_update.status.message.parts if event.HasField("status_update") else []
        if parts and parts[0].text.isdigit():
            delays.append((now_ns - int(parts[0].text)) / 1e6)
    await client.close()
    return first * 1000, delays


def _start_task(url: str) -> str:
    message = {"messageId": f"m-{time.monotonic_ns()}", "role": "ROLE_USER", "parts": [{"text": "tick"}]}
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": message, "configuration": {"returnImmediately": True}}}  # fmt: skip
    task_id: str = httpx.post(url + "/", json=body, headers=V1, timeout=30).json()["result"]["task"]["id"]
    return task_id


async def _round(a: Server, b: Server) -> dict[str, Any]:
    task_id = _start_task(a.url)
    (first_a, on_a), (first_b, on_b) = await asyncio.gather(_follow(a.url, task_id), _follow(b.url, task_id))
    return {"first_a": first_a, "first_b": first_b, "a": statistics.median(on_a), "b": statistics.median(on_b)}


def measure(*, rounds: int = 5) -> tuple[list[str], dict[str, float]]:
    with services.postgres() as postgres, services.redis() as redis:
        env = {
            "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "false",
            "BENCH_STORE": postgres.create_database("replicas"),
            "BENCH_BUS": redis.url,
        }
        a = Server("replica A", "bench.servers:ticking_app", env, core=0)
        b = Server("replica B", "bench.servers:ticking_app", env, core=1)
        for server in (a, b):
            server.start()
        try:
            for server in (a, b):
                wait_listening(server.url + "/")
            samples = [asyncio.run(_round(a, b)) for _ in range(rounds)]
        finally:
            for server in (a, b):
                server.stop()
    m = {key: statistics.median(s[key] for s in samples) for key in ("first_a", "first_b", "a", "b")}
    m["added"] = m["b"] - m["a"]
    lines = [
        "| subscriber | first event ms | event delivery ms |",
        "|---|---:|---:|",
        f"| on the replica running the task | {m['first_a']:.1f} | {m['a']:.2f} |",
        f"| on another replica (Redis streams) | {m['first_b']:.1f} | {m['b']:.2f} |",
    ]
    return lines, m


if __name__ == "__main__":
    table, numbers = measure()
    print("\n".join(table))
    print(f"added by the other replica: {numbers['added']:.2f} ms per event")
