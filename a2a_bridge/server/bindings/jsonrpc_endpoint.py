"""The JSON-RPC endpoint: SendMessage on a short path, everything else to the SDK.

Every call to an agent is a SendMessage, so it is the one method worth a short
path: parse, hand to the request handler, serialize. The SDK's dispatcher
wraps the same steps in several layers of tracing and re-validation that cost
more than a small agent itself. Anything this path does not recognise as a
well-formed v1.0 SendMessage (a bad envelope, another version, another
method) goes to the SDK's dispatcher untouched, so errors keep the SDK's shape.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from a2a.server.request_handlers import build_error_response
from a2a.server.routes import DefaultServerCallContextBuilder
from a2a.types import ContentTypeNotSupportedError, SendMessageRequest, SendMessageResponse, Task
from a2a.utils.errors import InternalError, VersionNotSupportedError
from google.protobuf.json_format import ParseError
from starlette.requests import Request
from starlette.responses import Response

from a2a_bridge.server.bindings.caller_errors import (
    answerable_id,
    envelope_error,
    log_caller_error,
    unholdable_value_error,
    unsupported_version,
    v03_error_response,
    v03_params_error,
    v1_params_error,
)
from a2a_bridge.server.bindings.media_types import json_content_type_error
from a2a_bridge.server.handling.handler import ValidatingRequestHandler
from a2a_bridge.support.fast_paths import fallback
from a2a_bridge.wire.json_body import (
    MAX_DEPTH_MESSAGE,
    MAX_NESTING,
    FastJSONResponse,
    UnholdableValueError,
    read_json,
)
from a2a_bridge.wire.protojson import message_from_json, message_to_json
from a2a_bridge.wire.sdk_internals import A2AError, JsonRpcDispatcher

__all__ = ["JsonRpcEndpoint"]

logger = logging.getLogger("a2a_bridge.jsonrpc")
_V1 = re.compile(r"1(\.\d+){0,2}")
# The v1.0 JSON-RPC methods, each with its v0.3 name.
_V1_METHODS: dict[str, str | None] = {
    "SendMessage": "message/send",
    "SendStreamingMessage": "message/stream",
    "GetTask": "tasks/get",
    "ListTasks": None,
    "CancelTask": "tasks/cancel",
    "SubscribeToTask": "tasks/resubscribe",
}


class JsonRpcEndpoint:
    """``POST /``: JSON-RPC v1.0 and v0.3."""

    def __init__(self, handler: ValidatingRequestHandler, *, v03: bool = True) -> None:
        self.handler = handler
        self.v03 = v03
        self.context_builder = DefaultServerCallContextBuilder()
        self.dispatcher = JsonRpcDispatcher(handler, context_builder=self.context_builder, enable_v0_3_compat=v03)

    async def handle(self, request: Request) -> Response:
        version = request.headers.get("a2a-version", "")
        if (wrong_type := json_content_type_error(request.headers.get("content-type"))) is not None:
            return _refuse({}, ContentTypeNotSupportedError(message=wrong_type), version)
        # The body is cached on the request, so the dispatcher can read it again.
        body = await request.body()
        try:
            payload: Any = read_json(body, allow_nan=False, max_depth=MAX_NESTING)
        except UnholdableValueError as exc:
            # Answered here: the SDK would fail on it as its own fault, or store it where it breaks reads.
            return _refuse(_envelope_of(exc.document), unholdable_value_error(exc, jsonrpc=True), version)
        except ValueError as exc:
            # The SDK's own parse fails on these with an exception it answers as -32603.
            if str(exc) == MAX_DEPTH_MESSAGE:
                return _parse_error(MAX_DEPTH_MESSAGE)
            if isinstance(exc, UnicodeDecodeError):
                return _parse_error("JSON must be UTF-8 text (RFC 8259)")
            return await self.dispatcher.handle_requests(request)  # the SDK's -32700, at WARNING
        if not isinstance(payload, dict):
            return await self.dispatcher.handle_requests(request)  # a batch, or not an object: the SDK refuses it
        if (refused := _caller_mistake(payload, version, v03=self.v03)) is not None:
            return _refuse(payload, refused, version)
        call = _send_message_call(payload, version)
        if call is None:
            return await self.dispatcher.handle_requests(request)
        if isinstance(call, A2AError):
            return _refuse(payload, call, version)
        request_id, params = call
        context = self.context_builder.build(request)
        context.tenant = params.tenant
        context.state["method"] = "SendMessage"
        context.state["request_id"] = request_id
        try:
            result = await self.handler.on_message_send(params, context)
        except A2AError as exc:
            return _refuse(payload, exc, version)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            logger.exception("SendMessage failed (ref %s)", ref)
            error = InternalError(message=f"The server failed on this request (ref {ref}).")
            return FastJSONResponse(build_error_response(request_id, error))
        response = SendMessageResponse(task=result) if isinstance(result, Task) else SendMessageResponse(message=result)
        return FastJSONResponse({"jsonrpc": "2.0", "id": request_id, "result": message_to_json(response)})


def _parse_error(why: str) -> Response:
    """JSON-RPC's -32700, which the SDK's error builder cannot write (it takes the code for an internal one)."""
    log_caller_error("JSON-RPC", f"Parse error: {why}")
    return FastJSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": f"Parse error: {why}"}})


def _refuse(payload: dict[str, Any], error: A2AError, version: str) -> Response:
    """The error for a caller's mistake, in the shape of the protocol version the caller speaks."""
    request_id = answerable_id(payload.get("id"))
    log_caller_error(f"JSON-RPC, request id {request_id!r}", error)
    if _V1.fullmatch(version) or payload.get("method") in _V1_METHODS:
        return FastJSONResponse(build_error_response(request_id, error))
    return FastJSONResponse(v03_error_response(request_id, error))


def _envelope_of(document: Any) -> dict[str, Any]:
    """The request id and method of a document refused whole."""
    if not isinstance(document, dict):
        return {}
    method = document.get("method")
    return {"id": document.get("id"), "method": method if isinstance(method, str) else None}


def _caller_mistake(payload: dict[str, Any], version: str, *, v03: bool) -> A2AError | None:
    """What the caller got wrong, found before the SDK's dispatcher logs it as a server error."""
    # No header at all is v0.3; whether this server speaks it depends on the method asked for, below.
    wrong_version = unsupported_version(version, v03=v03) if version.strip() else None
    if (error := wrong_version or envelope_error(payload)) is not None:
        return error
    method, params = payload["method"], payload.get("params", {})
    if _V1.fullmatch(version):
        return None if method == "SendMessage" else v1_params_error(method, params)
    if method in _V1_METHODS:
        return _v1_call_without_version(method, v03=v03)
    if not v03:
        return unsupported_version(version, v03=False)
    return v03_params_error(method, payload)


def _v1_call_without_version(method: str, *, v03: bool) -> VersionNotSupportedError:
    """A v1.0 method name with no ``A2A-Version`` header: the SDK would take it as v0.3 and say only that."""
    v03_name = _V1_METHODS[method] if v03 else None
    message = (
        f"the A2A-Version header is missing, so this was read as A2A v0.3, which has no method {method!r}: "
        "send 'A2A-Version: 1.0' with it" + (f", or use the v0.3 name {v03_name!r}" if v03_name else "")
    )
    return VersionNotSupportedError(message=message)


def _send_message_call(payload: dict[str, Any], version: str) -> tuple[str | int, SendMessageRequest] | A2AError | None:
    """The id and params of a v1.0 SendMessage, what is wrong with its params, or None for the SDK.

    ``payload`` has passed :func:`envelope_error` already.
    """
    request_id = payload.get("id")
    if not _V1.fullmatch(version) or payload["method"] != "SendMessage" or request_id is None:
        return None  # another method, or a notification: the SDK's
    params = payload.get("params", {})
    try:
        return request_id, message_from_json(params, SendMessageRequest())
    except (ParseError, TypeError, ValueError, OverflowError) as exc:
        fallback("jsonrpc.send_message", f"params do not parse: {type(exc).__name__}")
        return v1_params_error("SendMessage", params)  # None: it parses the SDK's way, ignoring unknown fields
