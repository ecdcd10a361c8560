"""Bearer secrets, one per calling agent.

The tutorial's advice: a distinct secret for every orchestrator-worker pair,
not one global secret. Each secret has a name (the caller's), which becomes the
task owner, so one caller never sees another caller's tasks.

A caller may have several valid secrets at once, while one replaces another.
Secrets given as ``@FILE`` (one a line) are read again by
:meth:`CallerSecrets.reload`, which a served agent runs on SIGHUP: a rotation
needs no restart, and drops no connection and no task.

Beside secrets, an agent may take OAuth 2.0 access tokens (:mod:`a2a_bridge.server.auth.tokens`):
a token's caller owns its tasks exactly as a secret's name does.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

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
from a2a_bridge.keys.secret_refs import resolve_secrets
from a2a_bridge.server.auth.tokens import TokenCaller, TokenRefused
from a2a_bridge.server.bindings.mount_path import route_path

if TYPE_CHECKING:
    from a2a_bridge.server.auth.tokens import TokenVerifier

__all__ = ["AuthRefused", "BearerAuth", "CallerSecrets", "TokenCredentials", "auth_error_response", "check_secrets"]

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


class AuthRefused(AuthenticationError):
    """A request refused by the auth check: its status (401, 403 or 503) and a reason safe to show."""

    def __init__(self, reason: str, *, status: int = 401, error: str = "", scope: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.scope = scope

    @classmethod
    def of(cls, refused: TokenRefused) -> AuthRefused:
        """A token's refusal, as the auth check answers it."""
        return cls(refused.reason, status=refused.status, error=refused.error, scope=refused.scope)


class TokenCredentials(AuthCredentials):
    """The credentials of a caller that sent an access token: the scopes it grants.

    Starlette's ``scopes`` also hold ``authenticated``, which every caller has;
    ``granted`` holds only what the token grants, for the scope checks.
    """

    def __init__(self, granted: Iterable[str]) -> None:
        self.granted = frozenset(granted)
        super().__init__(["authenticated", *self.granted])


class BearerAuth(AuthenticationBackend):
    """Authenticates ``Authorization: Bearer <value>``: a named secret, or an access token when tokens are on.

    Paths in ``public_paths`` (the card, health) are open to everyone.
    """

    def __init__(
        self, secrets: CallerSecrets, *, tokens: TokenVerifier | None = None, public_paths: frozenset[str]
    ) -> None:
        self._secrets = secrets
        self._tokens = tokens
        self._public_paths = public_paths
        self._wanted = "token" if not secrets else "secret or token" if tokens else "secret"

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        # From the scope: building ``conn.url`` costs more than the rest of this check.
        if route_path(conn.scope) in self._public_paths:
            return None
        presented = _bearer_value(conn.headers.get("authorization"), self._wanted)
        caller = self._secret_caller(presented)
        if caller is not None:
            return AuthCredentials(["authenticated"]), SimpleUser(caller)
        token_caller = await self._token_caller(presented)
        return TokenCredentials(token_caller.scopes), SimpleUser(token_caller.name)

    async def caller_of(self, header: str | None) -> str:
        """The name of the caller an ``Authorization`` value authenticates, on any binding.

        Raises:
            AuthRefused: the value is missing, malformed, not a known secret or not a valid token.
        """
        presented = _bearer_value(header, self._wanted)
        caller = self._secret_caller(presented)
        return caller if caller is not None else (await self._token_caller(presented)).name

    def known_caller(self, header: str | None) -> str:
        """:meth:`caller_of` for a value :meth:`caller_of` accepted moments ago, without waiting on anything."""
        presented = _bearer_value(header, self._wanted)
        caller = self._secret_caller(presented)
        if caller is None and self._tokens is not None:
            known = self._tokens.cached_caller(presented.decode("utf-8", "replace"))
            caller = known.name if known is not None else None
        if caller is None:
            raise AuthRefused("the bearer credential is not valid for this agent")
        return caller

    def _secret_caller(self, presented: bytes) -> str | None:
        caller: str | None = None
        # Compare against every secret, so timing does not reveal which one nearly matched.
        for name, secrets in self._secrets.by_caller.items():
            for secret in secrets:
                if hmac.compare_digest(presented, secret) and caller is None:
                    caller = name
        return caller

    async def _token_caller(self, presented: bytes) -> TokenCaller:
        if self._tokens is None:
            raise AuthRefused("the bearer secret is not valid for this agent")
        if presented.count(b".") != 2:  # a JWT has three parts
            raise AuthRefused(
                "the bearer value is neither a secret of this agent nor an access token"
                if self._secrets
                else "the bearer value is not an access token"
            )
        try:
            return await self._tokens.caller(presented.decode("utf-8", "replace"))
        except TokenRefused as refused:
            raise AuthRefused.of(refused) from None


def _bearer_value(header: str | None, wanted: str) -> bytes:
    if not header:
        raise AuthRefused(f"missing Authorization header: send 'Authorization: Bearer <{wanted}>'")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthRefused(f"the Authorization header must be 'Bearer <{wanted}>'")
    return value.strip().encode("utf-8")


def www_authenticate(refused: AuthRefused) -> str:
    """The ``WWW-Authenticate`` value of RFC 6750 for a refusal."""
    parts = ['Bearer realm="a2a-bridge"']
    if refused.error:
        parts.append(f'error="{refused.error}"')
        parts.append('error_description="{}"'.format(str(refused).replace('"', "'")))
    if refused.scope:
        parts.append(f'scope="{refused.scope}"')
    return ", ".join(parts)


_STATUS_NAMES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 503: "UNAVAILABLE"}


def auth_error_response(conn: HTTPConnection, exc: Exception) -> Response:
    refused = exc if isinstance(exc, AuthRefused) else AuthRefused(str(exc))
    # One line per refusal, with the reason and never the credential, as for any caller's mistake.
    logger.warning("refused %s %s: %s %s", conn.scope.get("method"), route_path(conn.scope), refused.status, refused)
    headers = {"WWW-Authenticate": www_authenticate(refused)} if refused.status != 503 else {"Retry-After": "5"}
    return JSONResponse(
        {"error": {"code": refused.status, "status": _STATUS_NAMES[refused.status], "message": str(refused)}},
        status_code=refused.status,
        headers=headers,
    )
