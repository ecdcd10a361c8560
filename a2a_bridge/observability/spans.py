"""The bridge's OpenTelemetry spans, written through the OpenTelemetry API alone.

Three spans make one hop of a trace:

    SendMessage (CLIENT, the caller's RemoteAgent)          a2a.task.id, a2a.task.state, gen_ai.agent.name
      └─ SendMessage (SERVER, the served agent)             a2a.message.id, a2a.protocol.version, gen_ai.conversation.id
           └─ invoke_agent research-worker (INTERNAL)       gen_ai.agent.name, gen_ai.usage.input_tokens, ...
                └─ openai.chat (CLIENT)                     the OpenAI client's instrumentation (telemetry.py)

A server span continues the caller's ``traceparent``, and a client span sends
its own, so one user request is one trace across every agent it reaches.
Until a tracer provider is set (:func:`a2a_bridge.enable_tracing`, or your
own), the bridge skips its spans altogether: one check per call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from a2a_bridge.runner import Done, Failed, NeedsAuth, NeedsInput, Rejected, Usage

__all__ = [
    "AGENT_NAME",
    "CONVERSATION_ID",
    "MESSAGE_ID",
    "PROTOCOL_VERSION",
    "TASK_ID",
    "TASK_STATE",
    "agent_span",
    "call_span",
    "client_span",
    "current_agent",
    "enabled",
    "failing",
    "flush",
    "inject",
    "remote_result",
    "turn_event",
]

TASK_ID = "a2a.task.id"
TASK_STATE = "a2a.task.state"
MESSAGE_ID = "a2a.message.id"
PROTOCOL_VERSION = "a2a.protocol.version"
CONVERSATION_ID = "gen_ai.conversation.id"
AGENT_NAME = "gen_ai.agent.name"
OPERATION = "gen_ai.operation.name"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
ERROR_TYPE = "error.type"

_ENDS: dict[type, str] = {
    Done: "completed",
    Failed: "failed",
    Rejected: "rejected",
    NeedsInput: "input_required",
    NeedsAuth: "auth_required",
}
# The tracer follows whichever provider is set, before or after this import.
_tracer = trace.get_tracer("a2a_bridge")
# The agent whose turn is running, for the model calls it makes (telemetry.py names their spans' agent).
current_agent: contextvars.ContextVar[str | None] = contextvars.ContextVar("a2a_bridge_current_agent", default=None)


def enabled() -> bool:
    """Whether a tracer provider is set; until one is, the bridge skips its spans altogether (no cost)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def call_span(
    method: str, attributes: Mapping[str, Any], *, server: bool, headers: Mapping[str, str] | None = None
) -> Span:
    """A started span for one A2A call, named by its method; a server span continues the caller's trace.

    The caller ends it (``span.end()``), after setting what the call's result says.
    """
    parent = propagate.extract(headers) if server and headers else None
    span = _tracer.start_span(
        method,
        context=parent,
        kind=SpanKind.SERVER if server else SpanKind.CLIENT,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )
    return span


@contextmanager
def agent_span(
    agent: str, *, headers: Mapping[str, str] | None = None, task_id: str | None = None, context_id: str | None = None
) -> Iterator[Span]:
    """The span of one turn of ``agent``'s runner, current while it runs.

    Inside a served call it is the call's child; in a queue-mode worker, which has
    no call, it continues the trace the front door's caller started (``headers``).
    """
    if not enabled():
        yield trace.INVALID_SPAN
        return
    parent = None
    if headers and not trace.get_current_span().get_span_context().is_valid:
        parent = propagate.extract(headers)
    attributes = {OPERATION: "invoke_agent", AGENT_NAME: agent, TASK_ID: task_id, CONVERSATION_ID: context_id}
    token = current_agent.set(agent)
    try:
        with (
            _tracer.start_as_current_span(
                f"invoke_agent {agent}",
                context=parent,
                kind=SpanKind.INTERNAL,
                attributes={k: v for k, v in attributes.items() if v is not None},
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
            failing(span),
        ):
            yield span
    finally:
        current_agent.reset(token)


def turn_event(span: Span, event: object) -> None:
    """What a runner's event says about its turn: how it ended, and the tokens it used."""
    if not span.is_recording():
        return
    state = _ENDS.get(type(event))
    if state is not None:
        span.set_attribute(TASK_STATE, state)
    usage = getattr(event, "usage", None)
    if isinstance(usage, Usage):
        span.set_attribute(INPUT_TOKENS, usage.prompt_tokens)
        span.set_attribute(OUTPUT_TOKENS, usage.completion_tokens)


@contextmanager
def failing(span: Span) -> Iterator[None]:
    """Mark ``span`` failed by an exception raised inside: its type, never its message (it may quote a
    caller's input). A cancel or a closed stream is not a failure."""
    try:
        yield
    except Exception as exc:
        if span.is_recording():
            span.set_attribute(ERROR_TYPE, type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise


def flush(timeout_millis: int = 5000) -> None:
    """Send the spans still waiting in the tracer provider's batches, when one is set."""
    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if enabled() and force_flush is not None:
        force_flush(timeout_millis)


def inject(headers: dict[str, str], span: Span) -> bool:
    """Put ``span``'s context into outgoing ``headers`` (``traceparent``); False when it has none to carry."""
    if not span.get_span_context().is_valid:
        return False
    propagate.inject(headers, context=trace.set_span_in_context(span))
    return True


@contextmanager
def client_span(method: str, agent: str) -> Iterator[Span]:
    """The span of one call to a remote agent; its context goes out in the call's headers (:func:`inject`).

    It is not made current, so it can be held across a stream's yields.
    """
    if not enabled():
        yield trace.INVALID_SPAN
        return
    span = call_span(method, {AGENT_NAME: agent}, server=False)
    try:
        with failing(span):
            yield span
    finally:
        span.end()


def remote_result(span: Span, result: object) -> None:
    """What a remote agent's answer says about the call: its task, state and conversation."""
    if not span.is_recording():
        return
    for attribute, value in (
        (TASK_ID, getattr(result, "task_id", None)),
        (TASK_STATE, getattr(result, "state", None)),
        (CONVERSATION_ID, getattr(result, "context_id", None)),
    ):
        if value:
            span.set_attribute(attribute, str(value))
