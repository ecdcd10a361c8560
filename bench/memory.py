"""Memory: the resident set of an idle served agent, for each kind of agent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from a2a_bridge.testing.ports import free_port
from bench.roundtrip import wait_listening

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "runner (core only)": "bench.servers:trivial",
    "LangGraph graph": "bench.vllm_agents:graph",
    "CrewAI crew": "bench.vllm_crew:crew",
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure() -> tuple[list[str], dict[str, float]]:
    numbers = {}
    for label, target in TARGETS.items():
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "a2a_bridge.cli", "serve", target, "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        try:
            wait_listening(f"http://127.0.0.1:{port}/healthz")
            time.sleep(1.0)
            numbers[label] = rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=10)
    lines = ["| idle served agent | RSS MB |", "|---|---:|"]
    lines += [f"| {label} | {mb:.0f} |" for label, mb in numbers.items()]
    return lines, numbers


if __name__ == "__main__":
    table, _ = measure()
    print("\n".join(table))
