"""What the delegation node, the tools and the orchestrator share: carrying the
trace of a graph run, and streaming a remote agent's work into the graph.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer

from a2a_bridge import Artifact, Progress, RemoteAgent, RemoteResult, TextDelta, TraceContext

__all__ = ["result_text", "stream_remote", "trace_from_config"]


def trace_from_config(config: RunnableConfig | None) -> TraceContext:
    """The trace of the A2A task this graph run serves, if it serves one.

    A graph served by a2a-bridge has its task id and trace id in the run's metadata.
    """
    metadata: Mapping[str, Any] = (config or {}).get("metadata") or {}
    return TraceContext(trace_id=metadata.get("trace_id"), parent_task_id=metadata.get("a2a_task_id"))


async def stream_remote(
    remote: RemoteAgent,
    text: str | None,
    *,
    data: Mapping[str, Any] | None = None,
    task_id: str | None = None,
    context_id: str | None = None,
    trace: TraceContext | None = None,
    label: str,
) -> RemoteResult:
    """Call the remote, echoing its progress and tokens into the graph's custom stream."""
    try:
        write = get_stream_writer()
    except (RuntimeError, KeyError):  # not inside a graph run (a tool called on its own raises KeyError)
        write = None
    result: RemoteResult | None = None
    async for event in remote.stream(text, data=data, task_id=task_id, context_id=context_id, trace=trace):
        if isinstance(event, RemoteResult):
            result = event
        elif write is None:
            continue
        elif isinstance(event, Progress):
            write({"agent": label, "event": "progress", "message": event.message, "data": event.data})
        elif isinstance(event, TextDelta):
            write({"agent": label, "event": "text", "text": event.text})
        elif isinstance(event, Artifact):
            write({"agent": label, "event": "artifact", "name": event.name})
    assert result is not None
    return result


def result_text(result: RemoteResult) -> str:
    """The answer as one text: the text, and the data when there is any."""
    if result.data is None:
        return result.text
    data = json.dumps(result.data, ensure_ascii=False)
    return f"{result.text}\n\n{data}" if result.text else data
