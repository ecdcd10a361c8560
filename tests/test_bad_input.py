"""Bad input and auth: a clear error naming the problem, and the runner never called."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from agents import EchoAgent
from sdk import SECRET

from a2a_bridge import to_a2a

V1 = {"A2A-Version": "1.0"}
AUTH = {"Authorization": f"Bearer {SECRET}"}
OTHER_SECRET = "research-orchestrator-2"


@pytest.fixture
def echo(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, secrets={"orchestrator": SECRET, "other": OTHER_SECRET}, max_body_bytes=4096))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield agent, client


def rpc(method: str, params: dict, **extra) -> dict:
    return {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params, **extra}


def send_params(data: dict | None = None, text: str | None = None) -> dict:
    parts = []
    if text is not None:
        parts.append({"text": text})
    if data is not None:
        parts.append({"data": data})
    return {"message": {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": parts}}


BAD_INPUTS = [
    ({"max_sources": 3}, "input.query", "required field is missing"),
    ({"query": 42}, "input.query", "42 is not of type 'string'"),
    ({"query": "x", "max_sources": 0}, "input.max_sources", "0 is less than the minimum of 1"),
    ({"query": "x", "colour": "red"}, "input.colour", "unexpected field"),
]


@pytest.mark.parametrize(("data", "field", "message"), BAD_INPUTS)
def test_schema_mismatch_over_jsonrpc_is_32602_naming_the_field(echo, data, field, message):
    agent, client = echo
    response = client.post("/", json=rpc("SendMessage", send_params(data)), headers={**AUTH, **V1})
    assert response.status_code == 200
    error = response.json()["error"]
    assert error["code"] == -32602
    assert f"{field}: {message}" in error["message"]
    violations = next(d for d in error["data"] if "fieldViolations" in d)["fieldViolations"]
    assert {"field": field, "description": message} in violations
    assert agent.turns == []


@pytest.mark.parametrize(("data", "field", "message"), BAD_INPUTS)
def test_schema_mismatch_over_rest_is_400_naming_the_field(echo, data, field, message):
    agent, client = echo
    response = client.post("/message:send", json=send_params(data), headers={**AUTH, **V1})
    assert response.status_code == 400
    assert f"{field}: {message}" in response.json()["error"]["message"]
    assert agent.turns == []


@pytest.mark.parametrize(("data", "field", "message"), BAD_INPUTS)
def test_schema_mismatch_over_tasks_send_is_400_naming_the_field(echo, data, field, message):
    agent, client = echo
    response = client.post("/tasks/send", json={"task_id": "t-1", "input": data, "context": {}}, headers=AUTH)
    assert response.status_code == 400
    assert {"field": field, "message": message} in response.json()["errors"]
    assert agent.turns == []


def test_streaming_schema_mismatch_is_rejected_before_the_stream(echo):
    agent, client = echo
    response = client.post("/message:stream", json=send_params({"query": 1}), headers={**AUTH, **V1})
    assert response.status_code == 400
    assert "input.query" in response.json()["error"]["message"]
    assert agent.turns == []


def test_jsonrpc_streaming_schema_mismatch_is_32602(echo):
    agent, client = echo
    body = rpc("SendStreamingMessage", send_params({"query": 1}))
    response = client.post("/", json=body, headers={**AUTH, **V1})
    assert response.headers["content-type"] == "application/json", "rejected before any stream starts"
    payload = response.json()
    assert payload["error"]["code"] == -32602
    assert "input.query" in payload["error"]["message"]
    assert agent.turns == []


def test_text_for_a_multi_field_schema_says_what_is_expected(live_server):
    agent = EchoAgent(
        input_schema={
            "type": "object",
            "properties": {"gpu": {"type": "string"}, "hours": {"type": "number"}},
            "required": ["gpu", "hours"],
        }
    )
    server = live_server(to_a2a(agent))
    response = httpx.post(f"{server.url}/message:send", json=send_params(text="an H200 for a day"), headers=V1)
    assert response.status_code == 400
    assert "expects a data part with the fields gpu, hours" in response.json()["error"]["message"]
    assert agent.turns == []


def test_tasks_send_names_missing_envelope_fields(echo):
    agent, client = echo
    response = client.post("/tasks/send", json={"input": "not an object", "extra": 1}, headers=AUTH)
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"task_id", "input", "extra"}
    assert agent.turns == []


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/", V1), ("/message:send", V1), ("/tasks/send", {})],
)
def test_malformed_json_gets_a_parse_error(echo, path, headers):
    agent, client = echo
    response = client.post(
        path, content=b'{"jsonrpc": "2.0", "id": 1,', headers={**AUTH, **headers, "content-type": "application/json"}
    )
    if path == "/":
        assert response.json()["error"]["code"] == -32700
    else:
        assert response.status_code == 400
    assert "Traceback" not in response.text
    assert agent.turns == []


@pytest.mark.parametrize("path", ["/", "/message:send", "/tasks/send"])
def test_oversized_body_gets_413(echo, path):
    agent, client = echo
    big = {"task_id": "t", "input": {"query": "x" * 5000}}
    response = client.post(path, json=big, headers={**AUTH, **V1})
    assert response.status_code == 413
    assert "limit of 4096 bytes" in response.json()["error"]["message"]
    assert agent.turns == []


def test_oversized_chunked_body_without_length_gets_413(echo):
    agent, client = echo

    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    response = client.post("/message:send", content=chunks(), headers={**AUTH, **V1})
    assert response.status_code == 413
    assert agent.turns == []


def test_unknown_task_is_not_found(echo):
    _, client = echo
    missing = str(uuid.uuid4())
    response = client.post("/", json=rpc("GetTask", {"id": missing}), headers={**AUTH, **V1})
    assert response.json()["error"]["code"] == -32001
    response = client.get(f"/tasks/{missing}", headers={**AUTH, **V1})
    assert response.status_code == 404
    response = client.post("/", json=rpc("CancelTask", {"id": missing}), headers={**AUTH, **V1})
    assert response.json()["error"]["code"] == -32001


PROTECTED = [
    ("POST", "/", lambda: rpc("SendMessage", send_params({"query": "q"}))),
    ("POST", "/message:send", lambda: send_params({"query": "q"})),
    ("POST", "/message:stream", lambda: send_params({"query": "q"})),
    ("GET", "/tasks/some-id", lambda: None),
    ("GET", "/tasks", lambda: None),
    ("POST", "/tasks/some-id:cancel", lambda: None),
    ("POST", "/tasks/send", lambda: {"task_id": "t", "input": {"query": "q"}}),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing Authorization header"),
        ("Bearer not-the-secret", "the bearer secret is not valid"),
        (f"Basic {SECRET}", "must be 'Bearer <secret>'"),
        ("Bearer", "must be 'Bearer <secret>'"),
    ],
)
def test_wrong_or_missing_secret_gets_401_everywhere(echo, method, path, body, authorization, reason):
    agent, client = echo
    headers = {**V1, **({"Authorization": authorization} if authorization else {})}
    payload = body()
    response = client.request(method, path, json=payload, headers=headers)
    assert response.status_code == 401
    assert reason in response.json()["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert SECRET not in response.text
    assert agent.turns == []


@pytest.mark.parametrize("path", ["/.well-known/agent-card.json", "/healthz"])
def test_card_and_health_need_no_secret(echo, path):
    _, client = echo
    response = client.get(path)
    assert response.status_code == 200
    assert SECRET not in response.text
    assert OTHER_SECRET not in response.text


def test_one_caller_never_sees_another_callers_tasks(echo):
    _, client = echo
    created = client.post("/message:send", json=send_params({"query": "mine"}), headers={**AUTH, **V1}).json()
    task_id = created["task"]["id"]
    assert client.get(f"/tasks/{task_id}", headers={**AUTH, **V1}).status_code == 200

    other = {"Authorization": f"Bearer {OTHER_SECRET}", **V1}
    assert client.get(f"/tasks/{task_id}", headers=other).status_code == 404
    listed = client.get("/tasks", headers=other).json()
    assert listed.get("tasks", []) == []
    cancel = client.post("/", json=rpc("CancelTask", {"id": task_id}), headers=other)
    assert cancel.json()["error"]["code"] == -32001


def test_error_responses_carry_no_stack_trace(echo):
    _, client = echo
    bodies = [
        client.post(
            "/", json={"jsonrpc": "2.0", "id": 1, "method": "NoSuchMethod", "params": {}}, headers={**AUTH, **V1}
        ),
        client.post("/", json=rpc("SendMessage", {"message": "not a message"}), headers={**AUTH, **V1}),
        client.post("/message:send", json={"message": {"parts": 7}}, headers={**AUTH, **V1}),
        client.post("/tasks/send", content=json.dumps([1, 2]), headers=AUTH),
    ]
    for response in bodies:
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text
        assert 'File "' not in response.text


@pytest.mark.parametrize("path", ["/", "/message:send"])
def test_an_unknown_role_says_which_roles_there_are(echo, path):
    agent, client = echo
    params = send_params(data={"query": "q"})
    params["message"]["role"] = "ROLE_BOSS"
    body = rpc("SendMessage", params) if path == "/" else params
    answer = client.post(path, json=body, headers={**AUTH, **V1}).json()
    error = answer["error"]
    details = error["data"] if path == "/" else error["details"]
    [violation] = next(d for d in details if "fieldViolations" in d)["fieldViolations"]
    assert violation["field"] == "message.role"
    assert "one of ROLE_USER, ROLE_AGENT" in violation["description"]
    assert agent.turns == []


def raw(payload: dict, **spliced: str) -> str:
    """``payload`` as JSON, with each ``"<NAME>"`` string replaced by raw text no JSON encoder writes."""
    text = json.dumps(payload)
    for name, value in spliced.items():
        text = text.replace(f'"<{name}>"', value)
    return text


MESSAGE = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"data": {"query": "hi"}}]}
NESTED = "[" * 1500 + "]" * 1500  # past both parsers' depth limits, under the fixture's 4 KB
LONG_LABEL_HOOK = "http://" + "a" * 300 + ".example/hook"


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/", raw(rpc("SendMessage", {"message": MESSAGE, "metadata": {"x": "<NESTED>"}}), NESTED=NESTED),
         "Parse error: the JSON is nested too deeply"),
        ("/", raw(rpc("SendMessage", {"message": MESSAGE, "metadata": {"x": "<NAN>"}}), NAN="NaN"),
         "metadata.x: not a JSON number"),
        ("/", raw(rpc("SendMessage", {"message": {**MESSAGE, "metadata": {"budget": [1, "<INF>"]}}}), INF="Infinity"),
         "message.metadata.budget[1]: not a JSON number"),
        ("/message:send", raw({"message": MESSAGE, "metadata": {"x": "<INF>"}}, INF="-Infinity"),
         "metadata.x: not a JSON number"),
        ("/", json.dumps(rpc("SendMessage", {"message": MESSAGE, "configuration": {
            "taskPushNotificationConfig": {"url": LONG_LABEL_HOOK}}})), "is not a valid host name"),
        ("/tasks/send", json.dumps({"task_id": "t-1", "input": {"query": "hi"}, "context": {"context_id": {"x": 1}}}),
         "context.context_id: must be a string"),
        ("/tasks/send", raw({"task_id": "t-1", "input": {"query": "hi", "n": "<NESTED>"}}, NESTED=NESTED),
         "nested too deeply"),
        ("/tasks/send", raw({"task_id": "t-1", "input": {"query": "hi", "n": "<NAN>"}}, NAN="NaN"),
         '"field":"input.n"'),
    ],
    ids=["nested-jsonrpc", "nan-metadata", "infinity-in-message-metadata", "infinity-rest", "webhook-label-too-long",
         "tutorial-context-id-object", "nested-tutorial", "nan-tutorial"],
)  # fmt: skip
def test_values_json_cannot_hold_get_a_clear_error_and_store_nothing(echo, path, body, expected):
    agent, client = echo
    headers = {**V1, **AUTH, "Content-Type": "application/json"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    assert expected in response.text
    assert "Traceback" not in response.text
    assert agent.turns == []
    listed = client.post("/", json=rpc("ListTasks", {}), headers={**V1, **AUTH}).json()
    assert listed["result"].get("tasks", []) == [], "a refused message leaves no task, and the listing still works"


@pytest.mark.parametrize(
    ("path", "encoding"),
    [("/", "latin-1"), ("/message:send", "utf-16"), ("/message:send", "latin-1"), ("/v1/message:send", "utf-16")],
)
def test_a_body_that_is_not_utf8_gets_a_clear_error(echo, path, encoding):
    agent, client = echo
    message = {**MESSAGE, "parts": [{"text": "café"}]}
    payload = rpc("SendMessage", {"message": message}) if path == "/" else {"message": message}
    headers = {**(V1 if not path.startswith("/v1") else {}), **AUTH, "Content-Type": "application/json"}
    response = client.post(path, content=json.dumps(payload, ensure_ascii=False).encode(encoding), headers=headers)
    assert response.status_code == (200 if path == "/" else 400)
    assert "JSON must be UTF-8 text" in response.text
    assert agent.turns == []
