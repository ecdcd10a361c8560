"""The SDK's ``DatabaseTaskStore`` made safe for several replicas (SQLite or Postgres).

Each row gains three columns: a ``version`` that every write bumps, and a
lease, ``lease_owner`` and ``lease_expires``: the replica running a task
(submitted or working) holds it and renews it (:mod:`.leases`). Writes are
group-committed: whatever saves arrive while one transaction commits go
together in the next, which reads the rows it changes under a lock (Postgres
``FOR UPDATE``, SQLite ``BEGIN IMMEDIATE``). Two rules follow:

- **Final is final.** A stored completed, failed, canceled or rejected task
  never changes. A later write is dropped and the store calls ``on_final``,
  so the replica still running it stops (the cancel came from elsewhere).
- **One writer.** While another replica's lease is live, only a cancel may
  write the task; any other write is a :class:`TaskHeldElsewhere`.

Reads, ListTasks and its cursor paging, and owner scoping are the SDK's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.tasks import DatabaseTaskStore
from a2a.types import Task, TaskState
from sqlalchemy import DateTime, Integer, String, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from a2a_bridge.errors import BridgeError
from a2a_bridge.server.stores.push_configs import SharedPushConfigStore
from a2a_bridge.server.stores.schema import create_tables
from a2a_bridge.support.outages import is_outage
from a2a_bridge.wire import sdk_internals
from a2a_bridge.wire.protojson import message_to_json
from a2a_bridge.wire.sdk_internals import TaskMixin

__all__ = ["FINAL_STATE_NAMES", "TABLE", "RequestRow", "SharedTaskStore", "TaskHeldElsewhere", "TaskRow", "utcnow"]

logger = logging.getLogger("a2a_bridge.store")

TABLE = "a2a_bridge_tasks"
REQUESTS_TABLE = "a2a_bridge_requests"
_FINAL_STATES = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
FINAL_STATE_NAMES = frozenset(TaskState.Name(s) for s in _FINAL_STATES)
_RUNNING = frozenset({TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING})
_RACES = 8
_OUTAGE_SECONDS = 30.0  # how long a save waits for the database to come back before it fails


class TaskHeldElsewhere(BridgeError):
    """Another replica is running this task; only a cancel may change it meanwhile."""


class _Base(DeclarativeBase):
    pass


class TaskRow(TaskMixin, _Base):
    """The SDK's task columns, plus a version and a lease."""

    __tablename__ = TABLE
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    lease_expires: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RequestRow(_Base):
    """Which task each caller's message started, so that the same message sent again finds it."""

    __tablename__ = REQUESTS_TABLE
    owner: Mapped[str] = mapped_column(String, primary_key=True)
    # A digest, not the id itself: a caller's id may be any length, and an index key may not.
    message_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_id: Mapped[str] = mapped_column(String, nullable=False, index=True)


_CURRENT = select(
    TaskRow.id, TaskRow.version, TaskRow.owner, TaskRow.status, TaskRow.lease_owner, TaskRow.lease_expires
)
_WRITTEN = (
    "version",
    "context_id",
    "kind",
    "owner",
    "last_updated",
    "status",
    "artifacts",
    "history",
    "task_metadata",
    "protocol_version",
    "lease_owner",
    "lease_expires",
)
_UPDATE = update(TaskRow).where(TaskRow.id == bindparam("b_id")).values({name: bindparam(name) for name in _WRITTEN})


@dataclass(slots=True)
class _Write:
    task_id: str
    state: int
    values: dict[str, Any]
    message_id: str  # the task's first message: recorded as the request that started it
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _insert_new(dialect: str, row: type[_Base]) -> Any:
    """An INSERT that skips rows whose key is taken, in the engine's dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(row).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(row).on_conflict_do_nothing()


def _key(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()


def utcnow() -> datetime:
    """Naive UTC, as SQLAlchemy's ``DateTime`` stores it on both engines."""
    return datetime.now(UTC).replace(tzinfo=None)


class SharedTaskStore(DatabaseTaskStore):
    """A task store that several replicas share; see the module docstring.

    Args:
        engine: An async SQLAlchemy engine (aiosqlite or asyncpg).
        replica_id: This process's name in leases; unique per process.
        lease_seconds: How long a lease lasts without renewal.
    """

    def __init__(
        self, engine: AsyncEngine, *, replica_id: str, lease_seconds: float, holds_leases: bool = True
    ) -> None:
        super().__init__(engine, create_table=True)  # the SDK model it picks is replaced just below
        sdk_internals.use_task_model(self, TaskRow)  # the SDK's columns and ours
        self.engine = engine
        # The SDK's task table holds a contextId of at most 36 characters; Postgres enforces it, SQLite does not.
        self.context_id_limit: int | None = 36 if engine.dialect.name == "postgresql" else None
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._tables_made = False
        self.replica_id = replica_id
        self.lease = timedelta(seconds=lease_seconds)
        # A queue-mode front door queues tasks and never runs them: the worker that takes one holds it.
        self.holds_leases = holds_leases
        self.on_final: Callable[[str], None] = lambda task_id: None
        self.push_configs: SharedPushConfigStore | None = None  # trimmed with their tasks (leases.py)
        self._queue: list[_Write] = []
        self._writer: asyncio.Task[None] | None = None
        # Tasks whose end this process wrote: the lease round must not take them for tasks ended elsewhere.
        self.ended_here: dict[str, float] = {}  # task id: when (the loop's clock)
        self.sending: set[str] = set()  # reserved task ids whose first send is under way here

    async def initialize(self) -> None:
        """Create the tables once; the SDK's own reads call this before their first query."""
        if self._tables_made:
            return
        await create_tables(self.engine, _Base.metadata.sorted_tables)
        self._tables_made = True

    def _values(self, task: Task, owner: str) -> dict[str, Any]:
        """The row the SDK's store would write (its ``_to_orm``), with the planned ProtoJSON printer.

        ``json_format`` took a quarter of a save's time; ``tests/test_sdk_contract.py``
        checks that both give the same row.
        """
        status = task.status
        values: dict[str, Any] = {
            "context_id": task.context_id,
            "kind": "task",
            "owner": owner,
            "last_updated": status.timestamp.ToDatetime() if status.HasField("timestamp") else None,
            "status": message_to_json(status),
            "artifacts": [message_to_json(artifact) for artifact in task.artifacts],
            "history": [message_to_json(message) for message in task.history],
            "task_metadata": message_to_json(task.metadata) if task.metadata.fields else None,
            "protocol_version": "1.0",
        }
        running = self.holds_leases and status.state in _RUNNING
        values["lease_owner"] = self.replica_id if running else None
        values["lease_expires"] = utcnow() + self.lease if running else None
        return values

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await self.initialize()
        first = task.history[0].message_id if task.history else ""
        write = _Write(task.id, task.status.state, self._values(task, self.owner_resolver(context)), first)
        self._queue.append(write)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="a2a-bridge-store-writer")
        await write.done

    async def _drain(self) -> None:
        """Commit queued writes, as many as have arrived, one transaction per batch (a group commit)."""
        while self._queue:
            # One turn of the loop first: the savers the last commit woke up join this batch.
            await asyncio.sleep(0)
            batch, self._queue = self._queue, []
            try:
                outcomes = await self._commit_with_retries(batch)
            except Exception as exc:
                if len(batch) > 1 and not is_outage(exc):
                    # The database refused one write (a caller's value too long for its column, say):
                    # each write alone, so that it fails only its own task, never the others in its batch.
                    outcomes = await self._commit_one_by_one(batch)
                else:
                    outcomes = {write.task_id: exc for write in batch}
            for write in batch:
                if not write.done.done():
                    outcome = outcomes.get(write.task_id)
                    if outcome is None:
                        write.done.set_result(None)
                    else:
                        write.done.set_exception(outcome)

    async def _commit_one_by_one(self, batch: list[_Write]) -> dict[str, Exception | None]:
        outcomes: dict[str, Exception | None] = {}
        for write in batch:
            try:
                outcomes.update(await self._commit_with_retries([write]))
            except Exception as exc:
                outcomes[write.task_id] = exc
        return outcomes

    async def _commit_with_retries(self, batch: list[_Write]) -> dict[str, Exception | None]:
        races = 0
        loop = asyncio.get_running_loop()
        give_up = loop.time() + _OUTAGE_SECONDS
        wait = 0.1
        while True:
            try:
                return await self._commit(batch)
            except IntegrityError:
                races += 1  # another replica inserted one of these tasks first: read again
                if races >= _RACES:
                    raise TaskHeldElsewhere(f"{len(batch)} task writes kept racing another replica's") from None
            except Exception as exc:
                # The database restarted or the connection was cut mid-write: a task's state must not be lost.
                if not is_outage(exc) or loop.time() + wait > give_up:
                    raise
                logger.warning("could not save %d task(s) (%s); trying again in %.1f s", len(batch), exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, 2.0)

    async def _commit(self, batch: list[_Write]) -> dict[str, Exception | None]:
        # A save is a whole snapshot: of several writes to one task in a batch, the last one stands.
        latest = {write.task_id: write for write in batch}
        outcomes: dict[str, Exception | None] = {}
        finals: list[str] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        async with self.engine.begin() as connection:
            # Locked for the transaction: rows on Postgres; the whole database on SQLite (BEGIN IMMEDIATE).
            current = {
                row.id: row
                for row in await connection.execute(_CURRENT.where(TaskRow.id.in_(latest)).with_for_update())
            }
            started: list[dict[str, str]] = []
            for task_id, write in latest.items():
                row = current.get(task_id)
                if row is None:
                    inserts.append({"id": task_id, "version": 1, **write.values})
                    if write.message_id:
                        started.append(
                            {"owner": write.values["owner"], "message_key": _key(write.message_id), "task_id": task_id}
                        )
                    continue
                try:
                    verdict = self._may_write(task_id, write, row)
                except TaskHeldElsewhere as exc:
                    outcomes[task_id] = exc
                    continue
                if verdict == "write":
                    updates.append({"b_id": task_id, "version": row.version + 1, **write.values})
                elif verdict == "final":
                    finals.append(task_id)
            if inserts:
                await connection.execute(insert(TaskRow), inserts)
            if started:
                # A message sent twice at once starts two tasks; the first recorded is the one found again.
                await connection.execute(_insert_new(connection.dialect.name, RequestRow), started)
            if updates:
                await connection.execute(_UPDATE, updates)
        written = {row["id"] for row in inserts} | {row["b_id"] for row in updates}
        now = asyncio.get_running_loop().time()
        self.ended_here.update((task_id, now) for task_id in written if latest[task_id].state in _FINAL_STATES)
        for task_id in finals:
            self.on_final(task_id)
        return outcomes

    async def finished_among(self, task_ids: list[str]) -> list[str]:
        """Which of ``task_ids`` have ended in the store (by any replica's hand)."""
        final = TaskRow.status["state"].as_string().in_(sorted(FINAL_STATE_NAMES))
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(TaskRow.id).where(TaskRow.id.in_(task_ids), final))
            return [str(row.id) for row in rows]

    async def held_here(self, task_ids: list[str]) -> set[str]:
        """Which of ``task_ids`` this replica holds a live lease on."""
        live = (TaskRow.lease_owner == self.replica_id) & (TaskRow.lease_expires > utcnow())
        async with self.engine.connect() as connection:
            rows = await connection.execute(select(TaskRow.id).where(TaskRow.id.in_(task_ids), live))
            return {str(row.id) for row in rows}

    async def forget(self, task_id: str, context: ServerCallContext) -> bool:
        """Delete a task no worker took, and the record of the message that started it; False if one took it."""
        owner = self.owner_resolver(context)
        async with self.engine.begin() as connection:
            deleted = await connection.execute(
                delete(TaskRow).where(TaskRow.id == task_id, TaskRow.owner == owner, TaskRow.lease_owner.is_(None))
            )
            if not deleted.rowcount:
                return False
            await connection.execute(delete(RequestRow).where(RequestRow.task_id == task_id, RequestRow.owner == owner))
            return True

    async def reserve(self, message_id: str, task_id: str, context: ServerCallContext, *, instead_of: str = "") -> str:
        """Record that this caller's message starts ``task_id``, unless it started a task already: that task's id.

        With ``instead_of``, a reservation whose task never appeared is taken over, if it still names that task.
        """
        await self.initialize()
        owner, key = self.owner_resolver(context), _key(message_id)
        mine = (RequestRow.owner == owner) & (RequestRow.message_key == key)
        async with self.engine.begin() as connection:
            if instead_of:
                await connection.execute(
                    update(RequestRow).where(mine, RequestRow.task_id == instead_of).values(task_id=task_id)
                )
            row = {"owner": owner, "message_key": key, "task_id": task_id}
            await connection.execute(_insert_new(connection.dialect.name, RequestRow), [row])
            return str((await connection.execute(select(RequestRow.task_id).where(mine))).scalar_one())

    async def unreserve(self, message_id: str, task_id: str, context: ServerCallContext) -> None:
        """Free a message id whose send ended without saving ``task_id``."""
        owner, key = self.owner_resolver(context), _key(message_id)
        async with self.engine.begin() as connection:
            await connection.execute(
                delete(RequestRow).where(
                    RequestRow.owner == owner, RequestRow.message_key == key, RequestRow.task_id == task_id
                )
            )

    async def claim(self, task_id: str) -> bool:
        """Hold a task's lease, unless another replica's lease on it is live or the task has ended."""
        await self.initialize()
        now = utcnow()
        free = or_(TaskRow.lease_owner.is_(None), TaskRow.lease_owner == self.replica_id, TaskRow.lease_expires < now)
        async with self.engine.begin() as connection:
            claimed = await connection.execute(
                update(TaskRow)
                .where(
                    TaskRow.id == task_id, free, TaskRow.status["state"].as_string().not_in(sorted(FINAL_STATE_NAMES))
                )
                .values(version=TaskRow.version + 1, lease_owner=self.replica_id, lease_expires=now + self.lease)
            )
            return bool(claimed.rowcount)

    async def release(self, task_id: str) -> None:
        """Give up this replica's lease on a task it stopped running, so another may claim it at once."""
        async with self.engine.begin() as connection:
            await connection.execute(
                update(TaskRow)
                .where(TaskRow.id == task_id, TaskRow.lease_owner == self.replica_id)
                .values(lease_expires=utcnow())
            )

    async def replace_if(self, task: Task, context: ServerCallContext, *, state: int) -> bool:
        """Write ``task`` only if the stored one is still in ``state``: one answer wins, whoever else sends one."""
        await self.initialize()
        values = self._values(task, self.owner_resolver(context))
        async with self.engine.begin() as connection:
            replaced = await connection.execute(
                update(TaskRow)
                .where(
                    TaskRow.id == task.id,
                    TaskRow.owner == values["owner"],
                    TaskRow.status["state"].as_string() == TaskState.Name(state),
                )
                .values(version=TaskRow.version + 1, **values)
            )
            return bool(replaced.rowcount)

    def _may_write(self, task_id: str, write: _Write, current: Any) -> str:
        """``write``, ``skip`` (nothing changed), or ``final`` (the task already ended: dropped)."""
        if current.owner != write.values["owner"]:
            raise TaskHeldElsewhere(f"task {task_id} belongs to another caller")
        stored_state = (current.status or {}).get("state")
        if stored_state in FINAL_STATE_NAMES:
            if write.values["status"] == current.status:
                return "skip"
            logger.info("task %s is already %s; dropped a later write from this replica", task_id, stored_state)
            return "final"
        held_by_other = current.lease_owner not in (None, self.replica_id)
        live = current.lease_expires is not None and current.lease_expires > utcnow()
        # A cancel may end a task another replica runs; that replica notices at its next write.
        if held_by_other and live and write.state != TaskState.TASK_STATE_CANCELED:
            raise TaskHeldElsewhere(f"task {task_id} is running on another replica")
        return "write"
