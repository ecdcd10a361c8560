"""Fan-out: the orchestrator with 4 workers on a scripted backend that takes 500 ms per call.

Wall time of a whole run, against the sum of its critical path measured in the
same run: one planner call, the slowest worker called directly, one synthesis call.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import httpx
from a2a_bridge_langgraph import create_orchestrator

from a2a_bridge import AgentRegistry, Backend, Done, Event, RemoteAgent, Skill, TextDelta, Turn, to_a2a
from a2a_bridge.testing import LiveServer, ScriptedBackend

LATENCY = 0.5
WORKERS = [f"worker-{i}" for i in range(1, 5)]


class ModelWorker:
    """Makes one model call per task, like a minimal worker agent."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{self.base_url}/chat/completions",
                json={"model": "scripted-model", "messages": [{"role": "user", "content": turn.text}]},
            )
        yield TextDelta(response.json()["choices"][0]["message"]["content"])
        yield Done()


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
        servers = [LiveServer(to_a2a(ModelWorker(llm.base_url), name=n, skills=[Skill(n)])).start() for n in WORKERS]
        try:
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
