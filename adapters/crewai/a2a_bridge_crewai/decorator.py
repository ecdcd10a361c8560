"""``@a2a_agent``: decorate a crew to serve it.

    @a2a_agent(name="research-worker", secrets={"orchestrator": "..."})
    @CrewBase
    class ResearchCrew: ...

    ResearchCrew.serve(port=8080)          # or: app = ResearchCrew.to_a2a()

It works the same on a ``Flow`` class, and on a function that returns a ``Crew``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from a2a_bridge import ConfigurationError, Skill, serve, to_a2a

__all__ = ["SPEC_ATTRIBUTE", "CrewFunction", "a2a_agent"]

SPEC_ATTRIBUTE = "__a2a_bridge_spec__"
T = TypeVar("T")


class CrewFunction:
    """A function returning a ``Crew``, decorated: still callable, and servable."""

    def __init__(self, function: Callable[[], Any], spec: Mapping[str, Any]) -> None:
        self.function = function
        self.__name__ = getattr(function, "__name__", "crew")
        self.__doc__ = function.__doc__
        setattr(self, SPEC_ATTRIBUTE, dict(spec))

    def __call__(self) -> Any:
        return self.function()

    def to_a2a(self, **options: Any) -> Any:
        return to_a2a(self, **options)

    def serve(self, **options: Any) -> None:
        serve(self, **options)


def a2a_agent(
    target: Any = None,
    *,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
    skills: Iterable[Skill | str | Mapping[str, Any]] | None = None,
    secrets: Mapping[str, str] | None = None,
    text_input: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    output_schema: Mapping[str, Any] | None = None,
    threads: int | None = None,
) -> Any:
    """Make a ``@CrewBase`` class, a ``Flow`` class, or a function returning a ``Crew``, servable over A2A.

    Args:
        name, description, version, skills: Card fields; derived from the crew when not given.
        secrets: ``{caller_name: secret}`` required of callers.
        text_input: The crew input that plain text fills when the crew has several.
        input_schema, output_schema: Override the schemas derived from the crew
            (e.g. when a kickoff callback fills some placeholders itself).
        threads: Crews that may run at once (default 64).
    """
    spec = {
        key: value
        for key, value in {
            "name": name,
            "description": description,
            "version": version,
            "skills": list(skills) if skills is not None else None,
            "secrets": dict(secrets) if secrets is not None else None,
            "text_field": text_input,
            "input_schema": dict(input_schema) if input_schema is not None else None,
            "output_schema": dict(output_schema) if output_schema is not None else None,
            "threads": threads,
        }.items()
        if value is not None
    }

    def wrap(obj: Any) -> Any:
        if isinstance(obj, type):
            # A @CrewBase class has crew(); a Flow class has kickoff().
            if not callable(getattr(obj, "crew", None)) and not callable(getattr(obj, "kickoff", None)):
                raise ConfigurationError(
                    f"{obj.__name__} has no crew() or kickoff() method; decorate a @CrewBase class or a Flow"
                )
            setattr(obj, SPEC_ATTRIBUTE, spec)
            obj.to_a2a = classmethod(lambda cls, **options: to_a2a(cls, **options))  # type: ignore[attr-defined]
            obj.serve = classmethod(lambda cls, **options: serve(cls, **options))  # type: ignore[attr-defined]
            return obj
        if callable(obj):
            return CrewFunction(obj, spec)
        raise ConfigurationError(f"@a2a_agent decorates a @CrewBase class or a function, not a {type(obj).__name__}")

    return wrap(target) if target is not None else wrap
