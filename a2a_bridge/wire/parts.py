"""A2A message parts and protobuf JSON values, to and from the core's plain types.

One place for both directions and both sides: the server reads a caller's
parts and writes artifacts; the client reads a remote's artifacts and writes
messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from a2a.types import Part
from google.protobuf import struct_pb2

from a2a_bridge.runner import FilePart

__all__ = ["data_of", "data_part", "file_of", "file_part", "files_of", "plain_json", "struct_json", "text_of"]


def plain_json(value: Any) -> Any:
    """Undo protobuf's number widening: a whole float becomes an int again."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    return value


def struct_json(value: struct_pb2.Struct | struct_pb2.Value | struct_pb2.ListValue) -> Any:
    """A protobuf Struct, Value or ListValue as plain JSON, like ``plain_json(MessageToDict(value))``.

    Several times faster than going through ``MessageToDict``, and this runs on every message.
    """
    if isinstance(value, struct_pb2.Struct):
        return {key: struct_json(item) for key, item in value.fields.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [struct_json(item) for item in value.values]
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return struct_json(value.struct_value)
    if kind == "list_value":
        return struct_json(value.list_value)
    if kind == "number_value":
        return plain_json(value.number_value)
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def data_part(data: Mapping[str, Any]) -> Part:
    part = Part()
    part.data.struct_value.update(data)  # three times faster than ParseDict
    return part


def file_part(file: FilePart) -> Part:
    if file.content is not None:
        return Part(raw=file.content, filename=file.name or "", media_type=file.media_type or "")
    return Part(url=file.url or "", filename=file.name or "", media_type=file.media_type or "")


def file_of(part: Part) -> FilePart:
    """The file a ``raw`` or ``url`` part carries."""
    if part.HasField("raw"):
        return FilePart(name=part.filename or None, media_type=part.media_type or None, content=part.raw)
    return FilePart(name=part.filename or None, media_type=part.media_type or None, url=part.url)


def text_of(parts: Iterable[Part]) -> str:
    return "".join(part.text for part in parts if part.HasField("text"))


def data_of(parts: Iterable[Part]) -> dict[str, Any] | None:
    """The first data part as a JSON object (a bare value comes wrapped as ``{"value": ...}``)."""
    for part in parts:
        if part.HasField("data"):
            value = struct_json(part.data)
            return value if isinstance(value, dict) else {"value": value}
    return None


def files_of(parts: Iterable[Part]) -> tuple[FilePart, ...]:
    return tuple(file_of(part) for part in parts if part.HasField("raw") or part.HasField("url"))
