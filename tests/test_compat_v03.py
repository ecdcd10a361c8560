"""Old clients: A2A v0.3 JSON-RPC without the A2A-Version header (CrewAI's own client speaks it)."""

from __future__ import annotations

import json
import uuid

import httpx
from agents import EchoAgent
from sdk import SECRET

from a2a_bridge import to_a2a


def v03_send(method: str, data: dict) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": 7,
        "method": method,
        "params": {
            "message": {
                "kind": "message",
                "messageId": str(uuid.uuid4()),
                "role": "user",
                "parts": [{"kind": "data", "data": data}],
            }
        },
    }


def test_v03_message_send_without_version_header(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, secrets={"crew": SECRET}))

    response = httpx.post(
        server.url + "/",
        json=v03_send("message/send", {"query": "old client"}),
        headers={"Authorization": f"Bearer {SECRET}"},
    )

    result = response.json()["result"]
    assert result["kind"] == "task"
    assert result["status"]["state"] == "completed"
    # What v0.3 clients read as the answer: the last agent message of the history, once.
    [*_, answer] = result["history"]
    assert (answer["role"], [p["text"] for p in answer["parts"]]) == ("agent", ["old client "])
    assert [m for m in result["history"] if m["role"] == "agent"] == [answer], "no progress lines"
    assert [a["name"] for a in result["artifacts"]] == ["output"], "the answer text is not repeated as an artifact"
    assert agent.turns[0].data == {"query": "old client"}


def test_v03_message_stream_without_version_header(live_server):
    server = live_server(to_a2a(EchoAgent()))
    with httpx.stream("POST", server.url + "/", json=v03_send("message/stream", {"query": "a b"})) as response:
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    kinds = [e["result"]["kind"] for e in events]
    assert kinds[0] == "task"
    assert "artifact-update" in kinds
    assert events[-1]["result"]["status"]["state"] == "completed"
    assert events[-1]["result"]["final"] is True


def test_v03_schema_mismatch_is_invalid_params(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent))
    response = httpx.post(server.url + "/", json=v03_send("message/send", {"query": ["not", "text"]}))
    error = response.json()["error"]
    assert error["code"] == -32602
    assert "input.query" in error["message"]
    assert agent.turns == []


def test_card_carries_v03_fields_for_old_clients(live_server):
    server = live_server(to_a2a(EchoAgent()))
    card = httpx.get(server.url + "/.well-known/agent-card.json").json()
    assert card["protocolVersion"] == "0.3"
    assert card["url"] == server.url + "/"
    assert card["preferredTransport"] == "JSONRPC"
