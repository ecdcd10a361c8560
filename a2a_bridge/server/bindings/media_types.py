"""Which media types a request may come in, and which one its answer goes out as.

JSON-RPC and HTTP+JSON take ``application/json`` (or any ``+json`` type); any
other declared Content-Type is a ContentTypeNotSupportedError, which A2A v1.0
maps to -32005 and to HTTP 415. A request with no Content-Type at all is read
as JSON: the body says what it is.

HTTP+JSON answers carry ``application/a2a+json`` from the SDK, which follows
spec v1.0.1 (§11.1: ``application/a2a+json`` SHOULD be used). Spec v1.0.0
(§11.1) says ``application/json``, and clients written to it send and accept
exactly that. :class:`RestMediaType` answers such a client in the type it
spoke, and every other client in the SDK's.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["JSON", "A2A_JSON", "RestMediaType", "json_content_type_error"]

JSON = "application/json"
A2A_JSON = "application/a2a+json"


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def json_content_type_error(content_type: str | None) -> str | None:
    """What is wrong with a request's Content-Type, or None when it is JSON."""
    if not content_type:
        return None
    media_type = _media_type(content_type)
    if media_type == JSON or (media_type.startswith("application/") and media_type.endswith("+json")):
        return None
    return f"Content-Type {media_type!r} is not supported: A2A requests are sent as {JSON!r}"


def _speaks_plain_json(headers: Headers) -> bool:
    """A client of spec v1.0.0: it sent application/json, or accepts it and not application/a2a+json."""
    if _media_type(headers.get("content-type", "")) == JSON:
        return True
    accepted = {_media_type(item) for item in headers.get("accept", "").split(",")}
    return JSON in accepted and A2A_JSON not in accepted


class RestMediaType:
    """Labels an HTTP+JSON answer ``application/json`` for a client that spoke plain JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _speaks_plain_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return

        async def relabel(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if _media_type(headers.get("content-type", "")) == A2A_JSON:
                    headers["content-type"] = JSON
            await send(message)

        await self.app(scope, receive, relabel)
