"""Serving-side work under concurrency: 32 tasks at once on a model that answers in exactly 1 s.

Each served agent makes one model call per task. The scripted backend answers
after 1 s and spends no CPU, so the time a batch takes beyond 1 s is the serving
side's own work, most of it before the model call: the bridge with a plain
runner, a LangGraph graph, a CrewAI crew. On the embedded vLLM the same CPU
also runs the model, so this work delays the batch vLLM can form; it is what
sets the two frameworks' pass-through ratios apart (section 3).

    python bench/framework_overhead.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from a2a_bridge import Done, Event, RemoteAgent, TextDelta, Turn  # noqa: E402
from a2a_bridge.testing import ScriptedBackend  # noqa: E402
from bench.roundtrip import wait_listening  # noqa: E402
from bench.vllm_passthrough import limited, serve, stop  # noqa: E402

LATENCY = 1.0
CONCURRENCY = 32
TARGETS = {
    "runner (core only)": "bench.framework_overhead:model_runner",
    "LangGraph graph": "bench.vllm_agents:graph",
    "CrewAI crew": "bench.vllm_crew:crew",
}


class ModelRunner:
    """One model call per task over a kept-alive client: the bridge with nothing else around it."""

    name = "model-runner"

    def __init__(self) -> None:
        self.base_url = os.environ.get("BENCH_VLLM_URL", "http://127.0.0.1:8000/v1")
        self._http: httpx.AsyncClient | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=60)
        body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": turn.text}]}
        response = await self._http.post(f"{self.base_url}/chat/completions", json=body)
        yield TextDelta(response.json()["choices"][0]["message"]["content"])
        yield Done()


model_runner = ModelRunner()


async def _overheads(urls: dict[str, str], rounds: int) -> dict[str, float]:
    beyond: dict[str, list[float]] = {name: [] for name in urls}
    agents = {name: RemoteAgent(url, timeout=120) for name, url in urls.items()}
    try:
        for agent in agents.values():
            await agent.__aenter__()
            await limited(8, 8, lambda agent=agent: agent.send("warm up", context_id=str(uuid.uuid4())))
        for _ in range(rounds):
            for name, agent in agents.items():
                start = time.perf_counter()
                results = await limited(
                    CONCURRENCY, CONCURRENCY, lambda agent=agent: agent.send("hello", context_id=str(uuid.uuid4()))
                )
                if not all(result.ok for result in results):
                    raise SystemExit(f"{name}: a task failed: {[r.message for r in results if not r.ok][:1]}")
                beyond[name].append(time.perf_counter() - start - LATENCY)
    finally:
        for agent in agents.values():
            await agent.__aexit__(None, None, None)
    return {name: statistics.median(values) for name, values in beyond.items()}


def measure(*, rounds: int = 5) -> tuple[list[str], dict[str, float]]:
    with ScriptedBackend(model="smollm2-135m-instruct", latency=LATENCY) as llm:
        servers = {name: serve(target, llm.base_url) for name, target in TARGETS.items()}
        try:
            for _, url in servers.values():
                wait_listening(url + "/healthz", timeout=120)
            numbers = asyncio.run(_overheads({name: url for name, (_, url) in servers.items()}, rounds))
        finally:
            stop([process for process, _ in servers.values()])
    lines = [
        f"| served agent, {CONCURRENCY} tasks at once, model answers in {LATENCY:.0f} s | "
        "batch time beyond the model, ms (median) | per task, ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {value * 1000:.0f} | {value * 1000 / CONCURRENCY:.1f} |" for name, value in numbers.items()]
    return lines, numbers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    table, _ = measure(rounds=parser.parse_args().rounds)
    print("\n".join(table))
