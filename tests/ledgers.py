"""Reading a cost ledger in tests: a turn's record is written just after the turn ends."""

from __future__ import annotations

import asyncio
import time

from a2a_bridge.observability.costs import CostRecord, open_ledger


async def recorded(url: str, count: int) -> list[CostRecord]:
    """The ledger's records once there are ``count`` (or after 5 s, however many there are)."""
    ledger = open_ledger(url)
    try:
        for _ in range(100):
            found = await ledger.records(since=0, until=time.time() + 60)
            if len(found) >= count:
                break
            await asyncio.sleep(0.05)
        return found
    finally:
        await ledger.close()
