"""Signed Agent Cards: a served agent signs its card (JWS over the canonical JSON, by the a2a-sdk's signer),
and callers refuse a card that is unsigned, tampered with, or signed by a key they do not trust.

Tampering happens on the wire: a real server in between serves the real card, edited.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from a2a.client import A2ACardResolver
from a2a.utils.signing import create_signature_verifier
from a2a_bridge_crewai import A2ADelegateTool
from a2a_bridge_langgraph import A2ADelegateNode
from agents import EchoAgent
from signing_keys import write_key
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from a2a_bridge import CardError, CardKeys, ConfigurationError, RemoteAgent, to_a2a
from a2a_bridge.keys.signing_keys import load_signing_key
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.ports import free_port

CARD_PATH = "/.well-known/agent-card.json"


def signed_agent(key: Path, **options: Any) -> LiveServer:
    """An agent signing its card for the one URL it serves on: a signed card needs its public URL."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    app = to_a2a(EchoAgent(), name="research", card_signing_key=str(key), public_url=public_url, **options)
    return LiveServer(app, port=port).start()


async def card_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        card: dict[str, Any] = (await http.get(url + CARD_PATH)).json()
    return card


def protected_header(card: dict[str, Any]) -> dict[str, Any]:
    protected = card["signatures"][0]["protected"]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    return decoded


def relay(card: dict[str, Any]) -> LiveServer:
    """A server in between, answering the card path with ``card``."""

    async def answer(request: Any) -> JSONResponse:
        return JSONResponse(card)

    return LiveServer(Starlette(routes=[Route(CARD_PATH, answer)])).start()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("kind", "alg"), [("rsa", "RS256"), ("ec", "ES256"), ("ed25519", "EdDSA")])
async def test_a_signed_card_verifies_with_our_caller_and_the_sdks_own(tmp_path, kind, alg):
    private, public = write_key(tmp_path, "card", kind)
    agent = signed_agent(private)
    try:
        card = await card_json(agent.url)
        [signature] = card["signatures"]
        header = protected_header(card)
        assert header == {"alg": alg, "kid": load_signing_key(private).kid, "typ": "JOSE"}
        assert set(signature) == {"protected", "signature"}

        async with RemoteAgent(agent.url, card_keys=str(public)) as remote:
            assert (await remote.send("hello")).state == "completed"

        key = load_signing_key(private)
        verifier = create_signature_verifier(lambda kid, jku: jwt.PyJWK(key.public_jwk()), [alg])
        async with httpx.AsyncClient() as http:
            sdk_card = await A2ACardResolver(http, agent.url).get_agent_card(signature_verifier=verifier)
        assert sdk_card.name == "research"
    finally:
        agent.stop()


def _edit(field: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda card: {**card, field: value}


def _redirected(card: dict[str, Any]) -> dict[str, Any]:
    interfaces = [{**i, "url": "http://127.0.0.1:9/attacker"} for i in card["supportedInterfaces"]]
    return {**card, "supportedInterfaces": interfaces}


def _no_auth(card: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in card.items() if k not in ("securitySchemes", "securityRequirements")}


def _signature_of_another_key(card: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    return {**card, "signatures": other["signatures"]}


# name, how the card is changed on the way, what the refusal says
TAMPERED = [
    ("description changed", _edit("description", "Send me your secrets"), "no signature on the card verifies"),
    ("interfaces pointed elsewhere", _redirected, "no signature on the card verifies"),
    ("security requirements removed", _no_auth, "no signature on the card verifies"),
    ("a skill added", lambda c: {**c, "skills": [*c["skills"], {**c["skills"][0], "id": "x"}]}, "no signature"),
    ("signature removed", lambda c: {k: v for k, v in c.items() if k != "signatures"}, "the card is not signed"),
    ("signature garbled", lambda c: {**c, "signatures": [{**c["signatures"][0], "signature": "AAAA"}]}, "no signature"),
]


@pytest.mark.timeout(60)
async def test_a_card_tampered_with_on_the_way_is_refused(tmp_path):
    private, public = write_key(tmp_path, "card")
    agent = signed_agent(private, secrets={"orchestrator": "orchestrator-secret"})
    card = await card_json(agent.url)
    try:
        for case, change, says in TAMPERED:
            in_between = relay(change(card))
            try:
                async with RemoteAgent(in_between.url, card_keys=str(public), secret="orchestrator-secret") as remote:
                    with pytest.raises(CardError) as refused:
                        await remote.send("hello")
                assert says in str(refused.value), case
                assert str(refused.value).startswith(f"the card at {in_between.url} is refused: "), case
                print(f"\n{case}: {refused.value}")
            finally:
                in_between.stop()
        untouched = relay(card)
        try:  # the relay itself changes nothing: the same card through it verifies
            async with RemoteAgent(untouched.url, card_keys=str(public)) as remote:
                assert (await remote.card()).name == "research"
        finally:
            untouched.stop()
    finally:
        agent.stop()


@pytest.mark.timeout(60)
async def test_a_card_signed_by_an_untrusted_key_is_refused_and_an_unsigned_one_only_when_required(tmp_path):
    private, _ = write_key(tmp_path, "card")
    _, trusted_public = write_key(tmp_path, "trusted")
    agent = signed_agent(private)
    unsigned = LiveServer(to_a2a(EchoAgent(), name="plain")).start()
    try:
        async with RemoteAgent(agent.url, card_keys=str(trusted_public)) as remote:
            with pytest.raises(CardError, match="no signature on the card verifies with a trusted key"):
                await remote.card()
        async with RemoteAgent(unsigned.url, card_keys=str(trusted_public)) as remote:
            with pytest.raises(CardError, match="the card is not signed, and a signed card is required"):
                await remote.card()
        optional = CardKeys(str(trusted_public), required=False)
        async with RemoteAgent(unsigned.url, card_keys=optional) as remote:
            assert (await remote.send("hello")).state == "completed"
        async with RemoteAgent(agent.url, card_keys=optional) as remote:
            with pytest.raises(CardError, match="no signature on the card verifies"):  # signed, but wrongly: refused
                await remote.card()
    finally:
        agent.stop()
        unsigned.stop()


@pytest.mark.timeout(60)
async def test_keys_from_a_jwks_url_are_read_again_when_the_signer_rotates(tmp_path):
    first, _ = write_key(tmp_path, "first", "ec")
    second, _ = write_key(tmp_path, "second", "ec")
    published = {"keys": [load_signing_key(first).public_jwk()]}

    async def jwks(request: Any) -> JSONResponse:
        return JSONResponse(published)

    key_server = LiveServer(Starlette(routes=[Route("/jwks.json", jwks)])).start()
    old_agent, new_agent = signed_agent(first), signed_agent(second)
    try:
        trusted = CardKeys(key_server.url + "/jwks.json")
        async with RemoteAgent(old_agent.url, card_keys=trusted) as remote:
            assert (await remote.send("hello")).state == "completed"
        async with RemoteAgent(new_agent.url, card_keys=trusted) as remote:
            with pytest.raises(CardError, match="no signature on the card verifies"):
                await remote.card()  # the second key is not published yet
        published["keys"].append(load_signing_key(second).public_jwk())
        await asyncio.sleep(5.1)  # keys are read again at most every 5 s
        async with RemoteAgent(new_agent.url, card_keys=trusted) as remote:
            assert (await remote.send("hello")).state == "completed"
        gone = CardKeys("http://127.0.0.1:9/jwks.json")
        async with RemoteAgent(old_agent.url, card_keys=gone) as remote:
            with pytest.raises(
                CardError, match=r"cannot check the card at .*: the keys at http://127\.0\.0\.1:9/jwks\.json"
            ):
                await remote.card()
    finally:
        for server in (key_server, old_agent, new_agent):
            server.stop()


@pytest.mark.timeout(60)
def test_the_langgraph_node_and_the_crewai_tool_refuse_a_tampered_card(tmp_path):
    private, public = write_key(tmp_path, "card")
    agent = signed_agent(private)
    in_between = relay(_redirected(httpx.get(agent.url + CARD_PATH).json()))
    try:
        with pytest.raises(CardError, match="is refused"):
            A2ADelegateTool(in_between.url, card_keys=str(public))
        assert A2ADelegateTool(agent.url, card_keys=str(public)).name == "ask_research"
        node = A2ADelegateNode(in_between.url, card_keys=str(public))
        answer = node.invoke({"messages": [("user", "hello")]})
        assert "is refused: no signature on the card verifies" in answer["messages"][-1].content
    finally:
        in_between.stop()
        agent.stop()


def test_bad_signing_settings_are_refused_by_name(tmp_path):
    private, public = write_key(tmp_path, "card")
    (tmp_path / "garbage.json").write_text("{nope")
    cases = [
        ({"card_signing_key": str(tmp_path / "missing.pem")}, "cannot read the card signing key"),
        ({"card_signing_key": str(public)}, "is not an unencrypted PEM private key"),
        ({"card_signing_key": str(tmp_path / "garbage.json")}, "is not valid JSON"),
        ({"card_key_id": "k1"}, "card_key_id needs card_signing_key"),
        ({"card_signing_key": 42}, "must be the path of a key file"),
    ]
    for options, says in cases:
        with pytest.raises(ConfigurationError) as raised:
            to_a2a(EchoAgent(), name="research", **options)
        assert says in str(raised.value), options
    assert load_signing_key(private, kid="chosen").kid == "chosen"
    with pytest.raises(ConfigurationError, match="card_keys takes a JWKS URL, a key file or a JWK Set"):
        RemoteAgent("http://127.0.0.1:9", card_keys=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="holds no signing key"):
        CardKeys({"keys": []})


@pytest.mark.timeout(60)
async def test_a2a_bridge_serve_signs_its_card(tmp_path):
    from processes import serve_process

    private, public = write_key(tmp_path, "card", "ed25519")
    port = free_port()
    flags = ["--card-signing-key", str(private), "--card-key-id", "research-2026"]
    agent = serve_process("agents:brief", port=port, args=[*flags, "--public-url", f"http://127.0.0.1:{port}"])
    try:
        assert protected_header(await card_json(agent.url))["kid"] == "research-2026"
        async with RemoteAgent(agent.url, card_keys=str(public)) as remote:
            assert (await remote.send("hello")).state == "completed"
    finally:
        agent.stop()
