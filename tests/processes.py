"""Serving agents in their own processes with ``a2a-bridge serve``, so tests can kill them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from a2a_bridge.testing.ports import free_port, wait_until_up

TESTS = Path(__file__).resolve().parent


@dataclass
class AgentProcess:
    process: subprocess.Popen[bytes]
    url: str

    def kill(self) -> None:
        """Die at once, like a reclaimed spot instance."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def serve_process(target: str, *, secrets: dict[str, str] | None = None, env: dict[str, str] | None = None,
                  port: int | None = None, timeout: float = 30, args: Sequence[str] = (),
                  cwd: Path = TESTS) -> AgentProcess:  # fmt: skip
    """``a2a-bridge serve TARGET`` with secrets given as NAME=VALUE (VALUE may be @FILE or env:VAR)."""
    port = port or free_port()
    command = [sys.executable, "-m", "a2a_bridge.cli", "serve", target, "--port", str(port), "--log-level", "warning"]
    for name, secret in (secrets or {}).items():
        command += ["--secret", f"{name}={secret}"]
    process = subprocess.Popen([*command, *args], cwd=cwd, env={**os.environ, **(env or {})})
    agent = AgentProcess(process, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(agent.url + "/healthz", process, what=target, timeout=timeout)
    except RuntimeError:
        agent.kill()
        raise
    return agent


def wait_healthy(url: str, process: subprocess.Popen[bytes], *, what: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200; raise if ``process`` exits first or ``timeout`` passes."""
    wait_until_up(url, process, what=what, log="its output above", timeout=timeout)


def worker_process(target: str, *, queue: str, store: str, env: dict[str, str] | None = None,
                   args: Sequence[str] = (), cwd: Path = TESTS) -> AgentProcess:  # fmt: skip
    """``a2a-bridge worker TARGET``: takes its turns from the queue; ``url`` is empty (it serves no HTTP)."""
    command = [sys.executable, "-m", "a2a_bridge.cli", "worker", target, "--queue", queue, "--store", store,
               "--log-level", "warning", *args]  # fmt: skip
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})})
    return AgentProcess(process, "")
