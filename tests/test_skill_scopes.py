"""Per-skill scopes on every road that can name a skill, with tokens from a real ``oidc-provider``.

The agent asks a token for scope ``research`` when a request names skill
``research``. Its runner sees ``Turn.metadata["skill"]``: the request's own
metadata merged over the message's. Each request below names ``research`` in a
way the check once missed (the request's metadata, a body in UTF-16 or with a
NaN, a decoy ``params`` on HTTP+JSON, v0.3's ``request`` field), on JSON-RPC
v1.0 and v0.3, HTTP+JSON with and without a tenant, under the public URL's
path, and v0.3 HTTP+JSON. A token without the scope is refused before any task
exists; a token with it is served, and its runner sees the skill.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from a2a.compat.v0_3 import a2a_v0_3_pb2 as v03_pb
from a2a.types import Message, SendMessageRequest
from starlette.routing import Mount, Route

from a2a_bridge import AccessTokens, ConfigurationError, Done, Event, Turn, to_a2a
from a2a_bridge.server.auth.skill_scopes import REST_MESSAGE_FIELDS, REST_SEND_ROUTES, SEND_METHODS
from a2a_bridge.testing import LiveServer
from a2a_bridge.testing.oidc import OidcClient, OpenIdProvider, openid_provider
from a2a_bridge.wire.sdk_internals import V03_REQUEST_MODELS, V1_REQUEST_MODELS

AGENT = "http://skilled.agents.test"
PREFIX = "/skilled"
CLIENTS = [
    OidcClient("reader", "reader-client-secret", scope="a2a"),
    OidcClient("researcher", "researcher-client-secret", scope="a2a research"),
]
REFUSED = "the access token lacks the scope 'research' of skill 'research'"
V1 = {"A2A-Version": "1.0", "Content-Type": "application/json"}
V03 = {"Content-Type": "application/json"}  # no A2A-Version header: v0.3
NO_SKILL: dict[str, Any] = {}
RESEARCH = {"skill": "research"}


@dataclass
class SkillRecorder:
    """Answers every turn with the skill it saw, and keeps that skill."""

    skills: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    __name__: str = "skilled"

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        with self.lock:
            self.skills.append(turn.metadata.get("skill"))
        yield Done(text=f"runner saw skill={turn.metadata.get('skill')!r}")

    def count(self) -> int:
        with self.lock:
            return len(self.skills)


@dataclass(frozen=True)
class Served:
    """One runner served twice: as it is, and under its public URL's path."""

    plain: LiveServer
    prefixed: LiveServer
    runner: SkillRecorder


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenIdProvider]:
    with openid_provider(clients=CLIENTS, resources={AGENT: "a2a research"}) as op:
        yield op


@pytest.fixture(scope="module")
def agent(provider: OpenIdProvider) -> Iterator[Served]:
    runner = SkillRecorder()
    tokens = AccessTokens(
        issuer=provider.issuer, audience=AGENT, scopes=("a2a",), skill_scopes={"research": ("research",)}
    )
    options: dict[str, Any] = {"name": "skilled", "skills": ["public", "research"], "tokens": tokens}
    with (
        LiveServer(to_a2a(runner, **options)) as plain,
        LiveServer(to_a2a(runner, **options, public_url=f"https://gw.example{PREFIX}")) as prefixed,
    ):
        yield Served(plain, prefixed, runner)


@pytest.fixture(scope="module")
def reader(provider: OpenIdProvider) -> str:
    return provider.token("reader", resource=AGENT, scope="a2a")


@pytest.fixture(scope="module")
def researcher(provider: OpenIdProvider) -> str:
    return provider.token("researcher", resource=AGENT, scope="a2a research")


# -- the requests ------------------------------------------------------------------------------


def v1_message(metadata: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": "hi"}]}
    return {**message, "metadata": metadata} if metadata else message


def v03_message(metadata: dict[str, Any]) -> dict[str, Any]:
    """A v0.3 JSON-RPC message (pydantic's shape)."""
    message = {
        "kind": "message",
        "messageId": uuid.uuid4().hex,
        "role": "user",
        "parts": [{"kind": "text", "text": "hi"}],
    }
    return {**message, "metadata": metadata} if metadata else message


def v03_rest_message(metadata: dict[str, Any]) -> dict[str, Any]:
    """A v0.3 HTTP+JSON message (v0.3's protobuf shape)."""
    message: dict[str, Any] = {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "content": [{"text": "hi"}]}
    return {**message, "metadata": metadata} if metadata else message


@dataclass(frozen=True)
class Road:
    """One way to send a message: the path, the headers, and how the body is written."""

    path: str
    headers: dict[str, str]
    method: str | None = None  # JSON-RPC's; None: HTTP+JSON
    v03: bool = False
    prefixed: bool = False  # sent to the agent served under its public URL's path

    def message(self, metadata: dict[str, Any]) -> dict[str, Any]:
        if not self.v03:
            return v1_message(metadata)
        return v03_message(metadata) if self.method else v03_rest_message(metadata)

    def body(self, request: dict[str, Any]) -> dict[str, Any]:
        """``request`` (a SendMessageRequest's fields) in this road's envelope."""
        if self.method is None:
            return request
        return {"jsonrpc": "2.0", "id": 1, "method": self.method, "params": request}


ROADS = {
    "jsonrpc SendMessage": Road("/", V1, "SendMessage"),
    "jsonrpc SendStreamingMessage": Road("/", V1, "SendStreamingMessage"),
    "jsonrpc v0.3 message/send": Road("/", V03, "message/send", v03=True),
    "jsonrpc v0.3 message/stream": Road("/", V03, "message/stream", v03=True),
    "jsonrpc under the public path": Road(f"{PREFIX}/", V1, "SendMessage", prefixed=True),
    "rest /message:send": Road("/message:send", V1),
    "rest /message:stream": Road("/message:stream", V1),
    "rest /{tenant}/message:send": Road("/acme/message:send", V1),
    "rest /{tenant}/message:stream": Road("/acme/message:stream", V1),
    "rest under the public path": Road(f"{PREFIX}/message:send", V1, prefixed=True),
    "rest /{tenant} under the public path": Road(f"{PREFIX}/acme/message:stream", V1, prefixed=True),
    "rest v0.3 /v1/message:send": Road("/v1/message:send", V03, v03=True),
    "rest v0.3 /v1/message:stream": Road("/v1/message:stream", V03, v03=True),
}


@dataclass(frozen=True)
class Case:
    road: Road
    body: bytes
    served_with_the_scope: bool = True  # False: the binding itself refuses this body


def request_metadata(road: Road) -> Case:
    """The request's own metadata names the skill; the runner sees it over the message's."""
    return Case(road, json.dumps(road.body({"message": road.message(NO_SKILL), "metadata": RESEARCH})).encode())


def encoded(road: Road, encoding: str, *, served: bool = True) -> Case:
    """The message names the skill, in a body orjson cannot read and the standard library can."""
    text = json.dumps(road.body({"message": road.message(RESEARCH)}))
    return Case(road, text.encode(encoding), served_with_the_scope=served)


def with_nan(road: Road) -> Case:
    message = road.message({**RESEARCH, "x": float("nan")})
    return Case(road, json.dumps(road.body({"message": message})).encode(), served_with_the_scope=False)


def decoy_params(road: Road) -> Case:
    """An HTTP+JSON body with a JSON-RPC-looking ``params`` naming another skill, beside the real message."""
    body = {"params": {"message": road.message({"skill": "public"})}, "message": road.message(RESEARCH)}
    return Case(road, json.dumps(body).encode())


def v03_request_field(road: Road) -> Case:
    """v0.3's protobuf names the message field ``request``; its JSON name is ``message``; the binding takes both."""
    return Case(road, json.dumps({"request": road.message(RESEARCH)}).encode())


BYPASSES = {
    **{f"request metadata, {name}": request_metadata(road) for name, road in ROADS.items()},
    "UTF-16 body, jsonrpc SendMessage": encoded(ROADS["jsonrpc SendMessage"], "utf-16"),
    "UTF-32 body, jsonrpc SendMessage": encoded(ROADS["jsonrpc SendMessage"], "utf-32"),
    "UTF-8 with a BOM, jsonrpc SendMessage": encoded(ROADS["jsonrpc SendMessage"], "utf-8-sig"),
    "UTF-16 body, jsonrpc v0.3 message/send": encoded(ROADS["jsonrpc v0.3 message/send"], "utf-16"),
    "UTF-16 body, rest /message:send": encoded(ROADS["rest /message:send"], "utf-16", served=False),
    "NaN in the metadata, jsonrpc SendMessage": with_nan(ROADS["jsonrpc SendMessage"]),
    "decoy params, rest /message:send": decoy_params(ROADS["rest /message:send"]),
    "decoy params, rest /{tenant}/message:send": decoy_params(ROADS["rest /{tenant}/message:send"]),
    "decoy params, rest v0.3 /v1/message:send": decoy_params(ROADS["rest v0.3 /v1/message:send"]),
    "v0.3 'request' field, rest /v1/message:send": v03_request_field(ROADS["rest v0.3 /v1/message:send"]),
    "v0.3 'request' field, rest /v1/message:stream": v03_request_field(ROADS["rest v0.3 /v1/message:stream"]),
}


def post(agent: Served, case: Case, token: str) -> httpx.Response:
    headers = {**case.road.headers, "Authorization": f"Bearer {token}"}
    server = agent.prefixed if case.road.prefixed else agent.plain
    return httpx.post(server.url + case.road.path, content=case.body, headers=headers, timeout=30)


def task_count(agent: Served, token: str) -> int:
    """The tasks of ``token``'s caller on both servers."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {"pageSize": 1}}
    headers = {**V1, "Authorization": f"Bearer {token}"}
    count = 0
    for server in (agent.plain, agent.prefixed):
        reply = httpx.post(server.url + "/", json=body, headers=headers, timeout=30).json()
        count += int(reply["result"].get("totalSize", 0))
    return count


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BYPASSES.values(), ids=BYPASSES.keys())
def test_a_skill_named_any_way_needs_its_scope(agent, reader, case):
    turns, tasks = agent.runner.count(), task_count(agent, reader)
    refused = post(agent, case, reader)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"] == REFUSED
    assert 'scope="research"' in refused.headers["www-authenticate"]
    assert agent.runner.count() == turns  # the runner never ran
    assert task_count(agent, reader) == tasks  # and no task was created


SERVED_WITH_THE_SCOPE = {name: case for name, case in BYPASSES.items() if case.served_with_the_scope}


@pytest.mark.parametrize("case", SERVED_WITH_THE_SCOPE.values(), ids=SERVED_WITH_THE_SCOPE.keys())
def test_with_the_scope_the_runner_sees_the_skill(agent, researcher, case):
    turns = agent.runner.count()
    served = post(agent, case, researcher)
    assert served.status_code == 200, served.text
    assert "runner saw skill='research'" in served.text
    assert agent.runner.skills[turns:] == ["research"]


@pytest.mark.parametrize("road", ROADS.values(), ids=ROADS.keys())
def test_a_skill_without_scopes_and_no_skill_are_served_to_any_token(agent, reader, road):
    tasks = task_count(agent, reader)
    for metadata, seen in (({"skill": "public"}, "public"), (NO_SKILL, None)):
        served = post(agent, Case(road, json.dumps(road.body({"message": road.message(metadata)})).encode()), reader)
        assert served.status_code == 200, served.text
        assert agent.runner.skills[-1] == seen
    assert task_count(agent, reader) == tasks + 2  # so the count would see a task a refused request started


@pytest.mark.parametrize(
    ("message_skill", "request_skill"), [("research", "public"), ("public", "research")], ids=["message", "request"]
)
def test_when_the_message_and_the_request_disagree_both_skills_need_their_scopes(
    agent, reader, message_skill, request_skill
):
    road = ROADS["jsonrpc SendMessage"]
    body = road.body({"message": road.message({"skill": message_skill}), "metadata": {"skill": request_skill}})
    turns = agent.runner.count()
    assert post(agent, Case(road, json.dumps(body).encode()), reader).status_code == 403
    assert agent.runner.count() == turns


UNREADABLE = {
    "truncated JSON, jsonrpc": Case(ROADS["jsonrpc SendMessage"], b'{"jsonrpc": "2.0", "method": "SendMessage"'),
    "latin-1 bytes, jsonrpc": Case(ROADS["jsonrpc SendMessage"], '{"x": "caf\xe9"}'.encode("latin-1")),
    "nested too deeply, jsonrpc": Case(ROADS["jsonrpc SendMessage"], b"[" * 100_000 + b"]" * 100_000),
    "empty body, rest": Case(ROADS["rest /message:send"], b""),
    "truncated JSON, rest v0.3": Case(ROADS["rest v0.3 /v1/message:send"], b'{"message": {'),
}


@pytest.mark.parametrize("case", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_body_the_check_cannot_read_is_refused_naming_the_body(agent, reader, case):
    turns = agent.runner.count()
    refused = post(agent, case, reader)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["message"].startswith("request body is not valid JSON")
    assert error["details"][0]["fieldViolations"] == [{"field": "body", "description": error["message"]}]
    assert agent.runner.count() == turns


def test_a_token_with_every_skill_scope_is_not_read_for_skills(agent, researcher):
    """Nothing could be missing, so the binding answers the bad body in its own shape (JSON-RPC's -32700)."""
    bad = Case(ROADS["jsonrpc SendMessage"], b'{"jsonrpc": "2.0",')
    reply = post(agent, bad, researcher)
    assert reply.status_code == 200
    assert reply.json()["error"]["code"] == -32700


def test_skill_scopes_and_grpc_are_refused_together():
    """The gRPC binding has no per-skill check, so an agent with skill scopes is not served over it."""
    tokens = {"issuer": "https://id.example", "audience": AGENT, "skill_scopes": {"research": ["research"]}}
    with pytest.raises(ConfigurationError, match="per-skill scopes are checked on the HTTP bindings only"):
        to_a2a(SkillRecorder(), name="skilled", skills=["research"], tokens=tokens, grpc_port=0)


# -- the SDK's names the check relies on ---------------------------------------------------------


def test_the_check_reads_every_send_method_and_route_the_sdk_serves(agent):
    v1_sends = {method for method, model in V1_REQUEST_MODELS.items() if model is SendMessageRequest}
    v03_sends = {
        method
        for method, model in V03_REQUEST_MODELS.items()
        if "params" in model.model_fields and "MessageSendParams" in str(model.model_fields["params"].annotation)
    }
    assert v1_sends | v03_sends == SEND_METHODS
    app = agent.plain.app
    paths = [route.path for route in app.routes if isinstance(route, Route)]
    paths += [f"{m.path}{r.path}" for m in app.routes if isinstance(m, Mount) for r in m.routes if isinstance(r, Route)]
    sends = [path for path in paths if "message" in path]
    assert sends
    assert all(path.rsplit("/", 1)[-1] in REST_SEND_ROUTES for path in sends), sends


def test_the_check_reads_every_name_the_sdk_parses_a_message_and_its_metadata_by():
    def names(descriptor: Any, field_name: str) -> set[str]:
        found = descriptor.fields_by_name[field_name]
        return {found.name, found.json_name}

    v1_names = names(SendMessageRequest.DESCRIPTOR, "message")
    v03_names = names(v03_pb.SendMessageRequest.DESCRIPTOR, "request")
    assert v1_names | v03_names == set(REST_MESSAGE_FIELDS)
    for descriptor in (SendMessageRequest.DESCRIPTOR, v03_pb.SendMessageRequest.DESCRIPTOR):
        assert names(descriptor, "metadata") == {"metadata"}
    for descriptor in (Message.DESCRIPTOR, v03_pb.Message.DESCRIPTOR):
        assert names(descriptor, "metadata") == {"metadata"}


def test_a_skill_scope_named_like_starlettes_own_is_still_the_tokens_to_grant(provider, reader):
    # Starlette gives every authenticated caller the scope "authenticated"; a token that lacks it must not pass.
    runner = SkillRecorder()
    tokens = AccessTokens(
        issuer=provider.issuer, audience=AGENT, scopes=("a2a",), skill_scopes={"admin": ("authenticated",)}
    )
    with LiveServer(to_a2a(runner, name="skilled", skills=["public", "admin"], tokens=tokens)) as server:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "SendMessage",
            "params": {"message": v1_message({"skill": "admin"})},
        }
        refused = httpx.post(server.url + "/", json=body, headers={**V1, "Authorization": f"Bearer {reader}"})
        assert refused.status_code == 403, refused.text
        assert "lacks the scope 'authenticated' of skill 'admin'" in refused.text
        assert runner.count() == 0
