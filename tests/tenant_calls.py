"""One call on one binding of a served agent, as a caller, and everything the caller got back.

Each function answers a :class:`Reply`: how the call ended (``not-found``,
``ok``, ``cut-off`` or ``error <code>``), every byte the caller received, and
the request it sent, so a test can tell what the caller saw that it did not
name itself.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
from a2a.types import a2a_pb2_grpc
from google.protobuf.json_format import MessageToJson
from google.protobuf.message import Message as ProtoMessage

NOT_FOUND = "not-found"
OK = "ok"
# The stream ended before any event, the connection closed mid-response (see tenant_roads.CUT_OFF_STREAMS).
CUT_OFF = "cut-off"
V1 = {"A2A-Version": "1.0"}


@dataclass(frozen=True)
class Caller:
    """A tenant: a secret's name, or an access token's client, with the credential it sends."""

    name: str
    credential: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}


@dataclass(frozen=True)
class Target:
    """A served agent: where its HTTP and gRPC bindings listen, and how it answers.

    Attributes:
        asks: A message holding ``tenant_agents.ASK`` leaves its task input-required.
        data_field: The input field a tutorial ``/tasks/send`` fills; None for the tutorial's ``query``.
        answer_mark: Text (without spaces) that the agent's answer to a note holds, ``{note}`` replaced.
        llm: The agent calls the scripted backend, which records the conversation it was sent.
    """

    name: str
    url: str
    grpc: str
    asks: bool
    data_field: str | None
    answer_mark: str
    llm: bool

    def answered(self, note: str, reply: Reply) -> bool:
        """Whether the reply holds the agent's answer to ``note`` (not just the note echoed in a history)."""
        return self.answer_mark.format(note=note) in "".join(reply.raw.split())


@dataclass(frozen=True)
class Reply:
    outcome: str
    raw: str
    sent: str

    def leaks(self, secrets: list[str]) -> list[str]:
        """The ``secrets`` the caller received without having named them in its request."""
        return [s for s in secrets if s in self.raw and s not in self.sent]


# One client and one channel per server for every call: a new one each time cost more than most calls.
_HTTP = httpx.Client(timeout=30)
_CHANNELS: dict[str, grpc.Channel] = {}


def _exchange(verb: str, url: str, *, headers: dict[str, str], body: Any = None) -> tuple[int, str, str, bool]:
    """Status, media type, body text, and whether the server closed the connection mid-body."""
    chunks: list[str] = []
    with _HTTP.stream(verb, url, headers=headers, json=body) as response:
        media_type = response.headers.get("content-type", "")
        try:
            for chunk in response.iter_text():
                chunks.append(chunk)
        except httpx.RemoteProtocolError:
            return response.status_code, media_type, "".join(chunks), True
        return response.status_code, media_type, "".join(chunks), False


def _payloads(media_type: str, text: str) -> list[Any]:
    if media_type.startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    return [json.loads(text)] if text.strip() else []


def jsonrpc(target: Target, caller: Caller, method: str, params: dict[str, Any], *, v03: bool = False) -> Reply:
    """``POST /``: v1.0 (with ``A2A-Version: 1.0``) or, ``v03``, v0.3 (without it)."""
    headers = {**caller.auth, **({} if v03 else V1), "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    status, media_type, text, cut = _exchange("POST", target.url + "/", headers=headers, body=body)
    payloads = _payloads(media_type, text)
    if cut and not payloads:
        return Reply(CUT_OFF, text, json.dumps(body))
    errors = [p["error"] for p in payloads if isinstance(p, dict) and "error" in p]
    if errors:
        code = errors[0].get("code")
        return Reply(NOT_FOUND if code == -32001 else f"error {code}", text, json.dumps(body))
    return Reply(OK if status == 200 else f"error {status}", text, json.dumps(body))


def http(target: Target, caller: Caller, verb: str, path: str, body: Any = None, *, v03: bool = False) -> Reply:
    """An HTTP+JSON route (v1.0, or ``v03`` the v0.3 ``/v1/...`` ones), ``/tasks/send``, or a public path."""
    headers = {**caller.auth, **({} if v03 else V1)}
    status, media_type, text, cut = _exchange(verb, target.url + path, headers=headers, body=body)
    sent = f"{verb} {path} {json.dumps(body)}"
    if cut and not _payloads(media_type, text):
        return Reply(CUT_OFF, text, sent)
    if status == 404:
        return Reply(NOT_FOUND, text, sent)
    return Reply(OK if 200 <= status < 300 else f"error {status}", text, sent)


def grpc_call(target: Target, caller: Caller, method: str, request: ProtoMessage, *, stream: bool = False) -> Reply:
    """One method of the gRPC ``A2AService``, its responses as ProtoJSON."""
    sent = f"{method} {MessageToJson(request)}"
    received: list[str] = []
    channel = _CHANNELS.get(target.grpc) or _CHANNELS.setdefault(target.grpc, grpc.insecure_channel(target.grpc))
    call = getattr(a2a_pb2_grpc.A2AServiceStub(channel), method)
    metadata = (("authorization", f"Bearer {caller.credential}"),)
    try:
        if stream:
            for response in call(request, metadata=metadata, timeout=30):
                received.append(MessageToJson(response))
        else:
            received.append(MessageToJson(call(request, metadata=metadata, timeout=30)))
    except grpc.RpcError as exc:
        received.append(f"{exc.code().name} {exc.details()}")
        outcome = NOT_FOUND if exc.code() == grpc.StatusCode.NOT_FOUND else f"error {exc.code().name}"
        return Reply(outcome, "\n".join(received), sent)
    return Reply(OK, "\n".join(received), sent)


def v1_message(text: str, *, task_id: str = "", context_id: str = "") -> dict[str, Any]:
    ids = {**({"taskId": task_id} if task_id else {}), **({"contextId": context_id} if context_id else {})}
    return {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": text}], **ids}


def v03_message(text: str, *, task_id: str = "", context_id: str = "") -> dict[str, Any]:
    ids = {**({"taskId": task_id} if task_id else {}), **({"contextId": context_id} if context_id else {})}
    return {"kind": "message", "messageId": uuid.uuid4().hex, "role": "user", "parts": [{"kind": "text", "text": text}],
            **ids}  # fmt: skip


def v03_rest_message(text: str, *, task_id: str = "", context_id: str = "") -> dict[str, Any]:
    """A v0.3 HTTP+JSON message: the v0.3 protobuf's JSON, whose parts are ``content``."""
    ids = {**({"taskId": task_id} if task_id else {}), **({"contextId": context_id} if context_id else {})}
    return {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "content": [{"text": text}], **ids}
