"""Helpers for driving a served agent with the official a2a-sdk client."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from a2a.client import Client, ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest, StreamResponse
from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict, ParseDict

SECRET = "orchestrator-secret-0001"
BINDINGS = ["JSONRPC", "HTTP+JSON"]


async def sdk_client(url: str, *, binding: str, streaming: bool, secret: str | None = SECRET) -> Client:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    http = httpx.AsyncClient(headers=headers, timeout=20)
    config = ClientConfig(streaming=streaming, httpx_client=http, supported_protocol_bindings=[binding])
    return await create_client(url, config)


def user_message(text: str | None = None, data: dict[str, Any] | None = None, **fields: Any) -> Message:
    parts = []
    if text is not None:
        parts.append(Part(text=text))
    if data is not None:
        parts.append(Part(data=ParseDict(data, struct_pb2.Value())))
    return Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=parts, **fields)


def request(message: Message, **config: Any) -> SendMessageRequest:
    req = SendMessageRequest(message=message)
    for key, value in config.items():
        setattr(req.configuration, key, value)
    return req


async def collect(client: Client, req: SendMessageRequest) -> list[StreamResponse]:
    return [event async for event in client.send_message(req)]


def as_dict(message: Any) -> dict[str, Any]:
    return MessageToDict(message)


def artifact_texts(task: Any, name: str) -> list[str]:
    return ["".join(p.text for p in a.parts) for a in task.artifacts if a.name == name]


def artifact_data(task: Any, name: str) -> list[Any]:
    return [MessageToDict(p.data) for a in task.artifacts if a.name == name for p in a.parts if p.HasField("data")]


async def get_text(url: str) -> str:
    """GET from an async test without blocking its event loop."""
    async with httpx.AsyncClient() as http:
        return (await http.get(url)).text


async def get_json(url: str) -> Any:
    return json.loads(await get_text(url))
