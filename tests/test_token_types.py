"""Which JWTs a served agent takes as access tokens, and from which issuer, against a real ``oidc-provider``.

An issuer ending in a slash (Auth0's ``https://tenant.auth0.com/``, Azure AD v1's
``https://sts.windows.net/{tenant}/``) is trusted however the agent's setting
writes it. An access token is typed ``at+jwt`` (RFC 9068); an ID token the same
provider signs for the agent's own login client is refused, typed or not.
Providers that type access tokens as plain ``JWT``, or not at all, need
``accept_plain_jwt``, and an ID token's shape is refused even then: such a token
must carry the authorization an ID token never does (``scope``, ``scp`` or
``roles``) and name its client, not only a user.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from a2a_calls import V1, message
from agents import EchoAgent
from processes import serve_process

from a2a_bridge import AccessTokens, ConfigurationError, to_a2a
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.oidc import OidcClient, OpenIdProvider, openid_provider

AGENT = "http://research.agents.test"
PLAIN_AGENT = "http://plain.agents.test"  # its tokens are typed "JWT"
UNTYPED_AGENT = "http://untyped.agents.test"  # its tokens have no typ
LOGIN_APP = "research-app"  # the agent's own login client: its ID tokens' aud
CLIENTS = [
    OidcClient("orchestrator", "orchestrator-client-secret", scope="a2a"),
    OidcClient(LOGIN_APP, "research-app-client-secret", redirect_uri="http://127.0.0.1/signed-in"),
]
RESOURCES = {AGENT: "a2a", PLAIN_AGENT: "a2a", UNTYPED_AGENT: "a2a"}
TYPED = {PLAIN_AGENT: "JWT", UNTYPED_AGENT: None}
NOT_TYPED = "the bearer token is not an access token: its typ header is not at+jwt"
ID_TOKEN = "the bearer token is an ID token, not an access token"
NO_AUTHORIZATION = "the bearer token is not an access token: a JWT not typed at+jwt needs a scope, scp or roles claim"
NO_CLIENT = (
    "the bearer token is not an access token: a JWT not typed at+jwt must name its client "
    "(client_id, azp, cid or appid), not only a user (sub)"
)
ALICE_SECRET = "alice-secret-0001"  # a caller by secret, named as a user signs in


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    with openid_provider(clients=CLIENTS, resources=RESOURCES, access_token_typ=TYPED) as op:
        yield op


@pytest.fixture(scope="module", params=["/", "/3f5c1e2a-tenant/"], ids=["slash", "path-and-slash"])
def slashed(request: pytest.FixtureRequest) -> Iterator[OpenIdProvider]:
    with openid_provider(clients=CLIENTS, resources=RESOURCES, issuer_path=request.param) as op:
        assert op.issuer.endswith("/")
        yield op


def agent(
    issuer: str,
    *,
    audience: str = AGENT,
    scopes: tuple[str, ...] | None = None,
    secrets: dict[str, str] | None = None,
    **options: Any,
) -> LiveServer:
    """An agent taking tokens from ``issuer``, to start with ``with``."""
    if scopes is None:
        scopes = ("a2a",) if audience != LOGIN_APP else ()  # an ID token carries no scope
    return LiveServer(
        to_a2a(
            EchoAgent(),
            name="research",
            secrets=secrets,
            tokens=AccessTokens(issuer=issuer, audience=audience, scopes=scopes, **options),
        )
    )


def send(url: str, token: str) -> httpx.Response:
    return rpc(url, token, "SendMessage", {"message": message("hello")})


def rpc(url: str, credential: str, method: str, params: dict[str, Any]) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(url + "/", json=body, headers={**V1, "Authorization": f"Bearer {credential}"}, timeout=30)


def signed(
    op: OpenIdProvider, typ: str | None, changes: dict[str, Any] | None = None, *, without: tuple[str, ...] = ()
) -> str:
    """A token signed with the provider's own key, with the ``typ`` header and claims a test needs."""
    now = int(time.time())
    claims = {"iss": op.issuer, "aud": AGENT, "client_id": "orchestrator", "sub": "orchestrator", "scope": "a2a"}
    claims |= {"iat": now, "exp": now + 300, **(changes or {})}
    claims = {name: value for name, value in claims.items() if name not in without}
    private = jwt.PyJWK(op.keys[0]).key
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "key-1", "typ": typ})
    assert jwt.get_unverified_header(token).get("typ") == typ
    return token


def assert_refused(response: httpx.Response, reason: str, token: str, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["message"] == reason
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text
    assert f"refused POST /: 401 {reason}" in [r.getMessage() for r in caplog.records if r.name == "a2a_bridge.auth"]
    assert token not in caplog.text


@pytest.mark.timeout(60)
@pytest.mark.parametrize("written", ["as the provider writes it", "without its slash"])
def test_an_issuer_ending_in_a_slash_is_trusted_however_it_is_written(slashed, written):
    issuer = slashed.issuer if written == "as the provider writes it" else slashed.issuer.removesuffix("/")
    token = slashed.token("orchestrator", resource=AGENT, scope="a2a")
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == slashed.issuer
    with agent(issuer) as server:
        response = send(server.url, token)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


@pytest.mark.timeout(60)
def test_a_token_must_name_its_issuer_as_the_discovery_document_does(slashed, caplog):
    """One slash is forgiven in the setting, not in the token: ``iss`` is the issuer the provider publishes."""
    token = signed(slashed, "at+jwt", {"iss": slashed.issuer.removesuffix("/")})
    with agent(slashed.issuer) as server:
        response = send(server.url, token)
    assert_refused(response, "the access token's issuer is not trusted by this agent", token, caplog)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"])
def test_an_access_token_typed_at_jwt_is_accepted(provider, typ):
    token = provider.token("orchestrator", resource=AGENT, scope="a2a") if typ == "at+jwt" else signed(provider, typ)
    assert jwt.get_unverified_header(token)["typ"] == typ
    with agent(provider.issuer) as server:
        assert send(server.url, token).status_code == 200


@pytest.mark.timeout(60)
def test_an_id_token_from_the_provider_is_refused_even_with_plain_jwt_accepted(provider, caplog):
    """The agent's own login client gets ID tokens whose ``aud`` is the agent: they are still not access tokens."""
    token = provider.id_token(LOGIN_APP)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == LOGIN_APP
    with agent(provider.issuer, audience=LOGIN_APP) as server:
        assert_refused(send(server.url, token), NOT_TYPED, token, caplog)
    with agent(provider.issuer, audience=LOGIN_APP, accept_plain_jwt=True) as server:
        assert_refused(send(server.url, token), ID_TOKEN, token, caplog)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("audience", [PLAIN_AGENT, UNTYPED_AGENT], ids=["typ JWT", "no typ"])
def test_a_plain_jwt_access_token_needs_accept_plain_jwt(provider, audience, caplog):
    token = provider.token("orchestrator", resource=audience, scope="a2a")
    assert jwt.get_unverified_header(token).get("typ") == TYPED[audience]
    with agent(provider.issuer, audience=audience) as server:
        assert_refused(send(server.url, token), NOT_TYPED, token, caplog)
    with agent(provider.issuer, audience=audience, accept_plain_jwt=True) as server:
        assert send(server.url, token).status_code == 200


# name, typ header, claims that make it an ID token (or another kind of JWT), the reason given
ID_TOKEN_SHAPES = [
    ("a nonce", "JWT", {"nonce": "n-0S6_WzA2Mj"}, ID_TOKEN),
    ("an at_hash", None, {"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}, ID_TOKEN),
    ("a c_hash", "JWT", {"c_hash": "LDktKdoQak3Pk0cnXxCltA"}, ID_TOKEN),
    ("a typ claim of ID", "JWT", {"typ": "ID"}, ID_TOKEN),
    ("an ID token's typ header", "id_token+jwt", {}, NOT_TYPED),
    ("a logout token's typ header", "logout+jwt", {}, NOT_TYPED),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("shape", "typ", "claims", "reason"), ID_TOKEN_SHAPES, ids=[s[0] for s in ID_TOKEN_SHAPES])
def test_a_token_shaped_like_an_id_token_is_refused_with_plain_jwt_accepted(
    provider, shape, typ, claims, reason, caplog
):
    token = signed(provider, typ, claims)
    with agent(provider.issuer, accept_plain_jwt=True) as server:
        if reason == ID_TOKEN:  # the same token without the ID token's mark passes
            assert send(server.url, signed(provider, typ)).status_code == 200
        assert_refused(send(server.url, token), reason, token, caplog)


def test_accept_plain_jwt_is_a_yes_or_no():
    with pytest.raises(ConfigurationError, match=r"tokens\.accept_plain_jwt must be True or False"):
        to_a2a(
            EchoAgent(),
            name="research",
            tokens={"issuer": "https://id.example/", "audience": AGENT, "accept_plain_jwt": "yes"},
        )
    with pytest.raises(TypeError):
        AccessTokens("https://id.example/", AGENT, (), {}, 30.0, None, ("sub",), ("RS256",), True)  # type: ignore[call-arg]


@pytest.mark.timeout(60)
def test_a2a_bridge_serve_takes_plain_jwt_access_tokens_when_told(provider):
    token = provider.token("orchestrator", resource=PLAIN_AGENT, scope="a2a")
    flags = ["--token-issuer", provider.issuer, "--token-audience", PLAIN_AGENT, "--token-scope", "a2a"]
    strict = serve_process("agents:brief", args=flags)
    try:
        assert send(strict.url, token).status_code == 401
    finally:
        strict.stop()
    lenient = serve_process("agents:brief", args=[*flags, "--token-accept-plain-jwt"])
    try:
        answered = send(lenient.url, token)
        assert answered.status_code == 200
        assert answered.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    finally:
        lenient.stop()


@pytest.mark.timeout(60)
def test_a_code_flow_id_token_without_a_nonce_is_refused_with_plain_jwt_accepted(provider, caplog):
    """The nonce is optional in the code flow, so an ID token may bear none of its marks: no ``typ``, no
    ``nonce``, ``at_hash`` or ``c_hash``. It carries no authorization, and that refuses it."""
    token = provider.id_token(LOGIN_APP, nonce=None)
    assert "typ" not in jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == LOGIN_APP
    assert not {"nonce", "at_hash", "c_hash", "typ", "scope", "scp", "roles"} & set(claims)
    with agent(provider.issuer, audience=LOGIN_APP, accept_plain_jwt=True) as server:
        assert_refused(send(server.url, token), NO_AUTHORIZATION, token, caplog)


@pytest.mark.timeout(60)
def test_a_signed_in_users_plain_jwt_access_token_is_accepted_and_its_id_token_is_not(provider, caplog):
    """One sign-in, two tokens: the untyped access token (``scope``, ``client_id``) passes; the ID token does not."""
    signed_in = provider.sign_in(LOGIN_APP, nonce=None, resource=UNTYPED_AGENT, scope="openid a2a")
    access = signed_in["access_token"]
    assert "typ" not in jwt.get_unverified_header(access)
    assert jwt.decode(access, options={"verify_signature": False})["scope"] == "a2a"
    with agent(provider.issuer, audience=UNTYPED_AGENT, accept_plain_jwt=True) as server:
        answered = send(server.url, access)
    assert answered.status_code == 200, answered.text
    assert answered.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    with agent(provider.issuer, audience=LOGIN_APP, accept_plain_jwt=True) as server:
        assert_refused(send(server.url, signed_in["id_token"]), NO_AUTHORIZATION, signed_in["id_token"], caplog)


# name, typ header, claims changed, claims left out, the reason given (None: accepted)
APP_ONLY = ("scope", "client_id")
PLAIN_SHAPES = [
    ("no typ, no scope", None, {}, ("scope",), NO_AUTHORIZATION),
    ("typ JWT, no scope", "JWT", {}, ("scope",), NO_AUTHORIZATION),
    ("Auth0: scope, azp", "JWT", {"azp": "orchestrator"}, ("client_id",), None),
    ("Okta: scp as a list, cid", None, {"scp": ["a2a"], "cid": "orchestrator"}, ("scope", "client_id"), None),
    ("Entra ID v2 app-only: roles, azp", "JWT", {"roles": ["Agent.Call"], "azp": "orchestrator"}, APP_ONLY, None),
    ("Entra ID v1 app-only: roles, appid", "JWT", {"roles": ["Agent.Call"], "appid": "orchestrator"}, APP_ONLY, None),
    ("a user alone: sub, no client", None, {"sub": "alice"}, ("client_id",), NO_CLIENT),
    ("typ JWT, a user alone", "JWT", {"sub": "alice"}, ("client_id",), NO_CLIENT),
    ("Entra ID's ID token: roles, no client", "JWT", {"sub": "alice", "roles": ["Agent.Call"]}, APP_ONLY, NO_CLIENT),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("shape", "typ", "changes", "without", "reason"), PLAIN_SHAPES, ids=[s[0] for s in PLAIN_SHAPES]
)
def test_a_plain_jwt_must_carry_authorization_and_name_its_client(
    provider, shape, typ, changes, without, reason, caplog
):
    token = signed(provider, typ, changes, without=without)
    with agent(provider.issuer, accept_plain_jwt=True, scopes=()) as server:
        response = send(server.url, token)
    if reason is None:
        assert response.status_code == 200, response.text
    else:
        assert_refused(response, reason, token, caplog)


@pytest.mark.timeout(60)
def test_a_token_typed_at_jwt_needs_no_more_than_before(provider):
    """The new rules are for tokens not typed ``at+jwt``: RFC 9068 tokens keep their checks."""
    token = signed(provider, "at+jwt", {"sub": "orchestrator"}, without=("client_id",))
    with agent(provider.issuer, accept_plain_jwt=True) as server:
        assert send(server.url, token).status_code == 200


def test_accept_plain_jwt_needs_an_identity_claim_besides_sub():
    with pytest.raises(ConfigurationError, match=r"tokens\.identity_claims needs a claim besides 'sub'"):
        to_a2a(
            EchoAgent(),
            name="research",
            tokens=AccessTokens(
                issuer="https://id.example/", audience=AGENT, identity_claims=("sub",), accept_plain_jwt=True
            ),
        )
    strict = AccessTokens(issuer="https://id.example/", audience=AGENT, identity_claims=("sub",))
    to_a2a(EchoAgent(), name="research", tokens=strict)  # typed tokens only: sub is fine
    for wrong in ("client_id", ("client_id", ""), ()):
        with pytest.raises(ConfigurationError, match=r"tokens\.identity_claims must"):
            to_a2a(EchoAgent(), name="research", tokens={"issuer": "https://id.example/", "audience": AGENT,
                                                          "identity_claims": wrong})  # fmt: skip


@pytest.mark.timeout(90)
def test_an_id_token_cannot_take_over_a_secret_callers_tasks(provider, caplog):
    """A user signs in as ``alice``; a caller by secret is named ``alice`` too. The user's ID token, or an
    untyped token naming only the user, gets 401 on every call, never alice's task."""
    id_token = provider.id_token(LOGIN_APP, user="alice", nonce=None)
    assert jwt.decode(id_token, options={"verify_signature": False})["sub"] == "alice"
    user_only = signed(provider, None, {"aud": LOGIN_APP, "sub": "alice"}, without=("client_id",))
    tokens = {"an ID token without a nonce": (id_token, NO_AUTHORIZATION), "a user alone": (user_only, NO_CLIENT)}
    with agent(provider.issuer, audience=LOGIN_APP, secrets={"alice": ALICE_SECRET}, accept_plain_jwt=True) as server:
        sent = {"message": {**message("alice's private plan"), "contextId": "alice-ctx"}}
        made = rpc(server.url, ALICE_SECRET, "SendMessage", sent)
        task_id = made.json()["result"]["task"]["id"]
        assert rpc(server.url, ALICE_SECRET, "GetTask", {"id": task_id}).json()["result"]["id"] == task_id
        for what, (token, reason) in tokens.items():
            for method, params in (("GetTask", {"id": task_id}), ("ListTasks", {}), ("SendMessage", sent)):
                response = rpc(server.url, token, method, params)
                assert response.status_code == 401, (what, method, response.text)
                assert response.json()["error"]["message"] == reason, (what, method)
                assert task_id not in response.text, (what, method)
                assert "private plan" not in response.text, (what, method)
                assert token not in response.text
        listed = rpc(server.url, ALICE_SECRET, "ListTasks", {}).json()["result"]["tasks"]
        assert [task["id"] for task in listed] == [task_id]
    assert id_token not in caplog.text
    assert user_only not in caplog.text


@pytest.mark.timeout(60)
def test_an_app_only_tokens_roles_are_the_scopes_it_grants_and_a_users_are_not(provider, caplog):
    app_only = signed(provider, "JWT", {"roles": ["a2a"], "azp": "orchestrator"}, without=APP_ONLY)
    on_behalf = signed(provider, "JWT", {"scp": "profile", "roles": ["a2a"], "azp": "orchestrator"}, without=APP_ONLY)
    with agent(provider.issuer, accept_plain_jwt=True, scopes=("a2a",)) as server:
        assert send(server.url, app_only).status_code == 200
        refused = send(server.url, on_behalf)
    assert refused.status_code == 403
    assert "lacks the scope 'a2a'" in refused.text
