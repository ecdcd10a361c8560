"""Fan-out: the orchestrator with 4 workers on a scripted backend that takes 500 ms per call.

Wall time of a whole run, against the sum of its critical path measured in the
same run: one planner call, the slowest worker called directly, one synthesis call.
Each worker is its own server process, as in a deployment.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from a2a_bridge_langgraph import create_orchestrator

from a2a_bridge import AgentRegistry, Backend, Done, Event, RemoteAgent, Skill, TextDelta, Turn, to_a2a
from a2a_bridge.testing import ScriptedBackend
from bench.roundtrip import Server, wait_listening

LATENCY = 0.5
WORKERS = [f"worker-{i}" for i in range(1, 5)]


class ModelWorker:
    """Makes one model call per task, like a minimal worker agent, over one kept-alive client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._http: httpx.AsyncClient | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=30)
        response = await self._http.post(
            f"{self.base_url}/chat/completions",
            json={"model": "scripted-model", "messages": [{"role": "user", "content": turn.text}]},
        )
        yield TextDelta(response.json()["choices"][0]["message"]["content"])
        yield Done()


def worker_app() -> Any:
    """One worker, named by BENCH_WORKER, calling the model at BENCH_LLM_URL (a uvicorn factory)."""
    name = os.environ["BENCH_WORKER"]
    return to_a2a(ModelWorker(os.environ["BENCH_LLM_URL"]), name=name, skills=[Skill(name)])


async def _run(llm: ScriptedBackend, urls: dict[str, str], rounds: int) -> dict[str, float]:
    chat = Backend(llm.base_url, model="scripted-model").chat_model()
    plan = {"subtasks": [{"worker": name, "query": f"part {i}"} for i, name in enumerate(WORKERS)]}
    llm.rule(lambda r: "task planner" in r.system, json=plan)
    walls, critical = [], []
    async with AgentRegistry.from_urls(urls) as registry:
        graph = create_orchestrator(registry, planner=chat)
        for _ in range(rounds):
            start = time.perf_counter()
            await graph.ainvoke({"messages": [("user", "split this four ways")]})
            walls.append(time.perf_counter() - start)
            start = time.perf_counter()
            await chat.with_structured_output(
                {"title": "Plan", "type": "object", "properties": {"subtasks": {"type": "array"}}}, method="json_schema"
            ).ainvoke([("system", "You are a task planner."), ("user", "plan")])
            planner = time.perf_counter() - start
            worker_times = []
            for url in urls.values():
                async with RemoteAgent(url) as remote:
                    start = time.perf_counter()
                    await remote.send("part")
                    worker_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            await chat.ainvoke("synthesise")
            synthesis = time.perf_counter() - start
            critical.append(planner + max(worker_times) + synthesis)
    wall, path = statistics.median(walls), statistics.median(critical)
    return {"wall_s": wall, "critical_path_s": path, "ratio": wall / path}


def measure(*, rounds: int = 3) -> tuple[list[str], dict[str, float]]:
    with ScriptedBackend(latency=LATENCY) as llm:
        env = {"BENCH_LLM_URL": llm.base_url, "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "false"}
        servers = [Server(n, "bench.fanout:worker_app", {**env, "BENCH_WORKER": n}, core=None) for n in WORKERS]
        try:
            for server in servers:
                server.start()
            for server in servers:
                wait_listening(server.url + "/healthz")
            numbers = asyncio.run(_run(llm, {n: s.url for n, s in zip(WORKERS, servers, strict=True)}, rounds))
        finally:
            for server in servers:
                server.stop()
    lines = [
        "| orchestrator, 4 workers, 500 ms per model call | seconds (median) |",
        "|---|---:|",
        f"| wall time of a run | {numbers['wall_s']:.2f} |",
        f"| planner + slowest worker + synthesis, each alone | {numbers['critical_path_s']:.2f} |",
        f"| ratio (target at most 1.10) | {numbers['ratio']:.2f} |",
    ]
    return lines, numbers


if __name__ == "__main__":
    table, _ = measure()
    print("\n".join(table))
