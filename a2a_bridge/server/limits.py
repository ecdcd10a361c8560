"""A request body size limit, answered with 413 before any parsing."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from a2a_bridge.errors import ConfigurationError

__all__ = [
    "BODY_KEY",
    "DEFAULT_KEEP_TASKS",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "BodySizeLimit",
    "check_store_limits",
]

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
BODY_KEY = "a2a_bridge.body"
# Finished tasks a task store keeps fetchable (a2a_bridge/server/stores/).
DEFAULT_KEEP_TASKS = 10_000
# Seconds a running task stays claimed by its server without renewal (renewed every third of it).
DEFAULT_LEASE_SECONDS = 15.0


def check_store_limits(keep_tasks: object, lease_seconds: object) -> tuple[int, float]:
    """``keep_tasks`` and ``lease_seconds``, checked; a server and a worker take the same two."""
    if isinstance(keep_tasks, bool) or not isinstance(keep_tasks, int) or keep_tasks < 1:
        raise ConfigurationError(f"keep_tasks must be a whole number of at least 1, got {keep_tasks!r}")
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, (int, float)) or lease_seconds < 1:
        raise ConfigurationError(f"lease_seconds must be a number of at least 1, got {lease_seconds!r}")
    return keep_tasks, float(lease_seconds)


class BodySizeLimit:
    """Rejects bodies over ``max_bytes`` with 413, by header or by counting.

    The body is read up front (A2A requests are single JSON documents) and
    replayed to the app, so chunked uploads are limited too.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope[BODY_KEY] = body  # read once: a later check (skill scopes) looks at it without reading again
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        payload = json.dumps(
            {
                "error": {
                    "code": 413,
                    "status": "PAYLOAD_TOO_LARGE",
                    "message": f"request body is larger than the limit of {self.max_bytes} bytes",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
