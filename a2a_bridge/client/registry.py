"""``AgentRegistry``: the routing table the tutorial's orchestrator builds by hand.

registry = AgentRegistry.from_urls(
    {"research": "http://10.0.0.5:8080", "synthesis": "http://10.0.0.6:8080"},
    secrets={"research": "...", "synthesis": "..."},
)
await registry.load()                 # all cards at once; a down agent is marked, not fatal
agent = registry.for_skill("web_research")[0]
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

import httpx

from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.client.client_credentials import ClientCredentials
from a2a_bridge.client.remote_agent import RemoteAgent
from a2a_bridge.errors import ConfigurationError, RemoteAgentError
from a2a_bridge.support.http_client import async_client

__all__ = ["AgentRegistry", "RegistryEntry"]

logger = logging.getLogger("a2a_bridge.registry")


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One agent: its card when it could be loaded, or why not."""

    name: str
    agent: RemoteAgent
    card: AgentCardView | None
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.card is not None


class AgentRegistry:
    """Many remote agents, their cards, and lookups by name, skill and tag."""

    def __init__(self, agents: Mapping[str, RemoteAgent] | Iterable[RemoteAgent]) -> None:
        if isinstance(agents, Mapping):
            named = dict(agents)
        else:
            named = {}
            for agent in agents:
                if agent.name in named:
                    raise ConfigurationError(f"two agents are named {agent.name!r}; pass a dict to name them")
                named[agent.name] = agent
        self._entries = {name: RegistryEntry(name, agent, None, "not loaded yet") for name, agent in named.items()}
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_urls(
        cls,
        urls: Mapping[str, str | Sequence[str]],
        *,
        secrets: Mapping[str, str] | None = None,
        credentials: Mapping[str, ClientCredentials] | None = None,
        timeout: float = 120.0,
    ) -> AgentRegistry:
        """Agents by name, each a URL or a list of replica URLs, with a secret or client credentials per agent."""
        secrets = secrets or {}
        credentials = credentials or {}
        for given, what in ((secrets, "secrets"), (credentials, "credentials")):
            unknown = set(given) - set(urls)
            if unknown:
                raise ConfigurationError(f"{what} given for unknown agents: {', '.join(sorted(unknown))}")
        http = async_client(httpx.Timeout(timeout, connect=5.0))
        agents = {}
        for name, where in urls.items():
            first, *replicas = [where] if isinstance(where, str) else list(where)
            agents[name] = RemoteAgent(
                first,
                secret=secrets.get(name),
                credentials=credentials.get(name),
                replicas=replicas,
                timeout=timeout,
                http_client=http,
                name=name,
            )
        registry = cls(agents)
        registry._http = http
        return registry

    async def _load_one(self, name: str, agent: RemoteAgent) -> RegistryEntry:
        try:
            card = await agent.card()
        except RemoteAgentError as exc:
            logger.warning("agent %s is unavailable: %s", name, exc)
            return RegistryEntry(name, agent, None, str(exc))
        return RegistryEntry(name, agent, card)

    async def load(self) -> AgentRegistry:
        """Fetch every card concurrently. Agents that are down are marked unavailable."""
        entries = await asyncio.gather(*(self._load_one(n, e.agent) for n, e in self._entries.items()))
        self._entries = {entry.name: entry for entry in entries}
        return self

    refresh = load

    # --- lookups -------------------------------------------------------------------

    @property
    def entries(self) -> list[RegistryEntry]:
        return list(self._entries.values())

    @property
    def available(self) -> list[RegistryEntry]:
        return [e for e in self._entries.values() if e.available]

    @property
    def unavailable(self) -> dict[str, str]:
        """Names of the agents that could not be loaded, with the reason."""
        return {e.name: e.error or "unknown" for e in self._entries.values() if not e.available}

    def get(self, name: str) -> RemoteAgent:
        """The agent with this name, loaded or not."""
        try:
            return self._entries[name].agent
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"no agent named {name!r} (known: {known})") from None

    def card(self, name: str) -> AgentCardView | None:
        return self._entries[name].card if name in self._entries else None

    def for_skill(self, skill_id: str) -> list[RemoteAgent]:
        """Available agents that list this skill id, in registration order."""
        return [e.agent for e in self.available if e.card and any(s.id == skill_id for s in e.card.skills)]

    def for_tag(self, tag: str) -> list[RemoteAgent]:
        """Available agents with a skill carrying this tag."""
        return [e.agent for e in self.available if e.card and tag in e.card.tags]

    def skills(self) -> dict[str, list[str]]:
        """Skill id to the names of the available agents that offer it."""
        table: dict[str, list[str]] = {}
        for entry in self.available:
            assert entry.card is not None
            for skill in entry.card.skills:
                table.setdefault(skill.id, []).append(entry.name)
        return table

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    # --- lifetime --------------------------------------------------------------------

    async def aclose(self) -> None:
        for entry in self._entries.values():
            await entry.agent.aclose()
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> AgentRegistry:
        return await self.load()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
