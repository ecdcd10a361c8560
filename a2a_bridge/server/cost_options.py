"""The cost ledger options of ``to_a2a`` and ``run_worker``: where to record, and the price."""

from __future__ import annotations

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.observability.costs import Pricing, check_ledger_url

__all__ = ["check_cost_options"]


def check_cost_options(ledger: str | None, tier: str | None, capacity: str | None) -> tuple[str | None, Pricing]:
    """The ledger URL (None: no ledger) and the pricing; the error names the argument."""
    if ledger is None:
        if tier is not None or capacity is not None:
            raise ConfigurationError("tier and capacity price the turns a cost ledger records: give ledger= too")
        return None, Pricing()
    return check_ledger_url(ledger), Pricing(tier, capacity)  # type: ignore[arg-type]
