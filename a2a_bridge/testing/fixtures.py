"""pytest fixtures: ``scripted_backend`` and ``live_server``.

Enable them with ``pytest_plugins = ["a2a_bridge.testing.fixtures"]`` in a
``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from a2a_bridge.testing.live_server import LiveServer
from a2a_bridge.testing.scripted_backend import ScriptedBackend

__all__ = ["live_server", "scripted_backend"]


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
