"""A real Arize Phoenix on loopback, to collect a mesh's traces and read them back.

    with phoenix() as collector:
        ...  # a2a-bridge serve ... --otlp-endpoint {collector.url}
        spans = collector.spans("a2a-bridge")

Phoenix has dependencies of its own that need not match a project's, so it
lives in its own virtual environment (``~/.cache/a2a-bridge/phoenix``),
installed from PyPI the first time (about 80 s) and reused after that. Each
run keeps its data in a temporary directory, removed when it stops.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from a2a_bridge.testing.ports import free_port, wait_until_up

__all__ = ["PHOENIX_REQUIREMENT", "Phoenix", "phoenix"]

PHOENIX_REQUIREMENT = "arize-phoenix>=20.26,<21"
DEFAULT_HOME = Path.home() / ".cache" / "a2a-bridge" / "phoenix"


@dataclass
class Phoenix:
    """A running Phoenix: its UI and API at ``url``, its OTLP/HTTP endpoint at ``url`` too."""

    url: str
    process: subprocess.Popen[bytes]
    data: Path
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def spans(self, project: str) -> list[dict[str, Any]]:
        """Every span Phoenix holds for ``project``, through its REST API."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = self._http.get(f"{self.url}/v1/projects/{project}/spans", params=params)
            if response.status_code == 404:
                return []
            response.raise_for_status()
            body = response.json()
            found += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return found

    def trace(self, project: str, trace_id: str, *, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The spans of one trace, once at least ``count`` of them have arrived (exporters send in batches)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = [s for s in self.spans(project) if s["context"]["trace_id"] == trace_id]
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._http.close()


def install(home: Path = DEFAULT_HOME, progress: Callable[[str], None] | None = None) -> Path:
    """Phoenix's own environment, created and filled the first time; its ``phoenix`` command."""
    command = home / "venv" / "bin" / "phoenix"
    stamp = home / "venv" / ".installed"
    if stamp.exists() and stamp.read_text() == PHOENIX_REQUIREMENT and command.exists():
        return command
    say = progress or (lambda message: print(message, file=sys.stderr, flush=True))
    say(f"installing {PHOENIX_REQUIREMENT} into {home / 'venv'} (once; about 80 s)")
    shutil.rmtree(home / "venv", ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    venv.create(home / "venv", with_pip=True)
    subprocess.run(
        [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         PHOENIX_REQUIREMENT],
        check=True,
    )  # fmt: skip
    stamp.write_text(PHOENIX_REQUIREMENT)
    return command


@contextmanager
def phoenix(*, home: Path = DEFAULT_HOME, timeout: float = 120) -> Iterator[Phoenix]:
    """Phoenix on a free loopback port with a temporary data directory, stopped afterwards."""
    command = install(home)
    data = Path(tempfile.mkdtemp(prefix="a2a-bridge-phoenix-"))
    port = free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_WORKING_DIR": str(data),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = (data / "phoenix.log").open("wb")
    process = subprocess.Popen([str(command), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    collector = Phoenix(f"http://127.0.0.1:{port}", process, data)
    try:
        where = str(data / "phoenix.log")
        wait_until_up(f"{collector.url}/healthz", process, what="Phoenix", log=where, timeout=timeout)
        yield collector
    finally:
        collector.stop()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
