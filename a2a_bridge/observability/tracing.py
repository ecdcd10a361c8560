"""Trace context across A2A hops: W3C ``traceparent`` and the tutorial's headers.

Incoming: :func:`trace_from_headers` reads what a caller sent into a
:class:`TraceContext`. Outgoing: :func:`trace_headers` keeps the trace id and
starts a new span for the next hop.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from opentelemetry.trace import Span

from a2a_bridge.observability import spans
from a2a_bridge.runner import TraceContext

__all__ = ["trace_from_headers", "trace_headers", "trace_id_of"]

_HEX32 = re.compile(r"[0-9a-f]{32}")


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a ``traceparent`` header, or None when it is not well formed."""
    if not traceparent:
        return None
    fields = traceparent.split("-")
    if len(fields) == 4 and _HEX32.fullmatch(fields[1]):
        return fields[1]
    return None


def trace_from_headers(headers: Mapping[str, str]) -> TraceContext:
    """The trace context a caller sent (header names in lower case, as ASGI gives them)."""
    traceparent = headers.get("traceparent")
    trace_id = headers.get("x-trace-id") or trace_id_of(traceparent)
    return TraceContext(traceparent=traceparent, trace_id=trace_id, parent_task_id=headers.get("x-parent-task-id"))


def trace_headers(trace: TraceContext | None, *, span: Span | None = None) -> dict[str, str]:
    """W3C ``traceparent`` plus the tutorial's ``X-Trace-ID`` / ``X-Parent-Task-ID``.

    With a recorded ``span`` (the call's client span), ``traceparent`` is its
    context, so the callee's spans are its children. Without one, the trace id
    is kept across hops and each hop gets a new span id.
    """
    trace = trace or TraceContext()
    headers: dict[str, str] = {}
    if span is None or not spans.inject(headers, span):
        headers["traceparent"] = f"00-{_hop_trace_id(trace)}-{secrets.token_hex(8)}-01"
    headers["X-Trace-ID"] = trace.trace_id or headers["traceparent"].split("-")[1]
    if trace.parent_task_id:
        headers["X-Parent-Task-ID"] = trace.parent_task_id
    return headers


def _hop_trace_id(trace: TraceContext) -> str:
    """The trace id a hop carries on: the caller's ``traceparent``'s, its ``X-Trace-ID`` if it is one, or new."""
    trace_hex = trace_id_of(trace.traceparent)
    if trace_hex is None and trace.trace_id:
        candidate = trace.trace_id.replace("-", "").lower()
        trace_hex = candidate if _HEX32.fullmatch(candidate) else None
    return trace_hex or secrets.token_hex(16)
