"""CrewAI adapter for a2a-bridge: serve crews over A2A, and delegate to A2A agents from crews."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["A2ADelegateTool", "__version__", "a2a_agent"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the plugin entry point can import this package without importing crewai.
    if name == "a2a_agent":
        from a2a_bridge_crewai.decorator import a2a_agent

        return a2a_agent
    if name == "A2ADelegateTool":
        from a2a_bridge_crewai.tool import A2ADelegateTool

        return A2ADelegateTool
    raise AttributeError(f"module 'a2a_bridge_crewai' has no attribute {name!r}")
