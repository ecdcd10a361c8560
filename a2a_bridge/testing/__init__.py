"""Test helpers: a scripted OpenAI-compatible backend and a loopback server.

Add the fixtures to a test suite with ``pytest_plugins = ["a2a_bridge.testing.fixtures"]``.
"""

from a2a_bridge.testing.live_server import LiveServer
from a2a_bridge.testing.scripted_backend import RecordedRequest, Reply, ScriptedBackend, ToolCall

__all__ = ["LiveServer", "RecordedRequest", "Reply", "ScriptedBackend", "ToolCall"]
