"""The a2a-sdk client's exceptions as the core's :class:`RemoteAgentError` tree.

Only a lost connection, a timeout or a 5xx answer becomes a retryable error
(:class:`RemoteUnavailable`, :class:`RemoteTimeout`). An answer that cannot be
read is a :class:`RemoteAgentError` that is not retried, and an exception that
is neither (a bug, here or in the SDK) is not translated at all: it propagates
with its own type and traceback.
"""

from __future__ import annotations

import json

import httpx
from a2a.client import A2AClientError, A2AClientTimeoutError
from a2a.types import InvalidParamsError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError
from google.protobuf.json_format import ParseError

from a2a_bridge.client.connections.http_errors import error_for_status, error_for_transport
from a2a_bridge.errors import (
    FieldError,
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteTimeout,
    TaskNotFound,
    UnsupportedOperation,
)
from a2a_bridge.wire.sdk_internals import A2AError

__all__ = ["translate"]


def _field_errors(error: A2AError) -> list[FieldError]:
    data = error.data
    if isinstance(data, list):  # JSON-RPC: google.rpc details
        for detail in data:
            if isinstance(detail, dict) and "fieldViolations" in detail:
                return [FieldError(v.get("field", ""), v.get("description", "")) for v in detail["fieldViolations"]]
            if isinstance(detail, dict) and isinstance(detail.get("metadata"), dict):
                data = detail["metadata"]
    if isinstance(data, dict):
        return [FieldError(str(e.get("field", "")), str(e.get("message", ""))) for e in data.get("errors", [])]
    return []


def _grpc_refusal(cause: BaseException) -> str | None:
    """The status and reason of a gRPC call refused for its credentials; grpc is an extra, so looked up late."""
    try:
        import grpc
    except ImportError:
        return None
    refusals = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    if isinstance(cause, grpc.aio.AioRpcError) and cause.code() in refusals:
        return f"{cause.code().name}: {cause.details()}"
    return None


def translate(exc: BaseException, *, agent: str, url: str) -> RemoteAgentError | None:
    """The core error for an SDK or transport exception; None for any other exception."""
    if isinstance(exc, RemoteAgentError):
        return exc
    cause = exc.__cause__ if isinstance(exc, A2AClientError) and exc.__cause__ else exc
    where = f"{agent} at {url}" if agent else url
    if isinstance(exc, A2AClientTimeoutError):
        return RemoteTimeout(f"{where} did not answer in time", agent=agent, url=url)
    if isinstance(cause, httpx.HTTPStatusError):
        status_error = error_for_status(cause.response.status_code, agent=agent, url=url)
        if status_error is not None:
            return status_error
    if (refusal := _grpc_refusal(cause)) is not None:
        return RemoteAuthError(f"{where} refused the credentials (gRPC {refusal})", agent=agent, url=url)
    lost = error_for_transport(cause, agent=agent, url=url)
    if lost is not None:
        return lost
    if isinstance(exc, InvalidParamsError):
        return RemoteInputError(
            f"{where} rejected the input: {exc.message}", errors=_field_errors(exc), agent=agent, url=url
        )
    if isinstance(exc, TaskNotFoundError):
        return TaskNotFound(f"{where} does not know this task", agent=agent, url=url)
    if isinstance(exc, (UnsupportedOperationError, TaskNotCancelableError)):
        return UnsupportedOperation(f"{where}: {exc.message}", agent=agent, url=url)
    if isinstance(exc, A2AError):
        return RemoteAgentError(
            f"{where} answered with an error: {exc.message or type(exc).__name__}", agent=agent, url=url
        )
    if isinstance(exc, (A2AClientError, json.JSONDecodeError, ParseError)):
        return RemoteAgentError(
            f"{where} sent a response that could not be read ({type(cause).__name__})", agent=agent, url=url
        )
    return None
