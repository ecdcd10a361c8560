"""Counting the times a fast path hands a request to the reference code it stands in for.

The bridge's short paths (planned ProtoJSON, orjson bodies, the compiled input
pre-check, the JSON-RPC SendMessage path) fall back to the SDK's, the standard
library's or jsonschema's code whenever they are unsure. That keeps results
right but can quietly cost speed, for instance after an SDK upgrade. Every
fallback is counted here and logged at debug level with its reason, so a
benchmark or an operator can see it.
"""

from __future__ import annotations

import logging
from collections import Counter

__all__ = ["fallback", "fallbacks"]

logger = logging.getLogger("a2a_bridge.fast_paths")
_counts: Counter[str] = Counter()


def fallback(path: str, reason: str) -> None:
    """Record that the fast path ``path`` handed over to its reference code, and why."""
    _counts[path] += 1
    logger.debug("fast path %s fell back: %s", path, reason)


def fallbacks() -> dict[str, int]:
    """How many times each fast path fell back in this process."""
    return dict(_counts)
