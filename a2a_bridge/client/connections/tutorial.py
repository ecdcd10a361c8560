"""Calling a server that offers only the tutorial's ``POST /tasks/send``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.client.connections.base import Outgoing, TaskQuery
from a2a_bridge.client.connections.http_errors import error_for_status, error_for_transport
from a2a_bridge.client.results import RemoteEvent, RemoteResult, TaskPage, usage_from
from a2a_bridge.errors import FieldError, RemoteAgentError, RemoteInputError, UnsupportedOperation
from a2a_bridge.runner import TextDelta
from a2a_bridge.task_states import from_tutorial

__all__ = ["TutorialConnection"]

# A 400 from /tasks/send names the fields at fault; other statuses mean what they mean anywhere.
_FIELD_ERROR_STATUSES = (400, 422)


class TutorialConnection:
    """Sends ``{task_id, input, context}`` and reads ``{task_id, status, output}``."""

    def __init__(self, card: AgentCardView, *, http: httpx.AsyncClient, url: str) -> None:
        self.card = card
        self.agent = card.name
        self.url = url
        self.http = http
        self._text_field = card.text_field

    def _input(self, text: str | None, data: Mapping[str, Any] | None) -> dict[str, Any]:
        if data is not None:
            return dict(data)
        # The tutorial's own workers take {"query": ...}.
        return {self._text_field or "query": text or ""}

    async def send(self, message: Outgoing, *, headers: Mapping[str, str]) -> RemoteResult:
        """POST one task; the shape has no way to answer a task, so ``message.task_id`` is not sent."""
        client_task_id = f"task-{uuid.uuid4().hex[:12]}"
        context_id = message.context_id
        context: dict[str, Any] = {"context_id": context_id} if context_id else {}
        body = {"task_id": client_task_id, "input": self._input(message.text, message.data), "context": context}
        where = f"{self.agent} at {self.url}"
        try:
            response = await self.http.post(f"{self.url}/tasks/send", json=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            lost = error_for_transport(exc, agent=self.agent, url=self.url)
            if lost is None:
                raise
            raise lost from None
        status = response.status_code
        refused = error_for_status(status, agent=self.agent, url=self.url)
        if refused is not None and status not in _FIELD_ERROR_STATUSES:
            raise refused
        try:
            payload = response.json()
        except ValueError:
            # Asking again would get the same answer: not a failure to retry.
            raise RemoteAgentError(
                f"{where} answered with something that is not JSON", agent=self.agent, url=self.url
            ) from None
        if refused is not None:
            detail = payload.get("detail") if isinstance(payload, dict) else None
            errors = [
                FieldError(str(e.get("field", "")), str(e.get("message", "")))
                for e in (payload.get("errors") or [] if isinstance(payload, dict) else [])
                if isinstance(e, dict)
            ]
            reason = detail if isinstance(detail, str) else f"HTTP {status}"
            raise RemoteInputError(
                f"{where} rejected the input: {reason}", errors=errors, agent=self.agent, url=self.url
            )
        if not isinstance(payload, dict):
            raise RemoteAgentError(f"{where} answered with an unexpected shape", agent=self.agent, url=self.url)
        output = payload.get("output") if isinstance(payload.get("output"), dict) else None
        text_out = payload.get("text") or (output or {}).get("summary") or (output or {}).get("text") or ""
        return RemoteResult(
            state=from_tutorial(payload.get("status")),
            text=str(text_out),
            data=output,
            message=str(payload.get("error") or payload.get("question") or ""),
            usage=usage_from(payload.get("usage")),
            task_id=str(payload.get("a2a_task_id") or payload.get("task_id") or client_task_id),
            context_id=str(payload.get("context_id") or context_id or ""),
            agent=self.agent,
            url=self.url,
        )

    async def stream(self, message: Outgoing, *, headers: Mapping[str, str]) -> AsyncIterator[RemoteEvent]:
        """The tutorial shape does not stream: one delta with the whole text, then the result."""
        result = await self.send(message, headers=headers)
        if result.text:
            yield TextDelta(result.text)
        yield result

    async def get_task(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult:
        raise self._unsupported("GetTask")

    async def cancel(self, task_id: str, *, headers: Mapping[str, str]) -> RemoteResult:
        raise self._unsupported("CancelTask")

    async def list_tasks(self, query: TaskQuery, *, headers: Mapping[str, str]) -> TaskPage:
        raise self._unsupported("ListTasks")

    def _unsupported(self, what: str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"{self.agent} offers only the tutorial's /tasks/send, which has no {what}", agent=self.agent, url=self.url
        )

    async def aclose(self) -> None:
        """Nothing of its own to close: the HTTP client belongs to the caller."""
