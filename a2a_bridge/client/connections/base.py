"""What :class:`RemoteAgent` needs of one replica, whichever protocol it speaks: the messages and queries it sends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from a2a_bridge.client.results import RemoteEvent, RemoteResult, TaskPage
from a2a_bridge.errors import ConfigurationError
from a2a_bridge.task_states import TaskState

__all__ = ["BINDINGS", "Connection", "Outgoing", "TaskQuery", "check_bindings"]

BINDINGS = ("JSONRPC", "HTTP+JSON", "GRPC")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: text, data, and the task and conversation it belongs to.

    Its ``message_id`` is made once: every attempt, on any replica, sends the same message, so a
    server that already took it answers with the task it started instead of running it again.
    """

    text: str | None
    data: Mapping[str, Any] | None
    context_id: str | None = None
    task_id: str | None = None
    metadata: Mapping[str, Any] | None = None
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which of the caller's tasks to list: by conversation, by state, one page at a time."""

    context_id: str | None = None
    state: TaskState | None = None
    page_size: int = 50
    page_token: str = ""


class Connection(Protocol):
    """A client for one replica. Errors are the core's :class:`RemoteAgentError` tree."""

    async def send(self, message: Outgoing, *, headers: Mapping[str, str]) -> RemoteResult: ...

    def stream(self, message: Outgoing, *, headers: Mapping[str, str]) -> AsyncIterator[RemoteEvent]: ...

    async def get_task(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult: ...

    async def cancel(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult: ...

    async def list_tasks(self, query: TaskQuery, *, headers: Mapping[str, str]) -> TaskPage: ...

    async def aclose(self) -> None: ...


def check_bindings(bindings: Sequence[str] | None) -> tuple[str, ...] | None:
    """A caller's binding preference, checked: known names, at least one, gRPC only when installed."""
    if bindings is None:
        return None
    if isinstance(bindings, str):
        bindings = [bindings]
    chosen = tuple(bindings)
    unknown = [b for b in chosen if b not in BINDINGS]
    if unknown or not chosen:
        raise ConfigurationError(f"bindings must name some of {', '.join(BINDINGS)}, got {list(chosen)!r}")
    if "GRPC" in chosen:
        try:
            import grpc  # noqa: F401
        except ImportError:
            raise ConfigurationError("the GRPC binding needs gRPC: pip install 'a2a-bridge-core[grpc]'") from None
    return chosen
