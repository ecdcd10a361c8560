"""A caller's mistake is answered with the field at fault and logged as one WARNING line.

ERROR and tracebacks are for the server's own faults. The SDK answers most
malformed requests well, but logs a bad JSON-RPC envelope or v0.3 params that
fail validation at ERROR with a traceback, and answers a v0.3 file part with
bad base64 as an internal error. The checks here run before the SDK sees the
request, so that it never gets to.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from a2a.server.request_handlers import build_error_response
from a2a.types import ContentTypeNotSupportedError, InvalidParamsError, InvalidRequestError, VersionNotSupportedError
from google.protobuf.json_format import ParseDict, ParseError
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from a2a_bridge.protocol.sdk_internals import (
    V03_REQUEST_MODELS,
    V1_REQUEST_MODELS,
    A2AError,
    build_rest_error_payload,
)
from a2a_bridge.protocol.server.media_types import json_content_type_error
from a2a_bridge.serving.limits import BODY_KEY
from a2a_bridge.serving.mount_path import route_path

__all__ = [
    "RestRequestCheck",
    "envelope_error",
    "log_caller_error",
    "unsupported_version",
    "v03_error_response",
    "v03_params_error",
    "v1_params_error",
]

logger = logging.getLogger("a2a_bridge.requests")
_SUPPORTED = "this agent speaks A2A 1.0 (send 'A2A-Version: 1.0') and 0.3 (send no A2A-Version header)"
_SUPPORTED_V1 = "this agent speaks only A2A 1.0: send 'A2A-Version: 1.0'"


def log_caller_error(where: str, error: A2AError | str) -> None:
    """One line for a refused request: ``where`` names the binding and the request id or route."""
    reason = f"{type(error).__name__}: {error.message}" if isinstance(error, A2AError) else error
    logger.warning("caller error (%s): %s", where, reason)


def unsupported_version(version: str, *, v03: bool = True) -> VersionNotSupportedError | None:
    """The error for an ``A2A-Version`` header the server does not speak, or None.

    No header means v0.3 (spec §3.6.2); with ``v03`` False the server speaks only 1.x.
    """
    version = version.strip()
    if version.split(".", 1)[0] == "1" or (v03 and version in ("", "0.3")):
        return None
    if not version:
        return VersionNotSupportedError(message=f"no A2A-Version header, so this is A2A 0.3: {_SUPPORTED_V1}")
    return VersionNotSupportedError(
        message=f"A2A-Version {version!r} is not supported: {_SUPPORTED if v03 else _SUPPORTED_V1}"
    )


def v03_error_response(request_id: str | int | None, error: A2AError) -> dict[str, Any]:
    """A JSON-RPC error in v0.3's shape: the error's data as it is, not v1.0's list of google.rpc details."""
    response = build_error_response(request_id, error)
    response["error"]["data"] = error.data
    return response


class RestRequestCheck:
    """Answers, on the HTTP+JSON routes and before the SDK, an ``A2A-Version`` the server does not speak and
    a body declared as something other than JSON (415, ContentTypeNotSupportedError).

    The SDK would answer the version too, with two log lines and no word of the versions that do work; a
    body in another media type it would read as JSON all the same.
    """

    def __init__(self, app: ASGIApp, *, exempt: frozenset[str], v03: bool = True) -> None:
        self.app = app
        self.exempt = exempt
        self.v03 = v03

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and route_path(scope) not in self.exempt:
            headers = Headers(scope=scope)
            error: A2AError | None = unsupported_version(headers.get("a2a-version", ""), v03=self.v03)
            if error is None and scope["method"] in ("POST", "PUT", "PATCH"):
                wrong_type = json_content_type_error(headers.get("content-type"))
                error = ContentTypeNotSupportedError(message=wrong_type) if wrong_type else None
                if error is None and not _utf8(scope.get(BODY_KEY, b"")):
                    # The SDK's parser fails on other encodings with an exception it answers as a 500.
                    error = InvalidParamsError(message="request body: JSON must be UTF-8 text (RFC 8259)")
            if error is not None:
                log_caller_error(f"HTTP+JSON {scope['method']} {scope['path']}", error)
                payload = build_rest_error_payload(error)
                if isinstance(error, ContentTypeNotSupportedError):
                    payload["error"]["code"] = 415  # spec §5.4; the SDK's map says 400
                await JSONResponse(payload, status_code=payload["error"]["code"])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def envelope_error(payload: dict[str, Any]) -> A2AError | None:
    """What is wrong with a JSON-RPC 2.0 request object, naming the member."""
    if payload.get("jsonrpc") != "2.0":
        return InvalidRequestError(message='Invalid request: jsonrpc: must be exactly "2.0"')
    method = payload.get("method")
    if not isinstance(method, str) or not method:
        return InvalidRequestError(message="Invalid request: method: required, a non-empty string")
    request_id = payload.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
        return InvalidRequestError(message="Invalid request: id: must be a string, an integer or null")
    if not isinstance(payload.get("params", {}), dict):
        return InvalidParamsError(message="Invalid params: params: must be an object")
    return None


def v1_params_error(method: str, params: dict[str, Any]) -> A2AError | None:
    """Params of a v1.0 method that do not parse, as the SDK's dispatcher would parse them."""
    model = V1_REQUEST_MODELS.get(method)
    if model is None:
        return None  # the SDK answers -32601
    try:
        ParseDict(params, model(), ignore_unknown_fields=True)
    except ParseError as exc:
        return _invalid_params([("params", str(exc))])
    return None


def v03_params_error(method: str, payload: dict[str, Any]) -> A2AError | None:
    """A v0.3 request that fails the SDK's own model, or carries file bytes that are not base64."""
    model = V03_REQUEST_MODELS.get(method)
    if model is None:
        return None
    try:
        request = model.model_validate(payload)
    except ValidationError as exc:
        return _invalid_params(_violations(exc))
    message = getattr(getattr(request, "params", None), "message", None)
    for index, part in enumerate(getattr(message, "parts", None) or []):
        data = getattr(getattr(getattr(part, "root", None), "file", None), "bytes", None)
        if isinstance(data, str) and not _decodes(data):
            return _invalid_params([(f"params.message.parts[{index}].file.bytes", "not valid base64")])
    return None


def _decodes(data: str) -> bool:
    try:
        base64.b64decode(data)  # as lenient as the SDK's own conversion, which calls the same
    except (binascii.Error, ValueError):
        return False
    return True


def _invalid_params(violations: list[tuple[str, str]]) -> InvalidParamsError:
    text = "; ".join(f"{field}: {message}" for field, message in violations)
    errors = [{"field": field, "message": message} for field, message in violations]
    return InvalidParamsError(message=f"Invalid params: {text}", data={"errors": errors})


def _is_branch(item: object) -> bool:
    """Pydantic puts the name of each union member it tried into the error's location."""
    return isinstance(item, str) and item[:1].isupper()


def _violations(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic's errors as ``(field path, message)``, keeping only the union member the ``kind`` chose."""
    errors = exc.errors()
    mismatched = {
        tuple(e["loc"][:-1])
        for e in errors
        if e["type"] == "literal_error" and e["loc"][-1:] == ("kind",) and _is_branch(e["loc"][-2])
    }
    kept: list[tuple[str, str]] = []
    kinds: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        chosen = next((loc[:i] for i in range(1, len(loc) + 1) if loc[:i] in mismatched), None)
        if chosen is None:
            kept.append((_path(loc), _message(error)))
        elif loc == (*chosen, "kind"):
            kinds.setdefault(chosen[:-1], []).append(str((error.get("ctx") or {}).get("expected", "")))
    if not kept:  # no member's kind matched: say which kinds there are
        for site, expected in kinds.items():
            kept.append((_path((*site, "kind")), f"must be one of {', '.join(expected)}"))
    return list(dict.fromkeys(kept))


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for item in loc:
        if isinstance(item, int):
            path += f"[{item}]"
        elif not _is_branch(item):
            path += f".{item}" if path else str(item)
    return path


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] in ("enum", "literal_error"):
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"{error['input']!r} is not a valid value; expected {expected}"
    return str(error["msg"])
