"""What the ledger keeps for each turn of a task, and how a turn is priced.

The price is the tutorial's attribution: the tokens a turn spent times its
tier's price per hour, over the tokens that tier writes in an hour
(:meth:`~a2a_bridge.backends.tiers.TierProfile.cost_usd`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from a2a_bridge.backends.tiers import TIERS, Capacity, TierProfile
from a2a_bridge.errors import ConfigurationError

__all__ = ["CostRecord", "Pricing"]

logger = logging.getLogger("a2a_bridge.costs")


@dataclass(frozen=True, slots=True)
class CostRecord:
    """One ended turn of a task, priced.

    Attributes:
        task_id: The A2A task.
        agent: The agent role that ran it (the served agent's name).
        model: The model that spent the tokens, as the server named it.
        tier: The tier the tokens are priced at; empty when none applies.
        prompt_tokens: Tokens in.
        completion_tokens: Tokens out.
        seconds: How long the turn ran.
        cost_usd: The turn's cost; 0 without a tier.
        finished_at: When the turn ended, in seconds since the epoch.
    """

    task_id: str
    agent: str
    model: str
    tier: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost_usd: float
    finished_at: float

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Pricing:
    """The tier an agent's tokens are priced at, on-demand or spot.

    Without a tier, a model that exactly one tier serves is priced at that tier;
    any other model is recorded at no cost, with a warning once.
    """

    tier: str | None = None
    capacity: Capacity | None = None  # None: the tier's own (the tutorial's billing advice)

    def __post_init__(self) -> None:
        if self.tier is not None and self.tier not in TIERS:
            raise ConfigurationError(f"tier {self.tier!r} is not one of {', '.join(TIERS)}")
        if self.capacity not in (None, "on-demand", "spot"):
            raise ConfigurationError(f"capacity must be 'on-demand' or 'spot', got {self.capacity!r}")

    def profile_for(self, model: str) -> TierProfile | None:
        if self.tier is not None:
            return TIERS[self.tier]
        serving = [t for t in TIERS.values() if model and model in {t.model, t.request_model}]
        return serving[0] if len(serving) == 1 else None

    def price(self, model: str, tokens: int) -> tuple[str, float]:
        """The tier's name and the cost of ``tokens`` spent on ``model``."""
        profile = self.profile_for(model)
        if profile is None:
            _warn_unpriced(model)
            return "", 0.0
        capacity: Literal["on-demand", "spot"] = self.capacity or profile.capacity
        return profile.name, profile.cost_usd(tokens, spot=capacity == "spot")


_warned: set[str] = set()


def _warn_unpriced(model: str) -> None:
    if model not in _warned:
        _warned.add(model)
        logger.warning(
            "no tier prices model %r: its tokens are recorded at no cost; give the agent a tier (--tier)",
            model or "(not named)",
        )
