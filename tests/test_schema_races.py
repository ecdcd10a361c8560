"""Several processes starting at once on a fresh database: each table is created once, and none fails."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from a2a_bridge.server.store_url import parse_store_url
from a2a_bridge.server.stores import open_store, push_config_store
from a2a_bridge.testing import services

_databases = itertools.count()
STARTING_TOGETHER = 8


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[services.Postgres]:
    with services.postgres() as postgres:
        yield postgres


@pytest.mark.parametrize("round_", range(3))
async def test_replicas_starting_together_create_the_task_and_push_tables_once(postgres_server, round_):
    url = postgres_server.create_database(f"schema_{next(_databases)}")
    opened = [open_store(parse_store_url(url), keep_tasks=10, lease_seconds=15) for _ in range(STARTING_TOGETHER)]
    try:
        pushes = [push_config_store(store.engine) for store in opened]
        await asyncio.gather(*(store.task_store.initialize() for store in opened))
        await asyncio.gather(*(push.initialize() for push in pushes))
    finally:
        await asyncio.gather(*(store.close() for store in opened))
