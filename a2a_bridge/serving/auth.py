"""Bearer secrets, one per calling agent.

The tutorial's advice: a distinct secret for every orchestrator-worker pair,
not one global secret. Each secret has a name (the caller's), which becomes the
task owner, so one caller never sees another caller's tasks.

A caller may have several valid secrets at once, while one replaces another.
Secrets given as ``@FILE`` (one a line) are read again by
:meth:`CallerSecrets.reload`, which a served agent runs on SIGHUP: a rotation
needs no restart, and drops no connection and no task.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence

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
from a2a_bridge.secret_refs import resolve_secrets
from a2a_bridge.serving.mount_path import route_path

__all__ = ["BearerSecrets", "CallerSecrets", "auth_error_response", "check_secrets"]

logger = logging.getLogger("a2a_bridge.auth")

MIN_SECRET_LENGTH = 8


class CallerSecrets:
    """Each caller's valid secrets, and where they come from (a value, ``@FILE`` or ``env:VAR``)."""

    def __init__(self, sources: Mapping[str, Sequence[str]]) -> None:
        self.sources = {name: list(values) for name, values in sources.items()}
        self.by_caller: dict[str, list[bytes]] = self._read()

    def __bool__(self) -> bool:
        return bool(self.sources)

    @property
    def from_files(self) -> bool:
        return any(value.startswith("@") for values in self.sources.values() for value in values)

    def _read(self) -> dict[str, list[bytes]]:
        read: dict[str, list[bytes]] = {}
        for name, values in self.sources.items():
            secrets: list[bytes] = []
            for value in values:
                try:
                    found = resolve_secrets(value)
                except ConfigurationError as exc:
                    raise ConfigurationError(f"the secret for {name!r}: {exc}") from None
                for secret in found:
                    if len(secret) < MIN_SECRET_LENGTH:
                        raise ConfigurationError(
                            f"the secret for {name!r} must be a string of at least {MIN_SECRET_LENGTH} characters"
                        )
                    secrets.append(secret.encode("utf-8"))
            if not secrets:
                raise ConfigurationError(f"the secret for {name!r}: its file holds no secret")
            read[name] = secrets
        owners: dict[bytes, str] = {}
        for name, held in read.items():
            for secret_bytes in held:
                if owners.setdefault(secret_bytes, name) != name:
                    raise ConfigurationError("two callers share one secret; give each caller its own")
        return read

    def reload(self) -> bool:
        """Read the secrets again; on a mistake, keep the ones in use and say why. True when they were replaced."""
        try:
            fresh = self._read()
        except ConfigurationError as exc:
            logger.error("secrets not reloaded, the current ones stay valid: %s", exc)
            return False
        self.by_caller = fresh  # one assignment: a request sees the old set or the new one, never half
        counts = ", ".join(f"{name} ({len(secrets)})" for name, secrets in fresh.items())
        logger.info("secrets reloaded: %s", counts)
        return True


def check_secrets(secrets: Mapping[str, str | Sequence[str]] | None) -> CallerSecrets:
    """Validate ``{caller_name: secret or [secrets]}`` (each a value, ``@FILE`` or ``env:VAR``), read them."""
    if not secrets:
        return CallerSecrets({})
    if not isinstance(secrets, Mapping):
        raise ConfigurationError("secrets must be a mapping of caller name to secret, e.g. {'orchestrator': '...'}")
    sources: dict[str, list[str]] = {}
    for name, given in secrets.items():
        if not isinstance(name, str) or not name:
            raise ConfigurationError("every secret needs a non-empty caller name")
        values = [given] if isinstance(given, str) else list(given) if isinstance(given, Sequence) else [given]
        if not values or not all(isinstance(value, str) for value in values):
            raise ConfigurationError(
                f"the secret for {name!r} must be a string of at least {MIN_SECRET_LENGTH} characters, or a list"
            )
        sources[name] = values
    return CallerSecrets(sources)


class BearerSecrets(AuthenticationBackend):
    """Authenticates ``Authorization: Bearer <secret>`` against named secrets.

    Paths in ``public_paths`` (the card, health) are open to everyone.
    """

    def __init__(self, secrets: CallerSecrets, *, public_paths: frozenset[str]) -> None:
        self._secrets = secrets
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
        for name, secrets in self._secrets.by_caller.items():
            for secret in secrets:
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
