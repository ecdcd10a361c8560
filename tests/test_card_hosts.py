"""Which card a request gets: one built for a configured public URL, or for the server's own address, never
for a host the request names.

Real servers on 127.0.0.1 and real HTTP; the Host and forwarding headers are the ones a caller could send.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from agents import EchoAgent
from processes import TESTS, serve_process
from signing_keys import write_key

from a2a_bridge import ConfigurationError, RemoteAgent, to_a2a
from a2a_bridge.keys.signing_keys import load_signing_key
from a2a_bridge.profile import AgentProfile
from a2a_bridge.server.card import build_card
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.ports import free_port
from a2a_bridge.wire.card_signatures import card_signer, verify_card

CARD_PATH = "/.well-known/agent-card.json"
GATEWAY = "https://gateway.example/research"
INTERNAL = "http://research.internal:8080"


def card_urls(card: dict[str, Any]) -> list[str]:
    """Every URL the card sends callers to: its interfaces and the /tasks/send endpoint."""
    urls = [interface["url"] for interface in card["supportedInterfaces"]]
    urls += [e["params"]["endpoint"] for e in card["capabilities"]["extensions"] if "endpoint" in e["params"]]
    return urls


def fetch(url: str, **headers: str) -> httpx.Response:
    response = httpx.get(url + CARD_PATH, headers=headers)
    assert response.status_code == 200, response.text
    return response


def trusted_keys(private: Path) -> dict[str, Any]:
    key = load_signing_key(private)
    return {key.kid: key.public_jwk()}


def test_an_unknown_host_gets_the_servers_own_address(live_server):
    server = live_server(to_a2a(EchoAgent(), name="research"))

    for host in ("evil.example", "evil.example:8080", "127.0.0.1:1"):
        answer = fetch(server.url, Host=host)
        assert "evil.example" not in answer.text, host
        assert "127.0.0.1:1/" not in answer.text, host
        assert card_urls(answer.json())[0] == server.url + "/", host
        assert all(url.startswith(server.url) for url in card_urls(answer.json())), host


@pytest.mark.timeout(60)
async def test_a_signed_card_is_built_only_for_a_configured_url_and_verifies_there(tmp_path):
    private, public = write_key(tmp_path, "card", "ec")
    port = free_port()
    own = f"http://127.0.0.1:{port}"
    app = to_a2a(EchoAgent(), name="research", card_signing_key=str(private), public_url=[own, GATEWAY])
    with LiveServer(app, port=port) as server:
        evil = fetch(server.url, Host="evil.example")
        assert "evil.example" not in evil.text
        assert card_urls(evil.json())[0] == own + "/", "an unknown host gets the first configured URL's card"
        assert verify_card(evil.json(), trusted_keys(private), required=True)

        gateway = fetch(server.url, Host="gateway.example")  # a configured host picks its own card
        assert card_urls(gateway.json())[0] == GATEWAY + "/"
        assert verify_card(gateway.json(), trusted_keys(private), required=True)

        async with RemoteAgent(server.url, card_keys=str(public)) as remote:
            assert (await remote.send("hello")).state == "completed"


def test_ecdsa_signs_one_card_twice_differently(tmp_path):
    """Why the next test may count signatures by the ETag: a second signature would change the card's bytes."""
    private, _ = write_key(tmp_path, "card", "ec")
    sign = card_signer(load_signing_key(private))
    first, second = (sign(build_card(AgentProfile(name="research"), base_url=INTERNAL, secured=False)) for _ in "12")
    assert first.signatures[0].signature != second.signatures[0].signature


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned-without-public-url", "signed-es256"])
def test_two_hundred_hosts_cost_no_new_card_and_keep_one_etag(live_server, tmp_path, signed):
    options: dict[str, Any] = {}
    if signed:
        options = {"card_signing_key": str(write_key(tmp_path, "card", "ec")[0]), "public_url": [INTERNAL, GATEWAY]}
    server = live_server(to_a2a(EchoAgent(), name="research", **options))
    first = fetch(server.url)
    etag = first.headers["ETag"]

    with httpx.Client() as http:
        answers = [http.get(server.url + CARD_PATH, headers={"Host": f"h{n}.example"}) for n in range(200)]
    assert {a.status_code for a in answers} == {200}
    assert {a.headers["ETag"] for a in answers} == {etag}, "each new host made (and signed) a card of its own"
    assert {a.content for a in answers} == {first.content}
    assert fetch(server.url).headers["ETag"] == etag
    again = httpx.get(server.url + CARD_PATH, headers={"Host": "h999.example", "If-None-Match": etag})
    assert again.status_code == 304


def test_a_signing_key_without_public_url_is_refused_by_name(tmp_path):
    private, _ = write_key(tmp_path, "card", "ec")
    with pytest.raises(ConfigurationError, match="card_signing_key needs public_url") as raised:
        to_a2a(EchoAgent(), name="research", card_signing_key=str(private))
    assert "Host" in str(raised.value)
    signed = to_a2a(EchoAgent(), name="research", card_signing_key=str(private), public_url=INTERNAL)
    assert signed is not None


@pytest.mark.timeout(60)
def test_a2a_bridge_serve_refuses_a_signing_key_without_public_url(tmp_path):
    private, _ = write_key(tmp_path, "card", "ec")
    command = [sys.executable, "-m", "a2a_bridge.cli", "serve", "agents:brief", "--port", str(free_port())]
    result = subprocess.run(
        [*command, "--card-signing-key", str(private)], cwd=TESTS, capture_output=True, text=True, timeout=40
    )
    assert result.returncode == 2
    assert "a2a-bridge: error: --card-signing-key needs --public-url" in result.stderr
    assert "Traceback" not in result.stderr


FORWARDED_TO_GATEWAY = [
    {"X-Forwarded-Host": "gateway.example", "X-Forwarded-Proto": "https"},
    {"Forwarded": 'for=192.0.2.7;host="gateway.example";proto=https'},
    {"X-Forwarded-Host": "evil.example, gateway.example"},  # the nearest proxy's value counts: the last
]
FORWARDED_ELSEWHERE = [
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    {"Forwarded": "for=192.0.2.7;host=evil.example;proto=https"},
    {"X-Forwarded-Host": "gateway.example, evil.example"},
]


@pytest.mark.timeout(60)
def test_forwarded_hosts_count_only_from_trusted_proxies_and_only_for_configured_urls(live_server, tmp_path):
    private, _ = write_key(tmp_path, "card", "ec")
    options = {"name": "research", "card_signing_key": str(private), "public_url": [INTERNAL, GATEWAY]}
    untrusted = live_server(to_a2a(EchoAgent(), **options))
    elsewhere = live_server(to_a2a(EchoAgent(), trusted_proxies=["10.0.0.0/8"], **options))
    trusted = live_server(to_a2a(EchoAgent(), trusted_proxies=["127.0.0.1"], **options))

    for headers in FORWARDED_TO_GATEWAY:
        for server in (untrusted, elsewhere):  # the peer, 127.0.0.1, is no trusted proxy of theirs
            assert card_urls(fetch(server.url, **headers).json())[0] == INTERNAL + "/", headers
        honoured = fetch(trusted.url, **headers).json()
        assert card_urls(honoured)[0] == GATEWAY + "/", headers
        assert verify_card(honoured, trusted_keys(private), required=True)
    for headers in FORWARDED_ELSEWHERE:
        answer = fetch(trusted.url, **headers)
        assert "evil.example" not in answer.text, headers
        assert card_urls(answer.json())[0] == INTERNAL + "/", headers
    assert fetch(trusted.url, **FORWARDED_ELSEWHERE[0]).headers["ETag"] == fetch(trusted.url).headers["ETag"]


@pytest.mark.timeout(90)
def test_a2a_bridge_serve_trusts_no_forwarding_unless_told(tmp_path):
    """uvicorn alone would take X-Forwarded-Proto from 127.0.0.1; the served agent trusts only --trusted-proxy."""
    plain = serve_process("agents:brief")
    try:
        card = fetch(plain.url, **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}).json()
        assert card_urls(card)[0] == plain.url + "/"
    finally:
        plain.stop()

    private, _ = write_key(tmp_path, "card", "ec")
    port = free_port()
    own = f"http://127.0.0.1:{port}"
    flags = ["--card-signing-key", str(private), "--public-url", own, "--public-url", GATEWAY]
    proxied = serve_process("agents:brief", port=port, args=[*flags, "--trusted-proxy", "127.0.0.0/8"])
    try:
        assert card_urls(fetch(proxied.url).json())[0] == own + "/"
        forwarded = fetch(proxied.url, **FORWARDED_TO_GATEWAY[0]).json()
        assert card_urls(forwarded)[0] == GATEWAY + "/"
        assert verify_card(forwarded, trusted_keys(private), required=True)
        assert card_urls(fetch(proxied.url, **FORWARDED_ELSEWHERE[0]).json())[0] == own + "/"
    finally:
        proxied.stop()


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"public_url": []}, "public_url must be a URL or a list of URLs"),
        ({"public_url": [INTERNAL, "gateway.example"]}, "public_url must start with http:// or https://"),
        ({"public_url": [INTERNAL, INTERNAL + "/"]}, "public_url lists http://research.internal:8080 twice"),
        ({"public_url": ["https://a.example/one", "https://b.example/two"]}, "public_url's URLs must share one path"),
        ({"public_url": "https://a.example/?x=1"}, "public_url must have no query or fragment"),
        ({"trusted_proxies": ["127.0.0.1"]}, "trusted_proxies needs public_url"),
        ({"public_url": INTERNAL, "trusted_proxies": ["proxy.internal"]}, "'proxy.internal' is not an IP address"),
        ({"public_url": INTERNAL, "trusted_proxies": 42}, "trusted_proxies must be an address or network, or a list"),
    ],
)
def test_bad_url_and_proxy_options_are_refused_by_name(options, says):
    with pytest.raises(ConfigurationError) as raised:
        to_a2a(EchoAgent(), name="research", **options)
    assert says in str(raised.value)
