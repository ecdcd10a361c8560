"""Hop overhead under load: requests/s, p50 and p99 of a trivial agent (no model), driven by wrk.

Servers, each in its own process pinned to core 0:
  raw FastAPI     the tutorial's /tasks/send worker with the model call taken out
  bare a2a-sdk    DefaultRequestHandler and JSON-RPC, the SDK's defaults (tracing on)
  a2a-bridge      to_a2a(runner) as `a2a-bridge serve` runs it: JSON-RPC SendMessage and /tasks/send,
                  with tasks in memory, in SQLite and in Postgres (a local server, on the same two cores)
wrk runs on core 1, one target at a time, the targets rotating for several rounds; medians are reported.
Every bridge task stays a full A2A task: GetTask finds it afterwards (checked at the end).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from a2a_bridge.testing import services
from bench.roundtrip import AUTH, Server, wait_listening

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{auth}"
wrk.headers["A2A-Version"] = "1.0"
"""


@dataclass
class Target:
    name: str
    server: Server
    path: str
    body: dict[str, object]


def jsonrpc_body() -> dict[str, object]:
    message = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"data": {"query": "ping"}}]}
    return {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}


def tutorial_body() -> dict[str, object]:
    return {"task_id": "bench", "input": {"query": "ping"}, "context": {}}


def _ms(value: str) -> float:
    number, unit = float(re.match(r"[\d.]+", value).group()), re.sub(r"[\d.]+", "", value)  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(target: Target, *, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(target.body), auth=AUTH["Authorization"]))
    output = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name,
         target.server.url + target.path],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    Path(script.name).unlink()
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{target.name}: {errors.group(1)} error responses under load\n{output}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
    }


def measure(
    *, rounds: int = 3, seconds: int = 6, connections: int = 16
) -> tuple[list[str], dict[str, dict[str, float]]]:
    with tempfile.TemporaryDirectory() as scratch, services.postgres() as postgres:
        return _measure(rounds, seconds, connections, f"sqlite:///{scratch}/tasks.db", postgres.create_database("hop"))


def _measure(
    rounds: int, seconds: int, connections: int, sqlite_url: str, postgres_url: str
) -> tuple[list[str], dict[str, dict[str, float]]]:
    fast = {"OTEL_INSTRUMENTATION_A2A_SDK_ENABLED": "false"}
    servers = {
        "raw": Server("raw FastAPI", "bench.servers:raw_fastapi_app", {}),
        "bare": Server("bare a2a-sdk", "bench.servers:bare_sdk_app", {}),
        "bridge": Server("a2a-bridge", "bench.servers:bridge_app", fast),
        "sqlite": Server("a2a-bridge, SQLite", "bench.servers:bridge_app", {**fast, "BENCH_STORE": sqlite_url}),
        "postgres": Server("a2a-bridge, Postgres", "bench.servers:bridge_app", {**fast, "BENCH_STORE": postgres_url}),
    }
    targets = [
        Target("raw FastAPI /tasks/send", servers["raw"], "/tasks/send", tutorial_body()),
        Target("bare a2a-sdk JSON-RPC (defaults)", servers["bare"], "/", jsonrpc_body()),
        Target("a2a-bridge JSON-RPC SendMessage", servers["bridge"], "/", jsonrpc_body()),
        Target("a2a-bridge /tasks/send", servers["bridge"], "/tasks/send", tutorial_body()),
        Target("a2a-bridge JSON-RPC SendMessage, SQLite store", servers["sqlite"], "/", jsonrpc_body()),
        Target("a2a-bridge JSON-RPC SendMessage, Postgres store", servers["postgres"], "/", jsonrpc_body()),
    ]
    for server in servers.values():
        server.start()
    try:
        for server in servers.values():
            wait_listening(server.url + "/")
        samples: dict[str, list[dict[str, float]]] = {t.name: [] for t in targets}
        for round_ in range(rounds):
            for target in targets if round_ % 2 == 0 else list(reversed(targets)):
                samples[target.name].append(run_wrk(target, seconds=seconds, connections=connections))
        for name in ("bridge", "sqlite", "postgres"):
            _check_get_task(servers[name])
    finally:
        for server in servers.values():
            server.stop()
    medians = {
        name: {key: statistics.median(s[key] for s in runs) for key in ("rps", "p50", "p99")}
        for name, runs in samples.items()
    }
    lines = ["| target | req/s | p50 ms | p99 ms | req/s vs raw FastAPI |", "|---|---:|---:|---:|---:|"]
    base = medians[targets[0].name]["rps"]
    for name, m in medians.items():
        lines.append(f"| {name} | {m['rps']:,.0f} | {m['p50']:.2f} | {m['p99']:.2f} | {m['rps'] / base:.2f} |")
    return lines, medians


def _check_get_task(server: Server) -> None:
    headers = {**AUTH, "A2A-Version": "1.0"}
    sent = httpx.post(server.url + "/", json=jsonrpc_body(), headers=headers).json()
    task_id = sent["result"]["task"]["id"]
    fetched = httpx.post(
        server.url + "/", json={"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": task_id}},
        headers=headers,
    ).json()  # fmt: skip
    if fetched.get("result", {}).get("status", {}).get("state") != "TASK_STATE_COMPLETED":
        raise SystemExit(f"GetTask did not find the bridge's task: {fetched}")


if __name__ == "__main__":
    table, _ = measure()
    print("\n".join(table))
