"""Live task events and cancels across replicas, over Redis.

- Every event a replica's executor publishes is also appended, in order, to
  the Redis stream ``a2a-bridge:events:{task_id}``, by one background writer
  (pipelined, so a task's own run never waits on Redis). A turn that continues
  a task starts with the task as it is then, so the stream always folds into
  the current task. The stream expires a while after the task ends.
- SubscribeToTask on a replica that does not run the task folds that stream
  into the current task, yields it, then follows the stream to the end.
- CancelTask on any replica is published on ``a2a-bridge:cancel``; the replica
  running the task stops it. The shared store already holds ``canceled``, so
  a lost message only delays the stop until that replica's next write. A
  subscription lost with Redis is made again, with backoff, for as long as the
  replica runs; ``listening`` says whether it holds one now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from a2a.server.events import Event, EventQueue
from a2a.types import StreamResponse, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent

from a2a_bridge.support.outages import is_outage
from a2a_bridge.wire.sdk_internals import apply_task_event
from a2a_bridge.wire.states import AWAITING_CALLER_STATES, TERMINAL_STATES
from a2a_bridge.wire.stream_responses import stream_response

__all__ = ["RedisEventBus", "ends_task"]

logger = logging.getLogger("a2a_bridge.event_bus")

CANCEL_CHANNEL = "a2a-bridge:cancel"
_KEEP_FINISHED_SECONDS = 300
_RESUBSCRIBE_SECONDS = (0.2, 5.0)  # the first wait after a lost subscription, and the longest
_FIELD = b"e"


def _stream(task_id: str) -> str:
    return f"a2a-bridge:events:{task_id}"


def _encode(event: Event) -> bytes:
    return bytes(stream_response(event).SerializeToString())


def _decode(data: bytes) -> Event:
    response = StreamResponse.FromString(data)
    kind = response.WhichOneof("payload")
    event: Event = getattr(response, kind)
    return event


def ends_task(event: Event) -> bool:
    """Whether the event is the task's last: a final state."""
    if isinstance(event, Task):
        return event.status.state in TERMINAL_STATES
    return isinstance(event, TaskStatusUpdateEvent) and event.status.state in TERMINAL_STATES


def _lifetime(event: Event) -> str | None:
    """What the event does to its stream's expiry: "expire" as the task ends or parks, "persist" as a turn starts."""
    state = event.status.state if isinstance(event, (Task, TaskStatusUpdateEvent)) else None
    if state in TERMINAL_STATES or state in AWAITING_CALLER_STATES:
        return "expire"  # parked, the task may wait days for its caller; the store has it meanwhile
    return "persist" if isinstance(event, Task) else None  # a turn opens with the task: it may outlast the expiry


class _Tee(EventQueue):
    """The executor's queue, with every event also sent to the bus."""

    def __init__(self, inner: EventQueue, bus: RedisEventBus, task_id: str) -> None:
        self.inner = inner
        self.bus = bus
        self.task_id = task_id

    async def enqueue_event(self, event: Event) -> None:
        await self.inner.enqueue_event(event)
        self.bus.send(self.task_id, event)


class RedisEventBus:
    """One replica's connection to the shared event bus."""

    def __init__(self, url: str, *, on_cancel: Callable[[str], None]) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
        from redis.exceptions import ConnectionError, TimeoutError

        # A Redis that restarted leaves every pooled connection dead: reconnect and retry, rather than fail
        # the request that meets one. A turn queued twice by a retry still runs once (the worker's claim);
        # a live follower may see a retried event twice, while the stored task is written once.
        retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), 5)
        self.redis: Any = redis.from_url(url, retry=retry, retry_on_error=[ConnectionError, TimeoutError])
        self.on_cancel = on_cancel
        self._outbox: asyncio.Queue[tuple[str, bytes, str | None]] = asyncio.Queue()
        self._jobs: list[asyncio.Task[None]] = []
        self.listening = False  # subscribed to the cancel channel

    async def start(self) -> None:
        await self.redis.ping()
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CANCEL_CHANNEL)  # before start returns: a cancel sent next is heard
        self.listening = True
        self._jobs = [
            asyncio.create_task(self._write(), name="a2a-bridge-bus-writer"),
            asyncio.create_task(self._listen(pubsub), name="a2a-bridge-bus-cancels"),
        ]

    async def close(self) -> None:
        await self._outbox.join()
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            # A job that already failed (Redis went away) has nothing left to stop.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        await self.redis.aclose()

    def tee(self, queue: EventQueue, task_id: str) -> EventQueue:
        return _Tee(queue, self, task_id)

    def send(self, task_id: str, event: Event) -> None:
        self._outbox.put_nowait((task_id, _encode(event), _lifetime(event)))

    async def _write(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for task_id, data, lifetime in batch:
                        pipe.xadd(_stream(task_id), {_FIELD: data})
                        if lifetime == "expire":
                            pipe.expire(_stream(task_id), _KEEP_FINISHED_SECONDS)
                        elif lifetime == "persist":
                            pipe.persist(_stream(task_id))
                    await pipe.execute()
            except Exception as exc:
                # Followers on other replicas miss these events; the store still has the task.
                if is_outage(exc):
                    logger.warning("could not send %d task events to Redis (%s)", len(batch), exc)
                else:
                    logger.exception("could not send %d task events to Redis", len(batch))
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _listen(self, pubsub: Any) -> None:
        """Hear cancels until the bus closes; a subscription lost with Redis is made again."""
        wait, longest = _RESUBSCRIBE_SECONDS
        while True:
            try:
                if not self.listening:
                    pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                    await pubsub.subscribe(CANCEL_CHANNEL)
                    self.listening = True
                    wait = _RESUBSCRIBE_SECONDS[0]
                    logger.warning("listening for cancels from other replicas again")
                async for message in pubsub.listen():
                    self.on_cancel(message["data"].decode())
                self.listening = False  # unsubscribed under us: subscribe again
            except Exception as exc:
                if self.listening:
                    # Meanwhile a cancel sent from another replica stops a run here only at its next write.
                    logger.warning("lost the cancel channel (%s); subscribing again", exc)
                self.listening = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            await asyncio.sleep(wait)
            wait = min(wait * 2, longest)

    async def publish_cancel(self, task_id: str) -> None:
        """Tell the replica running the task to stop it now; best effort, as pub/sub itself is.

        The canceled task is in the shared store already: a replica that misses this
        stops the run at its next lease round (``stores/leases.py``).
        """
        try:
            await self.redis.publish(CANCEL_CHANNEL, task_id)
        except Exception as exc:
            logger.warning(
                "could not publish the cancel of task %s (%s); its replica stops it from the store", task_id, exc
            )

    async def position(self, task_id: str) -> str:
        """The id of the task's last event so far: events after it are the ones to come."""
        last = await self.redis.xrevrange(_stream(task_id), count=1)
        return str(last[0][0].decode()) if last else "0-0"

    async def follow(
        self, task_id: str, *, finished: Callable[[], Awaitable[Task | None]], stored: Task | None = None
    ) -> AsyncIterator[Event]:
        """The task as the stream has it now, then each later event until the task ends.

        ``finished`` returns the stored task when it has ended: the follower asks
        it when the stream is quiet, so a task whose replica died still ends here.
        ``stored`` is the task as stored, for a stream with no events (a task queued
        for a worker, or parked long enough for its stream to expire): it is
        yielded, and the stream followed from its start.
        """
        entries = await self.redis.xrange(_stream(task_id))
        folded: Task | None = None
        last = "0-0"
        for entry_id, fields in entries:
            last = entry_id
            event = _decode(fields[_FIELD])
            if isinstance(event, Task):
                folded = Task()
                folded.CopyFrom(event)
            elif folded is not None and isinstance(event, (TaskStatusUpdateEvent, TaskArtifactUpdateEvent)):
                apply_task_event(folded, event)
        if folded is None and stored is not None:
            folded = stored
        if folded is None:
            stored = await finished()
            if stored is not None:
                yield stored
            return
        yield folded
        if folded.status.state in TERMINAL_STATES:
            return
        async for event in self.follow_after(task_id, last, until=ends_task, check=finished):
            yield event

    async def follow_after(
        self,
        task_id: str,
        after: str,
        *,
        until: Callable[[Event], bool],
        check: Callable[[], Awaitable[Task | None]],
    ) -> AsyncIterator[Event]:
        """Each event after the stream id ``after``, up to the first that ``until`` accepts.

        When the stream is quiet for two seconds, ``check`` may end the wait with the stored task. While
        Redis is out of reach, the follower waits (asking ``check`` meanwhile) and reads on from where it
        was: a stream kept in Redis loses nothing, and the store has the last word either way.
        """

        from redis.exceptions import ConnectionError as RedisConnectionError  # redis is the bus's extra
        from redis.exceptions import TimeoutError as RedisTimeoutError

        last = after
        wait = _RESUBSCRIBE_SECONDS[0]
        while True:
            try:
                read = await self.redis.xread({_stream(task_id): last}, block=2000)
                wait = _RESUBSCRIBE_SECONDS[0]
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                logger.warning("lost the event stream of task %s (%s); reading on in %.1f s", task_id, exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, _RESUBSCRIBE_SECONDS[1])
                read = None
            if not read:
                if (stored := await check()) is not None:
                    yield stored
                    return
                continue
            for entry_id, fields in read[0][1]:
                last = entry_id
                event = _decode(fields[_FIELD])
                yield event
                if until(event):
                    return
