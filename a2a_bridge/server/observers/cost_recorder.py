"""Writes each ended turn to the cost ledger, priced by the agent's tier, without holding the turn up.

A ledger that cannot be written (a Redis restarting, a full disk) costs a
warning in the log, never the task.
"""

from __future__ import annotations

import asyncio
import logging

from a2a_bridge.observability.costs import CostLedger, CostRecord, Pricing
from a2a_bridge.runner import Usage
from a2a_bridge.server.turns.outcome import TurnEnd

__all__ = ["CostRecorder"]

logger = logging.getLogger("a2a_bridge.costs")


class CostRecorder:
    """A turn observer (:mod:`~a2a_bridge.server.turns.outcome`) that fills the ledger."""

    def __init__(self, ledger: CostLedger, pricing: Pricing) -> None:
        self.ledger = ledger
        self.pricing = pricing
        self._writing: set[asyncio.Task[None]] = set()

    def turn_started(self) -> None:
        pass

    def turn_ended(self, end: TurnEnd | None) -> None:
        if end is None:
            return  # handed over: the process that runs it again records it
        usage = end.usage or Usage()
        tier, cost = self.pricing.price(usage.model, usage.total_tokens)
        record = CostRecord(
            task_id=end.task_id,
            agent=end.agent,
            model=usage.model,
            tier=tier,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            seconds=end.seconds,
            cost_usd=cost,
            finished_at=end.ended_at,
        )
        writing = asyncio.get_running_loop().create_task(self._write(record))
        self._writing.add(writing)
        writing.add_done_callback(self._writing.discard)

    async def _write(self, record: CostRecord) -> None:
        try:
            await self.ledger.record(record)
        except Exception as exc:
            logger.warning("could not record the cost of task %s in %s: %s", record.task_id, self.ledger.shown, exc)

    async def close(self) -> None:
        """Finish the writes under way, then close the ledger."""
        await asyncio.gather(*self._writing, return_exceptions=True)
        await self.ledger.close()
