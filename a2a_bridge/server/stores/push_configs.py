"""The SDK's database store of push notification configs, safe for replicas that start together."""

from __future__ import annotations

from a2a.server.tasks import DatabasePushNotificationConfigStore
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from a2a_bridge.server.stores.schema import create_tables

__all__ = ["SharedPushConfigStore"]


class SharedPushConfigStore(DatabasePushNotificationConfigStore):
    """Push configs beside the tasks; the table is made under the schema lock (:mod:`.schema`)."""

    def __init__(self, engine: AsyncEngine, *, encryption_key: str | None = None) -> None:
        super().__init__(engine, create_table=False, encryption_key=encryption_key)
        self._table_made = False

    @property
    def table(self) -> Table:
        table = self.config_model.__table__
        assert isinstance(table, Table)
        return table

    async def initialize(self) -> None:
        """Create the table once; the SDK's own reads and writes call this before their first query."""
        if not self._table_made:
            await create_tables(self.engine, [self.table])
            self._table_made = True
