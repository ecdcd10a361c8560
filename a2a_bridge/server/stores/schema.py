"""Creating the stores' tables when several processes start on one fresh database at once.

Postgres's ``CREATE TABLE IF NOT EXISTS`` is not safe against itself: two
sessions creating one table together both pass the check, and one fails on the
catalog's unique index. So each creation takes a transaction-scoped advisory
lock first. SQLite serializes writers already (the store begins every
transaction with ``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["create_tables"]

# One lock for all of a2a-bridge's schema changes, named by hash so no other application's lock meets it.
_SCHEMA_LOCK = int.from_bytes(hashlib.blake2b(b"a2a-bridge-schema", digest_size=8).digest(), "big", signed=True)


async def create_tables(engine: AsyncEngine, tables: Iterable[Table]) -> None:
    """Create each of ``tables`` (and its indexes) that does not exist yet, one process at a time."""
    wanted = list(tables)

    def create(connection: Any) -> None:
        for table in wanted:
            table.create(connection, checkfirst=True)

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        await connection.run_sync(create)
