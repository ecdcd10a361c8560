"""A webhook receiver for push-notification tests: a real HTTP server on loopback that records what it gets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from a2a_bridge.testing import LiveServer


@dataclass
class Receiver:
    """A webhook receiver that records what it gets and answers with the statuses it is given, then 200."""

    answers: list[int] = field(default_factory=list)
    redirect_to: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    server: LiveServer | None = None

    async def handle(self, request: Request) -> Response:
        self.received.append({"headers": dict(request.headers), "body": await request.json()})
        if self.redirect_to:
            return Response(status_code=307, headers={"Location": self.redirect_to})
        status = self.answers.pop(0) if self.answers else 200
        return JSONResponse({"ok": status == 200}, status_code=status)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + "/webhook"

    def events(self, *, until: str = "TASK_STATE_COMPLETED", timeout: float = 10) -> list[dict[str, Any]]:
        """What arrived, once a status event with the state ``until`` has (or the time is up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            bodies = [item["body"] for item in self.received]
            if f"statusUpdate {until}" in kinds(bodies):
                return bodies
            time.sleep(0.02)
        return [item["body"] for item in self.received]

    @classmethod
    def start(cls) -> Receiver:
        made = cls()
        made.server = LiveServer(Starlette(routes=[Route("/webhook", made.handle, methods=["POST"])])).start()
        return made

    @classmethod
    @contextmanager
    def started(cls) -> Iterator[Receiver]:
        made = cls.start()
        try:
            yield made
        finally:
            assert made.server is not None
            made.server.stop()


def webhook(url: str, **more: Any) -> dict[str, Any]:
    return {
        "url": url,
        "token": "task-token-1",
        "authentication": {"scheme": "Bearer", "credentials": "hook-cred"},
        **more,
    }


def kinds(events: list[dict[str, Any]]) -> list[str]:
    """Each event as its kind and, for a status, its state."""
    return [
        f"statusUpdate {e['statusUpdate']['status']['state']}" if "statusUpdate" in e else next(iter(e)) for e in events
    ]
