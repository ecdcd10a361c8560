"""Per-skill scopes: a request that names a skill (``metadata.skill``) needs that skill's scopes too.

A send request names a skill in its message's metadata or in its own. The
runner sees the request's merged over the message's (``Turn.metadata``), but
the check asks for the scopes of both: it then holds whatever that order, and
the message, with its metadata, stays in the task's history for later turns.

The body is read as the bindings read it: ``json.loads``, or the faster
``read_json`` the server passes in, which JSON-RPC uses and which accepts all
the HTTP+JSON binding's protobuf parse does. On HTTP+JSON the message is the
body's ``message`` field, or ``request``, v0.3's protobuf name for it. A body
that cannot be read is refused with 400 rather than passed on unchecked.

Only the routes that start a turn are read: JSON-RPC's ``/`` (its send methods,
v1.0 and v0.3) and HTTP+JSON's ``message:send`` and ``message:stream``, with or
without a tenant, and v0.3's ``/v1/``. ``/tasks/send`` names no skill: the
server writes its message's metadata. The check runs after the body is read
(:class:`~a2a_bridge.server.limits.BodySizeLimit` keeps it in the scope) and
only for callers that sent an access token lacking some skill's scope: a named
secret is trusted with every skill, as the card says by listing it as an
alternative. gRPC has no such check, so ``to_a2a`` refuses skill scopes with a
gRPC port.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from a2a_bridge.server.auth.bearer import AuthRefused, TokenCredentials, auth_error_response
from a2a_bridge.server.auth.tokens import insufficient_scope
from a2a_bridge.server.bindings.mount_path import route_path
from a2a_bridge.server.limits import BODY_KEY

__all__ = ["REST_MESSAGE_FIELDS", "REST_SEND_ROUTES", "SEND_METHODS", "SKILL_KEY", "SkillScopes", "named_skills"]

logger = logging.getLogger("a2a_bridge.requests")

SKILL_KEY = "skill"
JSONRPC_PATH = "/"
# The JSON-RPC methods that start a turn, v1.0 and v0.3 (tests/test_skill_scopes.py checks them against the SDK).
SEND_METHODS = frozenset({"SendMessage", "SendStreamingMessage", "message/send", "message/stream"})
# Matched on the last segment, so every prefix of a route (a tenant, v0.3's /v1, a public path) is covered.
REST_SEND_ROUTES = frozenset({"message:send", "message:stream"})
# Protobuf's JSON parse takes a field by its name or its JSON name.
REST_MESSAGE_FIELDS = ("message", "request")
JSONRPC_MESSAGE_FIELDS = ("message",)


def named_skills(payload: Any, *, rest: bool) -> set[str]:
    """Every skill a send request names, in its message's metadata or its own.

    Args:
        payload: The parsed body: an HTTP+JSON send request (``rest``), or a JSON-RPC call or batch.
        rest: Whether the body came to an HTTP+JSON route.
    """
    if rest:
        return _request_skills(payload, REST_MESSAGE_FIELDS)
    skills: set[str] = set()
    # The SDK refuses batches today; reading them costs nothing and holds if it ever serves them.
    for call in payload if isinstance(payload, list) else [payload]:
        method = call.get("method") if isinstance(call, Mapping) else None
        if isinstance(method, str) and method in SEND_METHODS:
            skills |= _request_skills(call.get("params"), JSONRPC_MESSAGE_FIELDS)
    return skills


def _request_skills(request: Any, message_fields: Iterable[str]) -> set[str]:
    if not isinstance(request, Mapping):
        return set()
    holders = [request, *(request.get(name) for name in message_fields)]
    return {skill for holder in holders if (skill := _skill(holder)) is not None}


def _skill(holder: Any) -> str | None:
    metadata = holder.get("metadata") if isinstance(holder, Mapping) else None
    skill = metadata.get(SKILL_KEY) if isinstance(metadata, Mapping) else None
    return skill if isinstance(skill, str) else None


def _send_route(scope: Scope) -> bool | None:
    """Whether a request may start a turn, on HTTP+JSON (True) or JSON-RPC (False); None when it cannot."""
    if scope["method"] != "POST":
        return None
    path = route_path(scope)
    if path == JSONRPC_PATH:
        return False
    return True if path.rsplit("/", 1)[-1] in REST_SEND_ROUTES else None


def unreadable_body(conn: HTTPConnection, exc: Exception) -> Response:
    """The 400 for a body the check cannot read, naming the body and why."""
    why = "the JSON is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
    message = f"request body is not valid JSON: {why}"
    logger.warning("caller error (%s %s): 400 %s", conn.scope.get("method"), route_path(conn.scope), message)
    violation = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": "body", "description": message}],
    }
    error = {"code": 400, "status": "INVALID_ARGUMENT", "message": message, "details": [violation]}
    return JSONResponse({"error": error}, status_code=400)


class SkillScopes:
    """Answers 403 when a token caller's request names a skill whose scopes the token does not grant.

    Args:
        app: The app behind the check.
        skill_scopes: The scopes each skill id needs beyond the agent's own.
        read_json: Parses a body as ``json.loads`` does; the server passes the faster one its bindings use.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        skill_scopes: Mapping[str, tuple[str, ...]],
        read_json: Callable[[bytes], Any] = json.loads,
    ) -> None:
        self.app = app
        self.skill_scopes = skill_scopes
        self.read_json = read_json
        self._every_scope = frozenset(scope for scopes in skill_scopes.values() for scope in scopes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        credentials = scope.get("auth")
        # A token holding every skill's scopes lacks none: its body need not be read.
        if isinstance(credentials, TokenCredentials) and not self._every_scope <= credentials.granted:
            rest = _send_route(scope)
            if rest is not None:
                refused = self._refusal(HTTPConnection(scope), credentials, rest=rest)
                if refused is not None:
                    await refused(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _refusal(self, conn: HTTPConnection, credentials: TokenCredentials, *, rest: bool) -> Response | None:
        try:
            payload = self.read_json(conn.scope.get(BODY_KEY, b""))
        except (ValueError, RecursionError) as exc:  # RecursionError: json.loads on a deeply nested body
            return unreadable_body(conn, exc)
        granted = credentials.granted
        for skill in sorted(named_skills(payload, rest=rest)):
            missing = set(self.skill_scopes.get(skill, ())) - granted
            if missing:
                return auth_error_response(conn, AuthRefused.of(insufficient_scope(missing, skill=skill)))
        return None
