"""An example runner: a GPU fleet cost estimator, priced from the tutorial's table.

Serve it with ``a2a-bridge serve demos.quickstart.pricing_agent:estimator``.
It needs no model, so it shows the bridge itself: schema validation, progress,
streamed text and structured output.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from a2a_bridge import Done, Event, Progress, TextDelta, Turn

# $/hour per GPU, from the tutorial's tier table (prices as of 29 Jun 2026).
PRICES: dict[str, dict[str, float]] = {
    "H200": {"on-demand": 3.70, "spot": 3.31},
    "A100": {"on-demand": 1.69, "spot": 0.82},
}
ROLES = {"H200": "orchestrator tier, Llama-3.3-70B fp8", "A100": "worker tier, Qwen2.5-14B fp8"}
SOURCE = "tutorial GPU price table, 29 Jun 2026"


class CostEstimator:
    """Estimates the cost of a GPU fleet for A2A agents from the tutorial's price table."""

    name = "gpu-cost-estimator"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "gpu": {"type": "string", "enum": sorted(PRICES)},
            "hours": {"type": "number", "exclusiveMinimum": 0},
            "instances": {"type": "integer", "minimum": 1, "default": 1},
            "spot": {"type": "boolean", "default": False},
        },
        "required": ["gpu", "hours"],
        "additionalProperties": False,
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "gpu": {"type": "string"},
            "pricing": {"type": "string"},
            "hourly_usd": {"type": "number"},
            "total_usd": {"type": "number"},
            "source": {"type": "string"},
        },
    }

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        data = turn.data or {}
        gpu, hours = data["gpu"], float(data["hours"])
        instances, spot = int(data.get("instances", 1)), bool(data.get("spot", False))
        pricing = "spot" if spot else "on-demand"
        yield Progress(f"looking up {gpu} {pricing} pricing", data={"gpu": gpu})
        hourly = PRICES[gpu][pricing]
        total = round(hourly * hours * instances, 2)
        sentence = (
            f"{instances} x {gpu} ({ROLES[gpu]}) at ${hourly:.2f}/hr {pricing} for {hours:g} h costs ${total:,.2f}."
        )
        for word in sentence.split(" "):
            yield TextDelta(word + " ")
        yield Done(output={"gpu": gpu, "pricing": pricing, "hourly_usd": hourly, "total_usd": total, "source": SOURCE})


estimator = CostEstimator()
