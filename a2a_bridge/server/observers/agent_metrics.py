"""The served agent's Prometheus series: calls by A2A method, turns by outcome, tokens by model, errors by kind.

One :class:`AgentMetrics` per served agent (or worker), on the registry its
``/metrics`` renders. Calls are timed around the request handler's methods,
as :mod:`~a2a_bridge.server.observers.traced_calls` traces them, so every
binding counts alike; turns are counted as the executor ends them.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from a2a_bridge.server.observers.traced_calls import METHODS, STREAMING
from a2a_bridge.server.turns.outcome import TurnEnd
from a2a_bridge.wire.sdk_internals import A2AError

__all__ = ["AgentMetrics", "error_kind"]

# From a cached card read to a long turn on a CPU model.
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_TURN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def error_kind(exc: BaseException) -> str:
    """``TaskNotFoundError`` -> ``task_not_found``; anything that is not an A2A error is ``internal``."""
    if not isinstance(exc, A2AError):
        return "internal"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__.removesuffix("Error")).lower() or "internal"


class AgentMetrics:
    """The series of one agent, in ``registry``."""

    def __init__(self, registry: CollectorRegistry, agent: str) -> None:
        self.registry = registry
        self.agent = agent
        self.calls = Histogram(
            "a2a_bridge_call_duration_seconds",
            "A2A calls answered, by method; a streaming call lasts until its stream ends",
            ("agent", "method"),
            buckets=_CALL_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "a2a_bridge_errors",
            "Errors by kind: the A2A error a call got (task_not_found, invalid_params, ...), internal, or "
            "agent_failed for a turn whose runner raised or failed",
            ("agent", "kind"),
            registry=registry,
        )
        self.states = Counter(
            "a2a_bridge_task_states",
            "Turns ended, by the state they left the task in (a task that asked for input and then completed "
            "counts in both)",
            ("agent", "state"),
            registry=registry,
        )
        self.in_flight = Gauge(
            "a2a_bridge_turns_in_flight", "Turns running in this process", ("agent",), registry=registry
        )
        self.turns = Histogram(
            "a2a_bridge_turn_duration_seconds",
            "How long a turn ran, from its start to its ending state",
            ("agent",),
            buckets=_TURN_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "a2a_bridge_tokens",
            "Model tokens spent by the agent's turns, by model and kind (input or output)",
            ("agent", "model", "kind"),
            registry=registry,
        )
        # Each turn touches these: their series are looked up once, not on every turn.
        self._running = self.in_flight.labels(agent)
        self._running.set(0)
        self._turn_seconds = self.turns.labels(agent)
        self._state_counts: dict[str, Any] = {}
        self._token_counts: dict[str, tuple[Any, Any]] = {}

    def turn_started(self) -> None:
        self._running.inc()

    def turn_ended(self, end: TurnEnd | None) -> None:
        self._running.dec()
        if end is None:
            return
        if (state := self._state_counts.get(end.state)) is None:
            state = self._state_counts[end.state] = self.states.labels(self.agent, end.state)
        state.inc()
        self._turn_seconds.observe(end.seconds)
        if end.state == "failed":
            self.errors.labels(self.agent, "agent_failed").inc()
        if end.usage is not None:
            model = end.usage.model or "unknown"
            if (tokens := self._token_counts.get(model)) is None:
                tokens = self._token_counts[model] = (
                    self.tokens.labels(self.agent, model, "input"),
                    self.tokens.labels(self.agent, model, "output"),
                )
            tokens[0].inc(end.usage.prompt_tokens)
            tokens[1].inc(end.usage.completion_tokens)

    def meter_calls(self, handler: Any) -> None:
        """Time ``handler``'s A2A methods, on this instance, and count the errors they raise."""
        for attribute, method in METHODS.items():
            original = getattr(handler, attribute, None)
            if original is None:
                continue
            wrap = self._metered_stream if attribute in STREAMING else self._metered_call
            setattr(handler, attribute, wrap(original, self.calls.labels(self.agent, method)))

    def _failed(self, exc: Exception) -> None:
        self.errors.labels(self.agent, error_kind(exc)).inc()

    def _metered_call(self, original: Callable[..., Awaitable[Any]], timer: Any) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(original)
        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            except Exception as exc:
                self._failed(exc)
                raise
            finally:
                timer.observe(time.perf_counter() - started)

        return call

    def _metered_stream(
        self, original: Callable[..., AsyncGenerator[Any, None]], timer: Any
    ) -> Callable[..., AsyncIterator[Any]]:
        @functools.wraps(original)
        async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            started = time.perf_counter()
            try:
                async with contextlib.aclosing(original(*args, **kwargs)) as events:
                    async for event in events:
                        yield event
            except Exception as exc:
                self._failed(exc)
                raise
            finally:
                timer.observe(time.perf_counter() - started)

        return stream
