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
import logging
from collections.abc import Mapping
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from a2a_bridge import ConfigurationError

__all__ = ["CheckpointedGraph", "claim_key"]

logger = logging.getLogger("a2a_bridge_langgraph")

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
        self._held: set[str] = set()  # the threads claimed on it, to claim again on a new one
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

        async def check(connection: Any) -> None:
            try:
                await AsyncConnectionPool.check_connection(connection)
            except Exception:
                # A restart cut the idle ones beside it too: find them all now, not one per backoff step.
                await pool.check()
                raise

        # The saver's own settings: autocommit for its setup, no server-side prepared statements behind poolers.
        # Each connection is checked as it is handed out: after a Postgres restart, a turn gets a live one.
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            max_size=20,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            check=check,
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
        import psycopg

        async with self._lock:
            try:
                claimed = await self._try_claim(await self._claims_connection(), thread_id)
            except psycopg.OperationalError:
                # Postgres restarted, or the connection was cut: the claims went with it. Once more, on a new one.
                self._claims = None
                claimed = await self._try_claim(await self._claims_connection(), thread_id)
            if claimed:
                self._held.add(thread_id)
            return claimed

    async def _claims_connection(self) -> Any:
        """The claims' connection; a new one claims again the threads this server still runs."""
        if self._claims is not None and not self._claims.closed:
            return self._claims
        import psycopg

        assert self._postgres_url is not None
        self._claims = await psycopg.AsyncConnection.connect(self._postgres_url, autocommit=True)
        for thread_id in sorted(self._held):
            if not await self._try_claim(self._claims, thread_id):
                logger.warning("conversation %s is claimed by another server since its claim was lost", thread_id)
        return self._claims

    @staticmethod
    async def _try_claim(connection: Any, thread_id: str) -> bool:
        cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (claim_key(thread_id),))
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def release_thread(self, thread_id: str) -> None:
        self._held.discard(thread_id)
        if self._claims is None:
            return
        import psycopg

        async with self._lock:
            try:
                await self._claims.execute("SELECT pg_advisory_unlock(%s)", (claim_key(thread_id),))
            except psycopg.OperationalError:
                # The connection is gone, and its claims with it: the next claim opens a new one.
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
