"""The generated Agent Card: a snapshot, overrides, and what never appears on it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from agents import EchoAgent

from a2a_bridge import ConfigurationError, Skill, to_a2a
from a2a_bridge.profile import TASK_SCHEMA_EXTENSION

SNAPSHOT = Path(__file__).parent / "snapshots" / "research_worker_card.json"
CARD_PATH = "/.well-known/agent-card.json"


def research_worker_app():
    return to_a2a(
        EchoAgent(),
        name="research-worker",
        description="Web research and summarization agent.",
        version="1.0.0",
        skills=[
            Skill(id="web_research", name="Web research", description="Finds sources", tags=("research",)),
            {"id": "document_summarization", "name": "Summarization", "examples": ["Summarise this"]},
        ],
        secrets={"orchestrator": "orchestrator-secret-0001"},
        public_url="https://research.internal:8443",
    )


def test_generated_card_matches_snapshot(live_server):
    server = live_server(research_worker_app())
    card = httpx.get(server.url + CARD_PATH).json()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    assert card == json.loads(SNAPSHOT.read_text())


def test_card_declares_interfaces_security_and_task_schema(live_server):
    server = live_server(research_worker_app())
    card = httpx.get(server.url + CARD_PATH).json()
    interfaces = {(i["protocolBinding"], i["protocolVersion"]): i["url"] for i in card["supportedInterfaces"]}
    assert interfaces[("JSONRPC", "1.0")] == "https://research.internal:8443/"
    assert interfaces[("HTTP+JSON", "1.0")] == "https://research.internal:8443"
    assert card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
    assert card["securityRequirements"] == [{"schemes": {"bearer": {}}}]
    extension, tasks_send, idempotent_send = card["capabilities"]["extensions"]
    assert extension["uri"] == TASK_SCHEMA_EXTENSION
    assert idempotent_send["params"] == {"key": "messageId", "scope": "caller"}
    own = extension["params"]
    assert tasks_send["params"]["task_schema"] == {"input": own["input"], "output": own["output"]}
    assert tasks_send["params"]["endpoint"] == "https://research.internal:8443/tasks/send"
    assert extension["params"]["input"]["required"] == ["query"]
    assert "summary" in extension["params"]["output"]["properties"]
    assert "orchestrator-secret-0001" not in json.dumps(card)


def test_interfaces_name_the_servers_own_address_without_public_url(live_server):
    server = live_server(to_a2a(EchoAgent()))
    card = httpx.get(server.url + CARD_PATH).json()
    assert card["supportedInterfaces"][0]["url"] == server.url + "/"
    assert "securitySchemes" not in card


def test_a_card_file_overrides_the_generated_card(live_server, tmp_path):
    path = tmp_path / "card.json"
    path.write_text(json.dumps({"name": "hand-written", "description": "From a file", "version": "9.9.9"}))
    server = live_server(to_a2a(EchoAgent(), card=path))
    card = httpx.get(server.url + CARD_PATH).json()
    assert (card["name"], card["version"]) == ("hand-written", "9.9.9")
    assert card["supportedInterfaces"][0]["url"] == server.url + "/", "interfaces are filled in when absent"


def test_default_skill_is_named_after_the_agent(live_server):
    server = live_server(to_a2a(EchoAgent(), name="pricing", description="Prices GPU fleets."))
    [skill] = httpx.get(server.url + CARD_PATH).json()["skills"]
    assert (skill["id"], skill["description"]) == ("pricing", "Prices GPU fleets.")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_schema": {"type": "objekt"}}, "input_schema is not a valid JSON schema"),
        ({"secrets": {"orchestrator": "short"}}, "at least 8 characters"),
        ({"secrets": {"a": "same-secret-1", "b": "same-secret-1"}}, "two callers share one secret"),
        ({"public_url": "research.internal"}, "public_url must start with http"),
        ({"skills": [{"id": "a"}, {"id": "a"}]}, "duplicate skill id 'a'"),
        ({"card": "/no/such/card.json"}, "cannot read card file"),
    ],
)
def test_bad_configuration_is_reported_clearly(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        to_a2a(EchoAgent(), **kwargs)
