"""The demo's cost ledger: what each role is priced as, the orchestrator's own record, and this run's records.

The workers record their tasks themselves (``a2a-bridge serve --ledger``); the
orchestrator runs in the demo's process, so the demo records its model calls
(plan, synthesis, key facts) as one record of the run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from a2a_bridge.backends.tiers import Capacity
from a2a_bridge.observability.costs import CostRecord, Pricing, open_ledger

# How the tutorial deploys each role: the tier, and the capacity it is billed at.
PRICED_AS: dict[str, tuple[str, Capacity]] = {
    "orchestrator": ("orchestrator-h200", "on-demand"),
    "research-worker": ("worker-a100-14b", "on-demand"),
    "synthesis-worker": ("worker-a100-14b", "spot"),
}


def ledger_flags(role: str, ledger: str) -> list[str]:
    """The ``a2a-bridge serve`` flags that make a worker record its tasks, priced as the tutorial deploys it."""
    tier, capacity = PRICED_AS[role]
    return ["--ledger", ledger, "--tier", tier, "--capacity", capacity]


def orchestrator_record(run_id: str, state: dict[str, Any], model: str, seconds: float) -> CostRecord:
    prompt = sum(step["prompt_tokens"] for step in state.get("usage", []))
    completion = sum(step["completion_tokens"] for step in state.get("usage", []))
    tier, cost = Pricing(*PRICED_AS["orchestrator"]).price(model, prompt + completion)
    return CostRecord(run_id, "orchestrator", model, tier, prompt, completion, seconds, cost, time.time())


async def record_and_read(ledger_url: str, own: CostRecord, worker_tasks: set[str]) -> list[CostRecord]:
    """Record the orchestrator's run, then read back every record of this run (the workers' may trail by a moment)."""
    ledger = open_ledger(ledger_url)
    try:
        await ledger.record(own)
        wanted = worker_tasks | {own.task_id}
        deadline = time.monotonic() + 10
        while True:
            found = [r for r in await ledger.records(since=own.finished_at - 3600, until=time.time() + 1)
                     if r.task_id in wanted]  # fmt: skip
            if {r.task_id for r in found} >= wanted or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)
    finally:
        await ledger.close()
