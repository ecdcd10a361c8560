"""``a2a_tools``: one LangChain tool per remote A2A agent.

    tools = a2a_tools(registry)                 # a loaded AgentRegistry
    agent = create_agent(chat, tools)           # langchain.agents; the model delegates by tool call

A call goes to the whole agent (A2A has no way to pick one of its skills), so
there is one tool per agent, named after it, its skills listed in the
description. Names and descriptions come from the cards, arguments from each
card's input schema (or a single ``request`` text). A remote error comes back as an error
``ToolMessage`` the model can read; it never raises into the graph. The tools
run under ``invoke`` as well as ``ainvoke``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import StructuredTool, ToolException

from a2a_bridge import (
    AgentCardView,
    AgentRegistry,
    BridgeError,
    CardKeys,
    ClientCredentials,
    ConfigurationError,
    RemoteAgent,
    Skill,
)
from a2a_bridge.adapter_api import RemoteSpec, run_sync
from a2a_bridge_langgraph.remote_calls import result_text, stream_remote, trace_from_config

__all__ = ["a2a_tools"]

_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"request": {"type": "string", "description": "What the agent should do, in plain words."}},
    "required": ["request"],
}


def _tool_name(agent: str) -> str:
    return _NAME.sub("_", agent).strip("_")[:64] or "remote_agent"


def _description(card: AgentCardView) -> str:
    skills: tuple[Skill, ...] = card.skills
    if len(skills) == 1:
        return f"{skills[0].description} (agent {card.name}: {card.description})"
    listed = "; ".join(f"{skill.name}: {skill.description}" for skill in skills)
    return f"{card.description} (agent {card.name}; it can: {listed})" if listed else card.description or card.name


def _make_tool(spec: RemoteSpec, card: AgentCardView) -> StructuredTool:
    schema = dict(card.input_schema) if card.input_schema else REQUEST_SCHEMA

    async def call(config: RunnableConfig, **arguments: Any) -> str:
        if card.input_schema:
            text, data = None, arguments
        else:
            text, data = str(arguments.get("request", "")), None
        try:
            async with spec.open() as remote:
                result = await stream_remote(remote, text, data=data, trace=trace_from_config(config), label=card.name)
        except BridgeError as exc:
            raise ToolException(f"{card.name} could not be reached or refused the call: {exc}") from None
        if not result.ok:
            raise ToolException(f"{card.name} {result.state.replace('_', ' ')}: {result.message or 'no reason given'}")
        return result_text(result)

    def call_sync(config: RunnableConfig, **arguments: Any) -> str:
        return run_sync(call(config, **arguments))

    return StructuredTool.from_function(
        func=call_sync,
        coroutine=call,
        name=_tool_name(card.name),
        description=_description(card)[:1000],
        args_schema=schema,
        handle_tool_error=True,
    )


def a2a_tools(
    agents: AgentRegistry | Iterable[str | AgentCardView | RemoteAgent | Mapping[str, Any]],
    *,
    secrets: Mapping[str, str] | None = None,
    credentials: ClientCredentials | None = None,
    card_keys: CardKeys | str | None = None,
    timeout: float = 120.0,
) -> list[StructuredTool]:
    """One tool for every available agent.

    Args:
        agents: A loaded ``AgentRegistry`` (its unavailable agents are skipped),
            or agents as URLs, cards or ``RemoteAgent``s.
        secrets: Bearer secrets by agent name (or URL), when not in the registry.
        credentials: Client credentials for the agents without a secret, to
            call them with OAuth 2.0 access tokens.
        card_keys: Keys every agent's card must be signed with (a
            :class:`CardKeys`, a JWKS URL or a key file).
        timeout: Seconds per call.
    """
    secrets = dict(secrets or {})
    checked_keys = CardKeys.of(card_keys)
    specs: list[tuple[RemoteSpec, AgentCardView]] = []
    if isinstance(agents, AgentRegistry):
        for entry in agents.available:
            assert entry.card is not None
            secret = secrets.get(entry.name) or entry.agent.secret
            given = None if secret else entry.agent.credentials or credentials
            # With card keys the card is fetched again, to be checked: the registry read it unchecked.
            source = entry.agent if checked_keys is not None else entry.card
            spec = RemoteSpec(source, secret=secret, credentials=given, card_keys=checked_keys, timeout=timeout)
            specs.append((spec, run_sync(spec.load_card()) if checked_keys is not None else entry.card))
    else:
        for agent in agents:
            key = agent if isinstance(agent, str) else getattr(agent, "name", "")
            spec = RemoteSpec(agent, secret=secrets.get(str(key)), card_keys=checked_keys, timeout=timeout)
            card = run_sync(spec.load_card())
            spec.secret = spec.secret or secrets.get(card.name)
            if not spec.secret:
                spec.credentials = spec.credentials or credentials
            specs.append((spec, card))
    tools = [_make_tool(spec, card) for spec, card in specs]
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"two remote agents make the same tool name: {names}")
    return tools
