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


HUGE = 10**400  # an integer no double holds
DIGITS = "9" * 5000  # past the 4300 digits Python reads an integer of
LONE = "\ud800"  # half of a UTF-16 surrogate pair: json.loads reads it, it is not Unicode text
V03_MESSAGE = {
    "kind": "message",
    "messageId": "m-1",
    "role": "user",
    "parts": [{"kind": "data", "data": {"query": "hi"}}],
}
REST_V03_MESSAGE = {"messageId": "m-1", "role": "ROLE_USER", "content": [{"data": {"data": {"query": "hi"}}}]}
OUT_OF_RANGE = "number out of range"
TOO_DEEP = "nested too deeply: a request nests arrays and objects at most 32 deep"


def nested(depth: int) -> dict:
    """Objects nested ``depth`` deep: past 32, no task can hold them (protobuf decodes 100 levels)."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


DEEP = nested(40)


def level_33(path_to_n: str) -> str:
    """The path of the object at the 33rd level of a body, below ``n``: 32 keys from the body's root."""
    return path_to_n + ".a" * (32 - len(path_to_n.split(".")))


SURROGATE = "lone surrogate (\\ud800)"


def v03_rpc(method: str, params: dict) -> dict:
    return {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}


def with_metadata(message: dict, metadata: dict) -> dict:
    return {**message, "metadata": metadata}


@pytest.fixture(params=["memory", "sqlite"])
def echo_stored(request, live_server, tmp_path):
    """The echo agent with tasks in memory, or in SQLite."""
    agent = EchoAgent()
    store = {} if request.param == "memory" else {"store": f"sqlite:///{tmp_path}/tasks.db"}
    server = live_server(to_a2a(agent, secrets={"orchestrator": SECRET}, max_body_bytes=16384, **store))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield agent, client


# (path, A2A-Version header, body, expected status, JSON-RPC code or None, text the answer must hold)
UNHOLDABLE = {
    "jsonrpc v1 SendMessage, huge integer in message metadata": (
        "/", "1.0", rpc("SendMessage", {"message": with_metadata(MESSAGE, {"n": HUGE})}),
        200, -32602, f"params.message.metadata.n: {OUT_OF_RANGE}"),
    "jsonrpc v1 SendMessage, huge negative integer in request metadata": (
        "/", "1.0", rpc("SendMessage", {"message": MESSAGE, "metadata": {"n": [1, -HUGE]}}),
        200, -32602, f"params.metadata.n[1]: {OUT_OF_RANGE}"),
    "jsonrpc v1 SendMessage, huge integer id": (
        "/", "1.0", {**rpc("SendMessage", {"message": MESSAGE}), "id": HUGE},
        200, -32600, f"id: {OUT_OF_RANGE}"),
    "jsonrpc v1 SendMessage, 5000-digit integer in a data part": (
        "/", "1.0", raw(rpc("SendMessage", {"message": {**MESSAGE, "parts": [{"data": {"n": "<N>"}}]}}), N=DIGITS),
        200, -32602, f"params.message.parts[0].data.n: {OUT_OF_RANGE}"),
    "jsonrpc v0.3 message/send, huge integer in message metadata": (
        "/", "", v03_rpc("message/send", {"message": with_metadata(V03_MESSAGE, {"n": HUGE})}),
        200, -32602, f"params.message.metadata.n: {OUT_OF_RANGE}"),
    "jsonrpc v0.3 message/send, lone surrogate in a text part": (
        "/", "", v03_rpc("message/send", {"message": {**V03_MESSAGE, "parts": [{"kind": "text", "text": LONE}]}}),
        200, -32602, f"params.message.parts[0].text: holds a {SURROGATE}"),
    "jsonrpc v0.3 message/send, lone surrogate in the contextId": (
        "/", "", v03_rpc("message/send", {"message": {**V03_MESSAGE, "contextId": LONE}}),
        200, -32602, f"params.message.contextId: holds a {SURROGATE}"),
    "jsonrpc v0.3 message/send, lone surrogate in a metadata key": (
        "/", "", v03_rpc("message/send", {"message": with_metadata(V03_MESSAGE, {LONE: 1})}),
        200, -32602, f"params.message.metadata.\\ud800: the key holds a {SURROGATE}"),
    "jsonrpc v0.3 message/send, lone surrogate in a metadata value": (
        "/", "", v03_rpc("message/send", {"message": with_metadata(V03_MESSAGE, {"k": "x" + LONE})}),
        200, -32602, f"params.message.metadata.k: holds a {SURROGATE}"),
    "jsonrpc v0.3 message/send, historyLength past 32 bits": (
        "/", "", v03_rpc("message/send", {"message": V03_MESSAGE, "configuration": {"historyLength": 2**31}}),
        200, -32602, "params.configuration.historyLength: out of range"),
    "jsonrpc v0.3 tasks/get, historyLength past 32 bits": (
        "/", "", v03_rpc("tasks/get", {"id": "t-1", "historyLength": 2**40}),
        200, -32602, "params.historyLength: out of range"),
    "rest v1 message:send, huge integer in message metadata": (
        "/message:send", "1.0", {"message": with_metadata(MESSAGE, {"n": HUGE})},
        400, None, f"message.metadata.n: {OUT_OF_RANGE}"),
    "rest v1 message:send, 5000-digit integer in message metadata": (
        "/message:send", "1.0", raw({"message": with_metadata(MESSAGE, {"n": "<N>"})}, N=DIGITS),
        400, None, f"message.metadata.n: {OUT_OF_RANGE}"),
    "rest v1 message:send, lone surrogate in a metadata key": (
        "/message:send", "1.0", {"message": with_metadata(MESSAGE, {LONE: 1})},
        400, None, f"message.metadata.\\ud800: the key holds a {SURROGATE}"),
    "rest v0.3 message:send, 1e400 in message metadata": (
        "/v1/message:send", "", raw({"message": with_metadata(REST_V03_MESSAGE, {"n": "<N>"})}, N="1e400"),
        400, None, f"message.metadata.n: {OUT_OF_RANGE}"),
    "rest v0.3 message:send, NaN in a data part": (
        "/v1/message:send", "", {"message": {**REST_V03_MESSAGE, "content": [{"data": {"data": {"x": float("nan")}}}]}},
        400, None, "message.content[0].data.data.x: not a JSON number"),
    "rest v0.3 message:stream, lone surrogate in a metadata value": (
        "/v1/message:stream", "", {"message": with_metadata(REST_V03_MESSAGE, {"k": LONE})},
        400, None, f"message.metadata.k: holds a {SURROGATE}"),
    "rest v0.3 message:stream, huge integer in message metadata": (
        "/v1/message:stream", "", {"message": with_metadata(REST_V03_MESSAGE, {"n": HUGE})},
        400, None, f"message.metadata.n: {OUT_OF_RANGE}"),
    "jsonrpc v1 SendMessage, metadata nested 40 deep": (
        "/", "1.0", rpc("SendMessage", {"message": with_metadata(MESSAGE, {"n": DEEP})}),
        200, -32602, f"{level_33('params.message.metadata.n')}: {TOO_DEEP}"),
    "jsonrpc v0.3 message/send, metadata nested 40 deep": (
        "/", "", v03_rpc("message/send", {"message": with_metadata(V03_MESSAGE, {"n": DEEP})}),
        200, -32602, f"{level_33('params.message.metadata.n')}: {TOO_DEEP}"),
    "rest v1 message:send, metadata nested 40 deep": (
        "/message:send", "1.0", {"message": with_metadata(MESSAGE, {"n": DEEP})},
        400, None, f"{level_33('message.metadata.n')}: {TOO_DEEP}"),
    "tasks/send, context nested 40 deep": (
        "/tasks/send", "", {"task_id": "t-1", "input": {"query": "hi"}, "context": {"n": DEEP}},
        400, None, f"{level_33('context.n')}: {TOO_DEEP}"),
    "tasks/send, lone surrogate in context.context_id": (
        "/tasks/send", "", {"task_id": "t-1", "input": {"query": "hi"}, "context": {"context_id": LONE}},
        400, None, f"context.context_id: holds a {SURROGATE}"),
    "tasks/send, lone surrogate in task_id": (
        "/tasks/send", "", {"task_id": LONE, "input": {"query": "hi"}},
        400, None, f"task_id: holds a {SURROGATE}"),
    "tasks/send, lone surrogate in input.query": (
        "/tasks/send", "", {"task_id": "t-1", "input": {"query": "hi " + LONE}},
        400, None, f"input.query: holds a {SURROGATE}"),
    "tasks/send, huge integer in the context": (
        "/tasks/send", "", {"task_id": "t-1", "input": {"query": "hi"}, "context": {"n": HUGE}},
        400, None, f"context.n: {OUT_OF_RANGE}"),
    "tasks/send, 5000-digit integer in the input": (
        "/tasks/send", "", raw({"task_id": "t-1", "input": {"query": "hi", "max_sources": "<N>"}}, N=DIGITS),
        400, None, f"input.max_sources: {OUT_OF_RANGE}"),
}  # fmt: skip


@pytest.mark.parametrize(("path", "version", "payload", "status", "code", "expected"), UNHOLDABLE.values(),
                         ids=UNHOLDABLE.keys())  # fmt: skip
def test_values_no_task_can_hold_are_refused_by_field_on_every_binding(
    echo_stored, path, version, payload, status, code, expected
):
    agent, client = echo_stored
    headers = {**AUTH, "Content-Type": "application/json", **({"A2A-Version": version} if version else {})}
    response = client.post(path, content=payload if isinstance(payload, str) else json.dumps(payload), headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", "answered before any stream starts"
    answer = response.json()
    if code is not None:
        assert answer["error"]["code"] == code, response.text
    assert expected in (answer["detail"] if path == "/tasks/send" else answer["error"]["message"])
    assert "Traceback" not in response.text
    assert agent.turns == []
    listed = client.post("/", json=rpc("ListTasks", {}), headers={**V1, **AUTH}).json()
    assert listed["result"].get("tasks", []) == [], "a refused message leaves no task, and the listing still works"


@pytest.mark.parametrize("value", ["x", "1.5", "0x10", " ", "99999999999999999999", "1e3", "\U0001f600", "\x00"])
def test_a_v03_history_length_that_is_not_an_integer_gets_400_naming_it(echo, value):
    _, client = echo
    task = client.post("/message:send", json=send_params({"query": "hi"}), headers={**AUTH, **V1}).json()["task"]
    response = client.get(f"/v1/tasks/{task['id']}", params={"historyLength": value}, headers=AUTH)
    assert response.status_code == 400, response.text
    assert "historyLength" in response.json()["error"]["message"]
    assert "Traceback" not in response.text
    assert client.get(f"/v1/tasks/{task['id']}", params={"historyLength": "1"}, headers=AUTH).status_code == 200


@pytest.mark.parametrize("path", ["/v1/message:send", "/v1/message:stream"])
@pytest.mark.parametrize(
    ("part", "field", "message"),
    [
        ("a string", "message.content[0]", "a part must hold one of text, file or data"),
        ({}, "message.content[0]", "a part must hold one of text, file or data"),
        ({"text": None}, "message.content[0]", "a part must hold one of text, file or data"),
        ({"file": {"fileWithBytes": "/w==", "mimeType": "text/plain"}}, "message.content[0].file.fileWithBytes",
         "A2A v0.3 takes the decoded bytes as UTF-8 text"),
    ],
    ids=["string", "empty", "null-text", "bytes-not-utf8"],
)  # fmt: skip
def test_a_v03_rest_part_the_sdk_cannot_convert_gets_400_naming_it(echo, path, part, field, message):
    agent, client = echo
    body = {"message": {**REST_V03_MESSAGE, "content": [part]}}
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json", "answered before any stream starts"
    assert f"{field}: {message}" in response.json()["error"]["message"]
    assert agent.turns == []
    listed = client.post("/", json=rpc("ListTasks", {}), headers={**V1, **AUTH}).json()
    assert listed["result"].get("tasks", []) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "expected"),
    [
        ("POST", "/v1/message:stream", {"message": {**REST_V03_MESSAGE, "content": [{"data": {"data": {"query": 1}}}]}},
         400, "input.query: 1 is not of type 'string'"),
        ("POST", "/v1/message:stream", {"message": {**REST_V03_MESSAGE, "taskId": "no-such-task"}},
         404, "Task no-such-task was specified but does not exist"),
        ("POST", "/v1/message:stream", {"message": {**REST_V03_MESSAGE, "messageId": ["m-1"]}},
         400, "Failed to parse messageId field"),
        ("GET", "/v1/tasks/no-such-task:subscribe", None, 404, "Task not found"),
        ("POST", "/v1/tasks/no-such-task:subscribe", {}, 404, "Task not found"),
    ],
    ids=["schema-mismatch", "unknown-task", "unparsable-message", "subscribe-get", "subscribe-post"],
)  # fmt: skip
def test_a_v03_rest_stream_that_fails_before_its_first_event_is_answered_not_cut_off(
    echo, method, path, body, status, expected
):
    agent, client = echo
    response = client.request(method, path, json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert expected in response.json()["error"]["message"]
    assert agent.turns == []
    listed = client.post("/", json=rpc("ListTasks", {}), headers={**V1, **AUTH}).json()
    assert listed["result"].get("tasks", []) == []


def test_a_v03_rest_stream_still_streams(echo):
    agent, client = echo
    with client.stream("POST", "/v1/message:stream", json={"message": REST_V03_MESSAGE}, headers=AUTH) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    assert events[0]["task"]["status"]["state"] == "TASK_STATE_SUBMITTED"
    assert len(agent.turns) == 1


@pytest.mark.parametrize(
    ("request_id", "encoding", "expected"),
    [
        (2**64, "utf-16", "id: an integer id must fit in 64 bits"),
        (-(2**63) - 1, "utf-16", "id: an integer id must fit in 64 bits"),
        (LONE, "utf-8", f"id: holds a {SURROGATE}"),
    ],
    ids=["2**64-utf16", "-2**63-1-utf16", "lone-surrogate"],
)
def test_a_request_id_no_answer_can_carry_gets_32600_and_runs_nothing(echo, request_id, encoding, expected):
    agent, client = echo
    body = json.dumps({**rpc("SendMessage", {"message": MESSAGE}), "id": request_id})
    response = client.post(
        "/", content=body.encode(encoding), headers={**V1, **AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    error = response.json()["error"]
    assert error["code"] == -32600
    assert expected in error["message"]
    assert response.json()["id"] is None
    assert agent.turns == []
    listed = client.post("/", json=rpc("ListTasks", {}), headers={**V1, **AUTH}).json()
    assert listed["result"].get("tasks", []) == []
