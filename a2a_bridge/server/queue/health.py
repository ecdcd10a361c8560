"""A worker's ``GET /healthz`` and ``GET /metrics``: a worker serves no A2A, so it has no app to ask.

``/healthz`` is for Kubernetes probes. It answers on the worker's own event
loop, so a loop that hangs fails the probe; and 503 while the worker cannot
read its queue, so the probe tells a worker cut off from Redis from one at
work. ``/metrics`` is the worker's Prometheus series (turns, tokens, errors),
on this port of its own as Prometheus scrapes pods.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["HealthEndpoint"]

_MAX_REQUEST = 8192
_READ_TIMEOUT = 5.0


class HealthEndpoint:
    """``GET /healthz`` on ``host:port``: 200 while ``healthy()`` is true, else 503; and ``GET /metrics``."""

    def __init__(
        self,
        healthy: Callable[[], bool],
        *,
        registry: CollectorRegistry | None = None,
        host: str = "0.0.0.0",
        port: int = 8081,
    ) -> None:
        self.healthy = healthy
        self.registry = registry
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        method, _, rest = head[:_MAX_REQUEST].decode("latin-1").partition(" ")
        path = rest.partition(" ")[0]
        content_type = "text/plain"
        if method in ("GET", "HEAD") and path == "/metrics" and self.registry is not None:
            status, body, content_type = "200 OK", generate_latest(self.registry), CONTENT_TYPE_LATEST
        elif method not in ("GET", "HEAD") or path != "/healthz":
            status, body = "404 Not Found", b"not found: this worker answers GET /healthz and GET /metrics only\n"
        elif self.healthy():
            status, body = "200 OK", b"ok\n"
        else:
            status, body = "503 Service Unavailable", b"cannot read the work queue\n"
        head_only = method == "HEAD"
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n".encode("latin-1")
            + (b"" if head_only else body)
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
