"""The work queue between a front door and its workers: one Redis stream per agent.

Redis already has the protocol a work queue needs, so this module only names
its parts:

- ``a2a-bridge:queue:{agent}`` is a stream; each entry is one turn of a task
  (a :class:`Job`). The front door appends it (``XADD``).
- Workers read it through the consumer group ``workers`` (``XREADGROUP``). An
  entry a worker has read and not yet acknowledged is in the group's pending
  list: that is the worker's lease on the job.
- A worker renews its leases by claiming its own entries again (``XCLAIM
  JUSTID``, through a script that touches only entries it still owns), which
  resets their idle time. A worker that dies stops renewing; once an entry has
  been idle for a lease, any worker takes it over (``XAUTOCLAIM``).
- The entry only says who should run a turn; the task's lease in the store says
  who does. A worker that still holds the task's lease when its entry was taken
  over (Redis was away, so it could not renew the entry) takes the entry back.
- A finished turn is acknowledged and deleted (``XACK``, ``XDEL``), so the
  stream holds exactly the turns waiting or running, and the group's ``lag``
  is the number waiting: what KEDA's Redis Streams scaler reads (``lagCount``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from a2a.types import SendMessageRequest

__all__ = ["GROUP", "Job", "QueueDepth", "WorkQueue", "queue_key"]

GROUP = "workers"
_HELD_AT_MOST = 10_000  # a worker reads at most its concurrency at a time; this bounds one XPENDING reply

# Renews only the entries this consumer still owns: XCLAIM alone would take back one another worker took over.
_RENEW = """
local kept = {}
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if entry[1] and entry[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    table.insert(kept, ARGV[i])
  end
end
return kept
"""


# Puts back the delivery count of an entry this consumer still owns: a take-over that found the task
# running elsewhere was not a run, and MAX_RUNS counts runs.
_UNCOUNT = """
local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if entry[1] and entry[1][2] == ARGV[2] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'RETRYCOUNT', ARGV[4], 'JUSTID')
  return 1
end
return 0
"""


def queue_key(agent: str) -> str:
    """The stream that holds an agent's queued turns."""
    return f"a2a-bridge:queue:{agent}"


@dataclass(slots=True)
class Job:
    """One turn of a task, as the front door queued it.

    Attributes:
        task_id: The task, already stored by the front door.
        owner: The caller the task belongs to (its name, or empty without auth).
        request: The SendMessage request, as validated by the front door.
        headers: The request headers a runner may read (trace context, A2A version).
        streaming: Whether the caller reads the task as a stream.
        legacy_caller: Whether the caller speaks A2A v0.3.
        resuming: Whether the turn answers the task's question (input-required).
        text_input: The input plain text filled in at the front door (the card's text field), when the
            message carries no data part; the worker runs the turn on exactly what the front door read.
        artifacts_before: How many artifacts the task had when the turn was queued; a rerun starts from there.
        history_before: How many history messages it had, the turn's own message included.
        earlier_runs: Runs of the turn before it was queued again by a stopping worker.
        entry_id: The stream entry, once read.
        deliveries: How many times a worker has taken this entry, once read.
    """

    task_id: str
    owner: str
    request: SendMessageRequest
    headers: dict[str, str] = field(default_factory=dict)
    streaming: bool = False
    legacy_caller: bool = False
    resuming: bool = False
    text_input: dict[str, Any] | None = None
    artifacts_before: int = 0
    history_before: int = 0
    earlier_runs: int = 0
    entry_id: str = ""
    deliveries: int = 1

    @property
    def runs(self) -> int:
        """Which run of the turn this is: 1 the first time, more once a worker stopped mid-turn."""
        return self.earlier_runs + self.deliveries

    def fields(self) -> dict[str, bytes]:
        meta = {
            "owner": self.owner,
            "headers": self.headers,
            "streaming": self.streaming,
            "legacy_caller": self.legacy_caller,
            "resuming": self.resuming,
            "text_input": self.text_input,
            "artifacts_before": self.artifacts_before,
            "history_before": self.history_before,
            "earlier_runs": self.earlier_runs,
        }
        return {
            "task": self.task_id.encode(),
            "meta": orjson.dumps(meta),
            "request": bytes(self.request.SerializeToString()),
        }

    @classmethod
    def from_entry(cls, entry_id: bytes | str, fields: dict[bytes, bytes], deliveries: int = 1) -> Job:
        meta = orjson.loads(fields[b"meta"])
        return cls(
            task_id=fields[b"task"].decode(),
            owner=meta["owner"],
            request=SendMessageRequest.FromString(fields[b"request"]),
            headers=meta["headers"],
            streaming=meta["streaming"],
            legacy_caller=meta["legacy_caller"],
            resuming=meta["resuming"],
            text_input=meta.get("text_input"),  # absent from turns an earlier release queued
            artifacts_before=meta["artifacts_before"],
            history_before=meta["history_before"],
            earlier_runs=meta["earlier_runs"],
            entry_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            deliveries=deliveries,
        )


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """What the autoscaler reads: turns waiting for a worker, turns running, and the oldest wait."""

    waiting: int
    running: int
    oldest_wait_seconds: float
    workers: int


def _entry_ms(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


class WorkQueue:
    """One agent's queue on a Redis connection (``redis.asyncio``) shared with the event bus."""

    def __init__(self, redis: Any, agent: str, *, consumer: str, lease_seconds: float) -> None:
        self.redis = redis
        self.key = queue_key(agent)
        self.consumer = consumer
        self.lease_ms = int(lease_seconds * 1000)
        self._renew = redis.register_script(_RENEW)
        self._uncount = redis.register_script(_UNCOUNT)

    async def ensure_group(self) -> None:
        """Create the stream and its group if missing; from id 0, so turns queued before it are read."""
        import redis.exceptions

        try:
            await self.redis.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def put(self, job: Job) -> str:
        entry_id = await self.redis.xadd(self.key, job.fields())
        return str(entry_id.decode() if isinstance(entry_id, bytes) else entry_id)

    async def take(self, count: int, *, block_ms: int) -> list[Job]:
        """Up to ``count`` new turns for this worker, waiting up to ``block_ms`` for the first."""
        read = await self.redis.xreadgroup(GROUP, self.consumer, {self.key: ">"}, count=count, block=block_ms)
        if not read:
            return []
        return [Job.from_entry(entry_id, fields) for entry_id, fields in read[0][1] if fields]

    async def take_over(self, count: int) -> list[Job]:
        """Up to ``count`` turns whose worker stopped renewing them for a lease (deleted entries are dropped)."""
        _, entries, deleted = await self.redis.xautoclaim(
            self.key, GROUP, self.consumer, min_idle_time=self.lease_ms, start_id="0-0", count=count
        )
        if deleted:
            await self.redis.xack(self.key, GROUP, *deleted)
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xpending_range(self.key, GROUP, min=entry_id, max=entry_id, count=1)
            pendings = await pipe.execute()
        return [
            Job.from_entry(entry_id, fields, pending[0]["times_delivered"] if pending else 2)
            for (entry_id, fields), pending in zip(entries, pendings, strict=True)
        ]

    async def renew(self, entry_ids: list[str]) -> set[str]:
        """Reset the lease of each entry this worker still owns; returns those."""
        if not entry_ids:
            return set()
        kept = await self._renew(keys=[self.key], args=[GROUP, self.consumer, *entry_ids])
        return {k.decode() if isinstance(k, bytes) else k for k in kept}

    async def take_back(self, job: Job) -> bool:
        """Own an entry another worker took over, with the runs it had; False if it is gone (acknowledged)."""
        taken = await self.redis.xclaim(
            self.key, GROUP, self.consumer, 0, [job.entry_id], retrycount=job.deliveries, justid=True
        )
        return bool(taken)

    async def not_a_run(self, job: Job) -> None:
        """This worker took the entry over but did not run it (the task runs elsewhere): uncount the delivery."""
        await self._uncount(keys=[self.key], args=[GROUP, self.consumer, job.entry_id, job.deliveries - 1])

    async def done(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.key, GROUP, entry_id)
            pipe.xdel(self.key, entry_id)
            await pipe.execute()

    async def held(self) -> list[Job]:
        """Every entry this worker has read and not acknowledged: running, waiting for a claim, or left to lapse."""
        pending = await self.redis.xpending_range(
            self.key, GROUP, min="-", max="+", count=_HELD_AT_MOST, consumername=self.consumer
        )
        jobs: list[Job] = []
        for entry in pending:
            entry_id = entry["message_id"]
            found = await self.redis.xrange(self.key, min=entry_id, max=entry_id, count=1)
            if found:
                jobs.append(Job.from_entry(entry_id, found[0][1], entry["times_delivered"]))
            else:
                await self.redis.xack(self.key, GROUP, entry_id)  # deleted: nothing left to run
        return jobs

    async def hand_back(self, job: Job, *, ran: bool) -> None:
        """Queue a turn again at once (this worker is stopping), instead of leaving it to lapse.

        ``ran``: whether this worker started the turn; a turn it only read keeps the runs it had.
        """
        earlier = job.runs if ran else job.runs - 1
        again = replace(job, earlier_runs=earlier, entry_id="", deliveries=1)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.key, again.fields())
            pipe.xack(self.key, GROUP, job.entry_id)
            pipe.xdel(self.key, job.entry_id)
            await pipe.execute()

    async def leave(self) -> None:
        """Remove this worker from the group; call after handing back its turns."""
        await self.redis.xgroup_delconsumer(self.key, GROUP, self.consumer)

    async def depth(self) -> QueueDepth:
        """Turns waiting and running, and how long the oldest has waited, by the Redis server's clock."""
        await self.ensure_group()
        groups = await self.redis.xinfo_groups(self.key)
        group = next(g for g in groups if _text(g["name"]) == GROUP)
        running = int(group["pending"])
        lag = group.get("lag")
        waiting = int(lag) if lag is not None else max(0, int(await self.redis.xlen(self.key)) - running)
        oldest_wait = 0.0
        if waiting:
            last = _text(group["last-delivered-id"])
            first = await self.redis.xrange(self.key, min=f"({last}", count=1)
            if first:
                seconds, micros = await self.redis.time()
                oldest_wait = max(0.0, seconds + micros / 1e6 - _entry_ms(first[0][0]) / 1000)
        consumers = await self.redis.xinfo_consumers(self.key, GROUP)
        # A worker that read nothing for three leases is gone (killed); its entries go to others.
        workers = sum(1 for c in consumers if int(c["idle"]) < 3 * self.lease_ms)
        return QueueDepth(waiting=waiting, running=running, oldest_wait_seconds=oldest_wait, workers=workers)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
