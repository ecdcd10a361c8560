"""Reading an incoming A2A message into the core's plain input: text, data (validated) and files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from a2a.types import Message

from a2a_bridge.errors import FieldError, InputValidationError
from a2a_bridge.runner import FilePart
from a2a_bridge.server.handling.input_schema import InputSchema
from a2a_bridge.wire.parts import file_of, struct_json

__all__ = ["MessageInput", "read_message"]


@dataclass(frozen=True, slots=True)
class MessageInput:
    text: str
    data: dict[str, Any] | None
    files: tuple[FilePart, ...]


def read_message(message: Message, schema: InputSchema | None, *, validate: bool) -> MessageInput:
    """Split a message into text, data and files; validate data when asked.

    Plain text fills the schema's single text field when there is no data part,
    so ``"hello"`` reaches a ``{"query": string}`` agent as ``{"query": "hello"}``.
    """
    texts: list[str] = []
    data_items: list[Any] = []
    files: list[FilePart] = []
    for part in message.parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            texts.append(part.text)
        elif kind == "data":
            data_items.append(struct_json(part.data))
        elif kind in ("raw", "url"):
            files.append(file_of(part))
    text = "\n".join(texts)
    if len(data_items) > 1:
        raise InputValidationError([FieldError("message.parts", "send at most one data part")])
    data = data_items[0] if data_items else None
    if data is not None and not isinstance(data, dict):
        raise InputValidationError([FieldError("input", "the data part must be a JSON object")])
    if schema is not None and validate:
        if data is None:
            data = schema.from_text(text) if text else None
        if data is None:
            raise InputValidationError([FieldError("input", f"this agent expects {schema.describe_expected()}")])
        schema.validate(data)
    return MessageInput(text=text, data=data, files=tuple(files))
