"""SubscribeToTask on a task that waits for its caller: the stream follows the task's next turn.

A task in input-required or auth-required has no run and no event queue, so the
SDK's handler gives a subscriber the task and then TaskNotFoundError. Spec
§3.1.6 keeps the stream open until the task ends. So the subscriber waits
here for the task's next turn, and the executor, before it publishes anything
of that turn, hands each waiting subscriber a tap of the turn's queue: no event
is missed, and the stream ends where the SDK's streams end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from a2a.server.events import Event, EventConsumer, EventQueue, EventQueueLegacy

__all__ = ["TurnWatch"]


class TurnWatch:
    """Subscribers waiting for the next turn of a task, by task id."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[EventQueueLegacy]]] = {}

    def expect(self, task_id: str) -> asyncio.Future[EventQueueLegacy]:
        """Wait for the task's next turn: the future gets a tap of its queue."""
        waiter: asyncio.Future[EventQueueLegacy] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(task_id, []).append(waiter)
        return waiter

    def forget(self, task_id: str, waiter: asyncio.Future[EventQueueLegacy]) -> None:
        waiters = self._waiting.get(task_id, [])
        if waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiting[task_id]
        waiter.cancel()

    async def turn_started(self, task_id: str, queue: EventQueue) -> None:
        """Called by the executor as a turn starts, before its first event."""
        if not isinstance(queue, EventQueueLegacy):
            return  # not the SDK's queue of a turn (a task taken over runs into its own sink)
        for waiter in self._waiting.pop(task_id, []):
            if not waiter.done():
                waiter.set_result(await queue.tap())

    async def follow(self, task_id: str, waiter: asyncio.Future[EventQueueLegacy]) -> AsyncIterator[Event]:
        """The events of the turn ``waiter`` waits for, until the task ends or waits again."""
        try:
            queue = await waiter
        finally:
            self.forget(task_id, waiter)
        async for event in EventConsumer(queue).consume_all():
            yield event
