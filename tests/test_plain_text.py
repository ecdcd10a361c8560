"""Plain text fills an agent's text input whenever one field can take it; the card and the CLI say which."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
from agents import InputEchoAgent
from processes import TESTS, serve_process
from pydantic import BaseModel
from sdk import BINDINGS, collect, get_json, request, sdk_client, user_message

from a2a_bridge import AgentCardView, ConfigurationError, to_a2a
from a2a_bridge.profile import text_field_of

TASK_SCHEMA_URI = "urn:a2a-bridge:ext:task-schema:v1"


def strings(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {name: {"type": "string"} for name in names}}
    if required:
        schema["required"] = list(required)
    return schema


class ResearchInput(BaseModel):
    """The tutorial's input model, with every field optional."""

    depth: int = 1
    query: str | None = None
    region: str | None = None


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        (strings("query", required=("query",)), "query"),
        (strings("title", "body"), "title"),
        (strings("title", "topic", "current_year"), "topic"),
        (strings("context", "question", "text"), "text"),
        (ResearchInput.model_json_schema(), "query"),
        (strings("a", "b", required=("a", "b")), None),
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, None),
        ({**strings("s"), "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}, "required": ["n"]}, None),
    ],
    ids=["one-required", "first-optional", "by-name", "text-first", "pydantic-optional", "two-required",
         "no-string", "required-not-string"],
)  # fmt: skip
def test_the_text_field_is_chosen_where_text_makes_a_valid_input(schema, field):
    assert text_field_of(schema) == field


def card_text_field(card: dict[str, Any]) -> str | None:
    for extension in card["capabilities"]["extensions"]:
        if extension["uri"] == TASK_SCHEMA_URI:
            return extension["params"].get("textField")
    raise AssertionError("the card has no task-schema extension")


@pytest.mark.parametrize("binding", BINDINGS)
async def test_plain_text_fills_an_optional_field_and_the_card_says_which(live_server, binding):
    agent = InputEchoAgent(input_schema=strings("title", "topic", "current_year"))
    server = live_server(to_a2a(agent))
    client = await sdk_client(server.url, binding=binding, streaming=False, secret=None)

    events = await collect(client, request(user_message(text="AI agents")))
    await client.close()

    assert events[0].task.status.state == 3, events[0]  # TASK_STATE_COMPLETED
    assert agent.turns[0].data == {"topic": "AI agents"}
    card = await get_json(f"{server.url}/.well-known/agent-card.json")
    assert card_text_field(card) == "topic"
    assert AgentCardView.from_dict(card).text_field == "topic"


def test_a_pydantic_model_with_optional_strings_takes_plain_text(live_server):
    agent = InputEchoAgent()
    server = live_server(to_a2a(agent, input_schema=ResearchInput))

    response = httpx.post(f"{server.url}/tasks/send", json={"task_id": "t", "input": {"query": "H200 prices"}})
    plain = httpx.post(
        f"{server.url}/",
        headers={"A2A-Version": "1.0"},
        json={
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "A100 prices"}]}},
        },
    )  # fmt: skip

    assert response.status_code == 200, response.text
    assert plain.json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED", plain.text
    assert [turn.data for turn in agent.turns] == [{"query": "H200 prices"}, {"query": "A100 prices"}]


def test_text_that_cannot_make_a_valid_input_is_refused_naming_the_fields(live_server):
    agent = InputEchoAgent(input_schema=strings("topic", "current_year", required=("topic", "current_year")))
    server = live_server(to_a2a(agent))

    answer = httpx.post(
        f"{server.url}/",
        headers={"A2A-Version": "1.0"},
        json={
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "AI agents"}]}},
        },
    ).json()  # fmt: skip

    assert answer["error"]["code"] == -32602
    assert "a data part with the fields topic, current_year" in answer["error"]["message"]
    assert agent.turns == []
    card = httpx.get(f"{server.url}/.well-known/agent-card.json").json()
    assert card_text_field(card) is None


def test_a_text_field_needs_an_input_schema_that_has_it():
    with pytest.raises(ConfigurationError, match="text_field 'body' needs an input schema"):
        to_a2a(InputEchoAgent(input_schema=None), text_field="body")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="text_field 'summary' is not a property of the input schema"):
        to_a2a(InputEchoAgent(), text_field="summary")


def test_the_cli_serves_with_a_chosen_text_field():
    agent = serve_process("agents:brief", args=["--text-field", "body"])
    try:
        card = httpx.get(f"{agent.url}/.well-known/agent-card.json").json()
        called = subprocess.run(
            [sys.executable, "-m", "a2a_bridge.cli", "call", agent.url, "a plain question", "--json"],
            cwd=TESTS, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        agent.stop()

    assert card_text_field(card) == "body"
    assert called.returncode == 0, called.stderr
    assert '\\"body\\": \\"a plain question\\"' in called.stdout


def test_the_cli_names_an_unknown_text_field():
    result = subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", "serve", "agents:brief", "--text-field", "summary", "--port", "1"],
        cwd=TESTS, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr.strip() == "a2a-bridge: error: text_field 'summary' is not a property of the input schema"
