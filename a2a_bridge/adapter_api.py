"""The adapter interface: everything a framework adapter may import from the core.

An adapter (``a2a_bridge_langgraph``, ``a2a_bridge_crewai``, a third party's)
imports from ``a2a_bridge`` (the public surface: the runner contract, ``Adapter``,
``Adapted``, ``AgentProfile``, ``Backend``, ``RemoteAgent`` ...) and from this
module, which adds what only adapters need, and from nothing else in the core:
``tests/test_layering.py`` holds every adapter to it. Names here stay stable for
adapters as the core's folders change. See ``docs/adapters.md``.
"""

from __future__ import annotations

from a2a_bridge.client.remote_spec import RemoteSpec
from a2a_bridge.client.sync import run_sync
from a2a_bridge.plugins import defined_in
from a2a_bridge.profile import slug

__all__ = ["RemoteSpec", "defined_in", "run_sync", "slug"]
