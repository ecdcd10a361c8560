"""OAuth 2.0 client credentials: a caller's access tokens, fetched by Authlib and refreshed before they expire.

    credentials = ClientCredentials("orchestrator", "@/run/secrets/orchestrator", scopes=["a2a"])
    agent = RemoteAgent("http://research:8080", credentials=credentials)

The client secret goes only where the caller trusts: to ``token_url``, to the
token endpoint of ``issuer``'s discovery document, or to the one named by a
remote agent's card whose signature verified against the caller's
``card_keys``. An unsigned card never gets it. Plain ``http://`` is refused,
except to a loopback host.

One ``ClientCredentials`` may serve many remote agents and many event loops (a
LangGraph node's, a crew's). Its tokens are kept per token endpoint and
audience (``resource``): agents of one audience share a token, and with
``resource={agent URL: audience}`` each agent gets a token for its own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.errors import ConfigurationError, RemoteAuthError
from a2a_bridge.keys.secret_refs import resolve_secret

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


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL: what an error may show of it, never its user info, path or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a URL)"
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refusal(url: str) -> str | None:
    """Why the client secret may not be sent to ``url`` (or its discovery document read from it); None if it may."""
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname or "", parts.port  # a port that is not a number raises
    except ValueError:
        return "is not a valid URL"
    if not host or parts.scheme not in ("https", "http"):
        return "must be an http(s) URL"
    if parts.scheme == "http" and not _is_loopback(host):
        # A secret sent in the clear, or a discovery document an attacker on the path can rewrite.
        return "is plain http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost); use https://"
    return None


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
            token endpoint; used when ``token_url`` is not given. With neither,
            the token endpoint a remote agent's card names is used, only when
            the card's signature verified against the caller's ``card_keys``.
        scopes: Scopes to ask for.
        resource: The audience to ask tokens for (RFC 8707 ``resource``): one
            for every agent, or a mapping of agent URLs (as given to the
            caller) to each agent's own. By default none, and the provider decides.
        refresh_margin: Seconds before expiry a token is replaced; by default
            a fifth of its lifetime, at most a minute.
        timeout: Seconds a request to the provider may take.

    URLs must be ``https://``, or ``http://`` to a loopback host.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_url: str | None = None,
        issuer: str | None = None,
        scopes: Sequence[str] = (),
        resource: str | Mapping[str, str] | None = None,
        refresh_margin: float | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        if not isinstance(client_secret, str) or not client_secret:
            raise ConfigurationError("client_secret must be a non-empty string, @FILE or env:VAR")
        for name, url in (("token_url", token_url), ("issuer", issuer)):
            if url is not None and (why := _refusal(url)) is not None:
                raise ConfigurationError(f"{name} {_origin(url)} {why}")
        if isinstance(scopes, str):
            scopes = scopes.split()
        if refresh_margin is not None and refresh_margin < 0:
            raise ConfigurationError("refresh_margin must not be negative")
        self.client_id = client_id
        self._secret_source = client_secret
        self.token_url = token_url
        self.issuer = issuer.rstrip("/") if issuer else None
        self.scopes = tuple(scopes)
        self.resource = _checked_resource(resource)
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.fetched = 0  # tokens obtained so far, for logs and tests
        self._tokens: dict[tuple[str, str | None], _Token] = {}
        self._endpoints: dict[str, str] = {}
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @property
    def knows_endpoint(self) -> bool:
        """Whether the token endpoint is known without the remote agent's card."""
        return bool(self.token_url or self.issuer)

    def __repr__(self) -> str:
        return f"ClientCredentials({self.client_id!r}, token_url={self.token_url!r}, scopes={list(self.scopes)})"

    def audience_for(self, agent: str | None) -> str | None:
        """The audience asked for on behalf of the agent at ``agent`` (its URL as the caller gave it)."""
        if not isinstance(self.resource, Mapping):
            return self.resource
        audience = self.resource.get((agent or "").rstrip("/"))
        if audience is None:
            raise RemoteAuthError(
                f"no audience for the agent at {agent}: add its URL to ClientCredentials resource=", url=agent or ""
            )
        return audience

    async def token(self, card: AgentCardView | None = None, *, agent: str | None = None) -> str:
        """A valid access token, fetched when none is held for this audience or the held one is close to expiry.

        Args:
            card: The remote agent's card, for where to ask when this object
                was given neither ``token_url`` nor ``issuer``; trusted only
                when its signature verified (``card.verified``).
            agent: The agent's URL as the caller gave it, which picks its
                audience from a ``resource`` mapping.

        Raises:
            RemoteAuthError: no trusted token endpoint is known, or the provider refused the credentials.
        """
        audience = self.audience_for(agent)
        key = (await self._token_url(card), audience)
        held = self._tokens.get(key)
        if held is not None and time.monotonic() < held.refresh_at:
            return held.value
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:  # one fetch for all the calls that found the token due
            held = self._tokens.get(key)
            if held is None or time.monotonic() >= held.refresh_at:
                held = await self._fetch(*key)
                self._tokens[key] = held
        return held.value

    async def _token_url(self, card: AgentCardView | None) -> str:
        if self.token_url:
            return self.token_url
        if self.issuer:
            return await self._discover(f"{self.issuer}{DISCOVERY_PATH}", f"the provider {_origin(self.issuer)}")
        card_token_url, discovery = token_endpoint_of(card.raw) if card is not None else (None, None)
        if card is None or not (card_token_url or discovery):
            raise RemoteAuthError(
                "no token endpoint: give ClientCredentials token_url= or issuer=, "
                "or call an agent whose signed card lists an OAuth 2.0 or OpenID Connect scheme (card_keys=)"
            )
        named = str(card_token_url or discovery)
        if not card.verified:
            raise RemoteAuthError(
                f"the card of {card.name} names {_origin(named)} for tokens, but its signature was not verified, "
                "so the client secret is not sent there: give ClientCredentials token_url= or issuer=, "
                "or card_keys= with the keys that sign the card",
                agent=card.name,
            )
        if card_token_url:
            return _trusted(named, f"the token endpoint on the card of {card.name}")
        return await self._discover(named, f"the card of {card.name}")

    async def _discover(self, discovery: str, named_by: str) -> str:
        """The token endpoint a discovery document names, read once."""
        if discovery not in self._endpoints:
            _trusted(discovery, f"the discovery document named by {named_by}")
            try:
                async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
                    document = (await http.get(discovery)).raise_for_status().json()
                token_url = str(document["token_endpoint"])
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise RemoteAuthError(
                    f"could not read the discovery document of {named_by} at {_origin(discovery)}: {exc}"
                ) from None
            self._endpoints[discovery] = _trusted(
                token_url, f"the token endpoint in the discovery document of {named_by}"
            )
        return self._endpoints[discovery]

    async def _fetch(self, token_url: str, audience: str | None) -> _Token:
        from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

        secret = resolve_secret(self._secret_source)
        extra = {"resource": audience} if audience else {}
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
            raise RemoteAuthError(f"could not reach the token endpoint {_origin(token_url)}: {exc}") from None
        lifetime = float(token.get("expires_in") or 300)
        margin = self.refresh_margin if self.refresh_margin is not None else min(MAX_REFRESH_MARGIN, lifetime / 5)
        self.fetched += 1
        logger.debug("obtained an access token for %s (audience %s), valid %.0f s", self.client_id, audience, lifetime)
        return _Token(str(token["access_token"]), time.monotonic() + max(0.0, lifetime - margin))


def _trusted(url: str, what: str) -> str:
    """``url``, when a secret may go there; else a :class:`RemoteAuthError` naming its origin and why not."""
    why = _refusal(url)
    if why is not None:
        raise RemoteAuthError(f"{what}, {_origin(url)}, {why}; the client secret is not sent there", url=_origin(url))
    return url


def _checked_resource(resource: str | Mapping[str, str] | None) -> str | Mapping[str, str] | None:
    if resource is None or (isinstance(resource, str) and resource):
        return resource
    if isinstance(resource, Mapping) and all(
        isinstance(agent, str) and isinstance(audience, str) and audience for agent, audience in resource.items()
    ):
        return {agent.rstrip("/"): audience for agent, audience in resource.items()}
    raise ConfigurationError("resource must be an audience, or a mapping of agent URLs to audiences")
