"""The cost ledger: every ended turn of a served agent, priced by its tier, summed per agent role and day.

    ledger = open_ledger("redis://127.0.0.1:6379/0")     # or sqlite:///costs.db, the default kind
    await ledger.record(CostRecord(...))
    records = await ledger.records(since=..., until=...)

Served agents and workers write it themselves (``to_a2a(..., ledger=URL, tier=NAME)``,
``a2a-bridge serve --ledger``); ``a2a-bridge costs`` reads it. See docs/observability.md.
"""

from __future__ import annotations

from a2a_bridge.observability.costs.ledger import CostLedger
from a2a_bridge.observability.costs.ledger_url import DEFAULT_LEDGER, check_ledger_url, open_ledger
from a2a_bridge.observability.costs.records import CostRecord, Pricing

__all__ = ["DEFAULT_LEDGER", "CostLedger", "CostRecord", "Pricing", "check_ledger_url", "open_ledger"]
