"""What a chart's GPU fleet costs a day, at the tier table's prices: ``a2a-bridge deploy cost``.

Every vLLM replica is one GPU instance billed by the hour, busy or not; a tier
on spot capacity pays the spot price. The agents' own pods are CPU pods and
left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from a2a_bridge.errors import ConfigurationError

__all__ = ["FleetCost", "TierCost", "fleet_cost"]

HOURS_PER_DAY = 24


@dataclass(frozen=True, slots=True)
class TierCost:
    """One tier's GPUs and what they cost."""

    tier: str
    model: str
    gpus: int
    capacity: str
    hourly_usd: float
    on_demand_hourly_usd: float

    @property
    def daily_usd(self) -> float:
        return self.gpus * self.hourly_usd * HOURS_PER_DAY

    @property
    def on_demand_daily_usd(self) -> float:
        return self.gpus * self.on_demand_hourly_usd * HOURS_PER_DAY


@dataclass(frozen=True, slots=True)
class FleetCost:
    """The fleet's tiers, and their sum a day as placed and all on on-demand."""

    tiers: tuple[TierCost, ...]

    @property
    def daily_usd(self) -> float:
        return sum(tier.daily_usd for tier in self.tiers)

    @property
    def on_demand_daily_usd(self) -> float:
        return sum(tier.on_demand_daily_usd for tier in self.tiers)

    def markdown(self) -> str:
        """The fleet as a Markdown table, as docs/kubernetes.md shows it."""
        lines = [
            "| tier | model | GPUs | capacity | $/GPU-hour | $/day | $/day all on-demand |",
            "|---|---|---:|---|---:|---:|---:|",
        ]
        for tier in self.tiers:
            lines.append(
                f"| {tier.tier} | {tier.model} | {tier.gpus} | {tier.capacity} | {tier.hourly_usd:.2f} "
                f"| {tier.daily_usd:.2f} | {tier.on_demand_daily_usd:.2f} |"
            )
        gpus = sum(tier.gpus for tier in self.tiers)
        lines.append(f"| **fleet** | | {gpus} | | | **{self.daily_usd:.2f}** | {self.on_demand_daily_usd:.2f} |")
        return "\n".join(lines)


def fleet_cost(values: Mapping[str, Any]) -> FleetCost:
    """The GPU cost of the chart ``values`` (from ``a2a-bridge deploy values``, or edited)."""
    tiers = values.get("tiers") or {}
    if not isinstance(tiers, Mapping):
        raise ConfigurationError("tiers: must be a mapping of tier name to its settings")
    return FleetCost(tuple(_tier_cost(name, tier) for name, tier in sorted(tiers.items())))


def _tier_cost(name: str, tier: Any) -> TierCost:
    try:
        on_demand = float(tier["hourlyUsd"])
        spot = tier.get("spotHourlyUsd")
        capacity = str(tier.get("capacity", "on-demand"))
        return TierCost(
            tier=name,
            model=str(tier["model"]),
            gpus=int(tier.get("replicas", 1)) * int(tier.get("gpu", {}).get("count", 1)),
            capacity=capacity,
            hourly_usd=float(spot) if capacity == "spot" and spot is not None else on_demand,
            on_demand_hourly_usd=on_demand,
        )
    except KeyError as exc:
        raise ConfigurationError(f"tiers.{name}: {exc.args[0]} is missing") from None
    except (AttributeError, TypeError, ValueError):
        raise ConfigurationError(f"tiers.{name}: needs model, hourlyUsd and numbers for replicas and prices") from None
