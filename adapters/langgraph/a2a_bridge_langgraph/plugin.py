"""The LangGraph entry in the ``a2a_bridge.adapters`` entry-point group.

This module is imported while a2a-bridge looks for the adapter of an object,
so it must not import langgraph itself.
"""

from __future__ import annotations

from typing import Any

from a2a_bridge import Adapted, ConfigurationError
from a2a_bridge.plugins import defined_in
from a2a_bridge_langgraph import __version__

__all__ = ["LangGraphAdapter", "adapter"]


class LangGraphAdapter:
    """Claims objects whose class comes from the ``langgraph`` package."""

    name = "langgraph"

    def handles(self, obj: object) -> bool:
        return defined_in(obj, "langgraph")

    def adapt(self, obj: object, **options: Any) -> Adapted:
        raise ConfigurationError(
            f"a2a-bridge-langgraph {__version__} cannot serve "
            f"{type(obj).__name__} objects yet; serve a runner instead (see docs/runners.md)"
        )


adapter = LangGraphAdapter()
