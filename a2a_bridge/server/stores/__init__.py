"""Task stores, chosen by URL (:mod:`a2a_bridge.server.store_url`).

memory       :class:`~.memory.RetainingTaskStore`, the newest finished tasks kept
sqlite:///   :class:`~.database.SharedTaskStore` on aiosqlite, in WAL mode
postgresql:  :class:`~.database.SharedTaskStore` on asyncpg, shared by replicas
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from a2a.server.tasks import InMemoryPushNotificationConfigStore, PushNotificationConfigStore, TaskStore

from a2a_bridge.server.store_url import StoreUrl
from a2a_bridge.server.stores.memory import RetainingTaskStore

__all__ = ["OpenedStore", "open_store", "push_config_store"]


@dataclass
class OpenedStore:
    """A task store and, for a database, the engine and the store's shared view."""

    task_store: TaskStore
    shared: Any = None  # a SharedTaskStore; Any keeps SQLAlchemy unimported for the memory store
    engine: Any = None

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()

    def forget_push_configs_with_tasks(self, configs: PushNotificationConfigStore) -> None:
        """Have the store forget a task's webhook registrations when it forgets the task."""
        if self.shared is not None:
            self.shared.push_configs = configs  # the SharedPushConfigStore beside it (push_config_store)
        elif isinstance(self.task_store, RetainingTaskStore):
            self.task_store.push_configs = configs


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    # WAL lets GetTask read while a task is written; the busy timeout lets a restarted process wait its turn.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _begin_immediate(connection: Any) -> None:
    # SQLAlchemy's recipe for serializable SQLite transactions: take the write lock at BEGIN, so that
    # a read-then-write is never interleaved with another process's write (a restart overlapping).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def push_config_store(engine: Any, *, encryption_key: str | None = None) -> PushNotificationConfigStore:
    """Where push notification configs live: beside the tasks, in the task store's database, or in memory.

    With ``encryption_key`` (Fernet), a database keeps each registration encrypted.
    """
    if engine is None:
        return InMemoryPushNotificationConfigStore()
    from a2a_bridge.server.stores.push_configs import SharedPushConfigStore  # SQLAlchemy is an extra

    return SharedPushConfigStore(engine, encryption_key=encryption_key)


def open_store(url: StoreUrl, *, keep_tasks: int, lease_seconds: float, holds_leases: bool = True) -> OpenedStore:
    """The store ``url`` names; a database is opened lazily, in the serving event loop.

    ``holds_leases=False`` is for a queue-mode front door: the tasks it writes are held by workers.
    """
    if url.kind == "memory":
        return OpenedStore(RetainingTaskStore(keep_tasks))
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    from a2a_bridge.server.stores.database import SharedTaskStore

    if url.kind == "sqlite":
        # One connection: SQLite takes one writer at a time, and queueing here is cheaper than its busy-wait.
        engine = create_async_engine(
            url.url, pool_size=1, max_overflow=0, connect_args={"isolation_level": None}, json_serializer=_json
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    else:
        engine = create_async_engine(url.url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=_json)
    replica_id = uuid.uuid4().hex
    store = SharedTaskStore(engine, replica_id=replica_id, lease_seconds=lease_seconds, holds_leases=holds_leases)
    return OpenedStore(store, shared=store, engine=engine)
