"""Calling a server that offers only the tutorial's ``POST /tasks/send``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from a2a_bridge.cards import AgentCardView
from a2a_bridge.errors import (
    FieldError,
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteTimeout,
    RemoteUnavailable,
    UnsupportedOperation,
)
from a2a_bridge.results import RemoteResult, TaskState, usage_from
from a2a_bridge.runner import TextDelta
from a2a_bridge.schema import InputSchema

__all__ = ["TutorialConnection"]

_STATES: dict[str, TaskState] = {
    "completed": "completed",
    "failed": "failed",
    "in_progress": "working",
    "input_required": "input_required",
    "canceled": "canceled",
    "rejected": "rejected",
    "submitted": "submitted",
}


class TutorialConnection:
    """Sends ``{task_id, input, context}`` and reads ``{task_id, status, output}``."""

    def __init__(self, card: AgentCardView, *, http: httpx.AsyncClient, url: str) -> None:
        self.card = card
        self.agent = card.name
        self.url = url
        self.http = http
        self._schema = InputSchema(card.input_schema) if card.input_schema else None

    def _input(self, text: str | None, data: Mapping[str, Any] | None) -> dict[str, Any]:
        if data is not None:
            return dict(data)
        mapped = self._schema.from_text(text or "") if self._schema else None
        return mapped if mapped is not None else {"query": text or ""}

    async def send(
        self,
        text: str | None,
        data: Mapping[str, Any] | None,
        *,
        context_id: str | None,
        headers: Mapping[str, str],
        task_id: str | None = None,
    ) -> RemoteResult:
        client_task_id = task_id or f"task-{uuid.uuid4().hex[:12]}"
        context: dict[str, Any] = {"context_id": context_id} if context_id else {}
        body = {"task_id": client_task_id, "input": self._input(text, data), "context": context}
        where = f"{self.agent} at {self.url}"
        try:
            response = await self.http.post(f"{self.url}/tasks/send", json=body, headers=dict(headers))
        except httpx.TimeoutException:
            raise RemoteTimeout(f"{where} did not answer in time", agent=self.agent, url=self.url) from None
        except httpx.TransportError as exc:
            raise RemoteUnavailable(
                f"cannot reach {where}: {type(exc).__name__}", agent=self.agent, url=self.url
            ) from None
        if response.status_code in (401, 403):
            raise RemoteAuthError(
                f"{where} refused the credentials (HTTP {response.status_code})", agent=self.agent, url=self.url
            )
        if response.status_code >= 500:
            raise RemoteUnavailable(f"{where} failed with HTTP {response.status_code}", agent=self.agent, url=self.url)
        try:
            payload = response.json()
        except ValueError:
            raise RemoteUnavailable(
                f"{where} answered with something that is not JSON", agent=self.agent, url=self.url
            ) from None
        if response.status_code >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else None
            errors = [
                FieldError(str(e.get("field", "")), str(e.get("message", "")))
                for e in (payload.get("errors") or [] if isinstance(payload, dict) else [])
                if isinstance(e, dict)
            ]
            message = detail if isinstance(detail, str) else f"HTTP {response.status_code}"
            raise RemoteInputError(
                f"{where} rejected the input: {message}", errors=errors, agent=self.agent, url=self.url
            )
        if not isinstance(payload, dict):
            raise RemoteAgentError(f"{where} answered with an unexpected shape", agent=self.agent, url=self.url)
        output = payload.get("output") if isinstance(payload.get("output"), dict) else None
        text_out = payload.get("text") or (output or {}).get("summary") or (output or {}).get("text") or ""
        return RemoteResult(
            state=_STATES.get(str(payload.get("status")), "unknown"),
            text=str(text_out),
            data=output,
            message=str(payload.get("error") or payload.get("question") or ""),
            usage=usage_from(payload.get("usage")),
            task_id=str(payload.get("a2a_task_id") or payload.get("task_id") or client_task_id),
            context_id=str(payload.get("context_id") or context_id or ""),
            agent=self.agent,
            url=self.url,
        )

    async def stream(
        self,
        text: str | None,
        data: Mapping[str, Any] | None,
        *,
        context_id: str | None,
        headers: Mapping[str, str],
    ) -> AsyncIterator[TextDelta | RemoteResult]:
        """The tutorial shape does not stream: one delta with the whole text, then the result."""
        result = await self.send(text, data, context_id=context_id, headers=headers)
        if result.text:
            yield TextDelta(result.text)
        yield result

    def unsupported(self, what: str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"{self.agent} offers only the tutorial's /tasks/send, which has no {what}", agent=self.agent, url=self.url
        )
