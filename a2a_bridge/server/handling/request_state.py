"""What the request handler learned about a request, handed to the executor in one typed object.

The SDK builds the executor's ``RequestContext`` itself on some paths, so the
only way through is the call context's ``state`` dict. One key, one type:
the handler attaches an :class:`IncomingTurn` once, and the executor reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from a2a.auth.user import User
from a2a.server.context import ServerCallContext

from a2a_bridge.server.handling.message_input import MessageInput

__all__ = ["IncomingTurn", "TaskOwner", "attach", "incoming", "mark_tutorial", "speaks_v03"]

_KEY = "a2a_bridge.incoming_turn"
_TUTORIAL_KEY = "a2a_bridge.tutorial_shape"


@dataclass(slots=True)
class IncomingTurn:
    """A validated message and what came with it.

    Attributes:
        input: The message's text, data (validated) and files.
        request_metadata: The request's own metadata (the message's is read from the message).
        streaming: Whether the caller reads the task as a stream.
        legacy_caller: Whether the caller speaks A2A v0.3 (no ``A2A-Version: 1.x`` header).
        recovering: Whether this replica takes the task over from one that stopped mid-turn.
        resuming: Whether the message answers the task's question, when the stored task no longer
            says so (queue mode stores an answered task as submitted until a worker takes it).
    """

    input: MessageInput
    request_metadata: dict[str, Any] = field(default_factory=dict)
    streaming: bool = False
    legacy_caller: bool = False
    recovering: bool = False
    resuming: bool = False

    @property
    def reads_tokens(self) -> bool:
        """Whether text should stream in chunks: a v0.3 caller gets whole answers (see turns/publisher.py)."""
        return self.streaming and not self.legacy_caller


class TaskOwner(User):
    """The caller a stored task belongs to, for work no request started (a task taken over)."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def is_authenticated(self) -> bool:
        return bool(self._name)

    @property
    def user_name(self) -> str:
        return self._name


def mark_tutorial(context: ServerCallContext) -> None:
    """The request came in the tutorial's shape, whatever its headers say."""
    context.state[_TUTORIAL_KEY] = True


def speaks_v03(context: ServerCallContext) -> bool:
    """The SDK's own rule: an A2A request without an ``A2A-Version`` header is v0.3."""
    if context.state.get(_TUTORIAL_KEY):
        return False
    headers: dict[str, str] = context.state.get("headers") or {}
    version = str(headers.get("a2a-version", "")).strip()
    return not version or version.startswith("0.")


def attach(context: ServerCallContext, turn: IncomingTurn) -> None:
    context.state[_KEY] = turn


def incoming(context: ServerCallContext) -> IncomingTurn | None:
    """What the handler attached, or None for a request that reached the executor another way."""
    turn = context.state.get(_KEY)
    return turn if isinstance(turn, IncomingTurn) else None
