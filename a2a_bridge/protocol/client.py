"""Talking to one remote replica through the official a2a-sdk client.

The SDK picks JSON-RPC or HTTP+JSON, and v1.0 or its v0.3 compat transport,
from the card. This module turns the SDK's tasks and stream events into the
core's results and events, and its exceptions into the core's error tree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from a2a.client import A2AClientError, A2AClientTimeoutError, Client, ClientCallContext, ClientConfig, ClientFactory
from a2a.client.card_resolver import parse_agent_card
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.tasks.task_manager import append_artifact_to_task
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    InvalidParamsError,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskState,
    UnsupportedOperationError,
)
from a2a.utils.errors import A2AError
from a2a.utils.proto_utils import validate_proto_required_fields
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict

from a2a_bridge.errors import (
    CardError,
    FieldError,
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteTimeout,
    RemoteUnavailable,
    TaskNotFound,
    UnsupportedOperation,
)
from a2a_bridge.protocol.messages import plain_json, struct_json
from a2a_bridge.results import RemoteArtifact, RemoteResult, usage_from
from a2a_bridge.results import TaskState as StateName
from a2a_bridge.runner import Artifact, FilePart, Progress, TextDelta

__all__ = ["A2AConnection", "RemoteEvent", "build_message", "card_problems", "card_to_dict", "translate"]

RemoteEvent = Progress | TextDelta | Artifact | RemoteResult

_STATES: dict[int, StateName] = {
    TaskState.TASK_STATE_SUBMITTED: "submitted",
    TaskState.TASK_STATE_WORKING: "working",
    TaskState.TASK_STATE_INPUT_REQUIRED: "input_required",
    TaskState.TASK_STATE_AUTH_REQUIRED: "auth_required",
    TaskState.TASK_STATE_COMPLETED: "completed",
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_CANCELED: "canceled",
    TaskState.TASK_STATE_REJECTED: "rejected",
}
_ENDS_TURN = {"input_required", "auth_required", "completed", "failed", "canceled", "rejected"}
RESPONSE_ARTIFACT = "response"
OUTPUT_ARTIFACT = "output"


def card_to_dict(card: AgentCard) -> dict[str, Any]:
    """An a2a-sdk card as JSON, with the v0.3 fields old clients read."""
    result: dict[str, Any] = plain_json(agent_card_to_dict(card))
    return result


def card_problems(raw: Mapping[str, Any]) -> list[str]:
    """What keeps a card from being a valid A2A card, as 'field: problem' lines."""
    try:
        card = parse_agent_card(json.loads(json.dumps(dict(raw))))
    except Exception as exc:
        return [f"card: {exc}"]
    try:
        validate_proto_required_fields(card)
    except InvalidParamsError as exc:
        errors = exc.data.get("errors", []) if isinstance(exc.data, dict) else []
        return [f"{e['field']}: {e['message']}" for e in errors]
    return []


def _text(parts: Any) -> str:
    return "".join(part.text for part in parts if part.HasField("text"))


def _data(parts: Any) -> dict[str, Any] | None:
    for part in parts:
        if part.HasField("data"):
            value = struct_json(part.data)
            return value if isinstance(value, dict) else {"value": value}
    return None


def _files(parts: Any) -> tuple[FilePart, ...]:
    files = []
    for part in parts:
        if part.HasField("raw"):
            files.append(FilePart(name=part.filename or None, media_type=part.media_type or None, content=part.raw))
        elif part.HasField("url"):
            files.append(FilePart(name=part.filename or None, media_type=part.media_type or None, url=part.url))
    return tuple(files)


def result_from_task(task: Task, *, agent: str, url: str) -> RemoteResult:
    artifacts = tuple(
        RemoteArtifact(name=a.name, text=_text(a.parts), data=_data(a.parts), files=_files(a.parts))
        for a in task.artifacts
    )
    responses = [a.text for a in artifacts if a.name == RESPONSE_ARTIFACT]
    text = "".join(responses) if responses else "".join(a.text for a in artifacts if a.name != OUTPUT_ARTIFACT)
    outputs = [a.data for a in artifacts if a.name == OUTPUT_ARTIFACT and a.data is not None]
    data = outputs[0] if outputs else next((a.data for a in artifacts if a.data is not None), None)
    message = _text(task.status.message.parts)
    state = _STATES.get(task.status.state, "unknown")
    if not text and state == "completed":
        text = message
    metadata = struct_json(task.metadata) if task.metadata else {}
    return RemoteResult(
        state=state,
        text=text,
        data=data,
        message=message,
        artifacts=artifacts,
        usage=usage_from(metadata.get("usage")),
        task_id=task.id,
        context_id=task.context_id,
        agent=agent,
        url=url,
    )


def result_from_message(message: Message, *, agent: str, url: str) -> RemoteResult:
    return RemoteResult(
        state="completed",
        text=_text(message.parts),
        data=_data(message.parts),
        task_id=message.task_id,
        context_id=message.context_id,
        agent=agent,
        url=url,
    )


def _field_errors(error: A2AError) -> list[FieldError]:
    data = error.data
    if isinstance(data, list):  # JSON-RPC: google.rpc details
        for detail in data:
            if isinstance(detail, dict) and "fieldViolations" in detail:
                return [FieldError(v.get("field", ""), v.get("description", "")) for v in detail["fieldViolations"]]
            if isinstance(detail, dict) and isinstance(detail.get("metadata"), dict):
                data = detail["metadata"]
    if isinstance(data, dict):
        return [FieldError(str(e.get("field", "")), str(e.get("message", ""))) for e in data.get("errors", [])]
    return []


def translate(exc: BaseException, *, agent: str, url: str) -> RemoteAgentError:
    """The core error for an SDK or transport exception."""
    if isinstance(exc, RemoteAgentError):
        return exc
    cause = exc.__cause__ if isinstance(exc, A2AClientError) and exc.__cause__ else exc
    where = f"{agent} at {url}" if agent else url
    if isinstance(exc, A2AClientTimeoutError) or isinstance(cause, (httpx.TimeoutException, TimeoutError)):
        return RemoteTimeout(f"{where} did not answer in time", agent=agent, url=url)
    if isinstance(cause, httpx.HTTPStatusError):
        status = cause.response.status_code
        if status in (401, 403):
            return RemoteAuthError(f"{where} refused the credentials (HTTP {status})", agent=agent, url=url)
        if status == 404:
            return TaskNotFound(f"{where} answered 404: no such task or route", agent=agent, url=url)
        if status == 413:
            return RemoteInputError(f"{where} says the request is too large (HTTP 413)", agent=agent, url=url)
        if status >= 500:
            return RemoteUnavailable(f"{where} failed with HTTP {status}", agent=agent, url=url)
        return RemoteInputError(f"{where} rejected the request with HTTP {status}", agent=agent, url=url)
    if isinstance(cause, httpx.TransportError):
        return RemoteUnavailable(f"cannot reach {where}: {type(cause).__name__}", agent=agent, url=url)
    if isinstance(exc, InvalidParamsError):
        return RemoteInputError(
            f"{where} rejected the input: {exc.message}", errors=_field_errors(exc), agent=agent, url=url
        )
    if isinstance(exc, TaskNotFoundError):
        return TaskNotFound(f"{where} does not know this task", agent=agent, url=url)
    if isinstance(exc, (UnsupportedOperationError, TaskNotCancelableError)):
        return UnsupportedOperation(f"{where}: {exc.message}", agent=agent, url=url)
    if isinstance(exc, A2AError):
        return RemoteAgentError(
            f"{where} answered with an error: {exc.message or type(exc).__name__}", agent=agent, url=url
        )
    return RemoteUnavailable(
        f"{where} sent a response that could not be read ({type(exc).__name__})", agent=agent, url=url
    )


def build_message(
    text: str | None, data: Mapping[str, Any] | None, *, context_id: str | None, task_id: str | None, metadata: Any
) -> Message:
    parts = []
    if text:
        parts.append(Part(text=text))
    if data is not None:
        parts.append(Part(data=ParseDict(json.loads(json.dumps(dict(data))), struct_pb2.Value())))
    message = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=parts)
    if context_id:
        message.context_id = context_id
    if task_id:
        message.task_id = task_id
    if metadata:
        message.metadata.update(dict(metadata))
    return message


class _StreamState:
    """Folds stream events into a task and yields the core events they mean."""

    def __init__(self, agent: str, url: str) -> None:
        self.agent = agent
        self.url = url
        self.task = Task()
        self.sent_text: dict[str, str] = {}

    def fold(self, event: StreamResponse) -> list[RemoteEvent]:
        kind = event.WhichOneof("payload")
        if kind == "task":
            self.task.CopyFrom(event.task)
            return []
        if kind == "message":
            return [result_from_message(event.message, agent=self.agent, url=self.url)]
        if kind == "status_update":
            update = event.status_update
            self.task.id, self.task.context_id = update.task_id, update.context_id
            self.task.status.CopyFrom(update.status)
            if update.metadata:
                self.task.metadata.MergeFrom(update.metadata)
            state = _STATES.get(update.status.state, "unknown")
            if state in _ENDS_TURN:
                return [result_from_task(self.task, agent=self.agent, url=self.url)]
            note = _text(update.status.message.parts)
            progress = struct_json(update.metadata).get("progress") if update.metadata else None
            return [Progress(note, data=progress)] if note else []
        if kind == "artifact_update":
            return self._artifact(event)
        return []

    def _artifact(self, event: StreamResponse) -> list[RemoteEvent]:
        update = event.artifact_update
        artifact_id = update.artifact.artifact_id
        append_artifact_to_task(self.task, update)
        current = next((a for a in self.task.artifacts if a.artifact_id == artifact_id), None)
        if current is None:
            return []
        text = _text(current.parts)
        data = _data(update.artifact.parts)
        name = update.artifact.name
        if name in ("", RESPONSE_ARTIFACT):
            sent = self.sent_text.get(artifact_id, "")
            self.sent_text[artifact_id] = text
            # A replacement repeats what was streamed; only the new tail is news.
            return [TextDelta(text[len(sent) :])] if text.startswith(sent) and len(text) > len(sent) else []
        if name != OUTPUT_ARTIFACT:
            return [Artifact(name=name, data=data, text=_text(update.artifact.parts) or None)]
        return []


class A2AConnection:
    """A client for one replica, described by its card."""

    def __init__(self, card: Mapping[str, Any], *, http: httpx.AsyncClient, agent: str, url: str) -> None:
        self.agent = agent
        self.url = url
        try:
            self.card: AgentCard = parse_agent_card(json.loads(json.dumps(dict(card))))
        except Exception as exc:
            raise CardError(f"the card of {agent} is not a valid A2A card: {exc}", agent=agent, url=url) from None
        bindings = ["JSONRPC", "HTTP+JSON"]
        self._blocking: Client = ClientFactory(
            ClientConfig(streaming=False, httpx_client=http, supported_protocol_bindings=bindings)
        ).create(self.card)
        self._streaming: Client = ClientFactory(
            ClientConfig(streaming=True, httpx_client=http, supported_protocol_bindings=bindings)
        ).create(self.card)

    def _context(self, headers: Mapping[str, str]) -> ClientCallContext:
        return ClientCallContext(service_parameters=dict(headers))

    async def send(self, message: Message, *, headers: Mapping[str, str]) -> RemoteResult:
        try:
            async for event in self._blocking.send_message(
                SendMessageRequest(message=message), context=self._context(headers)
            ):
                if event.HasField("task"):
                    return result_from_task(event.task, agent=self.agent, url=self.url)
                if event.HasField("message"):
                    return result_from_message(event.message, agent=self.agent, url=self.url)
        except Exception as exc:
            raise translate(exc, agent=self.agent, url=self.url) from exc
        raise RemoteUnavailable(f"{self.agent} at {self.url} sent no result", agent=self.agent, url=self.url)

    async def stream(self, message: Message, *, headers: Mapping[str, str]) -> AsyncIterator[RemoteEvent]:
        state = _StreamState(self.agent, self.url)
        try:
            async for event in self._streaming.send_message(
                SendMessageRequest(message=message), context=self._context(headers)
            ):
                for item in state.fold(event):
                    yield item
                    if isinstance(item, RemoteResult):
                        return
        except Exception as exc:
            raise translate(exc, agent=self.agent, url=self.url) from exc
        if state.task.id:
            yield result_from_task(state.task, agent=self.agent, url=self.url)
            return
        raise RemoteUnavailable(
            f"the stream from {self.agent} at {self.url} ended early", agent=self.agent, url=self.url
        )

    async def get_task(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult:
        try:
            task = await self._blocking.get_task(GetTaskRequest(id=task_id), context=self._context(headers))
        except Exception as exc:
            raise translate(exc, agent=self.agent, url=self.url) from exc
        return result_from_task(task, agent=self.agent, url=self.url)

    async def cancel(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult:
        try:
            task = await self._blocking.cancel_task(CancelTaskRequest(id=task_id), context=self._context(headers))
        except Exception as exc:
            raise translate(exc, agent=self.agent, url=self.url) from exc
        return result_from_task(task, agent=self.agent, url=self.url)
