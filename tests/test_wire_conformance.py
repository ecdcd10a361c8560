"""What the A2A TCK found wrong on the wire, each checked here on its own (docs/conformance.md).

- DM-SERIAL-001: usage in task metadata is camelCase, like all A2A v1.0 JSON.
- JSONRPC-SSE-002: a JSON-RPC request that is not JSON by its Content-Type gets -32005.
- HTTP_JSON-SVC-001: an HTTP+JSON client that speaks application/json is answered in it.
- CARD-STRUCT-001: served A2A 1.0 only, the card has v1.0 fields only; by default it
  also carries the v0.3 fields CrewAI's own client needs.
- CARD-CACHE-001..003: the card comes with Cache-Control, an ETag and Last-Modified.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from a2a_calls import V1, message
from agents import EchoAgent

from a2a_bridge import to_a2a

SNAKE_CASE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
V03_CARD_FIELDS = {"url", "preferredTransport", "protocolVersion"}


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in keys_of(item)}
    if isinstance(value, list):
        return {key for item in value for key in keys_of(item)}
    return set()


def send_message(url: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": {"message": message("gpu prices")}}
    return httpx.post(url + "/", headers={**V1, **(headers or {})}, **({"json": body} | kwargs))


def test_a_task_with_usage_has_no_snake_case_key_anywhere(live_server):
    server = live_server(to_a2a(EchoAgent()))

    reply = send_message(server.url).json()

    usage = reply["result"]["task"]["metadata"]["usage"]
    assert usage == {"promptTokens": 3, "completionTokens": 2, "totalTokens": 5, "calls": 1}
    # The agent's own output (the "output" artifact) is its data, not A2A's field names.
    task = {**reply["result"]["task"], "artifacts": []}
    assert {key for key in keys_of(task) if SNAKE_CASE.match(key)} == set()


def test_the_tutorial_shape_keeps_its_own_usage_names(live_server):
    server = live_server(to_a2a(EchoAgent()))

    answer = httpx.post(server.url + "/tasks/send", json={"task_id": "t-1", "input": {"query": "gpu prices"}}).json()

    assert answer["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "calls": 1}


@pytest.mark.parametrize("version", ["1.0", ""])
def test_a_json_rpc_request_sent_as_text_gets_content_type_not_supported(live_server, caplog, version):
    server = live_server(to_a2a(EchoAgent()))
    body = str({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}).encode()

    response = httpx.post(
        server.url + "/", content=body, headers={"Content-Type": "text/plain", "A2A-Version": version}
    )

    error = response.json()["error"]
    assert error["code"] == -32005
    assert "'text/plain'" in error["message"]
    assert "application/json" in error["message"]
    assert [r.levelname for r in caplog.records if r.name.startswith("a2a")] == ["WARNING"]


def test_a_json_rpc_request_without_content_type_is_still_read_as_json(live_server):
    server = live_server(to_a2a(EchoAgent()))
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "nope"}}'

    error = httpx.post(server.url + "/", content=body, headers={**V1, "Content-Type": ""}).json()["error"]

    assert error["code"] == -32001


@pytest.mark.parametrize(
    ("sent", "accept", "answered"),
    [
        ("application/json", "*/*", "application/json"),
        ("application/a2a+json", "*/*", "application/a2a+json"),
        ("application/a2a+json", "application/json", "application/json"),  # what it accepts wins
    ],
)
def test_an_http_json_answer_is_in_the_media_type_the_client_spoke(live_server, sent, accept, answered):
    server = live_server(to_a2a(EchoAgent()))
    body = {"message": message("gpu prices")}

    response = httpx.post(
        server.url + "/message:send",
        content=httpx.Request("POST", "/", json=body).content,
        headers={**V1, "Content-Type": sent, "Accept": accept},
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == answered


def test_a_get_that_accepts_only_application_json_gets_it(live_server):
    server = live_server(to_a2a(EchoAgent()))

    response = httpx.get(server.url + "/tasks/nope", headers={**V1, "Accept": "application/json"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_by_default_the_card_carries_the_v03_fields_for_v03_clients(live_server):
    server = live_server(to_a2a(EchoAgent()))

    card = httpx.get(server.url + "/.well-known/agent-card.json").json()

    assert set(card) >= V03_CARD_FIELDS
    assert [i["protocolVersion"] for i in card["supportedInterfaces"]] == ["1.0", "1.0", "0.3"]


def test_served_a2a_1_0_only_the_card_has_v1_fields_only_and_v03_calls_are_refused(live_server):
    server = live_server(to_a2a(EchoAgent(), v03_compat=False))

    card = httpx.get(server.url + "/.well-known/agent-card.json").json()
    v03 = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {}}}
    refused = httpx.post(server.url + "/", json=v03).json()["error"]
    rest = httpx.post(server.url + "/v1/message:send", json={"message": message("hi")})

    assert not V03_CARD_FIELDS & set(card)
    assert [i["protocolVersion"] for i in card["supportedInterfaces"]] == ["1.0", "1.0"]
    assert refused["code"] == -32009
    assert "speaks only A2A 1.0" in refused["message"]
    assert "A2A-Version: 1.0" in refused["message"]
    assert rest.status_code == 400
    assert send_message(server.url).json()["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


def test_the_card_can_be_cached_and_revalidated(live_server):
    server = live_server(to_a2a(EchoAgent()))
    url = server.url + "/.well-known/agent-card.json"

    first = httpx.get(url)
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.headers["last-modified"].endswith(" GMT")
    assert again.status_code == 304
    assert again.headers["etag"] == first.headers["etag"]
    assert again.content == b""


def test_served_a2a_1_0_only_a_wrong_version_is_told_only_1_0_works(live_server):
    server = live_server(to_a2a(EchoAgent(), v03_compat=False))

    error = send_message(server.url, headers={"A2A-Version": "99.0"}).json()["error"]

    assert error["code"] == -32009
    assert error["message"] == (
        "A2A-Version '99.0' is not supported: this agent speaks only A2A 1.0: send 'A2A-Version: 1.0'"
    )


def test_an_http_json_body_sent_as_text_gets_415_naming_the_type(live_server, caplog):
    server = live_server(to_a2a(EchoAgent()))
    body = httpx.Request("POST", "/", json={"message": message("gpu prices")}).content

    response = httpx.post(server.url + "/message:send", content=body, headers={**V1, "Content-Type": "text/plain"})

    assert response.status_code == 415
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert "'text/plain'" in error["message"]
    assert [r.levelname for r in caplog.records if r.name.startswith("a2a")] == ["WARNING"]
