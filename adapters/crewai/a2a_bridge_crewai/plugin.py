"""The CrewAI entry in the ``a2a_bridge.adapters`` entry-point group.

This module is imported while a2a-bridge looks for the adapter of an object,
so it must not import crewai itself.
"""

from __future__ import annotations

from typing import Any

from a2a_bridge import Adapted, ConfigurationError
from a2a_bridge.plugins import defined_in
from a2a_bridge_crewai import __version__

__all__ = ["CrewAIAdapter", "adapter"]


class CrewAIAdapter:
    """Claims objects whose class comes from the ``crewai`` package."""

    name = "crewai"

    def handles(self, obj: object) -> bool:
        return defined_in(obj, "crewai")

    def adapt(self, obj: object, **options: Any) -> Adapted:
        raise ConfigurationError(
            f"a2a-bridge-crewai {__version__} cannot serve "
            f"{type(obj).__name__} objects yet; serve a runner instead (see docs/runners.md)"
        )


adapter = CrewAIAdapter()
