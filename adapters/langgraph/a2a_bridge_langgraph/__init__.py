"""LangGraph adapter for a2a-bridge: serve graphs over A2A, and delegate from graphs to A2A agents."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["A2ADelegateNode", "DelegationError", "__version__", "a2a_tools", "create_orchestrator", "emit"]

_LAZY = {
    "A2ADelegateNode": "a2a_bridge_langgraph.delegate",
    "DelegationError": "a2a_bridge_langgraph.delegate",
    "a2a_tools": "a2a_bridge_langgraph.tools",
    "create_orchestrator": "a2a_bridge_langgraph.orchestrator",
    "emit": "a2a_bridge_langgraph.events",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that the plugin entry point can import this package without importing langgraph.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'a2a_bridge_langgraph' has no attribute {name!r}")
