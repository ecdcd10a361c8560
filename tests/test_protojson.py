"""The planned ProtoJSON agrees with json_format, result for result and error for error.

Messages of every A2A type are generated from their descriptors; JSON input is
generated from those messages and then damaged (wrong types, nulls, NaN, lone
surrogates, unknown keys, proto field names, clashing oneof members).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from a2a.types import a2a_pb2
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from a2a_bridge.support.fast_paths import fallbacks
from a2a_bridge.wire.protojson import message_from_json, message_to_json

TYPES = [getattr(a2a_pb2, name) for name in a2a_pb2.DESCRIPTOR.message_types_by_name]
RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    JSON_LEAVES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8
)
ODD = st.sampled_from([None, float("nan"), float("inf"), "\ud800", "x\udfffy", True, 1.5, 2**70, [], {}, "NaN", -1])


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    cpp = field.cpp_type
    if cpp in RANGES:
        return st.integers(*RANGES[cpp])
    if cpp == FieldDescriptor.CPPTYPE_DOUBLE:
        return st.floats()
    if cpp == FieldDescriptor.CPPTYPE_FLOAT:
        return st.floats(width=32)
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return st.booleans()
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        numbers = [value.number for value in field.enum_type.values]
        return st.sampled_from(numbers) | st.integers(0, 40)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=8)
    return st.text(max_size=8)


def _fill_well_known(draw: st.DrawFn, message: Message) -> bool:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Struct":
        message.update(draw(st.dictionaries(st.text(max_size=5), JSON, max_size=3)))
    elif name == "google.protobuf.Value":
        holder = a2a_pb2.Part()
        holder.data.struct_value.update({"v": draw(JSON | st.sampled_from([float("nan"), float("inf")]))})
        message.CopyFrom(holder.data.struct_value.fields["v"])
    elif name == "google.protobuf.Timestamp":
        message.seconds = draw(st.integers(-62135596800, 253402300799))
        message.nanos = draw(st.integers(0, 999_999_999))
    else:
        return False
    return True


@st.composite
def messages(draw: st.DrawFn, message: Message, depth: int = 0) -> Message:
    if _fill_well_known(draw, message):
        return message
    for field in message.DESCRIPTOR.fields:
        if depth > 3 or not draw(st.booleans()):
            continue
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            target = getattr(message, field.name)
            value_field = entry.fields_by_name["value"]
            for key in draw(st.lists(st.text(max_size=4), max_size=2)):
                if value_field.message_type is not None:
                    draw(messages(target[key], depth + 1))
                else:
                    target[key] = draw(_scalar(value_field))
        elif field.is_repeated:
            target = getattr(message, field.name)
            for _ in range(draw(st.integers(0, 2))):
                if entry is not None:
                    draw(messages(target.add(), depth + 1))
                else:
                    target.append(draw(_scalar(field)))
        elif entry is not None:
            sub = getattr(message, field.name)
            sub.SetInParent()
            draw(messages(sub, depth + 1))
        else:
            setattr(message, field.name, draw(_scalar(field)))
    return message


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # the comparison is of the errors themselves
        return type(exc).__name__, str(exc)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


@st.composite
def damaged(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with some of its objects changed the ways callers get JSON wrong."""
    if isinstance(value, list):
        return [draw(damaged(item)) for item in value]
    if not isinstance(value, dict):
        return draw(ODD) if draw(st.integers(0, 9)) == 0 else value
    out: dict[str, Any] = {}
    for key, item in value.items():
        choice = draw(st.integers(0, 9))
        if choice == 0:
            out[_snake(key)] = draw(damaged(item))  # the proto name, which json_format also accepts
        elif choice == 1:
            out[key] = draw(ODD | JSON)
        else:
            out[key] = draw(damaged(item))
    if draw(st.integers(0, 5)) == 0:
        out["notAField"] = draw(JSON)
    if out and draw(st.integers(0, 5)) == 0:
        key = draw(st.sampled_from(sorted(out)))
        out[_snake(key) if _snake(key) != key else key + "Again"] = out[key]
    return out


COMMON = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.DESCRIPTOR.name)
@COMMON
@given(data=st.data())
def test_printing_matches_json_format(kind: type[Message], data: st.DataObject) -> None:
    message = data.draw(messages(kind()))
    assert _outcome(lambda: message_to_json(message)) == _outcome(lambda: json_format.MessageToDict(message))


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.DESCRIPTOR.name)
@COMMON
@given(data=st.data())
def test_parsing_matches_json_format(kind: type[Message], data: st.DataObject) -> None:
    source = data.draw(messages(kind()))
    try:
        printed = json_format.MessageToDict(source)
    except json_format.SerializeToJsonError:
        printed = {}
    payload = data.draw(damaged(printed))
    ours = _outcome(lambda: message_from_json(payload, kind()))
    theirs = _outcome(lambda: json_format.ParseDict(payload, kind(), ignore_unknown_fields=True))
    assert ours == theirs


def test_a_send_message_request_round_trips() -> None:
    payload = {
        "message": {
            "messageId": "m-1",
            "role": "ROLE_USER",
            "parts": [{"text": "hello"}, {"data": {"query": "ping", "n": 3, "tags": ["a", None, True]}}],
            "metadata": {"trace": {"id": "t"}},
        },
        "configuration": {"historyLength": 2, "returnImmediately": False},
        "unknownField": 1,
    }
    parsed = message_from_json(payload, a2a_pb2.SendMessageRequest())
    assert parsed == json_format.ParseDict(payload, a2a_pb2.SendMessageRequest(), ignore_unknown_fields=True)
    assert message_to_json(parsed) == json_format.MessageToDict(parsed)
    assert parsed.message.parts[1].data.struct_value.fields["n"].number_value == 3


def test_a_bad_value_gets_json_formats_own_error() -> None:
    with pytest.raises(json_format.ParseError, match="messageId"):
        message_from_json({"message": {"messageId": 5, "role": "ROLE_USER"}}, a2a_pb2.SendMessageRequest())


def test_everyday_messages_never_reach_json_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the module: a request and a finished task take the planned path both ways."""
    task_json = {
        "id": "t-1",
        "contextId": "c-1",
        "status": {"state": "TASK_STATE_COMPLETED", "timestamp": "2026-11-24T19:29:27.662162Z"},
        "artifacts": [{"artifactId": "a-1", "name": "output", "parts": [{"data": {"summary": "s", "n": 1.5}}]}],
        "history": [{"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}],
        "metadata": {"usage": {"tokens": 3}},
    }
    expected_task = json_format.ParseDict(task_json, a2a_pb2.Task())
    expected_json = json_format.MessageToDict(expected_task)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json_format was called")

    monkeypatch.setattr(json_format, "ParseDict", refuse)
    monkeypatch.setattr(json_format, "MessageToDict", refuse)
    assert message_from_json(task_json, a2a_pb2.Task()) == expected_task
    assert message_to_json(expected_task) == expected_json


def test_every_fallback_to_json_format_is_counted_and_logged(caplog):
    before = fallbacks().get("protojson.parse", 0)
    with caplog.at_level(logging.DEBUG, logger="a2a_bridge.fast_paths"):
        # A null is json_format's to judge, so the planned parser hands it over.
        message_from_json({"message": {"messageId": "m", "parts": [{"text": "hi"}]}, "tenant": None},
                          a2a_pb2.SendMessageRequest())  # fmt: skip
    assert fallbacks()["protojson.parse"] == before + 1
    assert "protojson.parse fell back" in caplog.text
    assert "SendMessageRequest" in caplog.text
