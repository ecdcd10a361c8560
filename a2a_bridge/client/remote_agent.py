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
import contextlib
import dataclasses
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from opentelemetry.trace import Span

from a2a_bridge.client.attempts import Attempts, Endpoint
from a2a_bridge.client.card_keys import CardKeys
from a2a_bridge.client.card_view import AgentCardView, fetch_card, read_card_file
from a2a_bridge.client.client_credentials import ClientCredentials
from a2a_bridge.client.connections import open_connection
from a2a_bridge.client.connections.base import Connection, Outgoing, TaskQuery, check_bindings
from a2a_bridge.client.results import RemoteEvent, RemoteResult, TaskPage
from a2a_bridge.errors import (
    CardError,
    ConfigurationError,
    RemoteAgentError,
    RemoteAuthError,
    RemoteTimeout,
    RemoteUnavailable,
    TaskNotFound,
)
from a2a_bridge.observability import spans
from a2a_bridge.observability.tracing import trace_headers
from a2a_bridge.runner import Progress, TraceContext
from a2a_bridge.support.http_client import async_client
from a2a_bridge.task_states import TaskState

__all__ = ["RemoteAgent"]

logger = logging.getLogger("a2a_bridge.remote")
T = TypeVar("T")
_TASK_HOMES_KEPT = 10_000


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


class RemoteAgent:
    """A remote A2A agent, opened from a URL, a card file or a card object.

    Args:
        agent: The agent's base URL (its card is fetched from
            ``/.well-known/agent-card.json``), the path of a card JSON file, a
            card as a dict, an :class:`AgentCardView`, or an a2a-sdk ``AgentCard``.
        secret: The bearer secret this caller holds for this agent. Required
            when the card declares a bearer scheme, unless ``credentials`` are given.
        credentials: :class:`ClientCredentials` that obtain OAuth 2.0 access
            tokens, sent instead of a secret and refreshed before they expire.
        card_keys: Keys that must have signed the agent's card: a
            :class:`CardKeys`, a JWKS URL or a key file. A fetched card that is
            unsigned or wrongly signed is refused with a ``CardError``.
        replicas: Base URLs of more replicas of the same agent, tried in order
            when one is lost.
        timeout: Seconds a whole call may take, per replica tried.
        connect_timeout: Seconds to wait for a connection.
        retries: Extra attempts on connection errors and 5xx.
        backoff: Seconds before the first retry of a replica; doubles each time.
        http_client: An ``httpx.AsyncClient`` to use; it is not closed by us.
        name: A name for logs and errors; defaults to the card's name.
        bindings: The A2A bindings this caller speaks, most preferred first:
            ``"JSONRPC"``, ``"HTTP+JSON"``, ``"GRPC"`` (the ``grpc`` extra).
            By default JSON-RPC or HTTP+JSON, as the card prefers; given, the
            first one the card offers is used.
    """

    def __init__(
        self,
        agent: str | Path | Mapping[str, Any] | AgentCardView | Any,
        *,
        secret: str | None = None,
        credentials: ClientCredentials | None = None,
        card_keys: CardKeys | str | Path | Mapping[str, Any] | None = None,
        replicas: Sequence[str] = (),
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.25,
        http_client: httpx.AsyncClient | None = None,
        name: str | None = None,
        bindings: Sequence[str] | None = None,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ConfigurationError("timeout and connect_timeout must be positive")
        if retries < 0 or backoff < 0:
            raise ConfigurationError("retries and backoff must not be negative")
        for replica in replicas:
            if not _is_url(replica):
                raise ConfigurationError(f"replica {replica!r} is not an http(s) URL")
        self._bindings = check_bindings(bindings)
        if secret and credentials is not None:
            raise ConfigurationError("give RemoteAgent a secret or credentials, not both")
        if credentials is not None and not isinstance(credentials, ClientCredentials):
            raise ConfigurationError("credentials must be ClientCredentials(client_id, client_secret, ...)")
        self._secret = secret
        self._credentials = credentials
        self._card_keys = CardKeys.of(card_keys)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._own_http = http_client is None
        self._http = http_client or async_client(httpx.Timeout(timeout, connect=connect_timeout))
        self._name = name
        first = self._first_endpoint(agent)
        self._endpoints = [first, *(Endpoint(url.rstrip("/")) for url in replicas)]
        self._task_homes: OrderedDict[str, Endpoint] = OrderedDict()

    def _first_endpoint(self, agent: Any) -> Endpoint:
        if isinstance(agent, AgentCardView):
            return Endpoint(agent.url, card=agent)
        if isinstance(agent, str) and _is_url(agent):
            return Endpoint(agent.rstrip("/"))
        if isinstance(agent, (str, Path)):
            view = AgentCardView.from_dict(read_card_file(agent))
            return Endpoint(view.url, card=view)
        if isinstance(agent, Mapping):
            view = AgentCardView.from_dict(agent)
            return Endpoint(view.url, card=view)
        # Only an SDK card is left to try; the SDK is imported for it alone.
        from a2a_bridge.client.connections.a2a import sdk_card_as_dict

        raw = sdk_card_as_dict(agent)
        if raw is not None:
            view = AgentCardView.from_dict(raw)
            return Endpoint(view.url, card=view)
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
    def credentials(self) -> ClientCredentials | None:
        """The client credentials this caller obtains access tokens with."""
        return self._credentials

    @property
    def card_keys(self) -> CardKeys | None:
        """The keys the agent's card must be signed with."""
        return self._card_keys

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

    async def _card_of(self, endpoint: Endpoint) -> AgentCardView:
        if endpoint.card is None:
            raw = await fetch_card(self._http, endpoint.url, timeout=min(self.timeout, 30.0))
            verified = False
            if self._card_keys is not None:
                verified = await self._card_keys.check(raw, http=self._http, url=endpoint.url)
            if verified:
                from a2a_bridge.wire.cards import card_to_dict, parse_card

                # The signature covers the card as the SDK parses it; fields beside that (a v1.0 scheme next to
                # its v0.3 twin, a key spelt twice) are unsigned, so a verified card is read from the parse alone.
                raw = card_to_dict(parse_card(raw))
            view = AgentCardView.from_dict(raw, url=endpoint.url)
            if not _is_url(view.url):
                raise CardError(f"the card at {endpoint.url} names no usable URL", url=endpoint.url)
            endpoint.card = dataclasses.replace(view, verified=verified)
        return endpoint.card

    async def _connection(self, endpoint: Endpoint) -> Connection:
        async with endpoint.lock:
            if endpoint.connection is None:
                card = await self._card_of(endpoint)
                if card.bearer_required and not self._secret and self._credentials is None:
                    raise RemoteAuthError(
                        f"{card.name} requires a bearer secret or an access token (its card declares one); "
                        "pass secret=... or credentials=ClientCredentials(...)",
                        agent=card.name,
                        url=card.url,
                    )
                endpoint.connection = open_connection(card, http=self._http, bindings=self._bindings)
            connection: Connection = endpoint.connection
            return connection

    async def _headers(self, trace: TraceContext | None, span: Span | None = None) -> dict[str, str]:
        headers = trace_headers(trace, span=span)
        if self._credentials is not None:
            card = None if self._credentials.knows_endpoint else await self.card()
            headers["Authorization"] = f"Bearer {await self._credentials.token(card, agent=self.urls[0])}"
        elif self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        return headers

    # --- attempts ----------------------------------------------------------------

    def _attempts(self, task_id: str | None) -> Attempts:
        if task_id is not None and task_id in self._task_homes:  # a task lives on one replica: retry only there
            return self._pinned(task_id)
        return Attempts.spread(self._endpoints, retries=self.retries, backoff=self.backoff)

    def _timed_out(self, endpoint: Endpoint) -> RemoteTimeout:
        return RemoteTimeout(
            f"{self.name} at {endpoint.url} did not finish within {self.timeout:g} s", agent=self.name, url=endpoint.url
        )

    def _failed(self, attempts: Attempts, endpoint: Endpoint, exc: TimeoutError | RemoteAgentError) -> None:
        """Count a lost attempt: a timeout (ours or the remote's), or a replica that could not answer."""
        if isinstance(exc, TimeoutError):
            attempts.failed(self._timed_out(endpoint), timed_out=True)
        else:
            attempts.failed(exc, timed_out=isinstance(exc, RemoteTimeout))

    async def _with_failover(self, op: Callable[[Connection], Awaitable[T]], attempts: Attempts) -> tuple[T, Endpoint]:
        while (endpoint := await attempts.next()) is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    connection = await self._connection(endpoint)
                    return await op(connection), endpoint
            except (TimeoutError, RemoteTimeout, RemoteUnavailable, CardError) as exc:
                self._failed(attempts, endpoint, exc)
            logger.warning("%s: %s", self.name, attempts.last)
        raise attempts.error()

    def _remember(self, result: RemoteResult, endpoint: Endpoint) -> RemoteResult:
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
        message = _outgoing("send", text, data, context_id=context_id, task_id=task_id, metadata=metadata)
        with spans.client_span("SendMessage", self.name) as span:
            headers = await self._headers(trace, span)

            async def op(connection: Connection) -> RemoteResult:
                return await connection.send(message, headers=headers)

            result, endpoint = await self._with_failover(op, self._attempts(task_id))
            spans.remote_result(span, result)
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
        message = _outgoing("stream", text, data, context_id=context_id, task_id=task_id, metadata=metadata)
        with spans.client_span("SendStreamingMessage", self.name) as span:
            async with contextlib.aclosing(self._stream(message, task_id, await self._headers(trace, span))) as events:
                async for event in events:
                    if isinstance(event, RemoteResult):
                        spans.remote_result(span, event)
                    yield event

    async def _stream(
        self, message: Outgoing, task_id: str | None, headers: dict[str, str]
    ) -> AsyncGenerator[RemoteEvent, None]:
        attempts = self._attempts(task_id)
        loop = asyncio.get_running_loop()
        while (endpoint := await attempts.next()) is not None:
            deadline = loop.time() + self.timeout
            try:
                async with asyncio.timeout(self.timeout):
                    connection = await self._connection(endpoint)
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
            except (TimeoutError, RemoteTimeout, RemoteUnavailable, CardError) as exc:
                self._failed(attempts, endpoint, exc)
            following = attempts.peek()
            logger.warning("%s: %s", self.name, attempts.last)
            if following is not None:
                yield Progress(
                    f"{self.name} at {endpoint.url} was lost ({attempts.last}); trying {following.url}",
                    data={"failover": {"from": endpoint.url, "to": following.url, "reason": str(attempts.last)}},
                )
        raise attempts.error()

    def _pinned(self, task_id: str) -> Attempts:
        home = self._task_homes.get(task_id, self._endpoints[0])
        return Attempts.pinned(home, retries=self.retries, backoff=self.backoff)

    async def _at_home(self, task_id: str, call: Callable[[Connection], Awaitable[RemoteResult]]) -> RemoteResult:
        """Make ``call`` on the replica that runs the task; when that is not known, ask each in turn."""
        home = self._task_homes.get(task_id)
        if home is not None:
            result, _ = await self._with_failover(call, self._pinned(task_id))
            return result
        not_found: TaskNotFound | None = None
        unreachable: RemoteAgentError | None = None
        for endpoint in self._endpoints:
            try:
                result, _ = await self._with_failover(
                    call, Attempts.pinned(endpoint, retries=self.retries, backoff=self.backoff)
                )
            except TaskNotFound as exc:
                not_found = exc
            except (RemoteUnavailable, RemoteTimeout) as exc:
                unreachable = exc  # it may hold the task: never say "not found" for it
            else:
                return self._remember(result, endpoint)
        if unreachable is not None or len(self._endpoints) == 1:
            raise unreachable or not_found or TaskNotFound(f"{self.name} does not know task {task_id}")
        raise TaskNotFound(
            f"no replica of {self.name} knows task {task_id} (asked {', '.join(self.urls)})", agent=self.name
        )

    async def _on_task(
        self,
        operation: str,
        task_id: str,
        trace: TraceContext | None,
        call: Callable[[Connection, dict[str, str]], Awaitable[RemoteResult]],
    ) -> RemoteResult:
        with spans.client_span(operation, self.name) as span:
            headers = await self._headers(trace, span)
            result = await self._at_home(task_id, lambda connection: call(connection, headers))
            spans.remote_result(span, result)
            return result

    async def get_task(self, task_id: str, *, trace: TraceContext | None = None) -> RemoteResult:
        """The task's current state, from the replica that ran it."""
        return await self._on_task("GetTask", task_id, trace, lambda c, headers: c.get_task(task_id, headers=headers))

    async def cancel(self, task_id: str, *, trace: TraceContext | None = None) -> RemoteResult:
        """Cancel the task on the replica that runs it."""
        return await self._on_task("CancelTask", task_id, trace, lambda c, headers: c.cancel(task_id, headers=headers))

    async def list_tasks(
        self,
        *,
        context_id: str | None = None,
        state: TaskState | None = None,
        page_size: int = 50,
        page_token: str = "",
        trace: TraceContext | None = None,
    ) -> TaskPage:
        """One page of this caller's tasks on the remote, newest first; replicas sharing a store list the same."""
        if not 1 <= page_size <= 100:
            raise ConfigurationError(f"page_size must be between 1 and 100, got {page_size}")
        query = TaskQuery(context_id=context_id, state=state, page_size=page_size, page_token=page_token)
        with spans.client_span("ListTasks", self.name) as span:
            headers = await self._headers(trace, span)

            async def op(connection: Connection) -> TaskPage:
                return await connection.list_tasks(query, headers=headers)

            page, _ = await self._with_failover(op, self._attempts(None))
            return page

    # --- lifetime ----------------------------------------------------------------

    async def aclose(self) -> None:
        for endpoint in self._endpoints:
            if endpoint.connection is not None:
                await endpoint.connection.aclose()
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


def _outgoing(
    verb: str,
    text: str | None,
    data: Mapping[str, Any] | None,
    *,
    context_id: str | None,
    task_id: str | None,
    metadata: Mapping[str, Any] | None,
) -> Outgoing:
    if text is None and data is None:
        raise ConfigurationError(f"{verb} needs text, data or both")
    if context_id is None and task_id is None:
        # Named once, so that each attempt sends the same message into the same conversation.
        context_id = str(uuid.uuid4())
    return Outgoing(text, data, context_id=context_id, task_id=task_id, metadata=metadata)
