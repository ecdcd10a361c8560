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

import asyncio
from typing import Protocol, runtime_checkable

from a2a.server.agent_execution import RequestContext, SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.tasks import TaskStore
from a2a.types import Message, SendMessageRequest, Task
from a2a.utils.errors import InvalidParamsError

from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION, new_id

__all__ = ["ReservedIdContextBuilder", "TaskIndex", "end_reservation", "reserved_task_id", "task_started_before"]

_RESERVED = "a2a_bridge.reserved_task_id"  # in ServerCallContext.state: the id a new task must take
_RESERVATION = "a2a_bridge.reservation"  # in ServerCallContext.state: (message id, task id), until the send ends
# A first send on another replica has saved its task this soon after its reservation, or it died. (On this
# replica, a first send still under way is waited for however long it takes.)
_APPEARS_WITHIN_SECONDS = 10.0
_POLL_SECONDS = 0.1


@runtime_checkable
class TaskIndex(Protocol):
    """A task store that knows which task each caller's message started (memory and database stores)."""

    async def reserve(
        self, message_id: str, task_id: str, context: ServerCallContext, *, instead_of: str = ""
    ) -> str: ...

    async def unreserve(self, message_id: str, task_id: str, context: ServerCallContext) -> None: ...

    @property
    def sending(self) -> set[str]:
        """The reserved task ids whose first send is under way in this process."""
        ...


async def task_started_before(store: TaskStore, params: SendMessageRequest, context: ServerCallContext) -> Task | None:
    """The task this caller's message started on an earlier send, or None for a message not seen before.

    A message not seen before reserves its message id for the task it is about to start
    (:func:`reserved_task_id`), before anything runs: of two sends racing on two replicas, the
    second finds the first's task, even while the first has not saved it yet.
    """
    message = params.message
    if IDEMPOTENT_SEND_EXTENSION not in context.requested_extensions:
        return None
    if message.task_id or not message.message_id or not isinstance(store, TaskIndex):
        return None
    mine = new_id()
    owner_task = await store.reserve(message.message_id, mine, context)
    while owner_task != mine:
        task = await _appearing(store, owner_task, context)
        if task is not None:
            if task.history and not _same_content(task.history[0], message):
                raise InvalidParamsError(
                    message=f"message.messageId {message.message_id!r} was sent before with other parts or "
                    f"metadata (it started task {task.id}): a new message needs a new messageId"
                )
            return task
        # The send that reserved it saved no task: it died first, or ended with none (refused, or a direct
        # reply, which has nothing to find again). This send starts the task.
        owner_task = await store.reserve(message.message_id, mine, context, instead_of=owner_task)
    context.state[_RESERVED] = mine
    context.state[_RESERVATION] = (message.message_id, mine)
    store.sending.add(mine)
    return None


async def end_reservation(store: TaskStore, context: ServerCallContext) -> None:
    """The send that reserved a message id ended: free the id if no task took it (refused, or a direct reply).

    A message answered without a task has nothing to find again: sent again, it is answered again.
    """
    reservation = context.state.pop(_RESERVATION, None)
    if reservation is None or not isinstance(store, TaskIndex):
        return
    message_id, task_id = reservation
    store.sending.discard(task_id)
    if await store.get(task_id, context) is None:
        await store.unreserve(message_id, task_id, context)


def reserved_task_id(context: ServerCallContext) -> str | None:
    """The id :func:`task_started_before` reserved for the new task of this call, if it reserved one."""
    reserved = context.state.pop(_RESERVED, None)
    return str(reserved) if reserved else None


class ReservedIdContextBuilder(SimpleRequestContextBuilder):
    """The SDK's request context, whose new task takes the id reserved for its message, when there is one."""

    async def build(
        self,
        context: ServerCallContext,
        params: SendMessageRequest | None = None,
        task_id: str | None = None,
        context_id: str | None = None,
        task: Task | None = None,
    ) -> RequestContext:
        if task_id is None and task is None:
            task_id = reserved_task_id(context)
        return await super().build(context, params, task_id, context_id, task)


async def _appearing(store: TaskIndex, task_id: str, context: ServerCallContext) -> Task | None:
    """The task, once its first save lands; None if it never does (or its send here ended without one)."""
    deadline = asyncio.get_running_loop().time() + _APPEARS_WITHIN_SECONDS
    assert isinstance(store, TaskStore)
    while (task := await store.get(task_id, context)) is None:
        here = task_id in store.sending
        if not here and asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(_POLL_SECONDS)
        if here and task_id not in store.sending:
            return await store.get(task_id, context)  # ended here: with a task, or with none to find
    return task


def _same_content(first: Message, again: Message) -> bool:
    """Whether ``again`` carries what ``first`` did; the ids the server filled in do not count."""
    if first.message_id != again.message_id:
        return True  # the store no longer holds the first message: nothing to compare with
    return list(first.parts) == list(again.parts) and first.metadata == again.metadata and first.role == again.role
