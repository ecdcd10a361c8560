"""Choosing the checkpointer that keeps each conversation (A2A context) of a graph.

checkpointer=None               the graph's own, or in memory when it has none
checkpointer="memory"           in memory: conversations end with the process
checkpointer="sqlite:///a.db"   SQLite: conversations survive a restart
checkpointer=<saver>            any LangGraph checkpoint saver
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel

from a2a_bridge import ConfigurationError

__all__ = ["CheckpointedGraph"]

_SQLITE_PREFIX = "sqlite:///"


class CheckpointedGraph:
    """The graph with its checkpointer, opened on first use in the serving event loop."""

    def __init__(self, graph: Pregel[Any, Any, Any, Any], checkpointer: Any) -> None:
        self._source = graph
        self._lock = asyncio.Lock()
        self._graph: Pregel[Any, Any, Any, Any] | None = None
        self._connection: Any = None
        self._sqlite_path: str | None = None
        self._saver: BaseCheckpointSaver[Any] | None = None
        if checkpointer is None:
            self._saver = graph.checkpointer if isinstance(graph.checkpointer, BaseCheckpointSaver) else InMemorySaver()
        elif checkpointer == "memory":
            self._saver = InMemorySaver()
        elif isinstance(checkpointer, str) and checkpointer.startswith(_SQLITE_PREFIX):
            self._sqlite_path = checkpointer[len(_SQLITE_PREFIX) :]
            if not self._sqlite_path:
                raise ConfigurationError("checkpointer='sqlite:///PATH' needs a file path")
        elif isinstance(checkpointer, BaseCheckpointSaver):
            self._saver = checkpointer
        else:
            raise ConfigurationError(
                "checkpointer must be None, 'memory', 'sqlite:///PATH' or a LangGraph checkpoint saver, "
                f"not {checkpointer!r}"
            )

    async def get(self) -> Pregel[Any, Any, Any, Any]:
        if self._graph is not None:
            return self._graph
        async with self._lock:
            if self._graph is None:
                if self._saver is None:
                    import aiosqlite
                    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

                    assert self._sqlite_path is not None
                    self._connection = await aiosqlite.connect(self._sqlite_path)
                    saver = AsyncSqliteSaver(self._connection)
                    await saver.setup()
                    self._saver = saver
                self._graph = self._source.copy(update={"checkpointer": self._saver})
        return self._graph

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._graph = None
            self._saver = None
