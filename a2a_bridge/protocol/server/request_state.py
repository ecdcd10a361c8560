"""What the request handler learned about a request, handed to the executor in one typed object.

The SDK builds the executor's ``RequestContext`` itself on some paths, so the
only way through is the call context's ``state`` dict. One key, one type:
the handler attaches an :class:`IncomingTurn` once, and the executor reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from a2a.server.context import ServerCallContext

from a2a_bridge.protocol.server.message_input import MessageInput

__all__ = ["IncomingTurn", "attach", "incoming"]

_KEY = "a2a_bridge.incoming_turn"


@dataclass(slots=True)
class IncomingTurn:
    """A validated message and what came with it.

    Attributes:
        input: The message's text, data (validated) and files.
        request_metadata: The request's own metadata (the message's is read from the message).
        streaming: Whether the caller reads the task as a stream.
    """

    input: MessageInput
    request_metadata: dict[str, Any] = field(default_factory=dict)
    streaming: bool = False


def attach(context: ServerCallContext, turn: IncomingTurn) -> None:
    context.state[_KEY] = turn


def incoming(context: ServerCallContext) -> IncomingTurn | None:
    """What the handler attached, or None for a request that reached the executor another way."""
    turn = context.state.get(_KEY)
    return turn if isinstance(turn, IncomingTurn) else None
