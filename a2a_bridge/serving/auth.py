"""Bearer secrets, one per calling agent.

The tutorial's advice: a distinct secret for every orchestrator-worker pair,
not one global secret. Each secret has a name (the caller's), which becomes the
task owner, so one caller never sees another caller's tasks.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    SimpleUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.serving.mount_path import route_path

__all__ = ["BearerSecrets", "auth_error_response", "check_secrets"]

MIN_SECRET_LENGTH = 8


def check_secrets(secrets: Mapping[str, str] | None) -> dict[str, bytes]:
    """Validate ``{caller_name: secret}`` and return it ready for comparison."""
    if not secrets:
        return {}
    if not isinstance(secrets, Mapping):
        raise ConfigurationError("secrets must be a mapping of caller name to secret, e.g. {'orchestrator': '...'}")
    checked: dict[str, bytes] = {}
    for name, secret in secrets.items():
        if not isinstance(name, str) or not name:
            raise ConfigurationError("every secret needs a non-empty caller name")
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"the secret for {name!r} must be a string of at least {MIN_SECRET_LENGTH} characters"
            )
        checked[name] = secret.encode("utf-8")
    if len(set(checked.values())) != len(checked):
        raise ConfigurationError("two callers share one secret; give each caller its own")
    return checked


class BearerSecrets(AuthenticationBackend):
    """Authenticates ``Authorization: Bearer <secret>`` against named secrets.

    Paths in ``public_paths`` (the card, health) are open to everyone.
    """

    def __init__(self, secrets: Mapping[str, bytes], *, public_paths: frozenset[str]) -> None:
        self._secrets = dict(secrets)
        self._public_paths = public_paths

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        # From the scope: building ``conn.url`` costs more than the rest of this check.
        if route_path(conn.scope) in self._public_paths:
            return None
        caller = self.caller_of(conn.headers.get("authorization"))
        return AuthCredentials(["authenticated"]), SimpleUser(caller)

    def caller_of(self, header: str | None) -> str:
        """The name of the caller an ``Authorization`` value authenticates, on any binding.

        Raises:
            AuthenticationError: the value is missing, malformed or not a known secret; the message says which.
        """
        if not header:
            raise AuthenticationError("missing Authorization header: send 'Authorization: Bearer <secret>'")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("the Authorization header must be 'Bearer <secret>'")
        presented = token.strip().encode("utf-8")
        caller: str | None = None
        # Compare against every secret, so timing does not reveal which one nearly matched.
        for name, secret in self._secrets.items():
            if hmac.compare_digest(presented, secret) and caller is None:
                caller = name
        if caller is None:
            raise AuthenticationError("the bearer secret is not valid for this agent")
        return caller


def auth_error_response(conn: HTTPConnection, exc: Exception) -> Response:
    return JSONResponse(
        {"error": {"code": 401, "status": "UNAUTHENTICATED", "message": str(exc)}},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="a2a-bridge"'},
    )
