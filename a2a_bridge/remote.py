"""``RemoteAgent``: call any A2A agent, with auth, retries, failover and tracing.

    agent = RemoteAgent("http://10.0.0.5:8080", secret="...", replicas=["http://10.0.0.6:8080"])
    result = await agent.send("Summarise GPU pricing", data={"query": "..."})
    async for event in agent.stream("..."):   # Progress, TextDelta, Artifact, then a RemoteResult
        ...

Retries: connection errors and 5xx are retried with backoff, going round the
replicas. A task the remote accepted and then failed on purpose comes back as a
``RemoteResult`` with ``state="failed"`` and is never retried. When a replica
is lost mid-task (connection dropped, timeout), the task is sent again to the
next replica, as in the tutorial's spot-worker story.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets as random
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from a2a_bridge.cards import AgentCardView, fetch_card, read_card_file
from a2a_bridge.errors import (
    CardError,
    ConfigurationError,
    RemoteAgentError,
    RemoteAuthError,
    RemoteTimeout,
    RemoteUnavailable,
)
from a2a_bridge.http_client import async_client
from a2a_bridge.results import RemoteResult
from a2a_bridge.runner import Artifact, Progress, TextDelta, TraceContext
from a2a_bridge.tutorial_client import TutorialConnection

__all__ = ["RemoteAgent", "RemoteEvent", "trace_headers"]

logger = logging.getLogger("a2a_bridge.remote")
RemoteEvent = Progress | TextDelta | Artifact | RemoteResult
T = TypeVar("T")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_TASK_HOMES_KEPT = 10_000


def trace_headers(trace: TraceContext | None) -> dict[str, str]:
    """W3C ``traceparent`` plus the tutorial's ``X-Trace-ID`` / ``X-Parent-Task-ID``.

    The trace id is kept across hops; each hop gets a new span id.
    """
    trace = trace or TraceContext()
    trace_hex = ""
    if trace.traceparent:
        fields = trace.traceparent.split("-")
        if len(fields) == 4 and _HEX32.match(fields[1]):
            trace_hex = fields[1]
    if not trace_hex and trace.trace_id:
        candidate = trace.trace_id.replace("-", "").lower()
        trace_hex = candidate if _HEX32.match(candidate) else ""
    trace_hex = trace_hex or random.token_hex(16)
    headers = {
        "traceparent": f"00-{trace_hex}-{random.token_hex(8)}-01",
        "X-Trace-ID": trace.trace_id or trace_hex,
    }
    if trace.parent_task_id:
        headers["X-Parent-Task-ID"] = trace.parent_task_id
    return headers


@dataclass
class _Endpoint:
    url: str
    card: AgentCardView | None = None
    connection: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _Attempts:
    """Which replica to try next, and how long to wait before it."""

    def __init__(self, plan: list[_Endpoint], backoff: float) -> None:
        self._plan = plan
        self._backoff = backoff
        self._tried: dict[str, int] = {}
        self.last: RemoteAgentError | None = None

    async def next(self) -> _Endpoint | None:
        if not self._plan:
            return None
        endpoint = self._plan.pop(0)
        uses = self._tried.get(endpoint.url, 0)
        if uses:
            await asyncio.sleep(self._backoff * 2 ** (uses - 1))
        self._tried[endpoint.url] = uses + 1
        return endpoint

    def peek(self) -> _Endpoint | None:
        return self._plan[0] if self._plan else None

    def failed(self, error: RemoteAgentError, *, timed_out: bool) -> None:
        self.last = error
        if timed_out:  # a slow replica is not asked again; only replicas not tried yet are
            self._plan = [e for e in self._plan if e.url not in self._tried]

    def error(self) -> RemoteAgentError:
        assert self.last is not None
        return self.last


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class RemoteAgent:
    """A remote A2A agent, opened from a URL, a card file or a card object.

    Args:
        agent: The agent's base URL (its card is fetched from
            ``/.well-known/agent-card.json``), the path of a card JSON file, a
            card as a dict, an :class:`AgentCardView`, or an a2a-sdk ``AgentCard``.
        secret: The bearer secret this caller holds for this agent. Required
            when the card declares a bearer scheme.
        replicas: Base URLs of more replicas of the same agent, tried in order
            when one is lost.
        timeout: Seconds a whole call may take, per replica tried.
        connect_timeout: Seconds to wait for a connection.
        retries: Extra attempts on connection errors and 5xx.
        backoff: Seconds before the first retry of a replica; doubles each time.
        http_client: An ``httpx.AsyncClient`` to use; it is not closed by us.
        name: A name for logs and errors; defaults to the card's name.
    """

    def __init__(
        self,
        agent: str | Path | Mapping[str, Any] | AgentCardView | Any,
        *,
        secret: str | None = None,
        replicas: Sequence[str] = (),
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.25,
        http_client: httpx.AsyncClient | None = None,
        name: str | None = None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ConfigurationError("timeout and connect_timeout must be positive")
        if retries < 0 or backoff < 0:
            raise ConfigurationError("retries and backoff must not be negative")
        for replica in replicas:
            if not _is_url(replica):
                raise ConfigurationError(f"replica {replica!r} is not an http(s) URL")
        self._secret = secret
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._own_http = http_client is None
        self._http = http_client or async_client(httpx.Timeout(timeout, connect=connect_timeout))
        self._name = name
        first = self._first_endpoint(agent)
        self._endpoints = [first, *(_Endpoint(url.rstrip("/")) for url in replicas)]
        self._task_homes: OrderedDict[str, _Endpoint] = OrderedDict()

    def _first_endpoint(self, agent: Any) -> _Endpoint:
        if isinstance(agent, AgentCardView):
            return _Endpoint(agent.url, card=agent)
        if isinstance(agent, str) and _is_url(agent):
            return _Endpoint(agent.rstrip("/"))
        if isinstance(agent, (str, Path)):
            view = AgentCardView.from_dict(read_card_file(agent))
            return _Endpoint(view.url, card=view)
        if isinstance(agent, Mapping):
            view = AgentCardView.from_dict(agent)
            return _Endpoint(view.url, card=view)
        if hasattr(agent, "DESCRIPTOR"):  # an a2a-sdk AgentCard
            from a2a_bridge.protocol.client import card_to_dict

            view = AgentCardView.from_dict(card_to_dict(agent))
            return _Endpoint(view.url, card=view)
        raise ConfigurationError(
            f"RemoteAgent takes a URL, a card file, a card dict or an AgentCard, not {type(agent).__name__}"
        )

    # --- identity ----------------------------------------------------------------

    @property
    def name(self) -> str:
        if self._name:
            return self._name
        card = self._endpoints[0].card
        return card.name if card else self._endpoints[0].url

    @property
    def secret(self) -> str | None:
        """The bearer secret this caller holds for the agent."""
        return self._secret

    @property
    def urls(self) -> list[str]:
        return [endpoint.url for endpoint in self._endpoints]

    async def card(self) -> AgentCardView:
        """The agent's card, fetched from the first replica that answers."""
        last: RemoteAgentError | None = None
        for endpoint in self._endpoints:
            try:
                return await self._card_of(endpoint)
            except CardError as exc:
                last = exc
        assert last is not None
        raise last

    async def _card_of(self, endpoint: _Endpoint) -> AgentCardView:
        if endpoint.card is None:
            raw = await fetch_card(self._http, endpoint.url, timeout=min(self.timeout, 30.0))
            view = AgentCardView.from_dict(raw, url=endpoint.url)
            if not _is_url(view.url):
                raise CardError(f"the card at {endpoint.url} names no usable URL", url=endpoint.url)
            endpoint.card = view
        return endpoint.card

    async def _connection(self, endpoint: _Endpoint) -> Any:
        async with endpoint.lock:
            if endpoint.connection is None:
                card = await self._card_of(endpoint)
                if card.bearer_required and not self._secret:
                    raise RemoteAuthError(
                        f"{card.name} requires a bearer secret (its card declares one); pass secret=...",
                        agent=card.name,
                        url=card.url,
                    )
                if card.protocol == "tutorial":
                    endpoint.connection = TutorialConnection(card, http=self._http, url=card.url)
                else:
                    from a2a_bridge.protocol.client import A2AConnection

                    endpoint.connection = A2AConnection(card.raw, http=self._http, agent=card.name, url=card.url)
            return endpoint.connection

    def _headers(self, trace: TraceContext | None) -> dict[str, str]:
        headers = trace_headers(trace)
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        return headers

    # --- attempts ----------------------------------------------------------------

    def _attempts(self, task_id: str | None) -> _Attempts:
        if task_id is not None and task_id in self._task_homes:  # a task lives on one replica: retry only there
            return self._pinned(task_id)
        count = max(self.retries + 1, len(self._endpoints))
        return _Attempts([self._endpoints[i % len(self._endpoints)] for i in range(count)], self.backoff)

    def _timed_out(self, endpoint: _Endpoint) -> RemoteTimeout:
        return RemoteTimeout(
            f"{self.name} at {endpoint.url} did not finish within {self.timeout:g} s", agent=self.name, url=endpoint.url
        )

    async def _with_failover(self, op: Callable[[Any], Awaitable[T]], attempts: _Attempts) -> tuple[T, _Endpoint]:
        while (endpoint := await attempts.next()) is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    connection = await self._connection(endpoint)
                    return await op(connection), endpoint
            except TimeoutError:
                attempts.failed(self._timed_out(endpoint), timed_out=True)
            except RemoteTimeout as exc:
                attempts.failed(exc, timed_out=True)
            except (RemoteUnavailable, CardError) as exc:
                attempts.failed(exc, timed_out=False)
            logger.warning("%s: %s", self.name, attempts.last)
        raise attempts.error()

    def _remember(self, result: RemoteResult, endpoint: _Endpoint) -> RemoteResult:
        if result.task_id:
            self._task_homes[result.task_id] = endpoint
            self._task_homes.move_to_end(result.task_id)
            while len(self._task_homes) > _TASK_HOMES_KEPT:
                self._task_homes.popitem(last=False)
        return result

    # --- operations --------------------------------------------------------------

    async def send(
        self,
        text: str | None = None,
        *,
        data: Mapping[str, Any] | None = None,
        context_id: str | None = None,
        task_id: str | None = None,
        trace: TraceContext | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RemoteResult:
        """Send a message and wait for the task to finish or to need input.

        Args:
            text: The message text.
            data: Structured input, matching the agent's input schema.
            context_id: Continue this conversation.
            task_id: Answer this task (one in ``input_required``).
            trace: Trace context to carry; a new trace when None.
            metadata: Message metadata.
        """
        if text is None and data is None:
            raise ConfigurationError("send needs text, data or both")
        headers = self._headers(trace)

        async def op(connection: Any) -> RemoteResult:
            if isinstance(connection, TutorialConnection):
                return await connection.send(text, data, context_id=context_id, headers=headers)
            from a2a_bridge.protocol.client import build_message

            message = build_message(text, data, context_id=context_id, task_id=task_id, metadata=metadata)
            result: RemoteResult = await connection.send(message, headers=headers)
            return result

        result, endpoint = await self._with_failover(op, self._attempts(task_id))
        return self._remember(result, endpoint)

    async def stream(
        self,
        text: str | None = None,
        *,
        data: Mapping[str, Any] | None = None,
        context_id: str | None = None,
        task_id: str | None = None,
        trace: TraceContext | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[RemoteEvent]:
        """Like :meth:`send`, yielding ``Progress``, ``TextDelta`` and ``Artifact``
        events as they happen, and the ``RemoteResult`` last.

        After a failover the remote work starts again: a ``Progress`` event
        with ``data["failover"]`` says so, and text deltas start over.
        """
        if text is None and data is None:
            raise ConfigurationError("stream needs text, data or both")
        headers = self._headers(trace)
        attempts = self._attempts(task_id)
        loop = asyncio.get_running_loop()
        while (endpoint := await attempts.next()) is not None:
            deadline = loop.time() + self.timeout
            try:
                async with asyncio.timeout(self.timeout):
                    connection = await self._connection(endpoint)
                if isinstance(connection, TutorialConnection):
                    events = connection.stream(text, data, context_id=context_id, headers=headers)
                else:
                    from a2a_bridge.protocol.client import build_message

                    message = build_message(text, data, context_id=context_id, task_id=task_id, metadata=metadata)
                    events = connection.stream(message, headers=headers)
                iterator = aiter(events)
                while True:
                    # The deadline is checked per event, so it never spans our caller's own work.
                    async with asyncio.timeout_at(deadline):
                        event = await anext(iterator, None)
                    if event is None:
                        break
                    if isinstance(event, RemoteResult):
                        yield self._remember(event, endpoint)
                        return
                    yield event
                attempts.failed(RemoteUnavailable(f"the stream from {endpoint.url} ended early"), timed_out=False)
            except TimeoutError:
                attempts.failed(self._timed_out(endpoint), timed_out=True)
            except RemoteTimeout as exc:
                attempts.failed(exc, timed_out=True)
            except (RemoteUnavailable, CardError) as exc:
                attempts.failed(exc, timed_out=False)
            following = attempts.peek()
            logger.warning("%s: %s", self.name, attempts.last)
            if following is not None:
                yield Progress(
                    f"{self.name} at {endpoint.url} was lost ({attempts.last}); trying {following.url}",
                    data={"failover": {"from": endpoint.url, "to": following.url, "reason": str(attempts.last)}},
                )
        raise attempts.error()

    def _pinned(self, task_id: str) -> _Attempts:
        home = self._task_homes.get(task_id, self._endpoints[0])
        return _Attempts([home] * (self.retries + 1), self.backoff)

    async def _at_home(self, task_id: str, trace: TraceContext | None, *, method: str, name: str) -> RemoteResult:
        """Call ``connection.<method>(task_id)`` on the replica that runs the task."""
        headers = self._headers(trace)

        async def op(connection: Any) -> RemoteResult:
            if isinstance(connection, TutorialConnection):
                raise connection.unsupported(name)
            result: RemoteResult = await getattr(connection, method)(task_id, headers=headers)
            return result

        result, _ = await self._with_failover(op, self._pinned(task_id))
        return result

    async def get_task(self, task_id: str, *, trace: TraceContext | None = None) -> RemoteResult:
        """The task's current state, from the replica that ran it."""
        return await self._at_home(task_id, trace, method="get_task", name="GetTask")

    async def cancel(self, task_id: str, *, trace: TraceContext | None = None) -> RemoteResult:
        """Cancel the task on the replica that runs it."""
        return await self._at_home(task_id, trace, method="cancel", name="CancelTask")

    # --- lifetime ----------------------------------------------------------------

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> RemoteAgent:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RemoteAgent({self.name!r}, urls={self.urls!r})"
