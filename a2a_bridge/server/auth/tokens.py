"""OAuth 2.0 access tokens: JWTs (RFC 9068) checked against an OpenID Provider's published keys.

A served agent that takes tokens trusts one issuer. It reads the issuer's
discovery document, then its JWKS, and keeps the keys; a token signed with a key
it does not know makes it read the JWKS again (at most every few seconds), so
the provider can rotate its keys without anyone restarting. A token's ``iss``
must be the issuer exactly as the discovery document writes it; the setting may
leave out or add its one trailing slash. PyJWT checks the signature and the
claims; nothing here is cryptography.

An access token is typed ``at+jwt`` (RFC 9068, section 2.1), which an ID token
from the same provider, signed with the same keys, is not. Tokens typed plain
``JWT`` or not typed are refused unless ``accept_plain_jwt`` is set. Even then
such a token is taken only with what an access token has and an ID token has
not: the authorization it grants (a ``scope``, ``scp`` or ``roles`` claim) and
the client it was issued to (an identity claim besides ``sub``). The marks of
an ID token (``nonce``, ``at_hash``, ``c_hash``, Keycloak's ``typ`` claim of
``ID``) are not enough, since the code flow leaves them all out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import httpx

from a2a_bridge.errors import ConfigurationError

__all__ = ["AccessTokens", "TokenCaller", "TokenRefused", "TokenVerifier", "check_tokens", "insufficient_scope"]

logger = logging.getLogger("a2a_bridge.auth")

# Asymmetric only: an HMAC algorithm would let anyone holding a public key forge tokens (algorithm confusion).
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
DISCOVERY_PATH = "/.well-known/openid-configuration"
KEYS_KEPT_SECONDS = 300.0  # read the JWKS again this often, so a removed key stops working
UNKNOWN_KEY_REFETCH_SECONDS = 3.0  # at most this often on an unknown key id: random kids must not flood the provider
VERIFIED_KEPT = 2048
ACCESS_TOKEN_TYPE = "at+jwt"
PLAIN_TYPE = "jwt"
# Claims an ID token has and an access token has not (OpenID Connect Core, section 2 and 3.3.2.11).
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")
# The authorization an access token grants, which an ID token never carries: RFC 8693's scope (Auth0,
# Keycloak, RFC 9068), Okta's and Entra ID's scp (delegated) and Entra ID's roles (app-only).
AUTHORIZATION_CLAIMS = ("scope", "scp", "roles")
USER_CLAIM = "sub"
NOT_AN_ACCESS_TOKEN = "the bearer token is not an access token: its typ header is not at+jwt"
NO_AUTHORIZATION = "the bearer token is not an access token: a JWT not typed at+jwt needs a scope, scp or roles claim"


@dataclass(frozen=True)
class AccessTokens:
    """How a served agent accepts OAuth 2.0 access tokens.

    Attributes:
        issuer: The provider's issuer URL; its discovery document is at
            ``{issuer}/.well-known/openid-configuration``.
        audience: What the token's ``aud`` must hold: this agent's name at the
            provider (its resource indicator, often its URL).
        scopes: Scopes every call needs.
        skill_scopes: More scopes per skill id, listed on the card for that
            skill, needed by a message that names the skill in its metadata
            (``"skill": "<id>"``).
        leeway: Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``.
        token_url: The provider's token endpoint. Given, the card lists an OAuth 2.0
            client-credentials scheme with it; otherwise an OpenID Connect scheme with the discovery URL.
        identity_claims: The claims naming the caller, the first present wins:
            the client (RFC 9068 ``client_id``; ``azp`` from Auth0's default
            profile, Entra ID v2 and Keycloak; Okta's ``cid``; Entra ID v1's
            ``appid``), else the subject. The caller owns its tasks as a
            secret's name does, so a caller moving from a secret to tokens
            under the same name keeps its tasks.
        algorithms: Signing algorithms accepted; asymmetric ones only.
        accept_plain_jwt: Also accept access tokens typed plain ``JWT`` or not
            typed, for providers that issue them so: Auth0's default token
            profile (its RFC 9068 profile types them ``at+jwt``), Microsoft
            Entra ID (``JWT``), Okta custom authorization servers (no
            ``typ``). Such a token must carry a ``scope``, ``scp`` or
            ``roles`` claim, which no ID token does; an ID token issued by
            the code flow without a nonce has no other mark. It must also
            name its caller by an identity claim besides ``sub``, its client:
            ``sub`` alone names a user, whom an ID token names too (Entra ID
            puts a user's app roles in ID tokens), and a user called like a
            secret's caller would own that caller's tasks. A token with a ``nonce``, ``at_hash`` or ``c_hash`` claim, a
            ``typ`` claim of ``ID``, or any other ``typ`` header is an ID
            token (or another kind of JWT) and stays refused.
    """

    issuer: str
    audience: str
    scopes: tuple[str, ...] = ()
    skill_scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    leeway: float = 30.0
    token_url: str | None = None
    identity_claims: tuple[str, ...] = ("client_id", "azp", "cid", "appid", "sub")
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    _: KW_ONLY
    accept_plain_jwt: bool = False

    @property
    def discovery_url(self) -> str:
        # OpenID Connect Discovery 1.0, section 4: the issuer's trailing "/" goes before the well-known path.
        return self.issuer.removesuffix("/") + DISCOVERY_PATH

    def all_scopes(self) -> list[str]:
        """Every scope this agent asks for, for the card."""
        found = dict.fromkeys(self.scopes)
        for scopes in self.skill_scopes.values():
            found.update(dict.fromkeys(scopes))
        return list(found)


def _granted(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes a token grants: ``scope`` or ``scp``; an app-only token without either grants its ``roles``.

    Microsoft Entra ID grants an application its permissions as app roles, in
    ``roles`` and never in ``scp``; a token that has scopes keeps its roles
    (a user's, there) apart from them.
    """
    granted = claims.get("scope", claims.get("scp"))
    if granted is None:
        granted = claims.get("roles", ())
    return frozenset(granted.split() if isinstance(granted, str) else map(str, granted or ()))


def _same_issuer(one: str, other: str) -> bool:
    """Whether two issuer URLs name the same issuer, one trailing slash aside."""
    return one.removesuffix("/") == other.removesuffix("/")


def _client_claims(identity_claims: Iterable[str]) -> tuple[str, ...]:
    """The identity claims that can name a client, not only a user."""
    return tuple(claim for claim in identity_claims if claim != USER_CLAIM)


def _scopes(value: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split() if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) and item and " " not in item for item in items):
        raise ConfigurationError(f"{what} must be scope names without spaces")
    return tuple(items)


def check_tokens(tokens: AccessTokens | Mapping[str, Any] | None) -> AccessTokens | None:
    """Validate a token configuration given as :class:`AccessTokens` or a dict of its fields."""
    if tokens is None:
        return None
    if isinstance(tokens, Mapping):
        unknown = set(tokens) - set(AccessTokens.__dataclass_fields__)
        if unknown:
            raise ConfigurationError(f"tokens: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            tokens = AccessTokens(**tokens)
        except TypeError:
            raise ConfigurationError("tokens needs at least 'issuer' and 'audience'") from None
    if not isinstance(tokens, AccessTokens):
        raise ConfigurationError("tokens must be AccessTokens(issuer=..., audience=...) or a dict of its fields")
    for name in ("issuer", "token_url"):
        url = getattr(tokens, name)
        if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
            raise ConfigurationError(f"tokens.{name} must be an http(s) URL, got {url!r}")
    if not isinstance(tokens.audience, str) or not tokens.audience:
        raise ConfigurationError("tokens.audience must name this agent at the provider, e.g. its URL")
    if not isinstance(tokens.accept_plain_jwt, bool):
        raise ConfigurationError("tokens.accept_plain_jwt must be True or False")
    identity_claims = tokens.identity_claims
    if isinstance(identity_claims, str) or not all(isinstance(c, str) and c for c in identity_claims or ()):
        raise ConfigurationError("tokens.identity_claims must be claim names, e.g. ('client_id', 'azp', 'sub')")
    if not identity_claims:
        raise ConfigurationError("tokens.identity_claims must name at least one claim, e.g. 'client_id'")
    if tokens.accept_plain_jwt and not _client_claims(identity_claims):
        raise ConfigurationError(
            "tokens.identity_claims needs a claim besides 'sub' (such as 'client_id' or 'azp') "
            "with accept_plain_jwt: a token not typed at+jwt is not taken on 'sub' alone"
        )
    if not isinstance(tokens.leeway, (int, float)) or not 0 <= tokens.leeway <= 300:
        raise ConfigurationError("tokens.leeway must be between 0 and 300 seconds")
    weak = [alg for alg in tokens.algorithms if alg not in DEFAULT_ALGORITHMS]
    if weak:
        raise ConfigurationError(f"tokens.algorithms: {', '.join(weak)} not accepted; use asymmetric algorithms")
    if not isinstance(tokens.skill_scopes, Mapping):
        raise ConfigurationError("tokens.skill_scopes must map skill ids to scopes")
    skill_scopes = {
        str(skill): _scopes(scopes, f"tokens.skill_scopes[{skill!r}]") for skill, scopes in tokens.skill_scopes.items()
    }
    return AccessTokens(
        issuer=tokens.issuer,
        audience=tokens.audience,
        scopes=_scopes(tokens.scopes, "tokens.scopes"),
        skill_scopes=skill_scopes,
        leeway=float(tokens.leeway),
        token_url=tokens.token_url,
        identity_claims=tuple(identity_claims),
        algorithms=tuple(tokens.algorithms),
        accept_plain_jwt=tokens.accept_plain_jwt,
    )


@dataclass(frozen=True)
class TokenCaller:
    """Who a valid token names, and the scopes it grants."""

    name: str
    scopes: frozenset[str]
    expires: float


class TokenRefused(Exception):
    """A token was not accepted: 401 (not valid), 403 (valid, scope missing) or 503 (keys unreachable).

    ``reason`` is safe to show the caller: it names the check that failed, never the expected value.
    """

    def __init__(self, reason: str, *, status: int = 401, error: str = "invalid_token", scope: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.error = error
        self.scope = scope


def insufficient_scope(missing: Iterable[str], *, skill: str | None = None) -> TokenRefused:
    """The 403 for scopes a token lacks: those of the agent, or of the skill a message names."""
    names = sorted(missing)
    listed = ", ".join(repr(name) for name in names)
    of_skill = f" of skill {skill!r}" if skill is not None else ""
    return TokenRefused(
        f"the access token lacks the scope {listed}{of_skill}",
        status=403,
        error="insufficient_scope",
        scope=" ".join(names),
    )


class _ProviderKeys:
    """The issuer's signing keys, read through its discovery document, and read again as they rotate."""

    def __init__(self, issuer: str, discovery_url: str) -> None:
        self._issuer = issuer
        self._discovery_url = discovery_url
        self.issuer: str | None = None  # as the discovery document writes it: what a token's iss must be
        self._jwks_uri: str | None = None
        self._keys: dict[str, Any] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    def cached(self, kid: str | None) -> Any | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _due(self, *, missing: bool) -> bool:
        age = time.monotonic() - self._read_at
        return age > KEYS_KEPT_SECONDS or (missing and age > UNKNOWN_KEY_REFETCH_SECONDS)

    async def key(self, kid: str | None) -> Any | None:
        key = self.cached(kid)
        if self._due(missing=key is None):
            async with self._lock:  # one read for all the requests that found the keys due
                if self._due(missing=self.cached(kid) is None):
                    await self._read()
            key = self.cached(kid)
        return key

    async def _read(self) -> None:
        import jwt

        try:
            async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
                if self._jwks_uri is None:
                    document = (await http.get(self._discovery_url)).raise_for_status().json()
                    issuer = document.get("issuer")
                    if not isinstance(issuer, str) or not _same_issuer(issuer, self._issuer):
                        raise ValueError("the discovery document names another issuer")
                    self._jwks_uri = str(document["jwks_uri"])
                    self.issuer = issuer
                jwks = (await http.get(self._jwks_uri)).raise_for_status().json()
            key_set = jwt.PyJWKSet.from_dict(jwks)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            self._read_at = time.monotonic() - KEYS_KEPT_SECONDS + UNKNOWN_KEY_REFETCH_SECONDS  # retry soon
            if self._keys:
                logger.warning("could not read the signing keys of %s, keeping the last ones: %s", self._issuer, exc)
                return
            logger.error("could not read the signing keys of %s: %s", self._issuer, exc)
            raise TokenRefused(
                "the identity provider cannot be reached to check the token; try again", status=503, error=""
            ) from None
        self._keys = {key.key_id or "": key for key in key_set.keys if getattr(key, "public_key_use", "sig") != "enc"}
        self._read_at = time.monotonic()
        logger.info("read %d signing key(s) of %s", len(self._keys), self._issuer)


class TokenVerifier:
    """Checks JWT access tokens for one agent: signature, issuer, audience, expiry and scopes."""

    def __init__(self, config: AccessTokens) -> None:
        self.config = config
        self._keys = _ProviderKeys(config.issuer, config.discovery_url)
        self._verified: OrderedDict[str, TokenCaller] = OrderedDict()

    async def caller(self, token: str) -> TokenCaller:
        """The caller a token names, once every check has passed; raises :class:`TokenRefused` otherwise."""
        known = self.cached_caller(token)
        if known is not None:
            return known
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRefused("the bearer token is not a valid access token") from None
        if header.get("alg") not in self.config.algorithms:
            raise TokenRefused("the access token is not signed with an accepted algorithm")
        typed = self._typed_access_token(header.get("typ"))
        kid = header.get("kid")
        key = await self._keys.key(kid if isinstance(kid, str) else None)
        if key is None:
            raise TokenRefused("the access token's signature is not valid")
        caller = self._decode(token, key, header["alg"], typed=typed)
        self._remember(token, caller)
        return caller

    def cached_caller(self, token: str) -> TokenCaller | None:
        """The caller of a token checked before and not yet expired; no network, no signature check."""
        caller = self._verified.get(token)
        if caller is not None and caller.expires + self.config.leeway < time.time():
            self._verified.pop(token, None)
            return None
        return caller

    def _remember(self, token: str, caller: TokenCaller) -> None:
        # A removed key keeps its tokens valid here for at most KEYS_KEPT_SECONDS, as it does in the key cache.
        kept = TokenCaller(caller.name, caller.scopes, min(caller.expires, time.time() + KEYS_KEPT_SECONDS))
        self._verified[token] = kept
        while len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)

    def _typed_access_token(self, typ: object) -> bool:
        """Whether ``typ`` says access token; False for a plain ``JWT`` or none, when those are accepted."""
        media_type = typ.lower().removeprefix("application/") if isinstance(typ, str) else typ
        if media_type == ACCESS_TOKEN_TYPE:
            return True
        if self.config.accept_plain_jwt and media_type in (None, PLAIN_TYPE):
            return False
        raise TokenRefused(NOT_AN_ACCESS_TOKEN)

    def _decode(self, token: str, key: Any, algorithm: str, *, typed: bool) -> TokenCaller:
        import jwt

        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self.config.audience,
                issuer=self._keys.issuer or self.config.issuer,
                leeway=self.config.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the access token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("the access token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("the access token is not meant for this agent (audience)") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("the access token's issuer is not trusted by this agent") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused(f"the access token has no {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("the access token's signature is not valid") from None
        except jwt.PyJWTError:
            raise TokenRefused("the bearer token is not a valid access token") from None
        if not typed:
            self._check_untyped(claims)
        claims_naming = self.config.identity_claims if typed else _client_claims(self.config.identity_claims)
        name = next((str(claims[c]) for c in claims_naming if claims.get(c)), None)
        if name is None:
            raise TokenRefused("the access token names no caller")
        scopes = _granted(claims)
        missing = set(self.config.scopes) - scopes
        if missing:
            raise insufficient_scope(missing)
        return TokenCaller(name, scopes, float(claims["exp"]))

    def _check_untyped(self, claims: Mapping[str, Any]) -> None:
        """Refuse a signed token not typed ``at+jwt`` unless its claims say access token.

        An ID token's marks are optional (the code flow needs no nonce), so their absence proves
        nothing; the authorization an access token grants and the client it names do. A caller
        named by ``sub`` alone is a user, and users' names are not kept apart from secrets' names.
        Keycloak types its ID tokens with a ``typ`` claim of ``ID`` (its access tokens say ``Bearer``).
        """
        if any(c in claims for c in ID_TOKEN_CLAIMS) or claims.get("typ") == "ID":
            raise TokenRefused("the bearer token is an ID token, not an access token")
        if all(claims.get(c) is None for c in AUTHORIZATION_CLAIMS):
            raise TokenRefused(NO_AUTHORIZATION)
        client_claims = _client_claims(self.config.identity_claims)
        if not any(claims.get(c) for c in client_claims):
            named = " or ".join(", ".join(client_claims).rsplit(", ", 1))
            raise TokenRefused(
                "the bearer token is not an access token: a JWT not typed at+jwt must name its client "
                f"({named}), not only a user ({USER_CLAIM})"
            )
