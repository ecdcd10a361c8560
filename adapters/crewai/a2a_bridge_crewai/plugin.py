"""The CrewAI entry in the ``a2a_bridge.adapters`` entry-point group.

This module is imported while a2a-bridge looks for the adapter of an object,
so it must not import crewai itself: ``adapt`` does (the decorator module never does).
"""

from __future__ import annotations

from typing import Any

from a2a_bridge import Adapted, ConfigurationError
from a2a_bridge.adapter_api import defined_in
from a2a_bridge_crewai.decorator import SPEC_ATTRIBUTE, CrewFunction

__all__ = ["CrewAIAdapter", "adapter"]

_PROFILE_KEYS = {"name", "description", "version", "skills", "text_field", "secrets", "input_schema", "output_schema"}


class CrewAIAdapter:
    """Serves a ``Crew``, a ``@CrewBase`` class, a ``Flow``, or anything decorated with ``@a2a_agent``."""

    name = "crewai"

    def handles(self, obj: object) -> bool:
        if hasattr(obj, SPEC_ATTRIBUTE) or defined_in(obj, "crewai"):
            return True
        # A @CrewBase class's own module is the user's; its metaclass is CrewAI's.
        return isinstance(obj, type) and defined_in(type(obj), "crewai")

    def adapt(self, obj: object, **options: Any) -> Adapted:
        from a2a_bridge_crewai.crews import CrewSource
        from a2a_bridge_crewai.flows import FlowSource, install_feedback, is_flow, persistence_of
        from a2a_bridge_crewai.runner import CrewRunner

        spec = dict(getattr(obj, SPEC_ATTRIBUTE, {}))
        target = obj.function if isinstance(obj, CrewFunction) else obj
        flow = is_flow(target)
        known = {"threads", "persistence"} if flow else {"threads"}
        unknown = set(options) - known
        if unknown:
            what = "a CrewAI flow" if flow else "a CrewAI crew"
            raise ConfigurationError(
                f"unknown option(s) for {what}: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})"
            )
        threads = int(options.get("threads") or spec.get("threads") or 64)
        if threads < 1:
            raise ConfigurationError("threads must be at least 1")
        source: CrewSource | FlowSource
        if flow:
            install_feedback()
            source = FlowSource.of(target, persistence=persistence_of(options.get("persistence")))
        else:
            source = CrewSource.of(target)
        runner = CrewRunner(source, threads=threads)
        defaults = {key: value for key, value in spec.items() if key in _PROFILE_KEYS}
        return Adapted(runner=runner, profile=source.profile(), on_shutdown=runner.close, defaults=defaults)


adapter = CrewAIAdapter()
