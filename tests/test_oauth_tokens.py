"""OAuth 2.0 access tokens from a real OpenID Provider (``oidc-provider`` on loopback), checked by a served agent.

Good tokens come from the provider by the client-credentials grant. Bad ones
are what an attacker or a broken client would send: expired, for another
agent, from another issuer, unsigned, tampered, HMAC-signed with the public
key, signed by an unknown key, or short of a scope.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from a2a_calls import V1, message
from agents import EchoAgent

from a2a_bridge import AccessTokens, ConfigurationError, to_a2a
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.oidc import OidcClient, OpenIdProvider, new_signing_key, openid_provider

AGENT = "http://research.agents.test"
OTHER_AGENT = "http://billing.agents.test"
LEGACY_SECRET = "legacy-secret-0001"
CLIENTS = [
    OidcClient("orchestrator", "orchestrator-client-secret", scope="a2a research"),
    OidcClient("reader", "reader-client-secret", scope="a2a"),
    OidcClient("no-scopes", "no-scopes-client-secret", scope=""),
    OidcClient("short-lived", "short-lived-client-secret", scope="a2a", token_ttl=1),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    with openid_provider(clients=CLIENTS, resources={AGENT: "a2a research", OTHER_AGENT: "a2a"}) as op:
        yield op


def serve(op: OpenIdProvider, **tokens: Any) -> LiveServer:
    config = AccessTokens(
        issuer=op.issuer,
        audience=AGENT,
        scopes=("a2a",),
        skill_scopes={"research": ("research",)},
        leeway=tokens.pop("leeway", 5),
        **tokens,
    )
    app = to_a2a(
        EchoAgent(), name="research", skills=["research", "summary"], secrets={"legacy": LEGACY_SECRET}, tokens=config
    )
    return LiveServer(app).start()


@pytest.fixture(scope="module")
def agent(provider: OpenIdProvider) -> Iterator[LiveServer]:
    server = serve(provider)
    yield server
    server.stop()


def send(url: str, credential: str, *, skill: str | None = None, text: str = "hello") -> httpx.Response:
    sent = message(text)
    if skill:
        sent["metadata"] = {"skill": skill}
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": sent}}
    return httpx.post(url + "/", json=body, headers={**V1, "Authorization": f"Bearer {credential}"}, timeout=30)


def rpc(url: str, credential: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply: dict[str, Any] = httpx.post(
        url + "/", json=body, headers={**V1, "Authorization": f"Bearer {credential}"}, timeout=30
    ).json()
    return reply


def signed(op: OpenIdProvider, claims: dict[str, Any], *, kid: str = "key-1", key: dict[str, Any] | None = None) -> str:
    """A token signed with the provider's own key (or another), for claims the provider would not issue."""
    private = jwt.PyJWK(key or op.keys[0]).key
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def claims(op: OpenIdProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": op.issuer, "aud": AGENT, "client_id": "orchestrator", "sub": "orchestrator", "scope": "a2a"}
    return {**base, "iat": now, "exp": now + 300, **changes}


def segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned(op: OpenIdProvider) -> str:
    return f"{segment({'alg': 'none', 'typ': 'at+jwt'})}.{segment(claims(op))}."


def hmac_with_public_key(op: OpenIdProvider) -> str:
    """The algorithm-confusion attack: HS256 keyed with the provider's public key, which anyone can read."""
    public = jwt.PyJWK({k: v for k, v in op.keys[0].items() if k in ("kty", "n", "e")}).key
    from cryptography.hazmat.primitives import serialization

    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{segment({'alg': 'HS256', 'kid': 'key-1'})}.{segment(claims(op))}"
    signature = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())
    return f"{signing_input}.{signature.rstrip(b'=').decode()}"


def tampered(op: OpenIdProvider) -> str:
    """A real token whose payload was edited to grant one more scope."""
    header, payload, signature = op.token("reader", resource=AGENT, scope="a2a").split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{segment({**decoded, 'scope': 'a2a research'})}.{signature}"


def expired_from_provider(op: OpenIdProvider) -> str:
    token = op.token("short-lived", resource=AGENT, scope="a2a")  # valid 1 s; the agent allows 5 s of skew
    time.sleep(7)
    return token


# name, how to make the credential, status, what the reason says
BAD_TOKENS = [
    ("expired", expired_from_provider, 401, "has expired"),
    ("expired beyond the skew", lambda op: signed(op, claims(op, exp=int(time.time()) - 60)), 401, "has expired"),
    (
        "for another agent",
        lambda op: op.token("reader", resource=OTHER_AGENT, scope="a2a"),
        401,
        "not meant for this agent",
    ),
    (
        "from another issuer",
        lambda op: signed(op, claims(op, iss="http://127.0.0.1:1/evil")),
        401,
        "issuer is not trusted",
    ),
    ("unsigned (alg none)", unsigned, 401, "not signed with an accepted algorithm"),
    ("HS256 keyed with the public key", hmac_with_public_key, 401, "not signed with an accepted algorithm"),
    ("tampered payload", tampered, 401, "signature is not valid"),
    (
        "signed by an unknown key",
        lambda op: signed(op, claims(op), kid="key-x", key=new_signing_key("key-x")),
        401,
        "signature is not valid",
    ),
    (
        "signed by another key under a known kid",
        lambda op: signed(op, claims(op), key=new_signing_key("key-1")),
        401,
        "signature is not valid",
    ),
    ("no expiry", lambda op: signed(op, {k: v for k, v in claims(op).items() if k != "exp"}), 401, "no 'exp' claim"),
    ("not yet valid", lambda op: signed(op, claims(op, nbf=int(time.time()) + 600)), 401, "not valid yet"),
    ("not a JWT", lambda op: "abc.def.ghi", 401, "not a valid access token"),
    ("missing the agent's scope", lambda op: op.token("no-scopes", resource=AGENT), 403, "lacks the scope 'a2a'"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("case", "make", "status", "reason"), BAD_TOKENS, ids=[case[0] for case in BAD_TOKENS])
def test_a_bad_token_gets_a_clear_refusal_that_gives_nothing_away(provider, agent, case, make, status, reason, caplog):
    token = make(provider)
    response = send(agent.url, token)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert reason in error["message"], error
    assert "Traceback" not in response.text
    for detail in (AGENT, provider.issuer, "key-1", "orchestrator-client-secret"):
        assert detail not in response.text, f"the refusal of a {case} token shows {detail!r}"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="a2a-bridge"')
    assert ('error="insufficient_scope"' if status == 403 else 'error="invalid_token"') in challenge
    [logged] = [record.getMessage() for record in caplog.records if record.name == "a2a_bridge.auth"]
    assert logged == f"refused POST /: {status} {error['message']}"
    assert token not in caplog.text
    print(f"\n{case}: {status} {error['message']}")


@pytest.mark.timeout(60)
def test_a_provider_token_is_accepted_and_its_client_owns_the_task(provider, agent):
    token = provider.token("orchestrator", resource=AGENT, scope="a2a research")
    response = send(agent.url, token, text="gpu prices")
    assert response.status_code == 200, response.text
    task = response.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"

    other = provider.token("reader", resource=AGENT, scope="a2a")
    assert rpc(agent.url, other, "GetTask", {"id": task["id"]})["error"]["code"] == -32001  # not the reader's task
    assert rpc(agent.url, token, "GetTask", {"id": task["id"]})["result"]["id"] == task["id"]
    listed = rpc(agent.url, token, "ListTasks", {})["result"]["tasks"]
    assert [t["id"] for t in listed] == [task["id"]]
    assert rpc(agent.url, other, "ListTasks", {})["result"].get("tasks", []) == []


@pytest.mark.timeout(60)
def test_secrets_and_tokens_work_side_by_side(provider, agent):
    assert send(agent.url, LEGACY_SECRET).status_code == 200
    assert send(agent.url, provider.token("reader", resource=AGENT, scope="a2a")).status_code == 200
    wrong = send(agent.url, "not-a-secret-nor-a-token")
    assert wrong.status_code == 401
    assert "neither a secret of this agent nor an access token" in wrong.json()["error"]["message"]
    assert send(agent.url, LEGACY_SECRET, skill="research").status_code == 200  # a secret is trusted with every skill


@pytest.mark.timeout(60)
def test_a_skill_needs_its_own_scope(provider, agent):
    reader = provider.token("reader", resource=AGENT, scope="a2a")
    assert send(agent.url, reader, skill="summary").status_code == 200
    refused = send(agent.url, reader, skill="research")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "the access token lacks the scope 'research' of skill 'research'"
    assert 'scope="research"' in refused.headers["www-authenticate"]
    rest = httpx.post(
        agent.url + "/message:send",
        json={"message": {**message("hi"), "metadata": {"skill": "research"}}},
        headers={**V1, "Authorization": f"Bearer {reader}"},
    )
    assert rest.status_code == 403  # the HTTP+JSON binding checks it too
    full = provider.token("orchestrator", resource=AGENT, scope="a2a research")
    assert send(agent.url, full, skill="research").status_code == 200


@pytest.mark.timeout(90)
def test_the_provider_rotates_its_signing_key_and_new_tokens_work_without_a_restart(provider):
    server = serve(provider)
    try:
        before = provider.token("reader", resource=AGENT, scope="a2a")
        assert send(server.url, before).status_code == 200
        read_keys_at = time.monotonic()
        old_key, new_key = provider.keys[0], new_signing_key("key-2")
        provider.rotate([new_key, old_key])  # the new key signs; the old one is still published
        after = provider.token("reader", resource=AGENT, scope="a2a")
        assert jwt.get_unverified_header(after)["kid"] == "key-2"
        time.sleep(max(0.0, read_keys_at + 3.2 - time.monotonic()))  # the agent reads the keys again at most every 3 s
        assert send(server.url, after).status_code == 200
        assert send(server.url, before).status_code == 200  # signed by the old key, still published
    finally:
        server.stop()
        provider.rotate([old_key])


@pytest.mark.timeout(60)
def test_an_unreachable_provider_is_a_503_not_a_refusal(provider):
    with openid_provider(clients=CLIENTS, resources={AGENT: "a2a research"}) as gone:
        token = gone.token("reader", resource=AGENT, scope="a2a")
        issuer = gone.issuer
    app = to_a2a(EchoAgent(), name="research", tokens=AccessTokens(issuer=issuer, audience=AGENT))
    with LiveServer(app) as server:
        response = send(server.url, token)
    assert response.status_code == 503
    assert (
        response.json()["error"]["message"] == "the identity provider cannot be reached to check the token; try again"
    )
    assert response.headers["retry-after"] == "5"


def test_the_card_lists_the_token_scheme_and_each_skills_scopes(provider, agent):
    card = httpx.get(agent.url + "/.well-known/agent-card.json").json()
    assert card["securitySchemes"]["openid"]["openIdConnectSecurityScheme"] == {
        "description": "OAuth 2.0 access tokens (JWT) from this OpenID Provider, by the client-credentials grant.",
        "openIdConnectUrl": provider.discovery_url,
    }
    assert card["securityRequirements"] == [{"schemes": {"bearer": {}}}, {"schemes": {"openid": {"list": ["a2a"]}}}]
    skills = {skill["id"]: skill for skill in card["skills"]}
    assert skills["research"]["securityRequirements"] == [
        {"schemes": {"bearer": {}}},
        {"schemes": {"openid": {"list": ["a2a", "research"]}}},
    ]
    assert "securityRequirements" not in skills["summary"]

    with_token_url = to_a2a(
        EchoAgent(),
        name="research",
        tokens={"issuer": provider.issuer, "audience": AGENT, "scopes": ["a2a"], "token_url": provider.token_url},
    )
    with LiveServer(with_token_url) as server:
        card = httpx.get(server.url + "/.well-known/agent-card.json").json()
    assert list(card["securitySchemes"]) == ["oauth2"]
    assert card["securitySchemes"]["oauth2"]["oauth2SecurityScheme"] == {
        "description": "OAuth 2.0 access tokens (JWT) by the client-credentials grant.",
        "flows": {"clientCredentials": {"tokenUrl": provider.token_url, "scopes": {"a2a": ""}}},
        "oauth2MetadataUrl": provider.discovery_url,
    }


@pytest.mark.parametrize(
    ("tokens", "says"),
    [
        ({"issuer": "ftp://id.example", "audience": AGENT}, "tokens.issuer must be an http(s) URL"),
        ({"issuer": "https://id.example"}, "needs at least 'issuer' and 'audience'"),
        ({"issuer": "https://id.example", "audience": AGENT, "algorithms": ["HS256"]}, "HS256 not accepted"),
        ({"issuer": "https://id.example", "audience": AGENT, "leeway": 3600}, "leeway must be between 0 and 300"),
        ({"issuer": "https://id.example", "audience": AGENT, "scope": "a2a"}, "unknown field(s) scope"),
        (
            {"issuer": "https://id.example", "audience": AGENT, "skill_scopes": {"nope": "x"}},
            "skill(s) the agent does not have: nope",
        ),
        ({"issuer": "https://id.example", "audience": AGENT, "scopes": ["a b"]}, "scope names without spaces"),
    ],
)
def test_bad_token_settings_are_refused_by_name(tokens, says):
    with pytest.raises(ConfigurationError, match=None) as raised:
        to_a2a(EchoAgent(), name="research", skills=["research"], tokens=tokens)
    assert says in str(raised.value)
