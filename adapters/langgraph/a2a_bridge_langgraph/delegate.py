"""``A2ADelegateNode``: a graph node that hands its work to a remote A2A agent.

    builder.add_node("research", A2ADelegateNode("http://10.0.0.5:8080", secret=RESEARCH_SECRET))

- Input: the last message's text by default; or a state key; or a function of the state
  that returns text, a dict (sent as data), or both as ``(text, data)``.
- Output: an ``AIMessage`` named after the remote agent, and its data under ``output=``.
- The remote's progress and tokens go to the graph's custom stream as it works.
- A remote ``input-required`` becomes ``interrupt()``; the answer goes back to the
  same remote task when the graph resumes.
- A failure becomes an error message in the state (``on_error="message"``, the
  default), or a ``DelegationError`` (``on_error="raise"``).
- It runs the same under ``invoke`` and ``stream`` as under ``ainvoke`` and ``astream``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.types import interrupt

from a2a_bridge import (
    AgentCardView,
    BridgeError,
    CardKeys,
    ClientCredentials,
    ConfigurationError,
    RemoteAgent,
    RemoteResult,
)
from a2a_bridge.adapter_api import RemoteSpec, run_sync
from a2a_bridge_langgraph.remote_calls import result_text, stream_remote, trace_from_config

__all__ = ["A2ADelegateNode", "DelegationError"]

InputSpec = str | Callable[[Mapping[str, Any]], Any] | None


class DelegationError(BridgeError):
    """The remote agent failed, with ``on_error="raise"``."""


def _text_of(message: Any) -> str:
    if isinstance(message, BaseMessage):
        return message.text
    if isinstance(message, tuple) and len(message) == 2:
        return str(message[1])
    if isinstance(message, Mapping):
        return str(message.get("content", ""))
    return str(message)


class A2ADelegateNode(Runnable[Mapping[str, Any], dict[str, Any]]):
    """A node that delegates to a remote A2A agent (see the module docstring).

    A Runnable with both ``invoke`` and ``ainvoke``, so that LangGraph runs it
    natively on either API.
    """

    def __init__(
        self,
        agent: str | Path | Mapping[str, Any] | AgentCardView | RemoteAgent,
        *,
        input: InputSpec = None,
        output: str | None = None,
        secret: str | None = None,
        credentials: ClientCredentials | None = None,
        card_keys: CardKeys | str | None = None,
        timeout: float = 120.0,
        replicas: list[str] | None = None,
        on_error: Literal["message", "raise"] = "message",
        name: str | None = None,
    ) -> None:
        if on_error not in ("message", "raise"):
            raise ConfigurationError("on_error must be 'message' or 'raise'")
        self.spec = RemoteSpec(
            agent,
            secret=secret,
            credentials=credentials,
            card_keys=CardKeys.of(card_keys),
            replicas=replicas,
            timeout=timeout,
        )
        self.input = input
        self.output = output
        self.on_error = on_error
        self._name = name
        # Remote tasks waiting for an answer, by graph thread: LangGraph re-runs an
        # interrupted node from its start, and the answer must go to the same task.
        self._pending: dict[tuple[str, str], tuple[str, str]] = {}
        self._pending_lock = threading.Lock()

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name or self.spec.label

    def invoke(self, input: Mapping[str, Any], config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        """Run the node from synchronous code: ``graph.invoke`` and ``graph.stream``."""
        return run_sync(self(input, config or {}))

    async def ainvoke(
        self, input: Mapping[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return await self(input, config or {})

    def _read_input(self, state: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
        if self.input is None:
            messages = state.get("messages") or []
            if not messages:
                raise ConfigurationError("A2ADelegateNode found no messages in the state; pass input=")
            return _text_of(messages[-1]), None
        value = self.input(state) if callable(self.input) else state.get(self.input)
        if isinstance(value, tuple) and len(value) == 2:
            return value[0], value[1]
        if isinstance(value, Mapping):
            return None, value
        return (str(value) if value is not None else ""), None

    def _key(self, config: RunnableConfig) -> tuple[str, str]:
        configurable = config.get("configurable") or {}
        return str(configurable.get("thread_id", "")), str(configurable.get("checkpoint_ns", ""))

    def _update(self, result: RemoteResult | None, error: str | None) -> dict[str, Any]:
        label = self.name.replace(" ", "_")
        if error is not None or result is None or not result.ok:
            reason = error or (result.message if result else "") or (result.state if result else "failed")
            if self.on_error == "raise":
                raise DelegationError(f"{self.name} failed: {reason}")
            content = f"[{self.name} failed: {reason}]"
            update: dict[str, Any] = {"messages": [AIMessage(content=content, name=label)]}
            if self.output:
                update[self.output] = {"error": reason, "state": result.state if result else "unreachable"}
            return update
        update = {"messages": [AIMessage(content=result_text(result), name=label)]}
        if self.output:
            update[self.output] = dict(result.data) if result.data is not None else {"text": result.text}
        return update

    async def __call__(self, state: Mapping[str, Any], config: RunnableConfig) -> dict[str, Any]:
        trace = trace_from_config(config)
        key = self._key(config)
        with self._pending_lock:
            pending = self._pending.get(key)
        try:
            await self.spec.load_card()  # once: the card names the agent in messages and streams
            async with self.spec.open() as remote:
                if pending is None:
                    text, data = self._read_input(state)
                    result = await stream_remote(remote, text, data=data, trace=trace, label=self.name)
                else:
                    result = None
                while result is None or result.needs_input:
                    task_id, context_id = pending or (result.task_id, result.context_id)  # type: ignore[union-attr]
                    with self._pending_lock:
                        self._pending[key] = (task_id, context_id)
                    question = result.message if result else ""
                    answer = interrupt({"agent": self.name, "question": question, "task_id": task_id})
                    with self._pending_lock:
                        self._pending.pop(key, None)
                    pending = None
                    text, data = (None, answer) if isinstance(answer, Mapping) else (str(answer), None)
                    result = await stream_remote(
                        remote, text, data=data, task_id=task_id, context_id=context_id, trace=trace, label=self.name
                    )
        except BridgeError as exc:
            if isinstance(exc, DelegationError):
                raise
            return self._update(None, str(exc))
        return self._update(result, None)
