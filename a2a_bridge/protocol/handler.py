"""The request handler: the SDK's fast handler plus input validation.

Validation runs before a task is created, so bad input is answered with
HTTP 400 / JSON-RPC -32602 naming the field, and the runner (and so the LLM)
is never called.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import LegacyRequestHandler
from a2a.types import InvalidParamsError, Message, SendMessageRequest, Task

from a2a_bridge.errors import InputValidationError
from a2a_bridge.protocol.executor import INPUT_STATE_KEY, STREAMING_STATE_KEY
from a2a_bridge.protocol.messages import read_message
from a2a_bridge.schema import InputSchema

__all__ = ["ValidatingRequestHandler", "invalid_params"]


def invalid_params(exc: InputValidationError) -> InvalidParamsError:
    """The SDK error that becomes HTTP 400 / JSON-RPC -32602 with field details."""
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return InvalidParamsError(message=f"Invalid input: {exc}", data={"errors": errors})


class ValidatingRequestHandler(LegacyRequestHandler):
    """Validates the input of every new task against the agent's input schema.

    ``LegacyRequestHandler`` is about twice as fast as the SDK's default V2
    handler on small tasks (measured; see bench/) and keeps the same semantics.
    """

    def __init__(self, *args: Any, input_schema: InputSchema | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.input_schema = input_schema

    def check_input(self, params: SendMessageRequest, context: ServerCallContext) -> None:
        message = params.message
        # A message on an existing task answers the agent; only new tasks carry schema input.
        validate = not message.task_id
        try:
            parsed = read_message(message, self.input_schema, validate=validate)
        except InputValidationError as exc:
            raise invalid_params(exc) from None
        context.state[INPUT_STATE_KEY] = parsed

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Message | Task:
        self.check_input(params, context)
        result: Message | Task = await super().on_message_send(params, context)
        return result

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        self.check_input(params, context)
        context.state[STREAMING_STATE_KEY] = True
        async for event in super().on_message_send_stream(params, context):
            yield event
