"""The LangGraph entry in the ``a2a_bridge.adapters`` entry-point group.

This module is imported while a2a-bridge looks for the adapter of an object,
so it must not import langgraph itself: ``adapt`` does.
"""

from __future__ import annotations

from typing import Any

from a2a_bridge import Adapted, AgentProfile, ConfigurationError
from a2a_bridge.adapter_api import defined_in

__all__ = ["LangGraphAdapter", "adapter"]

_OPTIONS = {"checkpointer", "sync_threads", "recursion_limit", "direct_replies"}


def _flag(options: dict[str, Any], name: str) -> bool:
    value = options.get(name, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {value!r}")
    return value


class LangGraphAdapter:
    """Serves compiled LangGraph graphs (``StateGraph(...).compile()``, ``langchain.agents.create_agent``)."""

    name = "langgraph"

    def handles(self, obj: object) -> bool:
        return defined_in(obj, "langgraph")

    def adapt(self, obj: object, **options: Any) -> Adapted:
        from langgraph.graph import START, StateGraph
        from langgraph.pregel import Pregel

        from a2a_bridge_langgraph.checkpoints import CheckpointedGraph
        from a2a_bridge_langgraph.runner import GraphRunner
        from a2a_bridge_langgraph.schemas import entrypoint_schemas, graph_schemas, has_messages, output_fields

        if isinstance(obj, StateGraph):
            raise ConfigurationError("serve the compiled graph: to_a2a(builder.compile())")
        if not isinstance(obj, Pregel):
            raise ConfigurationError(f"cannot serve a {type(obj).__name__}; serve a compiled LangGraph graph")
        unknown = set(options) - _OPTIONS
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) for a LangGraph graph: {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(_OPTIONS))})"
            )
        sync_threads = int(options.get("sync_threads", 64))
        if sync_threads < 1:
            raise ConfigurationError("sync_threads must be at least 1")
        graph = CheckpointedGraph(obj, options.get("checkpointer"))
        # A functional-API @entrypoint compiles to a graph of one node, its function, with no start node.
        functional = START not in obj.nodes
        nodes = [n for n in obj.nodes if not n.startswith("__")]
        input_schema, output_schema = entrypoint_schemas(obj, nodes[0]) if functional else graph_schemas(obj)
        runner = GraphRunner(
            graph,
            messages=has_messages(obj),
            output_fields=output_fields(output_schema),
            sync_threads=sync_threads,
            recursion_limit=options.get("recursion_limit"),
            direct_replies=_flag(options, "direct_replies"),
            functional=functional,
        )
        name = obj.name if obj.name and obj.name != "LangGraph" else "langgraph-agent"
        if functional:
            name = name if name != "langgraph-agent" else nodes[0].replace("_", "-")
            description = f"A LangGraph entrypoint, {nodes[0]}."
        else:
            description = f"A LangGraph graph with the nodes {', '.join(nodes)}." if nodes else "A LangGraph graph."
        profile = AgentProfile(
            name=name,
            description=description,
            input_schema=input_schema,
            output_schema=output_schema,
            streaming=True,
        )
        return Adapted(runner=runner, profile=profile, on_shutdown=graph.close)


adapter = LangGraphAdapter()
