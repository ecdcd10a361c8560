"""Callers that obtain access tokens by OAuth 2.0 client credentials from a real OpenID Provider.

``RemoteAgent``, the LangGraph node and tools, and the CrewAI tool, each
calling a served agent that takes tokens; tokens are refreshed before they
expire, and where to ask for them can come from the agent's card.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from a2a_bridge_crewai import A2ADelegateTool
from a2a_bridge_langgraph import A2ADelegateNode, a2a_tools
from agents import EchoAgent
from langgraph.graph import END, START, MessagesState, StateGraph

from a2a_bridge import AccessTokens, ClientCredentials, ConfigurationError, RemoteAgent, RemoteAuthError, to_a2a
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.oidc import OidcClient, OpenIdProvider, openid_provider

AGENT = "http://research.agents.test"
SECRET = "orchestrator-client-secret"


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    clients = [
        OidcClient("orchestrator", SECRET, scope="a2a"),
        OidcClient("brief", "brief-client-secret", scope="a2a", token_ttl=3),
    ]
    with openid_provider(clients=clients, resources={AGENT: "a2a"}) as op:
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
async def test_where_to_ask_for_tokens_comes_from_the_card(provider):
    openid = AccessTokens(issuer=provider.issuer, audience=AGENT)
    oauth2 = AccessTokens(issuer=provider.issuer, audience=AGENT, token_url=provider.token_url)
    for tokens in (openid, oauth2):
        with LiveServer(to_a2a(EchoAgent(), name="research", tokens=tokens)) as server:
            given = ClientCredentials("orchestrator", SECRET, resource=AGENT, scopes=["a2a"])
            async with RemoteAgent(server.url, credentials=given) as remote:
                assert (await remote.send("hello")).state == "completed"
            assert given.fetched == 1


@pytest.mark.timeout(60)
async def test_refused_credentials_say_why_and_never_show_the_secret(provider, agent):
    wrong = ClientCredentials("orchestrator", "not-the-client-secret", token_url=provider.token_url, resource=AGENT)
    async with RemoteAgent(agent.url, credentials=wrong) as remote:
        with pytest.raises(RemoteAuthError) as raised:
            await remote.send("hello")
    assert str(raised.value) == "the provider refused the client credentials of 'orchestrator': invalid_client"
    nowhere = ClientCredentials("orchestrator", SECRET, token_url="http://127.0.0.1:1/token")
    async with RemoteAgent(agent.url, credentials=nowhere) as remote:
        with pytest.raises(RemoteAuthError, match=r"could not reach the token endpoint http://127\.0\.0\.1:1/token: "):
            await remote.send("hello")
    with LiveServer(to_a2a(EchoAgent(), name="open")) as open_agent:
        unknown = ClientCredentials("orchestrator", SECRET)
        async with RemoteAgent(open_agent.url, credentials=unknown) as remote:
            with pytest.raises(
                RemoteAuthError, match="no token endpoint: give ClientCredentials token_url= or issuer="
            ):
                await remote.send("hello")
    with pytest.raises(ConfigurationError, match="a secret or credentials, not both"):
        RemoteAgent(agent.url, secret="some-secret", credentials=wrong)
    with pytest.raises(ConfigurationError, match="token_url must be an http"):
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
            "--token-audience, --token-scope, --skill-scope and --token-url need --token-issuer",
        ),
        (["--token-issuer", "http://127.0.0.1:1"], "--token-issuer needs --token-audience"),
        (["--token-issuer", "http://127.0.0.1:1", "--token-audience", "a", "--skill-scope", "x"], "give SKILL=SCOPE"),
    ]:
        command = [sys.executable, "-m", "a2a_bridge.cli", "serve", "agents:brief", *flags]
        done = subprocess.run(command, cwd="tests", capture_output=True, text=True, timeout=60)
        assert done.returncode != 0
        assert says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
