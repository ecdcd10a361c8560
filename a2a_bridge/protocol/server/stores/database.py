"""The SDK's ``DatabaseTaskStore`` made safe for several replicas (SQLite or Postgres).

Each row gains three columns: a ``version`` that every write compares and
bumps (so a read-check-write is atomic without row locks, on either engine),
and a lease, ``lease_owner`` and ``lease_expires``: the replica running a
task (submitted or working) holds it and renews it (:mod:`.leases`). Two rules
follow from them:

- **Final is final.** A stored completed, failed, canceled or rejected task
  never changes. A later write is dropped and the store calls ``on_final``,
  so the replica still running it stops (the cancel came from elsewhere).
- **One writer.** While another replica's lease is live, only a cancel may
  write the task; any other write is a :class:`TaskHeldElsewhere`.

Reads, ListTasks and its cursor paging, and owner scoping are the SDK's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.tasks import DatabaseTaskStore
from a2a.types import Task, TaskState
from sqlalchemy import DateTime, Integer, String, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from a2a_bridge.errors import BridgeError
from a2a_bridge.protocol.sdk_internals import TaskMixin, task_columns

__all__ = ["FINAL_STATE_NAMES", "TABLE", "SharedTaskStore", "TaskHeldElsewhere", "TaskRow", "utcnow"]

logger = logging.getLogger("a2a_bridge.store")

TABLE = "a2a_bridge_tasks"
FINAL_STATE_NAMES = frozenset(
    TaskState.Name(s)
    for s in (
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    )
)
_RUNNING = frozenset({TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING})
_RACES = 8


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


_CURRENT = select(TaskRow.version, TaskRow.owner, TaskRow.status, TaskRow.lease_owner, TaskRow.lease_expires)


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

    def __init__(self, engine: AsyncEngine, *, replica_id: str, lease_seconds: float) -> None:
        super().__init__(engine, create_table=True)  # the SDK model it picks is replaced just below
        self.task_model = TaskRow  # type: ignore[assignment]  # the SDK's columns and ours
        self.replica_id = replica_id
        self.lease = timedelta(seconds=lease_seconds)
        self.on_final: Callable[[str], None] = lambda task_id: None

    async def initialize(self) -> None:
        if self._initialized:
            return
        async with self.engine.begin() as connection:
            await connection.run_sync(_Base.metadata.create_all)
        self._initialized = True

    def _values(self, task: Task, owner: str) -> dict[str, Any]:
        values = task_columns(self, task, owner)
        values["protocol_version"] = "1.0"
        running = task.status.state in _RUNNING
        values["lease_owner"] = self.replica_id if running else None
        values["lease_expires"] = utcnow() + self.lease if running else None
        return values

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await self.initialize()
        owner = self.owner_resolver(context)
        values = self._values(task, owner)
        for _ in range(_RACES):
            if await self._write(task, values):
                return
        raise TaskHeldElsewhere(f"task {task.id} changed {_RACES} times while this replica tried to save it")

    async def _write(self, task: Task, values: dict[str, Any]) -> bool:
        """One compare-and-swap attempt; False when another writer got in between."""
        try:
            async with self.async_session_maker.begin() as session:
                current = (await session.execute(_CURRENT.where(TaskRow.id == task.id))).one_or_none()
                if current is None:
                    await session.execute(insert(TaskRow).values(id=task.id, version=1, **values))
                    return True
                if not self._may_write(task, values, current):
                    return True
                done = await session.execute(
                    update(TaskRow)
                    .where(TaskRow.id == task.id, TaskRow.version == current.version)
                    .values(version=current.version + 1, **values)
                )
                return bool(done.rowcount)  # type: ignore[attr-defined]
        except IntegrityError:
            return False  # another replica inserted the same task first

    def _may_write(self, task: Task, values: dict[str, Any], current: Any) -> bool:
        if current.owner != values["owner"]:
            raise TaskHeldElsewhere(f"task {task.id} belongs to another caller")
        stored_state = (current.status or {}).get("state")
        if stored_state in FINAL_STATE_NAMES:
            if values["status"] != current.status:
                logger.info("task %s is already %s; dropped a later write from this replica", task.id, stored_state)
                self.on_final(task.id)
            return False
        held_by_other = current.lease_owner not in (None, self.replica_id)
        live = current.lease_expires is not None and current.lease_expires > utcnow()
        # A cancel may end a task another replica runs; that replica notices at its next write.
        if held_by_other and live and task.status.state != TaskState.TASK_STATE_CANCELED:
            raise TaskHeldElsewhere(f"task {task.id} is running on another replica")
        return True
