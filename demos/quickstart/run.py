"""Quickstart: serve an example agent over A2A and call it over real HTTP.

Starts ``a2a-bridge serve`` in its own process on 127.0.0.1, then calls it the
ways a2a-bridge supports: the official a2a-sdk client (streaming), the
tutorial's ``POST /tasks/send``, and two bad requests to show the errors.
Everything it starts is stopped on exit, Ctrl-C included.

    python demos/quickstart/run.py [--port 8731]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from a2a.client import ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest, TaskState
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict, ParseDict
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from a2a_bridge.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
console = Console()


def start_agent(port: int, secret: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QUICKSTART_SECRET": secret}
    command = [
        sys.executable, "-m", "a2a_bridge.cli", "serve", "demos.quickstart.pricing_agent:estimator",
        "--port", str(port), "--secret", "orchestrator=env:QUICKSTART_SECRET", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with console.status(f"starting the agent on {url} ..."):
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the agent exited with status {process.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"the agent did not become healthy within {timeout:.0f} s")


def show_card(url: str) -> None:
    card = httpx.get(f"{url}/.well-known/agent-card.json").json()
    table = Table(title=f"Agent Card of {card['name']}", show_header=False)
    table.add_row("description", card["description"])
    for interface in card["supportedInterfaces"]:
        table.add_row(f"{interface['protocolBinding']} {interface['protocolVersion']}", interface["url"])
    table.add_row("security", ", ".join(card.get("securitySchemes", {})) or "none")
    schema = card["capabilities"]["extensions"][0]["params"]["input"]
    table.add_row("input", ", ".join(f"{k}{'*' if k in schema['required'] else ''}" for k in schema["properties"]))
    console.print(table)


async def call_streaming(url: str, secret: str) -> None:
    console.rule("[bold]1. a2a-sdk client, streaming (JSON-RPC, A2A v1.0)")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=30) as http:
        client = await create_client(url, ClientConfig(streaming=True, httpx_client=http))
        data = {"gpu": "A100", "hours": 720, "instances": 3, "spot": True}
        message = Message(
            role=Role.ROLE_USER,
            message_id=str(uuid.uuid4()),
            parts=[Part(data=ParseDict(data, struct_pb2.Value()))],
        )
        console.print(f"send: {data}")
        start = time.perf_counter()
        async for event in client.send_message(SendMessageRequest(message=message)):
            elapsed = f"[dim]{(time.perf_counter() - start) * 1000:6.1f} ms[/]"
            if event.HasField("task"):
                console.print(f"{elapsed} task {event.task.id[:8]} created")
            elif event.HasField("status_update"):
                status = event.status_update.status
                note = " ".join(p.text for p in status.message.parts)
                console.print(f"{elapsed} status {TaskState.Name(status.state)} {note}")
            elif event.HasField("artifact_update"):
                update = event.artifact_update
                kind = "final" if update.last_chunk else ("append" if update.append else "first")
                for part in update.artifact.parts:
                    body = part.text if part.HasField("text") else MessageToDict(part.data)
                    console.print(f"{elapsed} artifact [cyan]{update.artifact.name}[/] ({kind}): {body}")


def call_tutorial_shape(url: str, secret: str) -> None:
    console.rule("[bold]2. the tutorial's POST /tasks/send")
    result = httpx.post(
        f"{url}/tasks/send",
        headers={"Authorization": f"Bearer {secret}", "X-Trace-ID": str(uuid.uuid4())},
        json={"task_id": "quickstart-1", "input": {"gpu": "H200", "hours": 24}, "context": {}},
        timeout=30,
    ).json()
    console.print({k: result[k] for k in ("task_id", "status", "output")})


def show_errors(url: str, secret: str) -> None:
    console.rule("[bold]3. bad requests get clear errors")
    bad = httpx.post(
        f"{url}/tasks/send",
        headers={"Authorization": f"Bearer {secret}"},
        json={"task_id": "quickstart-2", "input": {"gpu": "TPU", "hours": -1}},
    )
    console.print(f"bad input   -> HTTP {bad.status_code}: {bad.json()['detail']}")
    denied = httpx.post(
        f"{url}/tasks/send", headers={"Authorization": "Bearer wrong"}, json={"task_id": "x", "input": {}}
    )
    console.print(f"wrong secret -> HTTP {denied.status_code}: {denied.json()['error']['message']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port for the agent (default: a free one)")
    args = parser.parse_args()
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    console.print(Panel.fit("a2a-bridge quickstart: one runner, served over A2A, called over real HTTP"))
    process = start_agent(port, secret)
    try:
        wait_healthy(url, process)
        show_card(url)
        asyncio.run(call_streaming(url, secret))
        call_tutorial_shape(url, secret)
        show_errors(url, secret)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        console.print(f"[dim]stopped the agent (pid {process.pid})[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
