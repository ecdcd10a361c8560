"""OAuth 2.0 client credentials: a caller's access tokens, fetched by Authlib and refreshed before they expire.

    credentials = ClientCredentials("orchestrator", "@/run/secrets/orchestrator", scopes=["a2a"])
    agent = RemoteAgent("http://research:8080", credentials=credentials)

Where to ask for tokens comes from ``token_url``, or an ``issuer``'s discovery
document, or else the remote agent's card (its OAuth 2.0 token URL or its
OpenID Connect discovery URL). One ``ClientCredentials`` may serve many remote
agents and many event loops (a LangGraph node's, a crew's): its tokens are kept
per token endpoint and shared. Tokens for another audience (``resource``) need
a ``ClientCredentials`` of their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from a2a_bridge.errors import ConfigurationError, RemoteAuthError
from a2a_bridge.secret_refs import resolve_secret

__all__ = ["ClientCredentials", "token_endpoint_of"]

logger = logging.getLogger("a2a_bridge.remote")

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_REFRESH_MARGIN = 60.0


def token_endpoint_of(card: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The token URL and the discovery URL a card's OAuth 2.0 or OpenID Connect scheme names."""
    for scheme in (card.get("securitySchemes") or {}).values():
        if not isinstance(scheme, Mapping):
            continue
        oauth = scheme.get("oauth2SecurityScheme")
        if isinstance(oauth, Mapping):
            flow = (oauth.get("flows") or {}).get("clientCredentials") or {}
            token_url = flow.get("tokenUrl") if isinstance(flow, Mapping) else None
            if token_url or oauth.get("oauth2MetadataUrl"):
                return token_url, oauth.get("oauth2MetadataUrl")
        openid = scheme.get("openIdConnectSecurityScheme")
        if isinstance(openid, Mapping) and openid.get("openIdConnectUrl"):
            return None, str(openid["openIdConnectUrl"])
    return None, None


def _transport_errors() -> tuple[type[Exception], ...]:
    """What a failed token request raises: Authlib's httpx client runs on httpx2 where that is installed."""
    try:
        import httpx2
    except ImportError:
        return (httpx.HTTPError,)
    return (httpx.HTTPError, httpx2.HTTPError)


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # time.monotonic() after which a fresh token is fetched


class ClientCredentials:
    """A client id and secret that obtain OAuth 2.0 access tokens by the client-credentials grant.

    Args:
        client_id: The caller's client id at the provider; it becomes the task owner.
        client_secret: Its secret: a value, ``@FILE`` or ``env:VAR``.
        token_url: The provider's token endpoint.
        issuer: The provider's issuer URL, whose discovery document names the
            token endpoint; used when ``token_url`` is not given.
        scopes: Scopes to ask for.
        resource: The audience to ask tokens for (RFC 8707 ``resource``); by
            default none, and the provider decides.
        refresh_margin: Seconds before expiry a token is replaced; by default
            a fifth of its lifetime, at most a minute.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_url: str | None = None,
        issuer: str | None = None,
        scopes: Sequence[str] = (),
        resource: str | None = None,
        refresh_margin: float | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        if not isinstance(client_secret, str) or not client_secret:
            raise ConfigurationError("client_secret must be a non-empty string, @FILE or env:VAR")
        for name, url in (("token_url", token_url), ("issuer", issuer)):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ConfigurationError(f"{name} must be an http(s) URL, got {url!r}")
        if isinstance(scopes, str):
            scopes = scopes.split()
        if refresh_margin is not None and refresh_margin < 0:
            raise ConfigurationError("refresh_margin must not be negative")
        self.client_id = client_id
        self._secret_source = client_secret
        self.token_url = token_url
        self.issuer = issuer.rstrip("/") if issuer else None
        self.scopes = tuple(scopes)
        self.resource = resource
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.fetched = 0  # tokens obtained so far, for logs and tests
        self._tokens: dict[str, _Token] = {}
        self._endpoints: dict[str, str] = {}
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @property
    def knows_endpoint(self) -> bool:
        """Whether the token endpoint is known without the remote agent's card."""
        return bool(self.token_url or self.issuer)

    def __repr__(self) -> str:
        return f"ClientCredentials({self.client_id!r}, token_url={self.token_url!r}, scopes={list(self.scopes)})"

    async def token(self, card: Mapping[str, Any] | None = None) -> str:
        """A valid access token, fetched when none is held or the held one is close to expiry.

        ``card`` is the remote agent's card JSON, for where to ask when this
        object was given neither ``token_url`` nor ``issuer``.

        Raises:
            RemoteAuthError: no token endpoint is known, or the provider refused the credentials.
        """
        token_url = await self._token_url(card)
        held = self._tokens.get(token_url)
        if held is not None and time.monotonic() < held.refresh_at:
            return held.value
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:  # one fetch for all the calls that found the token due
            held = self._tokens.get(token_url)
            if held is None or time.monotonic() >= held.refresh_at:
                held = await self._fetch(token_url)
                self._tokens[token_url] = held
        return held.value

    async def _token_url(self, card: Mapping[str, Any] | None) -> str:
        if self.token_url:
            return self.token_url
        discovery = f"{self.issuer}{DISCOVERY_PATH}" if self.issuer else None
        if discovery is None and card is not None:
            card_token_url, discovery = token_endpoint_of(card)
            if card_token_url:
                return str(card_token_url)
        if discovery is None:
            raise RemoteAuthError(
                "no token endpoint: give ClientCredentials token_url= or issuer=, "
                "or call an agent whose card lists an OAuth 2.0 or OpenID Connect scheme"
            )
        if discovery not in self._endpoints:
            try:
                async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
                    document = (await http.get(discovery)).raise_for_status().json()
                self._endpoints[discovery] = str(document["token_endpoint"])
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise RemoteAuthError(f"could not read the provider's discovery document {discovery}: {exc}") from None
        return self._endpoints[discovery]

    async def _fetch(self, token_url: str) -> _Token:
        from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

        secret = resolve_secret(self._secret_source)
        extra = {"resource": self.resource} if self.resource else {}
        try:
            async with AsyncOAuth2Client(
                self.client_id,
                secret,
                scope=" ".join(self.scopes) or None,
                token_endpoint_auth_method="client_secret_basic",
                timeout=self.timeout,
            ) as client:
                token = await client.fetch_token(token_url, grant_type="client_credentials", **extra)
        except OAuthError as exc:
            # The provider's error code (invalid_client, invalid_scope, ...) says what to fix; never the secret.
            raise RemoteAuthError(
                f"the provider refused the client credentials of {self.client_id!r}: {exc.error}"
            ) from None
        except _transport_errors() as exc:
            raise RemoteAuthError(f"could not reach the token endpoint {token_url}: {exc}") from None
        lifetime = float(token.get("expires_in") or 300)
        margin = self.refresh_margin if self.refresh_margin is not None else min(MAX_REFRESH_MARGIN, lifetime / 5)
        self.fetched += 1
        logger.debug("obtained an access token for %s, valid %.0f s", self.client_id, lifetime)
        return _Token(str(token["access_token"]), time.monotonic() + max(0.0, lifetime - margin))
