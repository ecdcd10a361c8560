"""Starting and stopping the mesh's processes: the MCP server and the two A2A workers.

Each worker gets its own bearer secret (one per orchestrator-worker pair, as the
tutorial advises), its backend, and the MCP server's URL, through its environment.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from a2a_bridge import AgentRegistry, Backend
from a2a_bridge.testing.ports import free_port
from demos.mesh.costs import ledger_flags

ROOT = Path(__file__).resolve().parents[2]
WORKERS = {
    "research-worker": ("demos.mesh.research_crew:research_worker", "CrewAI"),
    "synthesis-worker": ("demos.mesh.synthesis_graph:synthesis_worker", "LangGraph"),
}
SYNTHESIS_DESCRIPTION = "Prices GPU fleets from the tier table and writes cost comparisons (on-demand against spot)."


def _backend_env(role: str, backend: Backend) -> dict[str, str]:
    prefix = "MESH_" + role.upper().replace("-", "_")
    return {
        f"{prefix}_URL": backend.base_url,
        f"{prefix}_MODEL": backend.request_model,
        f"{prefix}_KEY": backend.api_key,
    }


@dataclass
class Mesh:
    """The MCP server and the workers, as separate processes on 127.0.0.1."""

    backends: dict[str, Backend]
    max_tokens: int = 96
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    worker_secrets: dict[str, str] = field(default_factory=dict)
    otlp_endpoint: str | None = None
    ledger: str | None = None
    log_dir: Path = field(default_factory=lambda: ROOT / ".mesh-logs")

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.log_dir.mkdir(exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )

    def start(self, progress: Callable[[str], None]) -> None:
        env: dict[str, str] = {"MESH_MAX_TOKENS": str(self.max_tokens), "PYTHONPATH": str(ROOT)}
        for role, backend in self.backends.items():
            env.update(_backend_env(role, backend))
        mcp_port = free_port()
        self.urls["mcp"] = f"http://127.0.0.1:{mcp_port}/mcp"
        env["MESH_MCP_URL"] = self.urls["mcp"]
        self._spawn("mcp", [sys.executable, "-m", "demos.mesh.mcp_server", "--port", str(mcp_port)], env)
        for role, (target, _framework) in WORKERS.items():
            port = free_port()
            secret = self.worker_secrets.setdefault(role, secrets.token_urlsafe(24))
            secret_var = "MESH_SECRET_" + role.upper().replace("-", "_")
            command = [
                sys.executable, "-m", "a2a_bridge.cli", "serve", target, "--port", str(port),
                "--secret", f"orchestrator=env:{secret_var}", "--log-level", "warning",
            ]  # fmt: skip
            if role == "synthesis-worker":
                command += ["--description", SYNTHESIS_DESCRIPTION]
            if self.otlp_endpoint:
                command += ["--otlp-endpoint", self.otlp_endpoint, "--name", role]
            if self.ledger:
                command += ledger_flags(role, self.ledger)
            self._spawn(role, command, {**env, secret_var: secret})
            self.urls[role] = f"http://127.0.0.1:{port}"
        self._wait(progress)

    def _ready(self, name: str) -> bool:
        url = self.urls[name]
        try:
            if name == "mcp":
                httpx.get(url, timeout=1)  # any answer means it listens
                return True
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def _wait(self, progress: Callable[[str], None], timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(self.processes)
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {process.returncode}; see {self.log_dir}/{name}.log")
                if self._ready(name):
                    waiting.discard(name)
                    progress(f"{name} is up at {self.urls[name]} (pid {process.pid})")
            time.sleep(0.2)
        if waiting:
            raise RuntimeError(f"{', '.join(sorted(waiting))} did not start within {timeout:.0f} s; see {self.log_dir}")

    def registry(self) -> AgentRegistry:
        return AgentRegistry.from_urls(
            {role: self.urls[role] for role in WORKERS}, secrets=self.worker_secrets, timeout=600
        )

    def stop(self) -> list[str]:
        stopped = []
        for name, process in self.processes.items():
            if process.poll() is None:
                process.terminate()
                stopped.append(name)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        return stopped
