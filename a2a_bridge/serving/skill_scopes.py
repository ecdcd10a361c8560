"""Per-skill scopes: a message naming a skill (``metadata.skill``) needs that skill's scopes too.

The skill is read from the message, so the check runs after the body is read
(:class:`~a2a_bridge.serving.limits.BodySizeLimit` keeps it in the scope) and
only for callers that sent an access token: a named secret is trusted with
every skill, as the card says by listing it as an alternative.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from a2a_bridge.serving.auth import AuthRefused, TokenCredentials, auth_error_response
from a2a_bridge.serving.limits import BODY_KEY
from a2a_bridge.serving.tokens import insufficient_scope

__all__ = ["SKILL_KEY", "SkillScopes", "named_skill"]

SKILL_KEY = "skill"


def named_skill(payload: Any) -> str | None:
    """The skill a JSON-RPC or HTTP+JSON send request names in its message's metadata, if it names one."""
    if not isinstance(payload, Mapping):
        return None
    params = payload.get("params", payload)
    message = params.get("message") if isinstance(params, Mapping) else None
    metadata = message.get("metadata") if isinstance(message, Mapping) else None
    skill = metadata.get(SKILL_KEY) if isinstance(metadata, Mapping) else None
    return skill if isinstance(skill, str) else None


class SkillScopes:
    """Answers 403 when a token caller's message names a skill whose scopes the token does not grant."""

    def __init__(self, app: ASGIApp, *, skill_scopes: Mapping[str, tuple[str, ...]]) -> None:
        self.app = app
        self.skill_scopes = skill_scopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        credentials = scope.get("auth")
        body = scope.get(BODY_KEY)
        if isinstance(credentials, TokenCredentials) and body:
            try:
                skill = named_skill(orjson.loads(body))
            except orjson.JSONDecodeError:
                skill = None  # not JSON: the binding answers that
            missing = set(self.skill_scopes.get(skill or "", ())) - set(credentials.scopes)
            if missing:
                refused = AuthRefused.of(insufficient_scope(missing, skill=skill))
                await auth_error_response(HTTPConnection(scope), refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)
