"""The SDK's ``AgentExecutor`` for a :class:`Runner`: one turn of a task per call.

It builds the runner's :class:`Turn` from the request, creates the task on a
first turn, and hands every event the runner yields to a
:class:`~a2a_bridge.server.turns.publisher.TurnPublisher`. A runner
that raises fails the task with a reference id; the details stay in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.types import Task, TaskState, TaskStatus

from a2a_bridge import runner as ev
from a2a_bridge.observability import spans
from a2a_bridge.observability.tracing import trace_from_headers
from a2a_bridge.runner import Runner, Turn
from a2a_bridge.server.handling.message_input import read_message
from a2a_bridge.server.handling.request_state import IncomingTurn, incoming
from a2a_bridge.server.turns.event_bus import RedisEventBus
from a2a_bridge.server.turns.outcome import TurnObserver, TurnOutcome
from a2a_bridge.server.turns.publisher import TurnPublisher, reply_message
from a2a_bridge.server.turns.task_events import TaskEvents
from a2a_bridge.server.turns.watch import TurnWatch
from a2a_bridge.wire.parts import struct_json
from a2a_bridge.wire.states import AWAITING_CALLER_STATES

__all__ = ["RunnerExecutor"]

logger = logging.getLogger("a2a_bridge.executor")


def _metadata(context: RequestContext, request_metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The message's metadata, then the request's."""
    assert context.message is not None
    message_metadata = context.message.metadata
    metadata = struct_json(message_metadata) if message_metadata else {}
    # The SDK's property converts the request's metadata again on every call; the handler read it once.
    return {**metadata, **(request_metadata if request_metadata is not None else context.metadata)}


class RunnerExecutor(AgentExecutor):
    """Runs a :class:`Runner` for each A2A turn. Many turns run at once."""

    def __init__(
        self, runner: Runner, *, agent: str = "agent", coalesce_interval: float = 0.02, durable: bool = False
    ) -> None:
        self.runner = runner
        self.agent = agent
        self.coalesce_interval = coalesce_interval
        self.durable = durable
        self.stopping = False
        # Tasks whose run stops because another process took them over: nobody canceled them.
        self.abandoned: set[str] = set()
        self.bus: RedisEventBus | None = None
        self.watch: TurnWatch | None = None
        self.observers: list[TurnObserver] = []

    def _turn(self, context: RequestContext, task: Task, resuming: bool, seen: IncomingTurn | None) -> Turn:
        assert context.message is not None
        call = context.call_context
        # The handler parsed (and validated) the message already; parse here only what arrived another way.
        message_input = seen.input if seen is not None else read_message(context.message, None, validate=False)
        headers: Mapping[str, str] = call.state.get("headers", {})
        caller = call.user.user_name if call.user.is_authenticated else None
        return Turn(
            task_id=task.id,
            context_id=task.context_id,
            message_id=context.message.message_id,
            text=message_input.text,
            data=message_input.data,
            files=message_input.files,
            caller=caller or None,
            trace=trace_from_headers(headers),
            resuming=resuming,
            recovering=seen is not None and seen.recovering,
            metadata=_metadata(context, seen.request_metadata if seen is not None else None),
            streaming=seen is not None and seen.reads_tokens,
        )

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        seen = incoming(context.call_context)
        resuming = task is not None and (
            task.status.state in AWAITING_CALLER_STATES or (seen is not None and seen.resuming)
        )
        if task is not None and self.watch is not None:
            event_queue = self.watch.tee(event_queue, task.id)
        if self.bus is not None:
            assert context.task_id
            event_queue = self.bus.tee(event_queue, context.task_id)
            if task is not None:
                # A later turn: followers on other replicas start again from the task as it is now.
                self.bus.send(task.id, task)
        new_task = task is None
        if task is None:
            assert context.message is not None
            assert context.task_id
            assert context.context_id
            task = Task(
                id=context.task_id,
                context_id=context.context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=[context.message],
            )
        publisher = TurnPublisher(
            TaskEvents(event_queue, task.id, task.context_id),
            streaming=seen is not None and seen.reads_tokens,
            coalesce_interval=self.coalesce_interval,
            v03_caller=seen is not None and seen.legacy_caller,
        )
        # A runner that may answer without a task gets its task at its first event, not before.
        started = not (new_task and getattr(self.runner, "direct_replies", False))

        async def start() -> None:
            if new_task:
                await event_queue.enqueue_event(task)
            await publisher.working()

        outcome = TurnOutcome(self.agent, task.id, task.context_id, self.observers)
        try:
            if started:
                await start()
            turn = self._turn(context, task, resuming, seen)
            with spans.agent_span(
                self.agent,
                headers=context.call_context.state.get("headers"),
                task_id=task.id,
                context_id=task.context_id,
            ) as span:
                async with contextlib.aclosing(self.runner.run(turn)) as events:  # type: ignore[type-var]
                    async for event in events:
                        spans.turn_event(span, event)
                        outcome.saw(event)
                        if not started:
                            started = True
                            if isinstance(event, ev.DirectReply):
                                await event_queue.enqueue_event(reply_message(event, task.context_id))
                                return
                            await start()
                        if await publisher.publish(event):
                            return
            if not started:
                started = True
                await start()
            await publisher.publish(ev.Done())
        except asyncio.CancelledError:
            if (self.stopping and self.durable) or task.id in self.abandoned:
                # The server is stopping, nobody canceled the task: its lease hands it to another replica.
                outcome.handed_over = True
                raise
            outcome.stopped("canceled")
            # CancelTask reports CANCELED on its own queue only; say it here too, so that a
            # caller streaming this task (or blocked on it) sees the end instead of hanging.
            if started:
                await publisher.abort(TaskState.TASK_STATE_CANCELED)
            raise
        except Exception:
            ref = uuid.uuid4().hex[:8]
            logger.exception("runner failed on task %s (ref %s)", task.id, ref)
            outcome.stopped("failed")
            if not started:
                await start()
            await publisher.abort(
                TaskState.TASK_STATE_FAILED, f"The agent failed while working on this task (ref {ref})."
            )
        finally:
            outcome.report()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id
        assert context.context_id
        if self.bus is not None:
            event_queue = self.bus.tee(event_queue, context.task_id)
        await TaskEvents(event_queue, context.task_id, context.context_id).status(TaskState.TASK_STATE_CANCELED)
