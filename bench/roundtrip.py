"""Median round-trip time of a trivial agent: a2a-bridge beside a raw FastAPI endpoint.

Each server runs in its own process pinned to core 0; the client is pinned to
core 1 and sends one request at a time, rotating over the targets, so that
machine noise falls on all of them alike. Writes bench/results-roundtrip.md.

    python bench/roundtrip.py [--requests 2000] [--warmup 200]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from a2a_bridge.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Bearer bench-secret-0001"}
V1 = {"A2A-Version": "1.0"}


def measured_commit() -> str:
    """The commit the benchmark measured, marked when the tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    # Results files written by an earlier benchmark of the same run are not changes to what is measured.
    changed = ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results*"]
    dirty = subprocess.run(changed, capture_output=True, text=True, cwd=ROOT).stdout
    return head.strip() + (" with uncommitted changes" if dirty.strip() else "")


def wait_listening(url: str, *, timeout: float = 60) -> None:
    """Poll ``url`` until the server behind it answers anything."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing answered at {url} within {timeout:.0f} s") from None
            time.sleep(0.2)


def pin(core: int) -> Callable[[], None]:
    def apply() -> None:
        if hasattr(os, "sched_setaffinity") and core < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {core})

    return apply


@dataclass
class Server:
    name: str
    factory: str
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    core: int | None = 0

    def start(self) -> None:
        self.port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", self.factory, "--factory", "--host", "127.0.0.1",
            "--port", str(self.port), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        pinning = pin(self.core) if self.core is not None else None
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=pinning)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def tutorial_request(url: str) -> tuple[str, dict[str, object], dict[str, str]]:
    body = {"task_id": str(uuid.uuid4()), "input": {"query": "ping"}, "context": {}}
    return f"{url}/tasks/send", body, AUTH


def jsonrpc_request(url: str) -> tuple[str, dict[str, object], dict[str, str]]:
    message = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"data": {"query": "ping"}}]}
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    return f"{url}/", body, {**AUTH, **V1}


def rest_request(url: str) -> tuple[str, dict[str, object], dict[str, str]]:
    message = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"data": {"query": "ping"}}]}
    return f"{url}/message:send", {"message": message}, {**AUTH, **V1}


def check(name: str, response: httpx.Response) -> None:
    body = response.json()
    ok = body.get("status") == "completed" or "TASK_STATE_COMPLETED" in response.text
    if response.status_code != 200 or not ok:
        raise SystemExit(f"{name}: unexpected answer {response.status_code} {response.text[:200]}")


def median_and_p99(samples: list[float]) -> tuple[float, float]:
    values = sorted(samples)
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]


Target = tuple[str, Server, Callable[[str], tuple[str, dict[str, object], dict[str, str]]]]


def interleave(
    servers: Iterable[Server],
    targets: list[Target],
    *,
    requests: int,
    warmup: int,
    headers: Callable[[], dict[str, str]] = dict,
) -> dict[str, list[float]]:
    """Start ``servers``, then time one request at a time to each target in turn; seconds per target.

    ``headers`` gives each round's extra headers, the same for every target of the round.
    """
    started = list(servers)
    for server in started:
        server.start()
    try:
        clients = {id(s): httpx.Client(timeout=10) for s in started}
        for server in started:
            wait_listening(server.url + "/")
        samples: dict[str, list[float]] = {name: [] for name, _, _ in targets}
        total = warmup + requests
        for i in range(total):
            extra = headers()
            for name, server, make in targets:
                url, body, target_headers = make(server.url)
                start = time.perf_counter()
                response = clients[id(server)].post(url, json=body, headers={**target_headers, **extra})
                elapsed = time.perf_counter() - start
                if i < 3:
                    check(name, response)
                if i >= warmup:
                    samples[name].append(elapsed)
            if i % 200 == 0:
                print(f"\r{i}/{total} rounds", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        return samples
    finally:
        for server in started:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per target")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests per target first")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-roundtrip.md")
    args = parser.parse_args()
    pin(1)()

    fast = {"OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "false"}
    traced = {"OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "true"}
    servers = {
        "raw": Server("raw FastAPI /tasks/send", "bench.servers:raw_fastapi_app", {}),
        "bridge": Server("a2a-bridge", "bench.servers:bridge_app", fast),
        "traced": Server("a2a-bridge, SDK tracing on", "bench.servers:bridge_app", traced),
    }
    targets = [
        ("raw FastAPI, tutorial /tasks/send", servers["raw"], tutorial_request),
        ("a2a-bridge, tutorial /tasks/send", servers["bridge"], tutorial_request),
        ("a2a-bridge, JSON-RPC SendMessage", servers["bridge"], jsonrpc_request),
        ("a2a-bridge, HTTP+JSON message:send", servers["bridge"], rest_request),
        ("a2a-bridge, JSON-RPC, SDK tracing on", servers["traced"], jsonrpc_request),
    ]
    samples = interleave(servers.values(), targets, requests=args.requests, warmup=args.warmup)

    base = statistics.median(samples[targets[0][0]])
    lines = [
        "# Round trip of a trivial agent",
        "",
        f"`python bench/roundtrip.py --requests {args.requests}`: one request at a time over keep-alive HTTP,",
        "servers pinned to core 0, client to core 1, targets interleaved request by request.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};"
        f" {datetime.date.today().isoformat()}, commit {measured_commit()}.",
        "",
        "| target | median ms | p99 ms | median vs raw FastAPI |",
        "|---|---:|---:|---:|",
    ]
    for name, _, _ in targets:
        median, p99 = median_and_p99(samples[name])
        lines.append(f"| {name} | {median * 1000:.2f} | {p99 * 1000:.2f} | {median / base:.2f}x |")
    report = "\n".join(lines) + "\n"
    args.out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
