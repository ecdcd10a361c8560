"""Talking to one remote replica through the official a2a-sdk client.

The SDK picks JSON-RPC or HTTP+JSON, and v1.0 or its v0.3 compat transport,
from the card. Results and events come back in the core's types
(:mod:`.a2a_results`), errors in the core's tree (:mod:`.a2a_errors`).

A caller that gives up (a timeout, a cancelled task) also stops the work it
asked for: the remote task is cancelled. A stream names its task at once; a
blocking send is found again by its message id, in a conversation the client
names itself for that reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Any

import httpx
from a2a.client import Client, ClientCallContext, ClientConfig, ClientFactory
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    Task,
)

from a2a_bridge.client.connections.a2a_errors import translate
from a2a_bridge.client.connections.a2a_results import StreamFold, result_from_message, result_from_task
from a2a_bridge.client.connections.base import Outgoing, TaskQuery
from a2a_bridge.client.results import RemoteEvent, RemoteResult, TaskPage
from a2a_bridge.errors import CardError, RemoteAgentError, RemoteTimeout, RemoteUnavailable
from a2a_bridge.wire.cards import card_to_dict, parse_card
from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION
from a2a_bridge.wire.parts import data_part
from a2a_bridge.wire.states import TERMINAL_STATES, state_value

__all__ = ["A2AConnection", "build_message", "sdk_card_as_dict"]

logger = logging.getLogger("a2a_bridge.remote")

EXTENSIONS_HEADER = "A2A-Extensions"
# How long cancelling abandoned work may hold up a caller who has already given up.
ABANDON_TIMEOUT = 5.0
DEFAULT_BINDINGS = ("JSONRPC", "HTTP+JSON")


def sdk_card_as_dict(card: object) -> dict[str, Any] | None:
    """An a2a-sdk ``AgentCard`` as card JSON; None for anything else."""
    return card_to_dict(card) if isinstance(card, AgentCard) else None


def build_message(outgoing: Outgoing) -> Message:
    parts = []
    if outgoing.text:
        parts.append(Part(text=outgoing.text))
    if outgoing.data is not None:
        # A JSON round trip turns tuples and other sequences into what a Struct holds.
        parts.append(data_part(json.loads(json.dumps(dict(outgoing.data)))))
    message = Message(role=Role.ROLE_USER, message_id=outgoing.message_id, parts=parts)
    if outgoing.context_id:
        message.context_id = outgoing.context_id
    elif not outgoing.task_id:
        # Named here, so that the task can be found again if the caller gives up before it is answered.
        message.context_id = str(uuid.uuid4())
    if outgoing.task_id:
        message.task_id = outgoing.task_id
    if outgoing.metadata:
        message.metadata.update(dict(outgoing.metadata))
    return message


class A2AConnection:
    """A client for one replica, described by its card."""

    def __init__(
        self,
        card: Mapping[str, Any],
        *,
        http: httpx.AsyncClient,
        agent: str,
        url: str,
        bindings: Sequence[str] | None = None,
    ) -> None:
        self.agent = agent
        self.url = url
        try:
            self.card: AgentCard = parse_card(card)
        except Exception as exc:
            raise CardError(f"the card of {agent} is not a valid A2A card: {exc}", agent=agent, url=url) from None
        self._channels: list[Any] = []
        options: dict[str, Any] = {
            "httpx_client": http,
            "supported_protocol_bindings": list(bindings or DEFAULT_BINDINGS),
            # A caller who names its bindings gets the first the card offers; otherwise the card's order wins.
            "use_client_preference": bindings is not None,
        }
        if bindings is not None and "GRPC" in bindings:
            options["grpc_channel_factory"] = self._grpc_channel
        try:
            self._blocking: Client = ClientFactory(ClientConfig(streaming=False, **options)).create(self.card)
            self._streaming: Client = ClientFactory(ClientConfig(streaming=True, **options)).create(self.card)
        except ValueError as exc:  # the SDK's word for "no binding in common"
            wanted = ", ".join(options["supported_protocol_bindings"])
            raise CardError(f"{agent} at {url} offers none of {wanted}: {exc}", agent=agent, url=url) from None

    def _grpc_channel(self, address: str) -> Any:
        import grpc.aio

        channel = grpc.aio.insecure_channel(address)
        self._channels.append(channel)
        return channel

    async def aclose(self) -> None:
        """Close the gRPC channels this connection opened; the HTTP client belongs to the caller."""
        channels, self._channels = self._channels, []
        for channel in channels:
            await channel.close()

    def _context(self, headers: Mapping[str, str], *, idempotent: bool = False) -> ClientCallContext:
        parameters = dict(headers)
        if idempotent:
            # Every attempt sends the same message id: a server that took it answers with its task.
            named = {e.strip() for e in parameters.get(EXTENSIONS_HEADER, "").split(",") if e.strip()}
            parameters[EXTENSIONS_HEADER] = ", ".join(sorted(named | {IDEMPOTENT_SEND_EXTENSION}))
        return ClientCallContext(service_parameters=parameters)

    async def send(self, message: Outgoing, *, headers: Mapping[str, str]) -> RemoteResult:
        sent = build_message(message)
        try:
            async for event in self._blocking.send_message(
                SendMessageRequest(message=sent), context=self._context(headers, idempotent=True)
            ):
                if event.HasField("task"):
                    return result_from_task(event.task, agent=self.agent, url=self.url)
                if event.HasField("message"):
                    return result_from_message(event.message, agent=self.agent, url=self.url)
        except (asyncio.CancelledError, Exception) as exc:
            if (error := await self._failure(exc, sent, None, headers)) is None:
                raise
            raise error from exc
        raise RemoteUnavailable(f"{self.agent} at {self.url} sent no result", agent=self.agent, url=self.url)

    async def stream(self, message: Outgoing, *, headers: Mapping[str, str]) -> AsyncIterator[RemoteEvent]:
        sent = build_message(message)
        state = StreamFold(self.agent, self.url)
        try:
            async for event in self._streaming.send_message(
                SendMessageRequest(message=sent), context=self._context(headers, idempotent=True)
            ):
                for item in state.fold(event):
                    yield item
                    if isinstance(item, RemoteResult):
                        return
        except (asyncio.CancelledError, Exception) as exc:
            if (error := await self._failure(exc, sent, state.task.id or None, headers)) is None:
                raise
            raise error from exc
        if state.task.id:
            yield result_from_task(state.task, agent=self.agent, url=self.url)
            return
        raise RemoteUnavailable(
            f"the stream from {self.agent} at {self.url} ended early", agent=self.agent, url=self.url
        )

    async def _failure(
        self, exc: BaseException, sent: Message, task_id: str | None, headers: Mapping[str, str]
    ) -> RemoteAgentError | None:
        """The core error to raise for ``exc``, or None to raise ``exc`` itself.

        A cancel and a bug are raised as themselves: never retried, never renamed. A caller
        who gave up (cancelled, timed out) cancels the remote task first.
        """
        error = None if isinstance(exc, asyncio.CancelledError) else translate(exc, agent=self.agent, url=self.url)
        if isinstance(exc, asyncio.CancelledError) or isinstance(error, RemoteTimeout):
            await self._abandon(sent, task_id, headers)
        return error

    async def _abandon(self, sent: Message, task_id: str | None, headers: Mapping[str, str]) -> None:
        """Cancel the task ``sent`` started or answered, if it still runs. Never raises: the caller is leaving."""
        context = self._context(headers)
        try:
            async with asyncio.timeout(ABANDON_TIMEOUT):
                task_id = task_id or sent.task_id or await self._task_of(sent, context)
                if task_id is None:
                    logger.info("%s at %s: no task to cancel for the abandoned message", self.agent, self.url)
                    return
                task = await self._blocking.get_task(GetTaskRequest(id=task_id, history_length=0), context=context)
                if task.status.state in TERMINAL_STATES:
                    return
                await self._blocking.cancel_task(CancelTaskRequest(id=task_id), context=context)
                logger.info("%s at %s: cancelled task %s, which its caller gave up on", self.agent, self.url, task_id)
        except Exception as exc:  # a v0.3 remote has no ListTasks; a dead one answers nothing
            logger.warning("%s at %s: could not cancel the abandoned task (%s)", self.agent, self.url, exc)

    async def _task_of(self, sent: Message, context: ClientCallContext) -> str | None:
        """The id of the task the message started, found in its conversation by the message's id."""
        listed = await self._blocking.list_tasks(ListTasksRequest(context_id=sent.context_id), context=context)
        for task in listed.tasks:
            if any(item.message_id == sent.message_id for item in task.history):
                return str(task.id)
        return None

    async def get_task(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult:
        return await self._task_call(
            self._blocking.get_task(GetTaskRequest(id=task_id), context=self._context(headers))
        )

    async def cancel(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult:
        return await self._task_call(
            self._blocking.cancel_task(CancelTaskRequest(id=task_id), context=self._context(headers))
        )

    async def list_tasks(self, query: TaskQuery, *, headers: Mapping[str, str]) -> TaskPage:
        request = ListTasksRequest(
            context_id=query.context_id or "", page_size=query.page_size, page_token=query.page_token
        )
        if query.state is not None:
            request.status = state_value(query.state)  # type: ignore[assignment]  # the enum is an int at runtime
        try:
            listed = await self._blocking.list_tasks(request, context=self._context(headers))
        except Exception as exc:
            if (error := translate(exc, agent=self.agent, url=self.url)) is None:
                raise
            raise error from exc
        return TaskPage(
            tasks=tuple(result_from_task(task, agent=self.agent, url=self.url) for task in listed.tasks),
            next_page_token=listed.next_page_token,
            total=listed.total_size,
        )

    async def _task_call(self, call: Awaitable[Task]) -> RemoteResult:
        """Await a call that answers with a task, its errors in the core's tree."""
        try:
            task = await call
        except Exception as exc:
            if (error := translate(exc, agent=self.agent, url=self.url)) is None:
                raise  # a bug, not a remote's failure: never retried, never renamed
            raise error from exc
        return result_from_task(task, agent=self.agent, url=self.url)
