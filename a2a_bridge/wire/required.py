"""A quick check of the A2A protos' REQUIRED fields, with the SDK's errors.

The SDK's ``validate_proto_required_fields`` reads every field's options on
every call and walks into each ``data`` part's Struct, which holds no required
field at all: about 80 us for a one-line message, and more for large data.
Here the walk is planned once per message type and skips subtrees that hold no
required field. Only when it finds a problem does the SDK's own check run, so
callers get the SDK's error, and a disagreement can only cost time. A missing
enum (``role``: ``ROLE_BOSS`` parses as unset) also says which values it takes.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from a2a.types import InvalidParamsError
from google.api.field_behavior_pb2 import FieldBehavior, field_behavior
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from a2a_bridge.wire.sdk_internals import validate_proto_required_fields

__all__ = ["check_required_fields"]

_Plan = tuple[tuple[FieldDescriptor, ...], tuple[FieldDescriptor, ...]]


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf >= 6.31 has ``is_repeated``; 7 dropped ``label``.
    repeated = getattr(field, "is_repeated", None)
    if repeated is None:
        repeated = getattr(field, "label", None) == FieldDescriptor.LABEL_REPEATED
    return bool(repeated)


def _is_required(field: FieldDescriptor) -> bool:
    return FieldBehavior.REQUIRED in field.GetOptions().Extensions[field_behavior]


@cache
def _holds_required(descriptor: Descriptor, seen: frozenset[str] = frozenset()) -> bool:
    """Whether any field at or below ``descriptor`` is REQUIRED."""
    if descriptor.full_name in seen:
        return False
    below = seen | {descriptor.full_name}
    return any(
        _is_required(field) or (field.message_type is not None and _holds_required(field.message_type, below))
        for field in descriptor.fields
    )


@cache
def _plan(descriptor: Descriptor) -> _Plan:
    required = tuple(field for field in descriptor.fields if _is_required(field))
    nested = tuple(
        field for field in descriptor.fields if field.message_type is not None and _holds_required(field.message_type)
    )
    return required, nested


def _missing(message: Message, field: FieldDescriptor) -> bool:
    if _is_repeated(field):
        return len(getattr(message, field.name)) == 0
    if field.has_presence:
        return not message.HasField(field.name)
    return bool(getattr(message, field.name) == field.default_value)


def _complete(message: Message) -> bool:
    required, nested = _plan(message.DESCRIPTOR)
    if any(_missing(message, field) for field in required):
        return False
    for field in nested:
        value = getattr(message, field.name)
        if field.message_type.GetOptions().map_entry:
            items = [item for item in value.values() if isinstance(item, Message)]
        elif _is_repeated(field):
            items = list(value)
        elif message.HasField(field.name):
            items = [value]
        else:
            continue
        if not all(_complete(item) for item in items):
            return False
    return True


def _field_at(descriptor: Descriptor, path: str) -> FieldDescriptor | None:
    field: FieldDescriptor | None = None
    for name in path.split("."):
        name = name.split("[", 1)[0]
        field = descriptor.fields_by_name.get(name) if descriptor is not None else None
        if field is None:
            return None
        descriptor = field.message_type
    return field


def _explain_enums(message: Message, errors: list[dict[str, Any]]) -> None:
    """An enum the caller misspelled arrives unset; say which values it takes, not only that it is required."""
    for error in errors:
        field = _field_at(message.DESCRIPTOR, str(error.get("field", "")))
        if field is not None and field.enum_type is not None:
            names = [value.name for value in field.enum_type.values if value.number != 0]
            error["message"] = (
                f"Field is required: one of {', '.join(names)} (a value it does not know counts as missing)."
            )


def check_required_fields(message: Message) -> None:
    """Raise the SDK's InvalidParamsError when a REQUIRED field is missing."""
    if not _complete(message):
        try:
            validate_proto_required_fields(message)
        except InvalidParamsError as exc:
            if isinstance(exc.data, dict) and isinstance(exc.data.get("errors"), list):
                _explain_enums(message, exc.data["errors"])
            raise
