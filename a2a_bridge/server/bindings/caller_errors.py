"""A caller's mistake is answered with the field at fault and logged as one WARNING line.

ERROR and tracebacks are for the server's own faults. The SDK answers most
malformed requests well, but logs a bad JSON-RPC envelope or v0.3 params that
fail validation at ERROR with a traceback, and answers a v0.3 file part with
bad base64 as an internal error. The checks here run before the SDK sees the
request, so that it never gets to.

The SDK also answers some mistakes as its own fault: a v0.3 ``historyLength``
query parameter that is not an integer, a v0.3 ``historyLength`` past 32 bits,
and, on HTTP+JSON, a value no task can hold (a lone surrogate, a number past a
double, a NaN) as a 500, or as a stream broken off. Those are answered here too.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Any

from a2a.server.request_handlers import build_error_response
from a2a.types import ContentTypeNotSupportedError, InvalidParamsError, InvalidRequestError, VersionNotSupportedError
from a2a.utils.errors import InternalError
from google.protobuf.json_format import ParseDict, ParseError
from pydantic import ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from a2a_bridge.server.bindings.media_types import json_content_type_error
from a2a_bridge.server.bindings.mount_path import route_path
from a2a_bridge.server.limits import BODY_KEY
from a2a_bridge.wire.json_body import MAX_NESTING, UnholdableValueError, read_json
from a2a_bridge.wire.sdk_internals import (
    V03_REQUEST_MODELS,
    V1_REQUEST_MODELS,
    A2AError,
    build_rest_error_payload,
)

__all__ = [
    "RestRequestCheck",
    "answerable_id",
    "envelope_error",
    "log_caller_error",
    "unholdable_value_error",
    "unsupported_version",
    "v03_error_response",
    "v03_params_error",
    "v1_params_error",
]

logger = logging.getLogger("a2a_bridge.requests")
_SUPPORTED = "this agent speaks A2A 1.0 (send 'A2A-Version: 1.0') and 0.3 (send no A2A-Version header)"
_SUPPORTED_V1 = "this agent speaks only A2A 1.0: send 'A2A-Version: 1.0'"
# What a JSON-RPC id may be, so that the answer can carry it (orjson writes integers of at most 64 bits).
_ID_RANGE = range(-(2**63), 2**64)
_INT32 = range(-(2**31), 2**31)
_NOT_INT32 = f"out of range for a 32-bit integer (at most {_INT32.stop - 1})"
_V03_SEND_ROUTES = frozenset({"/v1/message:send", "/v1/message:stream"})
_V03_STREAM = re.compile(r"/v1/(message:stream|tasks/[^/]+:subscribe)")


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
    """Answers, on the HTTP+JSON routes and before the SDK, the caller mistakes the SDK answers badly.

    - an ``A2A-Version`` the server does not speak: the SDK would answer it too, with two log lines and no
      word of the versions that do work;
    - a body declared as something other than JSON (415, ContentTypeNotSupportedError), which the SDK would
      read as JSON all the same;
    - a body that is not UTF-8 or holds a value no task can hold, a v0.3 message part the SDK cannot
      convert, and a v0.3 ``historyLength`` that is not an integer: the SDK answers these as a 500, or
      breaks off the stream it has begun.
    """

    def __init__(self, app: ASGIApp, *, exempt: frozenset[str], v03: bool = True) -> None:
        self.app = app
        self.exempt = exempt
        self.v03 = v03

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (path := route_path(scope)) not in self.exempt:
            error = self._mistake(scope, path)
            if error is not None:
                await _refuse(error, scope, receive, send)
                return
            if _V03_STREAM.fullmatch(path):
                await _v03_stream(self.app, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _mistake(self, scope: Scope, path: str) -> A2AError | None:
        headers = Headers(scope=scope)
        if (error := unsupported_version(headers.get("a2a-version", ""), v03=self.v03)) is not None:
            return error
        if scope["method"] in ("GET", "HEAD"):
            return _v03_query_error(path, QueryParams(scope["query_string"]))
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return None
        if wrong_type := json_content_type_error(headers.get("content-type")):
            return ContentTypeNotSupportedError(message=wrong_type)
        body = scope.get(BODY_KEY, b"")
        if not _utf8(body):
            # The SDK's parser fails on other encodings with an exception it answers as a 500.
            return InvalidParamsError(message="request body: JSON must be UTF-8 text (RFC 8259)")
        if not body:
            return None
        try:
            # One more read of the body, with orjson: about a microsecond for a small message.
            document = read_json(body, allow_nan=False, max_depth=MAX_NESTING)
        except UnholdableValueError as exc:
            return unholdable_value_error(exc)
        except ValueError:
            return None  # malformed JSON: the SDK's own 400
        return _v03_parts_error(document) if path in _V03_SEND_ROUTES else None


async def _refuse(error: A2AError, scope: Scope, receive: Receive, send: Send) -> None:
    if not isinstance(error, InternalError):  # the server's own fault is logged where it happened
        log_caller_error(f"HTTP+JSON {scope['method']} {scope['path']}", error)
    payload = build_rest_error_payload(error)
    if isinstance(error, ContentTypeNotSupportedError):
        payload["error"]["code"] = 415  # spec §5.4; the SDK's map says 400
    await JSONResponse(payload, status_code=payload["error"]["code"])(scope, receive, send)


async def _v03_stream(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """A v0.3 HTTP+JSON stream, its response held back until its first event.

    The SDK's v0.3 streams meet a caller's mistake (a schema mismatch, an unknown task) only once the
    response has begun, and re-raise it there, so the connection broke off with no answer. Failing before
    its first event, the stream is answered as the same request to the v0.3 ``message:send`` would be.
    """
    held: list[Message] = []
    begun = False

    async def hold_start(message: Message) -> None:
        nonlocal begun
        if message["type"] == "http.response.start" and not begun:
            held.append(message)
            return
        if not begun:
            begun = True
            for start in held:
                await send(start)
        await send(message)

    try:
        await app(scope, receive, hold_start)
    except Exception as exc:
        if begun or (error := _first_a2a_error(exc)) is None:
            raise
        await _refuse(error, scope, receive, send)
    else:
        if not begun:  # a response with no body at all
            for start in held:
                await send(start)


def _first_a2a_error(exc: BaseException) -> A2AError | None:
    """The A2A error (or the protobuf parse error) an exception is, or holds in its group."""
    if isinstance(exc, A2AError):
        return exc
    if isinstance(exc, ParseError):
        return InvalidRequestError(message=str(exc))
    if isinstance(exc, BaseExceptionGroup):
        return next((found for inner in exc.exceptions if (found := _first_a2a_error(inner)) is not None), None)
    return None


def _v03_parts_error(document: Any) -> A2AError | None:
    """A v0.3 HTTP+JSON message part the SDK's conversion fails on: a part of no kind, file bytes not text."""
    if not isinstance(document, dict):
        return None
    for key in ("message", "request"):  # the v0.3 field's JSON name, and its protobuf name
        message = document.get(key)
        content = message.get("content") if isinstance(message, dict) else None
        for index, part in enumerate(content if isinstance(content, list) else []):
            field = f"{key}.content[{index}]"
            if not isinstance(part, dict) or all(part.get(kind) is None for kind in ("text", "file", "data")):
                return _invalid_params([(field, "a part must hold one of text, file or data")])
            file = part.get("file")
            data = file.get("fileWithBytes", file.get("file_with_bytes")) if isinstance(file, dict) else None
            if isinstance(data, str) and not _utf8(_base64(data)):
                problem = "A2A v0.3 takes the decoded bytes as UTF-8 text, and these are not"
                return _invalid_params([(f"{field}.file.fileWithBytes", problem)])
    return None


def _base64(data: str) -> bytes:
    try:
        return base64.b64decode(data)
    except (binascii.Error, ValueError):
        return b""  # not base64: the SDK's parser names it


def _v03_query_error(path: str, query: QueryParams) -> A2AError | None:
    """A v0.3 ``GET /v1/tasks/{id}`` whose ``historyLength`` the SDK's ``int()`` and int32 cannot take."""
    task = path.removeprefix("/v1/tasks/")
    if task == path or "/" in task or task.endswith(":subscribe") or "historyLength" not in query:
        return None
    for value in query.getlist("historyLength"):
        problem = _history_length_problem(value)
        if problem is not None:
            return _invalid_params([("historyLength", problem)])
    return None


def _history_length_problem(value: str) -> str | None:
    if not value:
        return None  # the SDK reads an empty one as none given
    try:
        number = int(value) if len(value) < 100 else None
    except ValueError:
        number = None
    if number is None:
        return f"must be an integer, not {value[:40]!r}"
    return None if number in _INT32 else _NOT_INT32


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def answerable_id(request_id: object) -> str | int | None:
    """``request_id`` if an answer can carry it (Unicode text, or an integer of at most 64 bits), else None."""
    if isinstance(request_id, bool):
        return None
    if isinstance(request_id, int):
        return request_id if request_id in _ID_RANGE else None
    if isinstance(request_id, str) and (request_id.isascii() or _encodes(request_id)):
        return request_id
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
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
    if isinstance(request_id, int) and request_id not in _ID_RANGE:
        return InvalidRequestError(message="Invalid request: id: an integer id must fit in 64 bits")
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
    except OverflowError:  # a number past a double, as a float field's value
        return _invalid_params([("params", "a number is out of range: JSON numbers here must fit a double")])
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
    params = getattr(request, "params", None)
    for field, length in (
        ("params.historyLength", getattr(params, "history_length", None)),
        ("params.configuration.historyLength", getattr(getattr(params, "configuration", None), "history_length", None)),
    ):
        # The SDK converts it to a 32-bit protobuf field, and answers the overflow as an internal error.
        if isinstance(length, int) and length not in _INT32:
            return _invalid_params([(field, _NOT_INT32)])
    message = getattr(params, "message", None)
    for index, part in enumerate(getattr(message, "parts", None) or []):
        data = getattr(getattr(getattr(part, "root", None), "file", None), "bytes", None)
        if isinstance(data, str) and not _decodes(data):
            return _invalid_params([(f"params.message.parts[{index}].file.bytes", "not valid base64")])
    return None


def unholdable_value_error(exc: UnholdableValueError, *, jsonrpc: bool = False) -> A2AError:
    """The error for a value no task can hold: invalid params, or, outside a JSON-RPC ``params``, an invalid
    request."""
    field = exc.field or "body"
    if jsonrpc and field != "params" and not field.startswith(("params.", "params[")):
        return InvalidRequestError(message=f"Invalid request: {field}: {exc.problem}")
    return _invalid_params([(field, exc.problem)])


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
