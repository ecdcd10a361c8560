"""A scripted OpenAI-compatible LLM server, for deterministic tests over real HTTP.

It serves ``GET /v1/models`` and ``POST /v1/chat/completions`` (plain and
streamed), answers with scripted replies (text, tool calls or JSON), reports
``usage`` the way vLLM does, and records every request it receives::

    with ScriptedBackend(model="worker") as llm:
        llm.reply("Paris.")                                    # next request
        llm.rule(lambda r: "plan" in r.system, json={"steps": []})  # every match
        chat = ChatOpenAI(base_url=llm.base_url, model="worker", api_key="x")

Without a matching reply it echoes the last user message, so an unscripted
call is still deterministic. Token counts are word counts.

From another process, ``a2a-bridge backend scripted --port 8001`` runs one;
``POST /scripted/replies`` scripts it (entries as in
:mod:`a2a_bridge.testing.reply_script`) and ``GET /scripted/requests`` lists
what it received.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.testing.live_server import LiveServer
from a2a_bridge.testing.reply_script import reply_arguments

__all__ = ["RecordedRequest", "Reply", "ScriptedBackend", "ToolCall"]

_TOKEN = re.compile(r"\s*\S+")


def count_tokens(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer. Exactly one of text, tool_calls, json or error is used."""

    text: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    json: Any = None
    error: tuple[int, str] | None = None
    latency: float | None = None
    token_latency: float | None = None

    def content(self) -> str | None:
        if self.tool_calls:
            return None
        if self.json is not None:
            return json.dumps(self.json)
        return self.text or ""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the backend received."""

    body: dict[str, Any]
    headers: dict[str, str]
    received_at: float

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def _texts(self, role: str) -> list[str]:
        return [_content_text(m.get("content")) for m in self.messages if m.get("role") == role]

    @property
    def system(self) -> str:
        return "\n".join(self._texts("system"))

    @property
    def last_user(self) -> str:
        users = self._texts("user")
        return users[-1] if users else ""

    @property
    def prompt_text(self) -> str:
        return "\n".join(_content_text(m.get("content")) for m in self.messages)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


@dataclass
class _Rule:
    when: Callable[[RecordedRequest], bool] | None
    reply: Reply
    times: int | None  # None: every matching request
    used: int = field(default=0)


class ScriptedBackend:
    """An OpenAI-compatible server with scripted replies, on ``127.0.0.1``.

    Args:
        model: The served model name; requests for another model get 404.
        latency: Seconds before each answer starts, unless a reply sets its own.
        token_latency: Seconds between streamed tokens.
        host, port: Where to listen; port 0 picks a free one.
    """

    def __init__(
        self,
        *,
        model: str = "scripted-model",
        latency: float = 0.0,
        token_latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.model = model
        self.host = host
        self.port = port
        self.latency = latency
        self.token_latency = token_latency
        self.requests: list[RecordedRequest] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._server: LiveServer | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/scripted/replies", self._add_replies, methods=["POST"]),
                Route("/scripted/requests", self._recorded, methods=["GET"]),
            ]
        )

    # --- scripting -------------------------------------------------------------

    def reply(
        self,
        text: str | None = None,
        *,
        tool_calls: Sequence[ToolCall | Mapping[str, Any]] = (),
        json: Any = None,
        error: tuple[int, str] | None = None,
        latency: float | None = None,
        token_latency: float | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
        times: int | None = 1,
    ) -> None:
        """Script the answer to the next request (or the next ``times`` that match ``when``)."""
        calls = tuple(c if isinstance(c, ToolCall) else ToolCall(c["name"], c.get("arguments", {})) for c in tool_calls)
        reply = Reply(text, calls, json, error, latency, token_latency)
        with self._lock:
            self._rules.append(_Rule(when, reply, times))

    def rule(self, when: Callable[[RecordedRequest], bool], text: str | None = None, **kwargs: Any) -> None:
        """Script the answer to every request that matches ``when``."""
        self.reply(text, when=when, times=None, **kwargs)

    def _pick(self, request: RecordedRequest) -> Reply:
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.used >= rule.times:
                    continue
                if rule.when is None or rule.when(request):
                    rule.used += 1
                    return rule.reply
        return Reply(text=f"echo: {request.last_user}")

    # --- serving ---------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the scripted backend is not running; use it as a context manager or call start()")
        return self._server.url

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ending in ``/v1``."""
        return f"{self.url}/v1"

    def start(self) -> ScriptedBackend:
        self._server = LiveServer(self.app, host=self.host, port=self.port).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> ScriptedBackend:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _models(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "a2a-bridge-testing"}],
            }
        )

    async def _add_replies(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not valid JSON")
        entries = body if isinstance(body, list) else [body]
        try:
            replies = [reply_arguments(entry, f"replies[{index}]") for index, entry in enumerate(entries)]
        except ConfigurationError as exc:
            return _error(400, str(exc))
        for arguments in replies:
            self.reply(**arguments)
        return JSONResponse({"added": len(replies)})

    async def _recorded(self, request: Request) -> JSONResponse:
        return JSONResponse(
            [{"received_at": r.received_at, "headers": r.headers, "body": r.body} for r in list(self.requests)]
        )

    async def _chat(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is required and must be a list")
        recorded = RecordedRequest(body, dict(request.headers), time.time())
        self.requests.append(recorded)
        if recorded.model != self.model:
            return _error(404, f"The model `{recorded.model}` does not exist.")
        reply = self._pick(recorded)
        await asyncio.sleep(self.latency if reply.latency is None else reply.latency)
        if reply.error is not None:
            return _error(*reply.error)
        if recorded.stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self._stream(recorded, reply, include_usage), media_type="text/event-stream")
        return JSONResponse(self._completion(recorded, reply))

    def _usage(self, request: RecordedRequest, reply: Reply) -> dict[str, int]:
        prompt = count_tokens(request.prompt_text)
        if reply.tool_calls:
            completion = sum(count_tokens(json.dumps(c.arguments)) + 1 for c in reply.tool_calls)
        else:
            completion = count_tokens(reply.content() or "")
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _tool_calls(self, reply: Reply) -> list[dict[str, Any]]:
        return [
            {
                "id": call.id or f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in reply.tool_calls
        ]

    def _completion(self, request: RecordedRequest, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content()}
        if reply.tool_calls:
            message["tool_calls"] = self._tool_calls(reply)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
            ],
            "usage": self._usage(request, reply),
        }

    async def _stream(self, request: RecordedRequest, reply: Reply, include_usage: bool) -> AsyncIterator[bytes]:
        ident = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        delay = self.token_latency if reply.token_latency is None else reply.token_latency

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""})
        if reply.tool_calls:
            for index, call in enumerate(self._tool_calls(reply)):
                yield chunk({"tool_calls": [{"index": index, **call}]})
            finish = "tool_calls"
        else:
            for token in _TOKEN.findall(reply.content() or ""):
                if delay:
                    await asyncio.sleep(delay)
                yield chunk({"content": token})
            finish = "stop"
        yield chunk({}, finish)
        if include_usage:
            usage = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": self.model,
                "choices": [],
                "usage": self._usage(request, reply),
            }
            yield f"data: {json.dumps(usage)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _error(status: int, message: str) -> JSONResponse:
    kinds = {400: "BadRequestError", 404: "NotFoundError", 429: "RateLimitError"}
    return JSONResponse(
        {"error": {"message": message, "type": kinds.get(status, "InternalServerError"), "code": status}},
        status_code=status,
    )
