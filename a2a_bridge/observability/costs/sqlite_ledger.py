"""The ledger in a SQLite file: one row per ended turn (SQLAlchemy on aiosqlite, in WAL mode)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from a2a_bridge.observability.costs.ledger import CostLedger
from a2a_bridge.observability.costs.records import CostRecord

__all__ = ["SqliteLedger"]

_metadata = MetaData()
COSTS = Table(
    "a2a_bridge_costs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(64), nullable=False, index=True),
    Column("agent", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("tier", String(64), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("finished_at", Float, nullable=False, index=True),
)
_FIELDS = [c.name for c in COSTS.columns if c.name != "id"]


def _pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    # Several agents write one file: WAL lets them read while another writes, and they wait their turn to write.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class SqliteLedger(CostLedger):
    def __init__(self, path: str) -> None:
        super().__init__(f"sqlite:///{path}")
        self.engine: AsyncEngine = create_async_engine(f"sqlite+aiosqlite:///{path}", pool_size=1, max_overflow=0)
        event.listen(self.engine.sync_engine, "connect", _pragmas)
        self._ready: asyncio.Lock | None = None
        self._created = False

    async def _create(self) -> None:
        if self._created:
            return
        self._ready = self._ready or asyncio.Lock()
        async with self._ready:
            if not self._created:
                async with self.engine.begin() as connection:
                    await connection.run_sync(_metadata.create_all)
                self._created = True

    async def record(self, record: CostRecord) -> None:
        await self._create()
        async with self.engine.begin() as connection:
            await connection.execute(insert(COSTS).values({name: getattr(record, name) for name in _FIELDS}))

    async def records(self, *, since: float, until: float) -> list[CostRecord]:
        await self._create()
        query = (
            select(*(COSTS.c[name] for name in _FIELDS))
            .where(COSTS.c.finished_at >= since, COSTS.c.finished_at < until)
            .order_by(COSTS.c.finished_at)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [CostRecord(**row._asdict()) for row in rows]

    async def close(self) -> None:
        await self.engine.dispose()
