"""The card's input and output schemas, derived from a compiled graph.

The ``messages`` channel is filled from the message text, so it is taken out
of the published input schema: a messages graph takes plain text, and a graph
with other input fields takes a data part with those fields.
"""

from __future__ import annotations

import inspect
import json
import logging
import typing
from typing import Any

from langgraph.pregel import Pregel
from pydantic import TypeAdapter

__all__ = ["MESSAGES", "entrypoint_schemas", "graph_schemas", "has_messages"]

MESSAGES = "messages"
# LangGraph's own bookkeeping channels: never input a caller sets, nor output worth publishing.
_INTERNAL = {MESSAGES, "remaining_steps"}
logger = logging.getLogger("a2a_bridge_langgraph")


def has_messages(graph: Pregel[Any, Any, Any, Any]) -> bool:
    return MESSAGES in graph.channels


def _reduce(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if not schema or schema.get("type") != "object":
        return schema
    properties = {k: v for k, v in (schema.get("properties") or {}).items() if k not in _INTERNAL}
    if not properties:
        return None
    reduced = {k: v for k, v in schema.items() if k not in ("properties", "required", "$defs")}
    reduced["properties"] = properties
    required = [name for name in schema.get("required") or [] if name in properties]
    if required:
        reduced["required"] = required
    if "$ref" in json.dumps(properties) and "$defs" in schema:
        reduced["$defs"] = schema["$defs"]
    return reduced


def _schema(graph: Pregel[Any, Any, Any, Any], which: str) -> dict[str, Any] | None:
    try:
        schema: dict[str, Any] = getattr(graph, f"get_{which}_jsonschema")()
    except Exception as exc:  # e.g. typing.TypedDict on Python < 3.12, which pydantic cannot read
        logger.warning(
            "cannot derive the %s schema of graph %r (%s); publishing none. "
            "Use typing_extensions.TypedDict, or pass %s_schema= to to_a2a.",
            which,
            graph.name,
            exc,
            which,
        )
        return None
    return schema


def graph_schemas(graph: Pregel[Any, Any, Any, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The input and output schemas to publish, without the messages channel.

    A graph without its own input schema takes any part of its state, though
    pydantic marks every state key required: then no input field is required.
    """
    input_schema = _reduce(_schema(graph, "input"))
    builder = getattr(graph, "builder", None)
    if input_schema is not None and builder is not None and builder.input_schema is builder.state_schema:
        input_schema.pop("required", None)
    return input_schema, _reduce(_schema(graph, "output"))


def output_fields(schema: dict[str, Any] | None) -> list[str]:
    return list((schema or {}).get("properties") or {})


def entrypoint_schemas(
    graph: Pregel[Any, Any, Any, Any], node: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A functional-API entrypoint's schemas: its first parameter's type and its return type.

    Read from the function's resolved type hints, so that a module with
    ``from __future__ import annotations`` works: LangGraph's own schema
    cannot resolve those names. ``PregelNode.bound.func`` is the one
    LangGraph name here that LangGraph does not document (tests/test_langgraph_patterns.py).
    """
    function = getattr(graph.nodes[node].bound, "func", None)
    if function is None:
        return graph_schemas(graph)
    try:
        hints = typing.get_type_hints(function)
    except Exception as exc:
        logger.warning("cannot read the type hints of entrypoint %r (%s); publishing no schemas", node, exc)
        return None, None
    parameters = list(inspect.signature(function).parameters)

    def schema_of(hint: Any) -> dict[str, Any] | None:
        if hint is None or hint is Any:
            return None
        schema: dict[str, Any] = TypeAdapter(hint).json_schema()
        return _reduce(schema)

    first = hints.get(parameters[0]) if parameters else None
    return schema_of(first), schema_of(hints.get("return"))
