"""``A2ADelegateTool``: a CrewAI tool that hands a sub-task to a remote A2A agent.

    research = A2ADelegateTool("http://10.0.0.5:8080", secret="...")
    analyst = Agent(role="Analyst", goal="...", tools=[research], llm=worker.crewai_llm())

The remote can be any A2A agent (a LangGraph graph served by a2a-bridge, for
one). Its answer comes back as the tool's output; a failure comes back as a
short error text the agent can act on, never as an exception that stops the crew.
"""

from __future__ import annotations

import json
import re
from typing import Any

from crewai.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from a2a_bridge import AgentCardView, BridgeError, CardKeys, ClientCredentials, RemoteResult
from a2a_bridge.adapter_api import RemoteSpec, run_sync

__all__ = ["A2ADelegateTool"]

_NAME = re.compile(r"[^a-zA-Z0-9_]+")


class DelegateInput(BaseModel):
    request: str = Field(description="What the remote agent should do, in plain words.")
    data: dict[str, Any] | None = Field(
        default=None, description="Structured input, when the remote agent's input schema asks for fields."
    )


def _describe(card: AgentCardView) -> str:
    lines = [card.description or card.name]
    lines += [f"- {skill.name}: {skill.description}" for skill in card.skills]
    if card.input_schema:
        fields = ", ".join((card.input_schema.get("properties") or {}).keys())
        lines.append(f"Input fields for `data`: {fields}.")
    return "\n".join(lines)


def _as_tool_output(result: RemoteResult) -> str:
    if result.ok:
        if result.data is not None and not result.text:
            return json.dumps(result.data)
        return result.text + (f"\n\nData: {json.dumps(result.data)}" if result.data is not None else "")
    if result.needs_input:
        return f"The agent {result.agent} needs more input: {result.message}"
    return f"The agent {result.agent} could not do it ({result.state}): {result.message or 'no reason given'}"


class A2ADelegateTool(BaseTool):
    """Delegate a sub-task to a remote A2A agent and return its answer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str = "delegate"
    description: str = "Delegate a sub-task to a remote agent."
    args_schema: type[BaseModel] = DelegateInput
    _spec: RemoteSpec = PrivateAttr()

    def __init__(
        self,
        agent: str | AgentCardView | dict[str, Any],
        *,
        secret: str | None = None,
        credentials: ClientCredentials | None = None,
        card_keys: CardKeys | str | None = None,
        replicas: list[str] | None = None,
        timeout: float = 120.0,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        """Open the remote agent's card now, so the tool's name and description come from it."""
        spec = RemoteSpec(
            agent,
            secret=secret,
            credentials=credentials,
            card_keys=CardKeys.of(card_keys),
            replicas=replicas,
            timeout=timeout,
        )
        card = run_sync(spec.load_card())
        super().__init__(
            name=name or "ask_" + _NAME.sub("_", card.name).strip("_").lower(),
            description=description or _describe(card),
        )
        self._spec = spec

    async def _call(self, request: str, data: dict[str, Any] | None) -> str:
        async with self._spec.open() as remote:
            try:
                result = await remote.send(request, data=data)
            except BridgeError as exc:
                return f"The remote agent could not be reached or refused the request: {exc}"
        return _as_tool_output(result)

    def _run(self, request: str, data: dict[str, Any] | None = None, **_: Any) -> str:
        return run_sync(self._call(request, data))

    async def _arun(self, request: str, data: dict[str, Any] | None = None, **_: Any) -> str:
        return await self._call(request, data)
