"""The front door of an agent in queue mode: it stores and queues each turn, and workers run it.

It is the request handler every binding already uses, with one change: where
a replica would run the runner, the front door writes the task (``submitted``)
and appends the turn to the agent's work queue
(:mod:`a2a_bridge.server.queue.work_queue`). A worker takes it, runs
it with the same executor, and writes the task as it goes; its events reach
the front door through the event bus. So:

- a blocking send follows the task's events until the turn ends, then answers
  with the stored task; ``returnImmediately`` answers with the queued task;
- a streaming send yields the queued task, then the worker's events;
- GetTask and ListTasks read the shared store; SubscribeToTask follows the bus;
- CancelTask writes ``canceled`` (a queued task is then skipped by the worker
  that takes it) and tells the worker running it, through the bus, to stop;
- an answer to an input-required task is taken once: of two answers sent at
  the same time, the second is refused (``replace_if``);
- while Redis is out of reach, a send waits for it (up to
  ``QUEUE_OUTAGE_SECONDS``); if it does not come back, the turn is undone (a
  new task deleted, an answered task asking again) and the caller is told to
  send again: nothing is left ``submitted`` with no turn queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.types import (
    Message,
    SendMessageRequest,
    Task,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import InternalError, TaskNotFoundError, UnsupportedOperationError
from opentelemetry import trace

from a2a_bridge.observability import spans
from a2a_bridge.server.handling.handler import ValidatingRequestHandler
from a2a_bridge.server.handling.message_input import MessageInput
from a2a_bridge.server.handling.request_state import incoming
from a2a_bridge.server.handling.resent import end_reservation, reserved_task_id
from a2a_bridge.server.queue.work_queue import Job, WorkQueue
from a2a_bridge.server.stores.database import SharedTaskStore
from a2a_bridge.server.turns.task_events import now_timestamp
from a2a_bridge.support.outages import is_outage
from a2a_bridge.wire import sdk_internals
from a2a_bridge.wire.ids import new_id
from a2a_bridge.wire.states import AWAITING_CALLER_STATES, TERMINAL_STATES

__all__ = ["QUEUE_OUTAGE_SECONDS", "QueueFrontDoor"]

logger = logging.getLogger("a2a_bridge.queue")

QUEUE_OUTAGE_SECONDS = 30.0  # how long a send waits for Redis to come back, as a task save waits for the database
_UNDO_EVERY_SECONDS = 2.0
_UNDO_TRIES = 300  # ten minutes

# The headers a worker's runner reads: the trace context (a2a_bridge.observability.tracing) and the protocol version.
_FORWARDED_HEADERS = ("traceparent", "tracestate", "x-trace-id", "x-parent-task-id", "a2a-version")


_TURN_ENDS = TERMINAL_STATES | AWAITING_CALLER_STATES


def ends_turn(event: Event) -> bool:
    """Whether the event ends the caller's turn: a final state, or a question back to the caller."""
    return isinstance(event, (Task, TaskStatusUpdateEvent)) and event.status.state in _TURN_ENDS


class QueueFrontDoor(ValidatingRequestHandler):
    """Validates, stores and queues every turn; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.work_queue: WorkQueue | None = None  # set by build_app, on the event bus's Redis connection
        self._undoing: set[asyncio.Task[None]] = set()  # undos waiting for the store to come back

    @property
    def shared_store(self) -> SharedTaskStore:
        store = self.task_store
        assert isinstance(store, SharedTaskStore)
        return store

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Message | Task:
        sdk_internals.validate_history_length(params.configuration)
        if (earlier := await self.admit(params, context, streaming=False)) is not None:
            return await self.answer_again(earlier, params, context)
        try:
            task, after = await self._queue_turn(params, context)
        finally:
            await end_reservation(self.task_store, context)
        if not params.configuration.return_immediately:
            async for _ in self._turn_events(task, after, context):
                pass
            task = await self.task_store.get(task.id, context) or task
        return sdk_internals.apply_history_length(task, params.configuration)

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        if (earlier := await self.admit(params, context, streaming=True)) is not None:
            async for event in self.stream_again(earlier, context):
                yield event
            return
        try:
            task, after = await self._queue_turn(params, context)
        finally:
            await end_reservation(self.task_store, context)
        yield task
        async for event in self._turn_events(task, after, context):
            yield event

    async def _queue_turn(self, params: SendMessageRequest, context: ServerCallContext) -> tuple[Task, str]:
        """Store the turn's task and queue the turn; the task, and the event-stream id its events follow."""
        assert self.work_queue is not None
        assert self.bus is not None
        request = SendMessageRequest()
        request.CopyFrom(params)
        message = request.message
        before: Task | None = None
        if message.task_id:
            before, task = await self._take_answer(message, context)
        else:
            message.task_id = reserved_task_id(context) or new_id()
            message.context_id = message.context_id or new_id()
            task = Task(
                id=message.task_id,
                context_id=message.context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED, timestamp=now_timestamp()),
                history=[message],
            )
            await self.task_store.save(task, context)
        await self.keep_message_webhook(task.id, params, context)  # the worker that runs the turn reads it there
        headers: dict[str, str] = context.state.get("headers") or {}
        forwarded = {name: str(headers[name]) for name in _FORWARDED_HEADERS if name in headers}
        # A traced call hands the worker its own span, so the worker's turn is the call's child.
        spans.inject(forwarded, trace.get_current_span())
        seen = incoming(context)
        job = Job(
            task_id=task.id,
            owner=self.shared_store.owner_resolver(context),
            request=request,
            headers=forwarded,
            streaming=seen is not None and seen.streaming,
            legacy_caller=seen is not None and seen.legacy_caller,
            resuming=bool(params.message.task_id),
            text_input=_text_input(seen.input if seen is not None else None, params.message),
            artifacts_before=len(task.artifacts),
            history_before=len(task.history),
        )
        try:
            after = await self._put_waiting_out_outages(job)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # Undone, so that nothing waits for a turn no worker will ever see; the caller sends again.
            if not await self._undo(task, before, context):
                return task, "0-0"  # a worker took it: the put went through, its answer was lost
            raise InternalError(
                message=f"The work queue (Redis) was out of reach for {QUEUE_OUTAGE_SECONDS:.0f} s: the message "
                "was not queued and nothing was kept. Send it again."
            ) from None
        return task, after

    async def _undo(self, task: Task, before: Task | None, context: ServerCallContext) -> bool:
        """Undo a turn that could not be queued; False if a worker took it after all.

        The store may be out of reach too: the undo then goes on in the background until it is back.
        """
        try:
            return await self._undo_once(task, before, context)
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("task %s: cannot undo its unqueued turn (%s); trying again in the background", task.id, exc)
            undoing = asyncio.create_task(self._undo_later(task, before, context), name=f"a2a-bridge-undo-{task.id}")
            self._undoing.add(undoing)
            undoing.add_done_callback(self._undoing.discard)
            return True

    async def _undo_once(self, task: Task, before: Task | None, context: ServerCallContext) -> bool:
        if before is None:
            return await self.shared_store.forget(task.id, context)
        await self.shared_store.replace_if(before, context, state=TaskState.TASK_STATE_SUBMITTED)
        return True

    async def _undo_later(self, task: Task, before: Task | None, context: ServerCallContext) -> None:
        for _ in range(_UNDO_TRIES):
            await asyncio.sleep(_UNDO_EVERY_SECONDS)
            try:
                await self._undo_once(task, before, context)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                continue
            logger.info("task %s: its unqueued turn is undone", task.id)
            return
        logger.error("task %s stays submitted with no turn queued: the task store was out of reach too long", task.id)

    async def _put_waiting_out_outages(self, job: Job) -> str:
        """Queue the turn, trying again while Redis is out of reach; the event-stream id its events follow."""
        assert self.work_queue is not None
        assert self.bus is not None
        loop = asyncio.get_running_loop()
        give_up = loop.time() + QUEUE_OUTAGE_SECONDS
        wait = 0.1
        while True:
            try:
                after = await self.bus.position(job.task_id)
                # A put whose answer was lost may have queued the turn already: of two entries, one runs it.
                await self.work_queue.put(job)
                return after
            except Exception as exc:
                if not is_outage(exc) or loop.time() + wait > give_up:
                    raise
                logger.warning("cannot queue task %s (%s); trying again in %.1f s", job.task_id, exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 2.0)

    async def _take_answer(self, message: Message, context: ServerCallContext) -> tuple[Task, Task]:
        """The task ``message`` answers as it was, then with the answer in its history, stored.

        Refused unless the task waits for an answer.
        """
        task = await self.task_store.get(message.task_id, context)
        if task is None:
            raise TaskNotFoundError(message=f"Task {message.task_id} was specified but does not exist")
        state = task.status.state
        if state in TERMINAL_STATES:
            raise UnsupportedOperationError(message=f"Task {task.id} is in terminal state: {TaskState.Name(state)}")
        if state not in AWAITING_CALLER_STATES:
            raise UnsupportedOperationError(
                message=f"Task {task.id} is {TaskState.Name(state)}: it takes a message only when it asks for one "
                "(TASK_STATE_INPUT_REQUIRED or TASK_STATE_AUTH_REQUIRED)"
            )
        message.context_id = task.context_id
        before = Task()
        before.CopyFrom(task)
        # As the SDK's task manager does: the question moves into the history, then the answer follows it.
        if task.status.HasField("message"):
            task.history.append(task.status.message)
        task.history.append(message)
        task.status.CopyFrom(TaskStatus(state=TaskState.TASK_STATE_SUBMITTED, timestamp=now_timestamp()))
        if not await self.shared_store.replace_if(task, context, state=state):
            raise UnsupportedOperationError(
                message=f"Task {task.id} no longer waits for an answer: another message answered it first"
            )
        return before, task

    async def _turn_events(self, task: Task, after: str, context: ServerCallContext) -> AsyncGenerator[Event]:
        """The worker's events for this turn, up to the one that ends it."""
        assert self.bus is not None
        queued_at = task.status.timestamp.ToNanoseconds()

        async def ended() -> Task | None:
            # The stream was quiet: the store has the last word (a write the bus missed).
            stored = await self.task_store.get(task.id, context)
            if stored is None or stored.status.timestamp.ToNanoseconds() <= queued_at:
                return None
            return stored if ends_turn(stored) else None

        async for event in self.bus.follow_after(task.id, after, until=ends_turn, check=ended):
            yield event


def _text_input(read: MessageInput | None, message: Message) -> dict[str, Any] | None:
    """What plain text became at the front door (the card's text field), for the worker to run on."""
    has_data = any(part.WhichOneof("content") == "data" for part in message.parts)
    return None if read is None or has_data else read.data
