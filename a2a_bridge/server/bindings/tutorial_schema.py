"""What ``POST /tasks/send`` accepts and answers, in the tutorial's ``task_schema`` terms.

An agent with its own input or output schema keeps it. A text-only agent takes
the tutorial's ``{"query": ...}`` and answers ``{"summary": ..., "sources": [...]}``.
Every generated card states the result under :data:`TASKS_SEND_EXTENSION`
(``docs/card-extensions.md``), because the A2A v1.0 card has no ``task_schema``
field and its schema admits no unknown ones.
"""

from __future__ import annotations

from typing import Any

from a2a_bridge.profile import AgentProfile

__all__ = [
    "QUERY_FIELD",
    "QUERY_INPUT",
    "SUMMARY_OUTPUT",
    "TASKS_SEND_EXTENSION",
    "TUTORIAL_PATH",
    "tasks_send_schema",
]

TUTORIAL_PATH = "/tasks/send"
TASKS_SEND_EXTENSION = "urn:a2a-bridge:ext:tasks-send:v1"
QUERY_FIELD = "query"

QUERY_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {QUERY_FIELD: {"type": "string", "minLength": 1}},
    "required": [QUERY_FIELD],
    "additionalProperties": False,
}
SUMMARY_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "sources": {"type": "array", "items": {"type": "string"}}},
    "required": ["summary", "sources"],
}


def tasks_send_schema(profile: AgentProfile) -> dict[str, Any]:
    """The ``task_schema`` of this agent's ``/tasks/send``: its own schemas, or the tutorial's."""
    return {
        "input": dict(profile.input_schema) if profile.input_schema is not None else QUERY_INPUT,
        "output": dict(profile.output_schema) if profile.output_schema is not None else SUMMARY_OUTPUT,
    }
