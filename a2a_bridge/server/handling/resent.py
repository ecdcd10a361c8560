"""A message sent again finds the task it started the first time, by the caller's message id.

A client that lost its connection, or a ``RemoteAgent`` failing over to
another replica, sends the same message (the same ``messageId``) again.
Starting a second task would run the work twice, and a model call with side
effects twice; the caller gets the task the first send started instead: as it
is (``return_immediately``), once its turn ends (a blocking send), or followed
as a stream. The index is kept per caller, so one caller's message id never
finds another's task, and only as long as the store keeps the task.

Only for a caller that names :data:`~a2a_bridge.wire.ids.IDEMPOTENT_SEND_EXTENSION`
in its ``A2A-Extensions`` header: A2A does not make message ids idempotency
keys, and some clients send one id with many tasks. A message sent again with
the same id and other parts or metadata is refused: answering it with the
first message's task would answer a question the caller did not ask.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from a2a.server.context import ServerCallContext
from a2a.server.tasks import TaskStore
from a2a.types import Message, SendMessageRequest, Task
from a2a.utils.errors import InvalidParamsError

from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION

__all__ = ["TaskIndex", "task_started_before"]


@runtime_checkable
class TaskIndex(Protocol):
    """A task store that knows which task each caller's message started (memory and database stores)."""

    async def task_started_by(self, message_id: str, context: ServerCallContext) -> str | None: ...


async def task_started_before(store: TaskStore, params: SendMessageRequest, context: ServerCallContext) -> Task | None:
    """The task this caller's message started on an earlier send, or None for a message not seen before."""
    message = params.message
    if IDEMPOTENT_SEND_EXTENSION not in context.requested_extensions:
        return None
    if message.task_id or not message.message_id or not isinstance(store, TaskIndex):
        return None
    task_id = await store.task_started_by(message.message_id, context)
    task = None if task_id is None else await store.get(task_id, context)
    if task is not None and task.history and not _same_content(task.history[0], message):
        raise InvalidParamsError(
            message=f"message.messageId {message.message_id!r} was sent before with other parts or metadata "
            f"(it started task {task.id}): a new message needs a new messageId"
        )
    return task


def _same_content(first: Message, again: Message) -> bool:
    """Whether ``again`` carries what ``first`` did; the ids the server filled in do not count."""
    if first.message_id != again.message_id:
        return True  # the store no longer holds the first message: nothing to compare with
    return list(first.parts) == list(again.parts) and first.metadata == again.metadata and first.role == again.role
