"""SubscribeToTask on a task that waits for its caller: the stream follows the task's next turn.

A task in input-required or auth-required has no run and no event queue, so the
SDK's handler gives a subscriber the task and then TaskNotFoundError. Spec
§3.1.6 keeps the stream open until the task ends. So the subscriber waits
here, and the task's next turn publishes through :meth:`TurnWatch.tee`, which
hands every event to each waiting subscriber as well. (A tap of the SDK's
queue would not do: the caller's own consumer closes it at the final event,
and a tap can lose that event.) The stream ends where the turn does: the task
finishes, or waits for its caller again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from a2a.server.events import Event, EventQueue
from a2a.types import Message, Task, TaskStatusUpdateEvent

from a2a_bridge.wire.states import AWAITING_CALLER_STATES, TERMINAL_STATES

__all__ = ["TurnWatch"]

_TURN_ENDS = TERMINAL_STATES | AWAITING_CALLER_STATES


def _ends_turn(event: Event) -> bool:
    if isinstance(event, Message):
        return True
    return isinstance(event, Task | TaskStatusUpdateEvent) and event.status.state in _TURN_ENDS


class _Fanout(EventQueue):
    """A turn's queue, with every event also handed to the subscribers that waited for the turn."""

    def __init__(self, inner: EventQueue, followers: list[asyncio.Queue[Event]]) -> None:
        self.inner = inner
        self.followers = followers

    async def enqueue_event(self, event: Event) -> None:
        await self.inner.enqueue_event(event)
        for follower in self.followers:
            follower.put_nowait(event)


class TurnWatch:
    """Subscribers waiting for the next turn of a task, by task id."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Queue[Event]]] = {}

    def expect(self, task_id: str) -> asyncio.Queue[Event]:
        """Start waiting for the task's next turn: its events will arrive in the returned queue."""
        events: asyncio.Queue[Event] = asyncio.Queue()
        self._waiting.setdefault(task_id, []).append(events)
        return events

    def forget(self, task_id: str, events: asyncio.Queue[Event]) -> None:
        """Stop waiting (the subscriber left); nothing once the turn has started."""
        waiting = self._waiting.get(task_id, [])
        if events in waiting:
            waiting.remove(events)
            if not waiting:
                del self._waiting[task_id]

    def tee(self, queue: EventQueue, task_id: str) -> EventQueue:
        """The queue a turn of ``task_id`` publishes into: ``queue``, and the subscribers waiting for it."""
        followers = self._waiting.pop(task_id, None)
        return _Fanout(queue, followers) if followers else queue

    async def follow(self, events: asyncio.Queue[Event]) -> AsyncIterator[Event]:
        """The events of the next turn from :meth:`expect`'s queue, until the task ends or waits again."""
        while True:
            event = await events.get()
            yield event
            if _ends_turn(event):
                return
