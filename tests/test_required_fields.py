"""The quick REQUIRED-field check agrees with the SDK's, error for error (and explains enums)."""

from __future__ import annotations

import pytest
from a2a.types import CancelTaskRequest, SendMessageRequest, SubscribeToTaskRequest, TaskPushNotificationConfig
from a2a.utils.errors import InvalidParamsError
from a2a.utils.proto_utils import validate_proto_required_fields
from google.protobuf.json_format import ParseDict

from a2a_bridge.wire.required import check_required_fields

MESSAGE = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"data": {"query": "ping", "deep": [{"a": None}]}}]}


def _errors(check, message) -> object:
    try:
        check(message)
    except InvalidParamsError as exc:
        return exc.data
    return None


@pytest.mark.parametrize(
    ("kind", "payload", "complete"),
    [
        (SendMessageRequest, {"message": MESSAGE}, True),
        (SendMessageRequest, {}, False),
        (SendMessageRequest, {"message": {**MESSAGE, "messageId": ""}}, False),
        (SendMessageRequest, {"message": {"messageId": "m", "parts": [{"text": "x"}]}}, False),
        (SendMessageRequest, {"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}, False),
        (SendMessageRequest, {"message": {**MESSAGE, "parts": [{"text": "a"}, {"url": "file:///x"}, {}]}}, True),
        (SendMessageRequest, {"message": MESSAGE, "configuration": {"taskPushNotificationConfig": {}}}, False),
        (SendMessageRequest, {"message": MESSAGE, "configuration": {"taskPushNotificationConfig": {"url": "u"}}}, True),
        (CancelTaskRequest, {"id": "t"}, True),
        (CancelTaskRequest, {}, False),
        (SubscribeToTaskRequest, {}, False),
        (TaskPushNotificationConfig, {"taskId": "t"}, False),
    ],
)
def test_the_quick_check_raises_exactly_when_the_sdk_does(kind, payload, complete):
    message = ParseDict(payload, kind())

    ours, theirs = _errors(check_required_fields, message), _errors(validate_proto_required_fields, message)
    assert (ours is None) == (theirs is None) == complete
    for mine, sdk in zip((ours or {}).get("errors", []), (theirs or {}).get("errors", []), strict=True):
        assert mine["field"] == sdk["field"]
        if mine["field"] == "message.role":  # an enum: ours also says which values it takes
            assert (
                mine["message"]
                == "Field is required: one of ROLE_USER, ROLE_AGENT (a value it does not know counts as missing)."
            )
        else:
            assert mine["message"] == sdk["message"]
