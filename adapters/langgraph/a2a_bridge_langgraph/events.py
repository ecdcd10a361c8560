"""A2A outcomes from inside a graph's nodes, beyond what a graph's state says on its own.

A graph ends its turn as a LangGraph graph does: its final state completes the
task, and ``interrupt(value)`` asks the caller (``input-required``). For the
rest of what A2A can say, a node uses the core's own events:

- ``interrupt(NeedsAuth("Sign in first", data={...}))``: the task enters
  ``auth-required``; the caller's next message resumes the graph, as after any
  interrupt.
- ``emit(Artifact(...))``: a named artifact (text, data, or a file by bytes or
  URL) published as the node runs.
- ``emit(Progress(...))``: a step, as the node runs.
- ``emit(Rejected("..."))``: the task ends ``rejected``; the graph run stops.
- ``emit(Failed("..."))``: the task ends ``failed`` with that message; the run stops.
- ``emit(DirectReply("..."))``: a message and no task, from the first node, for a
  graph served with ``to_a2a(graph, direct_replies=True)``; the run stops.

The node's message id and task id are in ``config["metadata"]``
(``a2a_message_id``, ``a2a_task_id``).
"""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.config import get_stream_writer

from a2a_bridge import Artifact, DirectReply, Event, Failed, Progress, Rejected

__all__ = ["EMITTABLE", "ENDS_RUN", "Emitted", "emit"]

EMITTABLE = (Artifact, Progress, Rejected, Failed, DirectReply)
ENDS_RUN = (Rejected, Failed, DirectReply)


@dataclass(frozen=True, slots=True)
class Emitted:
    """The custom stream chunk that carries an event, so that ordinary custom chunks stay progress."""

    event: Event


def emit(event: Event) -> None:
    """Publish an A2A event from inside a node (see the module docstring for which ones).

    Raises:
        TypeError: ``event`` is not one a node can emit; a question or a sign-in
            goes through ``interrupt``, and the end of the graph is its final state.
    """
    if not isinstance(event, EMITTABLE):
        raise TypeError(
            f"a node cannot emit {type(event).__name__}: emit Artifact, Progress, Rejected, Failed or DirectReply; "
            "ask with interrupt(...) or interrupt(NeedsAuth(...))"
        )
    get_stream_writer()(Emitted(event))
