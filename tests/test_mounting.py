"""An agent mounted inside a FastAPI app, or served under its public URL's path, is reachable at that path."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from agents import EchoAgent
from fastapi import FastAPI
from processes import TESTS
from sdk import SECRET, artifact_texts, collect, request, sdk_client, user_message

from a2a_bridge import RemoteAgent, to_a2a

SECRETS = {"orchestrator": SECRET}
AUTH = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
def mounted(live_server):
    """A service that already exists, with the agent added under /research."""
    service = FastAPI()

    @service.get("/status")
    def status() -> dict[str, str]:
        return {"service": "up"}

    service.mount("/research", to_a2a(EchoAgent(), name="research", secrets=SECRETS))
    server = live_server(service)
    return server.url


def test_the_card_lists_the_mount_path_in_every_url(mounted):
    card = httpx.get(f"{mounted}/research/.well-known/agent-card.json").json()

    urls = [interface["url"] for interface in card["supportedInterfaces"]]
    assert urls == [f"{mounted}/research/", f"{mounted}/research", f"{mounted}/research/"]
    endpoints = [e["params"].get("endpoint") for e in card["capabilities"]["extensions"]]
    assert f"{mounted}/research/tasks/send" in endpoints
    assert httpx.get(f"{mounted}/research/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{mounted}/status").json() == {"service": "up"}


def test_the_card_and_health_stay_public_and_the_rest_needs_the_secret(mounted):
    assert httpx.get(f"{mounted}/research/.well-known/agent-card.json").status_code == 200
    assert httpx.get(f"{mounted}/research/healthz").status_code == 200
    refused = httpx.post(f"{mounted}/research/tasks/send", json={"task_id": "t", "input": {"query": "q"}})
    assert refused.status_code == 401


async def test_remote_agent_reaches_the_mounted_agent_from_its_url(mounted):
    async with RemoteAgent(f"{mounted}/research", secret=SECRET) as remote:
        result = await remote.send(data={"query": "mounted agents"})
        later = await remote.get_task(result.task_id)

    assert result.ok
    assert result.data == {"summary": "MOUNTED AGENTS", "sources": ["echo://"]}
    assert later.task_id == result.task_id


@pytest.mark.parametrize("binding", ["JSONRPC", "HTTP+JSON"])
async def test_the_sdk_client_reaches_it_on_both_bindings(mounted, binding):
    client = await sdk_client(f"{mounted}/research", binding=binding, streaming=True)
    events = await collect(client, request(user_message(data={"query": "by the card"})))
    await client.close()

    task = events[-1].task if events[-1].HasField("task") else None
    final = [e for e in events if e.HasField("status_update")][-1].status_update
    assert final.status.state == 3  # TASK_STATE_COMPLETED
    if task is not None:
        assert artifact_texts(task, "response") == ["by the card "]


def test_the_tutorial_shape_answers_under_the_mount(mounted):
    response = httpx.post(
        f"{mounted}/research/tasks/send", json={"task_id": "t-1", "input": {"query": "gpu"}}, headers=AUTH
    )

    assert response.status_code == 200, response.text
    assert response.json()["output"]["summary"] == "GPU"


def test_the_cli_calls_the_mounted_agent(mounted):
    result = subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", "call", f"{mounted}/research", "from the cli", "--secret", SECRET],
        cwd=TESTS, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "FROM THE CLI" in result.stdout


def test_a_public_url_path_is_served_with_the_prefix_or_without_it(live_server):
    """One proxy passes /research/... on as it is, another strips it; both reach the agent."""
    server = live_server(
        to_a2a(EchoAgent(), name="research", secrets=SECRETS, public_url="https://gateway.example/research")
    )

    card = httpx.get(f"{server.url}/research/.well-known/agent-card.json").json()
    assert card["supportedInterfaces"][0]["url"] == "https://gateway.example/research/"
    assert httpx.get(f"{server.url}/.well-known/agent-card.json").json() == card
    for path in ("/research/tasks/send", "/tasks/send"):
        response = httpx.post(f"{server.url}{path}", json={"task_id": "t", "input": {"query": "q"}}, headers=AUTH)
        assert response.status_code == 200, (path, response.text)
    message = {"role": "ROLE_USER", "parts": [{"text": "q"}]}
    for path in ("/research/message:send", "/message:send", "/research/acme/message:send", "/acme/message:send"):
        body = {"message": {**message, "messageId": f"m-{path}"}}
        response = httpx.post(f"{server.url}{path}", json=body, headers={**AUTH, "A2A-Version": "1.0"})
        assert response.status_code == 200, (path, response.text)
    assert httpx.get(f"{server.url}/research/healthz").status_code == 200
    assert httpx.post(f"{server.url}/research/tasks/send", json={}).status_code == 401
