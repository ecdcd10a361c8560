"""Choosing the checkpointer that keeps each conversation (A2A context) of a graph.

checkpointer=None               the graph's own, or in memory when it has none
checkpointer="memory"           in memory: conversations end with the process
checkpointer="sqlite:///a.db"   SQLite: conversations survive a restart
checkpointer="postgresql://..." Postgres: shared by replicas, survive any one of them
checkpointer=<saver>            any LangGraph checkpoint saver

A durable checkpointer (all but memory) also lets a task whose server died
resume from its last checkpoint on another server.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
from collections.abc import Mapping
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from a2a_bridge import ConfigurationError

__all__ = ["CheckpointedGraph", "claim_key"]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")
# Names the hash of a2a-bridge's conversation claims, so no other use of BLAKE2b can be steered onto them.
_CLAIMS = b"a2a-bridge-claim"


def claim_key(thread_id: str) -> int:
    """The thread's advisory-lock key: 64 bits of BLAKE2b.

    Postgres's own ``hashtext`` gives 32 bits: a minute on one core finds a
    context id whose claim meets another caller's conversation, and keeps it
    busy. Nobody finds a second thread for a given 64-bit BLAKE2b key.
    """
    digest = hashlib.blake2b(thread_id.encode("utf-8"), digest_size=8, person=_CLAIMS).digest()
    return int.from_bytes(digest, "big", signed=True)


class CheckpointedGraph:
    """The graph with its checkpointer, opened on first use in the serving event loop."""

    def __init__(self, graph: Pregel[Any, Any, Any, Any], checkpointer: Any) -> None:
        self._source = graph
        self._lock = asyncio.Lock()
        self._graph: Pregel[Any, Any, Any, Any] | None = None
        self._connection: Any = None
        self._sqlite_path: str | None = None
        self._postgres_url: str | None = None
        self._saver: BaseCheckpointSaver[Any] | None = None
        self._claims: Any = None  # the connection holding this server's claims on Postgres threads
        if checkpointer is None:
            self._saver = graph.checkpointer if isinstance(graph.checkpointer, BaseCheckpointSaver) else InMemorySaver()
        elif checkpointer == "memory":
            self._saver = InMemorySaver()
        elif isinstance(checkpointer, str) and checkpointer.startswith(_SQLITE_PREFIX):
            self._sqlite_path = checkpointer[len(_SQLITE_PREFIX) :]
            if not self._sqlite_path:
                raise ConfigurationError("checkpointer='sqlite:///PATH' needs a file path")
        elif isinstance(checkpointer, str) and checkpointer.startswith(_POSTGRES_PREFIXES):
            self._postgres_url = checkpointer
            if importlib.util.find_spec("langgraph.checkpoint.postgres") is None:
                raise ConfigurationError(
                    "checkpointer='postgresql://...' needs langgraph-checkpoint-postgres: "
                    "pip install 'a2a-bridge-langgraph[postgres]'"
                )
        elif isinstance(checkpointer, BaseCheckpointSaver):
            self._saver = checkpointer
        else:
            # Only the scheme of a URL: the rest may hold a password.
            shown = (
                f"a {checkpointer.partition('://')[0]!r} URL" if isinstance(checkpointer, str) else repr(checkpointer)
            )
            raise ConfigurationError(
                "checkpointer must be None, 'memory', 'sqlite:///PATH', 'postgresql://...' or a LangGraph "
                f"checkpoint saver, not {shown}"
            )
        self.durable = (
            self._sqlite_path is not None
            or self._postgres_url is not None
            or not isinstance(self._saver, InMemorySaver)
        )

    async def get(self) -> Pregel[Any, Any, Any, Any]:
        if self._graph is not None:
            return self._graph
        async with self._lock:
            if self._graph is None:
                if self._postgres_url is not None:
                    self._saver = await self._open_postgres(self._postgres_url)
                elif self._saver is None:
                    import aiosqlite
                    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

                    assert self._sqlite_path is not None
                    self._connection = await aiosqlite.connect(self._sqlite_path)
                    saver = AsyncSqliteSaver(self._connection)
                    await saver.setup()
                    self._saver = saver
                self._graph = self._source.copy(update={"checkpointer": self._saver})
        return self._graph

    async def has_thread(self, thread_id: str) -> bool:
        """Whether the thread has a checkpoint."""
        return await self.last_metadata(thread_id) is not None

    async def last_metadata(self, thread_id: str) -> Mapping[str, Any] | None:
        """The metadata of the thread's last checkpoint, or None when it has none."""
        await self.get()
        assert self._saver is not None
        found = await self._saver.aget_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
        return None if found is None else found.metadata

    async def _open_postgres(self, url: str) -> BaseCheckpointSaver[Any]:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        # The saver's own settings: autocommit for its setup, no server-side prepared statements behind poolers.
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, max_size=20, open=False, kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        )
        await pool.open()
        self._connection = pool
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        return saver

    async def claim_thread(self, thread_id: str) -> bool:
        """Whether no other server runs this conversation now; with Postgres, hold it until ``release_thread``.

        A Postgres checkpointer may be shared by replicas, so its conversations
        are claimed with a session advisory lock, on a connection of their own:
        the checkpointer's pool stays free for checkpoints, and a server that
        dies lets its claims go with its connection.
        """
        if self._postgres_url is None:
            return True  # memory and SQLite: this process is the only one running the graph's threads
        async with self._lock:
            if self._claims is None:
                import psycopg

                self._claims = await psycopg.AsyncConnection.connect(self._postgres_url, autocommit=True)
            cursor = await self._claims.execute("SELECT pg_try_advisory_lock(%s)", (claim_key(thread_id),))
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def release_thread(self, thread_id: str) -> None:
        if self._claims is None:
            return
        import psycopg

        async with self._lock:
            try:
                await self._claims.execute("SELECT pg_advisory_unlock(%s)", (claim_key(thread_id),))
            except psycopg.OperationalError:
                # The connection is gone, and its claims with it: start again with a new one.
                self._claims = None

    async def close(self) -> None:
        if self._claims is not None:
            await self._claims.close()
            self._claims = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._graph = None
            if self._postgres_url is not None or self._sqlite_path is not None:
                self._saver = None
