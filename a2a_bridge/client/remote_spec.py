"""``RemoteSpec``: how to reach one remote agent, for framework nodes and tools.

A node or a tool may run on any event loop (a served graph's, a test's, a
crew's own ``asyncio.run``); an httpx client belongs to one loop. So a spec
keeps what is needed to open a :class:`RemoteAgent` and opens a fresh one per
call; the card is fetched once and reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from a2a_bridge.client.card_keys import CardKeys
from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.client.client_credentials import ClientCredentials
from a2a_bridge.client.remote_agent import RemoteAgent

__all__ = ["RemoteSpec"]


class RemoteSpec:
    """How to reach one remote agent: its source, secret or client credentials, replicas and timeout."""

    def __init__(
        self,
        agent: str | Path | Mapping[str, Any] | AgentCardView | RemoteAgent,
        *,
        secret: str | None = None,
        credentials: ClientCredentials | None = None,
        card_keys: CardKeys | None = None,
        replicas: list[str] | None = None,
        timeout: float = 120.0,
    ) -> None:
        if isinstance(agent, RemoteAgent):
            self._source: Any = agent.urls[0]
            replicas = replicas or agent.urls[1:]
            secret = secret or agent.secret
            credentials = credentials or agent.credentials
            card_keys = card_keys or agent.card_keys
        else:
            self._source = agent
        self.secret = secret
        self.credentials = credentials
        self.card_keys = card_keys
        self.replicas = list(replicas or [])
        self.timeout = timeout
        self.card: AgentCardView | None = agent if isinstance(agent, AgentCardView) else None

    def open(self) -> RemoteAgent:
        return RemoteAgent(
            self.card or self._source,
            secret=self.secret,
            credentials=self.credentials,
            card_keys=self.card_keys,
            replicas=self.replicas,
            timeout=self.timeout,
        )

    async def load_card(self) -> AgentCardView:
        if self.card is None:
            async with self.open() as remote:
                self.card = await remote.card()
        return self.card

    @property
    def label(self) -> str:
        return self.card.name if self.card else str(self._source)
