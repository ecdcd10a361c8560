"""Finding the adapter that can serve an object.

Adapters are separate distributions that register an :class:`Adapter` under
the entry-point group ``a2a_bridge.adapters``::

    [project.entry-points."a2a_bridge.adapters"]
    langgraph = "a2a_bridge_langgraph.plugin:adapter"

An adapter's module must be cheap to import: it may not import its framework
until :meth:`Adapter.adapt` runs, so that looking for the right adapter never
imports a framework the object does not belong to.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from a2a_bridge.errors import AdapterNotFound
from a2a_bridge.profile import AgentProfile
from a2a_bridge.runner import Runner, as_runner

__all__ = ["ENTRY_POINT_GROUP", "Adapted", "Adapter", "defined_in", "installed_adapters", "resolve"]

ENTRY_POINT_GROUP = "a2a_bridge.adapters"
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Adapted:
    """A runner plus the profile its adapter derived from the wrapped object.

    Attributes:
        defaults: Keyword arguments of ``to_a2a`` that the object carries
            (e.g. the secrets a decorator was given); the caller's own win.
    """

    runner: Runner
    profile: AgentProfile
    on_shutdown: Callable[[], Any] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Adapter(Protocol):
    """Turns objects of one framework into runners."""

    name: str

    def handles(self, obj: object) -> bool:
        """Whether ``obj`` belongs to this adapter's framework. Must not import it."""
        ...

    def adapt(self, obj: object, **options: Any) -> Adapted:
        """Build the runner and the default profile for ``obj``."""
        ...


def defined_in(obj: object, *packages: str) -> bool:
    """Whether ``obj``'s class, or a base class, comes from one of ``packages``.

    Looks at module names only, so it never imports anything.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    for klass in inspect.getmro(cls):
        top = (klass.__module__ or "").split(".", 1)[0]
        if top in packages:
            return True
    return False


def installed_adapters() -> list[Adapter]:
    """Every adapter registered in the environment, in name order."""
    found: list[Adapter] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            adapter = ep.load()
        except Exception:  # a broken plugin must not stop the others
            logger.warning("adapter %s (%s) could not be loaded", ep.name, ep.value, exc_info=True)
            continue
        if isinstance(adapter, Adapter):
            found.append(adapter)
        else:
            logger.warning("entry point %s does not provide an adapter", ep.value)
    return found


def _profile_of_runner(obj: object) -> AgentProfile:
    target = obj
    name = getattr(target, "name", None)
    if not isinstance(name, str) or not name:
        name = getattr(target, "__name__", None) or type(target).__name__
    doc = inspect.getdoc(target) or ""
    return AgentProfile(
        name=name.replace("_", "-"),
        description=doc.split("\n\n", 1)[0].replace("\n", " "),
        input_schema=getattr(target, "input_schema", None),
        output_schema=getattr(target, "output_schema", None),
    )


def resolve(obj: object, **options: Any) -> Adapted:
    """Find how to serve ``obj``: as a runner, or through exactly one adapter."""
    if isinstance(obj, Adapted):
        return obj
    runner = as_runner(obj)
    if runner is not None:
        if options:
            raise AdapterNotFound(f"unexpected options for a plain runner: {', '.join(sorted(options))}")
        return Adapted(runner=runner, profile=_profile_of_runner(obj))
    adapters = installed_adapters()
    claimed = [adapter for adapter in adapters if adapter.handles(obj)]
    if len(claimed) == 1:
        return claimed[0].adapt(obj, **options)
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if not claimed:
        names = ", ".join(a.name for a in adapters) or "none"
        raise AdapterNotFound(
            f"no installed adapter can serve a {kind} (installed adapters: {names}). "
            "Pass a runner, or install the adapter for its framework, "
            "e.g. `pip install a2a-bridge-langgraph` or `pip install a2a-bridge-crewai`."
        )
    raise AdapterNotFound(f"several adapters claim a {kind}: {', '.join(a.name for a in claimed)}")
