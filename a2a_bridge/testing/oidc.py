"""A real OpenID Provider on loopback: ``oidc-provider`` from npm, issuing JWT access tokens and ID tokens.

    with openid_provider(clients=[OidcClient("orchestrator", "s3cret-value", scope="a2a")],
                         resources={"http://agent": "a2a research"}) as op:
        token = op.token("orchestrator", resource="http://agent")

A client given a ``redirect_uri`` signs users in instead: :meth:`OpenIdProvider.id_token` and
:meth:`OpenIdProvider.sign_in` walk the provider's development sign-in pages for an ID token,
with a nonce or without (it is optional in the code flow), and an access token beside it.
The issuer can end in a path or a slash (``issuer_path``), as Auth0's and Azure AD v1's do.

``oidc-provider`` is a certified OpenID Connect server. It is installed with
npm into ``~/.cache/a2a-bridge/oidc-provider`` the first time (a few seconds)
and reused after that; it needs Node 20 or later. Each provider runs on a free
port with its configuration in a temporary directory, and :meth:`rotate`
restarts it on the same issuer with other signing keys.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import httpx

from a2a_bridge.testing.ports import free_port, wait_until_up

__all__ = ["OIDC_PROVIDER_PACKAGE", "OidcClient", "OpenIdProvider", "new_signing_key", "openid_provider"]

OIDC_PROVIDER_PACKAGE = "oidc-provider@9"
DEFAULT_HOME = Path.home() / ".cache" / "a2a-bridge" / "oidc-provider"
SCRIPT = "oidc_provider.mjs"
DEFAULT_NONCE = "n-0S6_WzA2Mj"


@dataclass(frozen=True)
class OidcClient:
    """A client registered for the client-credentials grant; ``token_ttl`` overrides its tokens' lifetime.

    Given a ``redirect_uri``, the client signs users in by the authorization code flow instead.
    """

    client_id: str
    client_secret: str
    scope: str = ""
    token_ttl: int | None = None
    redirect_uri: str | None = None


def new_signing_key(kid: str) -> dict[str, Any]:
    """A fresh RSA private key as a JWK, for the provider to sign with (or a test to sign a token itself)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 2048)))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class OpenIdProvider:
    """A running provider: its issuer URL, its signing keys, and a way to ask it for tokens."""

    issuer: str
    keys: list[dict[str, Any]]
    config: dict[str, Any]
    home: Path
    data: Path
    process: subprocess.Popen[bytes] | None = None
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    @property
    def token_url(self) -> str:
        return self._endpoint("token")

    @property
    def discovery_url(self) -> str:
        return self._endpoint(".well-known/openid-configuration")

    def _endpoint(self, path: str) -> str:
        return f"{self.issuer.removesuffix('/')}/{path}"

    def _client(self, client_id: str) -> dict[str, Any]:
        client: dict[str, Any] = next(c for c in self.config["clients"] if c["client_id"] == client_id)
        return client

    def token(self, client_id: str, *, resource: str | None = None, scope: str | None = None) -> str:
        """An access token for a registered client, by the client-credentials grant."""
        client = self._client(client_id)
        form = {"grant_type": "client_credentials", **({"resource": resource} if resource else {})}
        if scope is not None:
            form["scope"] = scope
        response = self._http.post(self.token_url, data=form, auth=(client_id, client["client_secret"]))
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def id_token(self, client_id: str, *, user: str = "alice", nonce: str | None = DEFAULT_NONCE) -> str:
        """An ID token for ``user`` signing in to a login client, as a browser would get one.

        ``nonce=None`` leaves the nonce out of the request, and so out of the ID token: it is
        optional in the authorization code flow.
        """
        token: str = self.sign_in(client_id, user=user, nonce=nonce)["id_token"]
        return token

    def sign_in(
        self,
        client_id: str,
        *,
        user: str = "alice",
        nonce: str | None = DEFAULT_NONCE,
        resource: str | None = None,
        scope: str = "openid",
    ) -> dict[str, Any]:
        """The token endpoint's answer when ``user`` signs in to a login client: its ID token and access token.

        The authorization code flow, through the provider's development sign-in and consent pages
        (any password passes), then the code exchanged at the token endpoint. Given a ``resource``
        (and its scopes in ``scope``), the access token is a JWT for that audience.
        """
        client = self._client(client_id)
        redirect_uri = client["redirect_uri"]
        query = {"client_id": client_id, "response_type": "code", "scope": scope}
        query |= {"redirect_uri": redirect_uri, "state": "state-1"}
        query |= {"nonce": nonce} if nonce is not None else {}
        query |= {"resource": resource} if resource is not None else {}
        with httpx.Client(timeout=10) as browser:  # its own cookies: the sign-in session
            page = browser.get(self._endpoint("auth"), params=query)
            for _ in range(10):
                location = page.headers.get("location")
                if location is None:  # a sign-in or a consent form, posted back to its own URL
                    prompt = "login" if 'name="login"' in page.text else "consent"
                    page = browser.post(page.url, data={"prompt": prompt, "login": user, "password": "any"})
                elif location.startswith(redirect_uri):
                    break
                else:
                    page = browser.get(page.url.join(location))
            else:
                raise RuntimeError(f"oidc-provider did not redirect to {redirect_uri}: {page.status_code} {page.url}")
        answer = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        if "code" not in answer:
            raise RuntimeError(f"oidc-provider refused the sign-in: {answer.get('error_description', answer)}")
        form = {"grant_type": "authorization_code", "code": answer["code"][0], "redirect_uri": redirect_uri}
        response = self._http.post(self.token_url, data=form, auth=(client_id, client["client_secret"]))
        response.raise_for_status()
        tokens: dict[str, Any] = response.json()
        return tokens

    def start(self, timeout: float = 30) -> None:
        config_file = self.data / "config.json"
        config_file.write_text(json.dumps({**self.config, "keys": self.keys}))
        log = (self.data / "provider.log").open("ab")
        self.process = subprocess.Popen(
            ["node", str(self.home / SCRIPT), str(config_file)], cwd=self.home, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        where = str(self.data / "provider.log")
        wait_until_up(self.discovery_url, self.process, what="oidc-provider", log=where, timeout=timeout)

    def rotate(self, keys: Sequence[Mapping[str, Any]]) -> None:
        """Restart on the same issuer with these keys; the first signs from now on."""
        self.stop()
        self.keys = [dict(key) for key in keys]
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def install(home: Path = DEFAULT_HOME) -> Path:
    """``oidc-provider`` installed with npm the first time, beside the script that runs it."""
    script = package_files.files("a2a_bridge.testing").joinpath(SCRIPT).read_text()
    stamp = home / ".installed"
    if not (stamp.exists() and stamp.read_text() == OIDC_PROVIDER_PACKAGE):
        if shutil.which("npm") is None:
            raise RuntimeError("npm is needed to install oidc-provider (Node 20 or later)")
        print(f"installing {OIDC_PROVIDER_PACKAGE} into {home} (once)", file=sys.stderr, flush=True)
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(home), OIDC_PROVIDER_PACKAGE],
            check=True,
        )
        stamp.write_text(OIDC_PROVIDER_PACKAGE)
    (home / SCRIPT).write_text(script)
    return home


@contextmanager
def openid_provider(
    *,
    clients: Sequence[OidcClient],
    resources: Mapping[str, str],
    keys: Sequence[Mapping[str, Any]] | None = None,
    token_ttl: int = 300,
    issuer_path: str = "",
    access_token_typ: Mapping[str, str | None] | None = None,
    home: Path = DEFAULT_HOME,
) -> Iterator[OpenIdProvider]:
    """A provider on a free loopback port; ``resources`` maps each audience to the scopes it grants.

    Args:
        issuer_path: What follows the port in the issuer, e.g. ``"/"`` or ``"/tenant-1/"``.
        access_token_typ: The ``typ`` header of the access tokens for some audiences, where it is
            not ``at+jwt``: ``"JWT"``, or None for no ``typ`` at all.
    """
    install(home)
    data = Path(tempfile.mkdtemp(prefix="a2a-bridge-oidc-"))
    port = free_port()
    scopes = sorted({scope for granted in resources.values() for scope in granted.split()})
    issuer = f"http://127.0.0.1:{port}{issuer_path}"
    typ = dict(access_token_typ or {})
    config = {
        "issuer": issuer,
        "port": port,
        "scopes": scopes,
        "clients": [
            {
                "client_id": c.client_id,
                "client_secret": c.client_secret,
                "scope": c.scope,
                "token_ttl": c.token_ttl,
                "redirect_uri": c.redirect_uri,
            }
            for c in clients
        ],
        "resources": {
            audience: {"scope": granted, "token_ttl": token_ttl, "typ": typ.get(audience, "at+jwt")}
            for audience, granted in resources.items()
        },
        "default_resource": next(iter(resources)),
    }
    provider = OpenIdProvider(
        issuer, [dict(k) for k in keys] if keys else [new_signing_key("key-1")], config, home, data
    )
    try:
        provider.start()
        yield provider
    finally:
        provider.stop()
        provider._http.close()
        shutil.rmtree(data, ignore_errors=True)
