"""Which replica to try next, and how long to wait before it: the failover plan of one call.

A new task may go to any replica: the plan goes round them, ``retries + 1``
attempts at least, each replica once before any is asked again. A task that
exists lives on one replica, so calls about it are pinned there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.errors import RemoteAgentError

__all__ = ["Attempts", "Endpoint"]


@dataclass
class Endpoint:
    """One replica: its URL, and once known its card and open connection."""

    url: str
    card: AgentCardView | None = None
    connection: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Attempts:
    """The endpoints still to try for one call, with backoff between tries of one replica."""

    def __init__(self, plan: list[Endpoint], backoff: float) -> None:
        self._plan = plan
        self._backoff = backoff
        self._tried: dict[str, int] = {}
        self.last: RemoteAgentError | None = None

    @classmethod
    def spread(cls, endpoints: list[Endpoint], *, retries: int, backoff: float) -> Attempts:
        """Round the replicas: ``retries + 1`` attempts, and every replica at least once."""
        count = max(retries + 1, len(endpoints))
        return cls([endpoints[i % len(endpoints)] for i in range(count)], backoff)

    @classmethod
    def pinned(cls, home: Endpoint, *, retries: int, backoff: float) -> Attempts:
        """Only the replica that holds the task."""
        return cls([home] * (retries + 1), backoff)

    async def next(self) -> Endpoint | None:
        if not self._plan:
            return None
        endpoint = self._plan.pop(0)
        uses = self._tried.get(endpoint.url, 0)
        if uses:
            await asyncio.sleep(self._backoff * 2 ** (uses - 1))
        self._tried[endpoint.url] = uses + 1
        return endpoint

    def peek(self) -> Endpoint | None:
        return self._plan[0] if self._plan else None

    def failed(self, error: RemoteAgentError, *, timed_out: bool) -> None:
        self.last = error
        if timed_out:  # a slow replica is not asked again; only replicas not tried yet are
            self._plan = [e for e in self._plan if e.url not in self._tried]

    def error(self) -> RemoteAgentError:
        assert self.last is not None
        return self.last
