"""Callers that obtain access tokens by OAuth 2.0 client credentials from a real OpenID Provider.

``RemoteAgent``, the LangGraph node and tools, and the CrewAI tool, each
calling a served agent that takes tokens; tokens are refreshed before they
expire, kept per audience, and where to ask for them can come from the agent's
card, only when the card's signature verified. The client secret never goes to
an endpoint an unsigned card names, nor over plain http:// off loopback:
receivers on 127.0.0.1 (a token endpoint, an HTTP proxy) show that no request
reached them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from a2a_bridge_crewai import A2ADelegateTool
from a2a_bridge_langgraph import A2ADelegateNode, a2a_tools
from agents import EchoAgent
from langgraph.graph import END, START, MessagesState, StateGraph
from signing_keys import write_key
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from a2a_bridge import (
    AccessTokens,
    CardKeys,
    ClientCredentials,
    ConfigurationError,
    RemoteAgent,
    RemoteAuthError,
    to_a2a,
)
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.oidc import OidcClient, OpenIdProvider, openid_provider
from a2a_bridge.testing.ports import free_port

AGENT = "http://research.agents.test"
OTHER = "http://pricing.agents.test"
SECRET = "orchestrator-client-secret"
CARD_PATH = "/.well-known/agent-card.json"
UNROUTABLE = "http://10.255.255.1"  # not loopback; a connection to it would hang until the timeout


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    clients = [
        OidcClient("orchestrator", SECRET, scope="a2a"),
        OidcClient("brief", "brief-client-secret", scope="a2a", token_ttl=3),
    ]
    with openid_provider(clients=clients, resources={AGENT: "a2a", OTHER: "a2a"}) as op:
        yield op


@pytest.fixture(scope="module")
def agent(provider: OpenIdProvider) -> Iterator[LiveServer]:
    tokens = AccessTokens(issuer=provider.issuer, audience=AGENT, scopes=("a2a",), leeway=0)
    with LiveServer(to_a2a(EchoAgent(), name="research", tokens=tokens)) as server:
        yield server


def credentials(provider: OpenIdProvider, **options) -> ClientCredentials:
    return ClientCredentials(
        "orchestrator", SECRET, token_url=provider.token_url, resource=AGENT, scopes=["a2a"], **options
    )


class Receiver:
    """A server on 127.0.0.1 that records every request it gets: a token endpoint, a discovery document, a proxy.

    A token request is answered ``invalid_client``; ``documents`` maps paths to the JSON answered there.
    """

    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.seen: list[str] = []
        self.documents = documents or {}
        routes = [Route("/{path:path}", self._answer, methods=["GET", "POST"])]
        self.server = LiveServer(Starlette(routes=routes)).start()
        self.url = self.server.url

    async def _answer(self, request: Request) -> JSONResponse:
        self.seen.append(f"{request.method} {request.headers.get('host')}{request.url.path}")
        if request.url.path in self.documents:
            return JSONResponse(self.documents[request.url.path])
        return JSONResponse({"error": "invalid_client"}, status_code=401)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.server.stop()


def receiver(started: list[Receiver], documents: dict[str, Any] | None = None) -> Receiver:
    started.append(Receiver(documents))
    return started[-1]


def served(tokens: AccessTokens, signing_key: str | None = None) -> LiveServer:
    """An agent taking tokens; with ``signing_key`` it signs its card, which then names its one public URL."""
    if signing_key is None:
        return LiveServer(to_a2a(EchoAgent(), name="research", tokens=tokens)).start()
    port = free_port()
    app = to_a2a(
        EchoAgent(),
        name="research",
        tokens=tokens,
        card_signing_key=signing_key,
        public_url=f"http://127.0.0.1:{port}",
    )
    return LiveServer(app, port=port).start()


@pytest.fixture
def through_a_proxy(monkeypatch, receivers) -> Receiver:
    """Every plain-http request off loopback goes through this receiver: what it sees is what left."""
    proxy = receiver(receivers)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return proxy


@pytest.mark.timeout(60)
async def test_a_remote_agent_calls_with_a_token_and_its_client_owns_the_task(provider, agent):
    given = credentials(provider)
    async with RemoteAgent(agent.url, credentials=given) as remote:
        result = await remote.send(data={"query": "spot prices"})
        assert result.state == "completed"
        assert result.data == {"summary": "SPOT PRICES", "sources": ["echo://"]}
        page = await remote.list_tasks()
        assert result.task_id in [task.task_id for task in page.tasks]
        await remote.send("again")
    assert given.fetched == 1  # one token, reused while valid


@pytest.mark.timeout(60)
async def test_a_token_is_refreshed_before_it_expires(provider, agent):
    given = ClientCredentials("brief", "brief-client-secret", issuer=provider.issuer, resource=AGENT, scopes="a2a")
    async with RemoteAgent(agent.url, credentials=given) as remote:
        assert (await remote.send("first")).state == "completed"
        await asyncio.sleep(3.5)  # past the first token's expiry; the agent allows no clock skew
        assert (await remote.send("second")).state == "completed"
        await asyncio.sleep(2.5)  # inside the last fifth of the second token's life
        assert (await remote.send("third")).state == "completed"
    assert given.fetched == 3


@pytest.mark.timeout(60)
async def test_refused_credentials_say_why_and_never_show_the_secret(provider, agent):
    wrong = ClientCredentials("orchestrator", "not-the-client-secret", token_url=provider.token_url, resource=AGENT)
    async with RemoteAgent(agent.url, credentials=wrong) as remote:
        with pytest.raises(RemoteAuthError) as raised:
            await remote.send("hello")
    assert str(raised.value) == "the provider refused the client credentials of 'orchestrator': invalid_client"
    nowhere = ClientCredentials("orchestrator", SECRET, token_url="http://ops:hunter2@127.0.0.1:1/token?key=k3y")
    async with RemoteAgent(agent.url, credentials=nowhere) as remote:
        with pytest.raises(
            RemoteAuthError, match=r"could not reach the token endpoint http://127\.0\.0\.1:1: "
        ) as lost:
            await remote.send("hello")
    assert "hunter2" not in str(lost.value), "the URL's user, password and query are never shown"
    assert "k3y" not in str(lost.value)
    with LiveServer(to_a2a(EchoAgent(), name="open")) as open_agent:
        unknown = ClientCredentials("orchestrator", SECRET)
        async with RemoteAgent(open_agent.url, credentials=unknown) as remote:
            with pytest.raises(
                RemoteAuthError, match="no token endpoint: give ClientCredentials token_url= or issuer="
            ):
                await remote.send("hello")
    with pytest.raises(ConfigurationError, match="a secret or credentials, not both"):
        RemoteAgent(agent.url, secret="some-secret", credentials=wrong)
    with pytest.raises(ConfigurationError, match=r"token_url ftp://id must be an http\(s\) URL"):
        ClientCredentials("orchestrator", SECRET, token_url="ftp://id")


@pytest.mark.timeout(60)
def test_a_secret_in_a_file_is_read_when_a_token_is_needed(provider, agent, tmp_path):
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(SECRET + "\n")
    given = ClientCredentials(
        "orchestrator", f"@{secret_file}", token_url=provider.token_url, resource=AGENT, scopes=["a2a"]
    )
    node = A2ADelegateNode(agent.url, credentials=given)
    graph = StateGraph(MessagesState)
    graph.add_node("research", node)
    graph.add_edge(START, "research")
    graph.add_edge("research", END)
    compiled = graph.compile()
    state = compiled.invoke({"messages": [("user", "h200 prices")]})  # the sync API, no loop running
    assert state["messages"][-1].content.startswith("h200 prices")
    assert given.fetched == 1


@pytest.mark.timeout(60)
async def test_the_langgraph_node_and_tools_and_the_crewai_tool_call_with_tokens(provider, agent):
    given = credentials(provider)
    node = A2ADelegateNode(agent.url, credentials=given)
    graph = StateGraph(MessagesState)
    graph.add_node("research", node)
    graph.add_edge(START, "research")
    graph.add_edge("research", END)
    state = await graph.compile().ainvoke({"messages": [("user", "a100 prices")]})
    assert state["messages"][-1].content.startswith("a100 prices")

    [tool] = a2a_tools([agent.url], credentials=given)
    answer = await tool.ainvoke({"query": "spot market"})
    assert "SPOT MARKET" in answer

    crew_tool = A2ADelegateTool(agent.url, credentials=given)
    answer = await asyncio.to_thread(crew_tool.run, request="on-demand market")
    assert "ON-DEMAND MARKET" in answer
    assert given.fetched == 1  # one token served the node, the tools and the crew's tool, across event loops

    without = A2ADelegateTool(agent.url)
    assert "requires a bearer secret or an access token" in await asyncio.to_thread(without.run, request="x")


@pytest.mark.timeout(90)
async def test_a2a_bridge_serve_takes_tokens_on_every_binding_grpc_included(provider):
    from processes import free_port, serve_process

    grpc_port = free_port()
    flags = ["--token-issuer", provider.issuer, "--token-audience", AGENT, "--token-scope", "a2a"]
    agent = serve_process("agents:brief", args=[*flags, "--grpc-port", str(grpc_port)])
    try:
        for binding in ("JSONRPC", "HTTP+JSON", "GRPC"):
            given = credentials(provider)
            async with RemoteAgent(agent.url, credentials=given, bindings=[binding]) as remote:
                result = await remote.send("hello")
                assert result.state == "completed", binding
                assert next(task.task_id for task in (await remote.list_tasks()).tasks) == result.task_id
        async with RemoteAgent(agent.url, secret="not-a-token-at-all", bindings=["GRPC"]) as remote:
            with pytest.raises(RemoteAuthError):
                await remote.send("hello")
    finally:
        agent.stop()


def test_token_flags_are_checked_by_name():
    import subprocess
    import sys

    for flags, says in [
        (
            ["--token-audience", AGENT],
            "--token-audience, --token-scope, --skill-scope, --token-url and --token-accept-plain-jwt "
            "need --token-issuer",
        ),
        (["--token-accept-plain-jwt"], "--token-accept-plain-jwt need --token-issuer"),
        (["--token-issuer", "http://127.0.0.1:1"], "--token-issuer needs --token-audience"),
        (["--token-issuer", "http://127.0.0.1:1", "--token-audience", "a", "--skill-scope", "x"], "give SKILL=SCOPE"),
    ]:
        command = [sys.executable, "-m", "a2a_bridge.cli", "serve", "agents:brief", *flags]
        done = subprocess.run(command, cwd="tests", capture_output=True, text=True, timeout=60)
        assert done.returncode != 0
        assert says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
async def test_only_a_card_whose_signature_verified_names_where_the_secret_goes(provider, receivers, tmp_path):
    private, public = (str(path) for path in write_key(tmp_path, "card", "ec"))
    catcher = receiver(receivers)
    unsigned = [  # an OAuth 2.0 scheme naming a token URL, an OpenID Connect one naming a discovery document
        AccessTokens(issuer=provider.issuer, audience=AGENT, token_url=f"{catcher.url}/token"),
        AccessTokens(issuer=catcher.url, audience=AGENT),
    ]
    for tokens in unsigned:
        agent = served(tokens)
        try:
            for card_keys in (None, CardKeys(public, required=False)):  # no keys, or keys that let it pass unsigned
                given = ClientCredentials("orchestrator", SECRET, resource=AGENT, scopes=["a2a"])
                async with RemoteAgent(agent.url, credentials=given, card_keys=card_keys) as remote:
                    with pytest.raises(RemoteAuthError) as refused:
                        await remote.send("hello")
                message = str(refused.value)
                assert message.startswith(f"the card of research names {catcher.url} for tokens, but its signature")
                assert "give ClientCredentials token_url= or issuer=, or card_keys=" in message
                assert SECRET not in message
        finally:
            agent.stop()
    assert catcher.seen == []  # not the token request, not even the discovery document

    signed = [
        AccessTokens(issuer=provider.issuer, audience=AGENT, token_url=provider.token_url),
        AccessTokens(issuer=provider.issuer, audience=AGENT),
    ]
    for tokens in signed:
        agent = served(tokens, private)
        try:
            given = ClientCredentials("orchestrator", SECRET, resource=AGENT, scopes=["a2a"])
            async with RemoteAgent(agent.url, credentials=given, card_keys=public) as remote:
                assert (await remote.send("hello")).state == "completed"
                assert (await remote.send("again")).state == "completed"
            assert given.fetched == 1
        finally:
            agent.stop()


@pytest.mark.timeout(60)
async def test_a_token_url_slipped_beside_the_signed_scheme_is_not_used(provider, receivers, tmp_path):
    private, public = (str(path) for path in write_key(tmp_path, "card", "ec"))
    catcher = receiver(receivers)
    agent = served(AccessTokens(issuer=provider.issuer, audience=AGENT, token_url=provider.token_url), private)
    try:
        async with httpx.AsyncClient() as http:
            card = (await http.get(agent.url + CARD_PATH)).json()
        # A served card carries each scheme twice, as v1.0 and as v0.3; the signature covers the SDK's reading.
        [scheme] = card["securitySchemes"].values()
        scheme["oauth2SecurityScheme"]["flows"]["clientCredentials"]["tokenUrl"] = f"{catcher.url}/token"
        in_between = receiver(receivers, {CARD_PATH: card})
        given = ClientCredentials("orchestrator", SECRET, resource=AGENT, scopes=["a2a"])
        async with RemoteAgent(in_between.url, credentials=given, card_keys=public) as remote:
            assert (await remote.send("hello")).state == "completed"  # with a token from the signed token URL
        assert given.fetched == 1
        assert catcher.seen == []
    finally:
        agent.stop()


@pytest.mark.timeout(60)
async def test_plain_http_token_urls_off_loopback_are_refused_before_any_connection(
    provider, receivers, through_a_proxy, tmp_path
):
    for option, url, origin in [
        ("token_url", "http://token.example/oauth/token", "http://token.example"),
        ("token_url", "http://client:hunter2@token.example:8080/token?k=v", "http://token.example:8080"),
        ("issuer", f"{UNROUTABLE}/realms/a2a", UNROUTABLE),
        ("token_url", "ftp://token.example/token", "ftp://token.example"),
    ]:
        with pytest.raises(ConfigurationError) as refused:
            ClientCredentials("orchestrator", SECRET, **{option: url})
        assert str(refused.value).startswith(f"{option} {origin} "), str(refused.value)
        assert "hunter2" not in str(refused.value)
        assert "k=v" not in str(refused.value)
    for loopback in (
        "http://127.0.0.1:1/token",
        "http://127.9.9.9/token",
        "http://[::1]:1/token",
        "http://localhost/t",
    ):
        ClientCredentials("orchestrator", SECRET, token_url=loopback)
    ClientCredentials("orchestrator", SECRET, token_url="https://token.example/token")

    off_loopback = f"{UNROUTABLE}/token"
    provider_document = receiver(receivers, {"/.well-known/openid-configuration": {"token_endpoint": off_loopback}})
    discovered = ClientCredentials("orchestrator", SECRET, issuer=provider_document.url, resource=AGENT, timeout=3)
    private, public = (str(path) for path in write_key(tmp_path, "card", "ec"))
    agent = served(AccessTokens(issuer=provider.issuer, audience=AGENT, token_url=off_loopback), private)
    from_card = ClientCredentials("orchestrator", SECRET, resource=AGENT, timeout=3)
    try:
        for given, says in [
            (discovered, f"the token endpoint in the discovery document of the provider {provider_document.url}"),
            (from_card, "the token endpoint on the card of research"),
        ]:
            started = time.monotonic()
            async with RemoteAgent(agent.url, credentials=given, card_keys=public) as remote:
                with pytest.raises(RemoteAuthError) as refused:
                    await remote.send("hello")
            assert str(refused.value) == (
                f"{says}, {UNROUTABLE}, is plain http:// to a host that is not loopback "
                "(127.0.0.0/8, ::1, localhost); use https://; the client secret is not sent there"
            )
            assert time.monotonic() - started < 2  # well inside the token request's 3 s
            assert given.fetched == 0
    finally:
        agent.stop()
    assert provider_document.seen == [f"GET 127.0.0.1:{provider_document.server.port}/.well-known/openid-configuration"]
    assert through_a_proxy.seen == []


@pytest.mark.timeout(60)
async def test_tokens_are_kept_per_audience_and_reused_per_agent(provider, receivers):
    research = served(AccessTokens(issuer=provider.issuer, audience=AGENT, scopes=("a2a",)))
    pricing = served(AccessTokens(issuer=provider.issuer, audience=OTHER, scopes=("a2a",)))
    try:
        given = ClientCredentials(
            "orchestrator",
            SECRET,
            token_url=provider.token_url,
            scopes=["a2a"],
            resource={research.url + "/": AGENT, pricing.url: OTHER},
        )
        async with (
            RemoteAgent(research.url, credentials=given) as first,
            RemoteAgent(pricing.url, credentials=given) as second,
        ):
            assert (await first.send("one")).state == "completed"
            assert (await first.send("two")).state == "completed"
            assert given.fetched == 1  # the same agent reuses its token
            assert (await second.send("three")).state == "completed"  # it would refuse the research token
            assert given.fetched == 2
            assert (await first.send("four")).state == "completed"
            assert (await second.send("five")).state == "completed"
            assert given.fetched == 2
        [tool] = a2a_tools([pricing.url], credentials=given)  # the same object, shared by a LangGraph tool
        assert "SPOT" in await tool.ainvoke({"query": "spot"})
        assert given.fetched == 2

        stranger = served(AccessTokens(issuer=provider.issuer, audience=AGENT))
        try:
            async with RemoteAgent(stranger.url, credentials=given) as remote:
                with pytest.raises(RemoteAuthError) as refused:
                    await remote.send("hello")
            assert str(refused.value) == (
                f"no audience for the agent at {stranger.url}: add its URL to ClientCredentials resource="
            )
        finally:
            stranger.stop()
        assert given.fetched == 2
        with pytest.raises(ConfigurationError, match="resource must be an audience, or a mapping of agent URLs"):
            ClientCredentials("orchestrator", SECRET, resource={research.url: ""})
    finally:
        research.stop()
        pricing.stop()
