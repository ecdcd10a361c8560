"""Running a new task for a blocking caller without the SDK's event queue.

A blocking SendMessage on a new task has exactly one reader of its events: the
caller waiting for the final task. The SDK still routes every event through a
queue, a consumer task and an aggregator, which costs several times the work
of a small agent (see bench/). Here the executor publishes into a
:class:`TaskSink` instead, which applies each event to the task the way the
SDK's task manager does and saves it, so GetTask, ListTasks and CancelTask see
the task mid-run as before. SubscribeToTask is served from the sink.

A final or input-required status is saved at once: the caller's answer waits
for it. Other events (the new task, working steps, artifact chunks) are saved
with the next such status, or on the next turn of the event loop at the
latest. A task that finishes at once is saved once instead of five times;
each save is a deep copy of the task, or a database write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from a2a.server.context import ServerCallContext
from a2a.server.events import Event, EventQueue
from a2a.server.tasks import TaskStore
from a2a.types import Message, SendMessageRequest, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent

from a2a_bridge.wire.sdk_internals import apply_task_event
from a2a_bridge.wire.states import AWAITING_CALLER_STATES, TERMINAL_STATES

__all__ = ["TaskSink", "runs_directly"]

# The states a caller waits for; the others (working, with or without a step) are saved on the next loop turn.
_SAVED_AT_ONCE = TERMINAL_STATES | AWAITING_CALLER_STATES


def runs_directly(params: SendMessageRequest) -> bool:
    """True for a message that starts a new task and waits for its end."""
    return not params.message.task_id and not params.configuration.return_immediately


class TaskSink(EventQueue):
    """The event queue of one directly-run task: applies, saves and fans out events."""

    def __init__(
        self,
        store: TaskStore,
        context: ServerCallContext,
        *,
        push: Callable[[str, Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent], None] | None = None,
    ) -> None:
        self.store = store
        self.context = context
        self.push = push  # hands each task event to the push notifications, which never wait
        self.task: Task | None = None
        self.reply: Message | None = None  # the answer of a runner that answered without a task
        self._followers: list[asyncio.Queue[Event | None]] = []
        self._unsaved = False
        self.save_failed = False  # the last save failed: the store does not hold ``task`` as it is here
        # Saves of one task stay in order even when the store awaits inside them.
        self._save_lock = asyncio.Lock()
        self._pending_save: asyncio.Task[None] | None = None  # held so the loop cannot drop it mid-save

    async def enqueue_event(self, event: Event) -> None:
        if isinstance(event, Message) and self.task is None and self.reply is None:
            self.reply = event
            return
        if isinstance(event, Task):
            self.task = event
        elif self.task is None:
            raise TypeError(f"the executor published {type(event).__name__} before the task")
        elif isinstance(event, (TaskStatusUpdateEvent, TaskArtifactUpdateEvent)):
            apply_task_event(self.task, event)
        else:
            raise TypeError(f"a task cannot take a {type(event).__name__} event")
        if isinstance(event, TaskStatusUpdateEvent) and event.status.state in _SAVED_AT_ONCE:
            await self._save()
        elif not self._unsaved:
            self._unsaved = True
            asyncio.get_running_loop().call_soon(self._save_if_unsaved)
        for follower in self._followers:
            follower.put_nowait(event)
        if self.push is not None:
            self.push(self.task.id, event)

    async def _save(self) -> None:
        assert self.task is not None
        self._unsaved = False
        async with self._save_lock:
            try:
                await self.store.save(self.task, self.context)
            except BaseException:
                self.save_failed = True
                raise
            self.save_failed = False

    def _save_if_unsaved(self) -> None:
        if self._unsaved:
            self._pending_save = asyncio.ensure_future(self._save())

    async def follow(self) -> AsyncIterator[Event]:
        """The task as it is now, then every later event until the run ends."""
        if self.task is None:
            return
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._followers.append(queue)
        snapshot = Task()
        snapshot.CopyFrom(self.task)
        try:
            yield snapshot
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._followers.remove(queue)

    async def saved(self) -> None:
        """Wait for the save that an event scheduled, if one is under way."""
        if self._pending_save is not None and not self._pending_save.done():
            with contextlib.suppress(Exception):
                await self._pending_save

    def close(self) -> None:
        for follower in self._followers:
            follower.put_nowait(None)
