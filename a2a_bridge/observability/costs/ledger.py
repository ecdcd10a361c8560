"""What a cost ledger is: where cost records go, and where ``a2a-bridge costs`` reads them back."""

from __future__ import annotations

import abc

from a2a_bridge.observability.costs.records import CostRecord

__all__ = ["CostLedger"]


class CostLedger(abc.ABC):
    """Where cost records go, and where ``a2a-bridge costs`` reads them back."""

    def __init__(self, shown: str) -> None:
        self.shown = shown  # the URL without its password

    @abc.abstractmethod
    async def record(self, record: CostRecord) -> None:
        """Add one ended turn."""

    @abc.abstractmethod
    async def records(self, *, since: float, until: float) -> list[CostRecord]:
        """What ended between ``since`` and ``until`` (seconds since the epoch), oldest first."""

    @abc.abstractmethod
    async def close(self) -> None: ...
