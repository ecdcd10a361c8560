"""Finding the adapter for an object through the ``a2a_bridge.adapters`` entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from a2a_bridge import AdapterNotFound, to_a2a
from a2a_bridge.plugins import installed_adapters


def test_both_adapters_are_registered():
    assert [adapter.name for adapter in installed_adapters()] == ["crewai", "langgraph"]


def test_an_object_no_adapter_claims_gets_a_clear_error():
    with pytest.raises(AdapterNotFound, match=r"no installed adapter can serve a builtins\.dict .*crewai, langgraph"):
        to_a2a({"not": "an agent"})


def run_isolated(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_langgraph_graph_is_claimed_by_its_adapter_without_importing_crewai():
    out = run_isolated(
        """
        import sys
        from typing import TypedDict
        from langgraph.graph import StateGraph, START, END
        from a2a_bridge.plugins import installed_adapters

        class State(TypedDict):
            x: int

        builder = StateGraph(State)
        builder.add_node("inc", lambda s: {"x": s["x"] + 1})
        builder.add_edge(START, "inc")
        builder.add_edge("inc", END)
        graph = builder.compile()
        claimed = [a.name for a in installed_adapters() if a.handles(graph)]
        print(claimed, "crewai" in sys.modules)
        """
    )
    assert out == "['langgraph'] False"


def test_looking_for_an_adapter_imports_no_framework():
    out = run_isolated(
        """
        import sys
        from a2a_bridge.plugins import installed_adapters
        [a.handles(object()) for a in installed_adapters()]
        print(sorted(m for m in ("langgraph", "crewai") if m in sys.modules))
        """
    )
    assert out == "[]"
