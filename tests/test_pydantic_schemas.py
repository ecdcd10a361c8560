"""Input and output schemas given as pydantic models, the way the tutorial validates task input."""

from __future__ import annotations

import httpx
import pytest
from agents import EchoAgent
from pydantic import BaseModel, ConfigDict, Field, field_validator

from a2a_bridge import ConfigurationError, to_a2a

CARD = "/.well-known/agent-card.json"


class ResearchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    max_sources: int = Field(default=5, ge=1, le=20)

    @field_validator("query")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class ResearchOutput(BaseModel):
    summary: str
    sources: list[str]


@pytest.fixture
def served(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, input_schema=ResearchInput, output_schema=ResearchOutput))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield agent, client


def test_the_card_states_the_models_json_schemas(served):
    _, client = served
    card = client.get(CARD).json()
    params = card["capabilities"]["extensions"][0]["params"]
    assert params["input"] == ResearchInput.model_json_schema()
    assert params["output"] == ResearchOutput.model_json_schema()


def test_input_the_model_accepts_reaches_the_agent(served):
    agent, client = served
    answer = client.post("/tasks/send", json={"task_id": "t-1", "input": {"query": "H200 prices", "max_sources": 3}})
    assert answer.status_code == 200, answer.text
    assert agent.turns[0].data == {"query": "H200 prices", "max_sources": 3}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"max_sources": 3}, "input.query", "required field is missing"),
        ({"query": "x", "max_sources": 0}, "input.max_sources", "Input should be greater than or equal to 1"),
        ({"query": "x", "colour": "red"}, "input.colour", "unexpected field"),
        ({"query": "   "}, "input.query", "Value error, must not be blank"),
    ],
)
def test_input_the_model_refuses_is_a_400_naming_the_field(served, data, field, message):
    agent, client = served
    answer = client.post("/tasks/send", json={"task_id": "t-1", "input": data})
    assert answer.status_code == 400
    assert {"field": field, "message": message} in answer.json()["errors"]
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
           "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"data": data}]}}}  # fmt: skip
    error = client.post("/", json=rpc, headers={"A2A-Version": "1.0"}).json()["error"]
    assert error["code"] == -32602
    assert f"{field}: {message}" in error["message"]
    assert agent.turns == [], "the model was never called"


def test_something_else_is_refused_naming_both_kinds():
    with pytest.raises(ConfigurationError, match="a JSON schema object or a pydantic model class, got int"):
        to_a2a(EchoAgent(), input_schema=7)
