"""A server span around every A2A call the request handler answers, on every binding.

JSON-RPC, HTTP+JSON, gRPC, v0.3 and ``/tasks/send`` all end in one request
handler, so its methods are where each call is named once. The span continues
the caller's ``traceparent`` (a2a_bridge.observability.spans), and is current while the call
runs, so the runner's span, and the tasks the call starts, are its children.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.types import Message, Task, TaskStatusUpdateEvent
from opentelemetry import trace

from a2a_bridge.observability import spans
from a2a_bridge.server.handling.request_state import speaks_v03
from a2a_bridge.wire.states import state_name

__all__ = ["trace_calls"]

# The handler's methods by the A2A method each answers.
METHODS = {
    "on_message_send": "SendMessage",
    "on_message_send_stream": "SendStreamingMessage",
    "on_get_task": "GetTask",
    "on_list_tasks": "ListTasks",
    "on_cancel_task": "CancelTask",
    "on_subscribe_to_task": "SubscribeToTask",
    "on_create_task_push_notification_config": "CreateTaskPushNotificationConfig",
    "on_get_task_push_notification_config": "GetTaskPushNotificationConfig",
    "on_list_task_push_notification_configs": "ListTaskPushNotificationConfigs",
    "on_delete_task_push_notification_config": "DeleteTaskPushNotificationConfig",
    "on_get_extended_agent_card": "GetExtendedAgentCard",
}
STREAMING = {"on_message_send_stream", "on_subscribe_to_task"}


def trace_calls(handler: Any, agent: str) -> None:
    """Wrap ``handler``'s A2A methods, on this instance, in server spans of ``agent``."""
    for attribute, method in METHODS.items():
        original = getattr(handler, attribute, None)
        if original is None:
            continue
        wrap = _traced_stream if attribute in STREAMING else _traced_call
        setattr(handler, attribute, wrap(original, method, agent))


def _start(method: str, agent: str, params: Any, context: ServerCallContext) -> trace.Span:
    headers: dict[str, str] = context.state.get("headers") or {}
    message = getattr(params, "message", None)
    task_id = getattr(params, "id", None) or getattr(params, "task_id", None) or getattr(message, "task_id", None)
    attributes = {
        spans.AGENT_NAME: agent,
        spans.PROTOCOL_VERSION: "0.3" if speaks_v03(context) else "1.0",
        spans.MESSAGE_ID: getattr(message, "message_id", None) or None,
        spans.CONVERSATION_ID: getattr(message, "context_id", None) or None,
        spans.TASK_ID: task_id or None,
    }
    return spans.call_span(method, attributes, server=True, headers=headers)


def _result(span: trace.Span, result: Any) -> None:
    """What a returned task, message or event says about the call."""
    if not span.is_recording():
        return
    if isinstance(result, Task):
        span.set_attribute(spans.TASK_ID, result.id)
        span.set_attribute(spans.CONVERSATION_ID, result.context_id)
        span.set_attribute(spans.TASK_STATE, state_name(result.status.state))
    elif isinstance(result, TaskStatusUpdateEvent):
        span.set_attribute(spans.TASK_ID, result.task_id)
        span.set_attribute(spans.TASK_STATE, state_name(result.status.state))
    elif isinstance(result, Message) and result.task_id:
        span.set_attribute(spans.TASK_ID, result.task_id)


def _traced_call(original: Callable[..., Awaitable[Any]], method: str, agent: str) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(original)
    async def call(params: Any, context: ServerCallContext, *args: Any, **kwargs: Any) -> Any:
        if not spans.enabled():
            return await original(params, context, *args, **kwargs)
        span = _start(method, agent, params, context)
        with (
            trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False),
            spans.failing(span),
        ):
            result = await original(params, context, *args, **kwargs)
            _result(span, result)
            return result

    return call


def _traced_stream(
    original: Callable[..., AsyncGenerator[Any, None]], method: str, agent: str
) -> Callable[..., AsyncIterator[Any]]:
    @functools.wraps(original)
    async def stream(params: Any, context: ServerCallContext, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if not spans.enabled():
            async with contextlib.aclosing(original(params, context, *args, **kwargs)) as events:
                async for event in events:
                    yield event
            return
        span = _start(method, agent, params, context)
        try:
            with spans.failing(span):
                async with contextlib.aclosing(original(params, context, *args, **kwargs)) as events:
                    while True:
                        # Current for each step only: a span held current across a yield would leak into the
                        # consumer.
                        with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                            event = await anext(events, None)
                        if event is None:
                            return
                        _result(span, event)
                        yield event
        finally:
            span.end()

    return stream
