"""The gRPC binding of A2A v1.0, on a port of its own beside the HTTP ones.

The SDK's ``GrpcHandler`` serves it over the same request handler as JSON-RPC
and HTTP+JSON, so validation, the task store, the direct road and every
runner behave alike on all three. What HTTP does in middleware is done here
for gRPC:

- auth: the ``authorization`` metadata must carry a caller's bearer secret,
  else UNAUTHENTICATED with the same reason HTTP gives with 401;
- limits: a request larger than ``max_body_bytes`` gets RESOURCE_EXHAUSTED;
- the caller's metadata reaches the executor as the HTTP headers do (trace
  headers, ``a2a-version``); the binding is A2A 1.0 only, so a call without
  ``a2a-version`` is read as 1.0, and one with another version is refused;
- errors take the gRPC codes of spec §5.4, where the SDK's map differs
  (UNIMPLEMENTED, not FAILED_PRECONDITION, for an unsupported operation,
  version or push notifications).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from a2a.auth.user import UnauthenticatedUser, User
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultGrpcServerCallContextBuilder, GrpcHandler, RequestHandler
from a2a.types import PushNotificationNotSupportedError, UnsupportedOperationError, VersionNotSupportedError
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from a2a_bridge.server.auth.bearer import AuthRefused, BearerAuth
from a2a_bridge.server.bindings.caller_errors import log_caller_error, unsupported_version
from a2a_bridge.server.handling.request_state import TaskOwner
from a2a_bridge.wire.sdk_internals import A2AError, grpc_parts

__all__ = ["GrpcBinding"]

logger = logging.getLogger("a2a_bridge.grpc")

# Spec §5.4's gRPC codes where the SDK's map says FAILED_PRECONDITION.
_SPEC_CODES: dict[type[A2AError], grpc.StatusCode] = {
    PushNotificationNotSupportedError: grpc.StatusCode.UNIMPLEMENTED,
    UnsupportedOperationError: grpc.StatusCode.UNIMPLEMENTED,
    VersionNotSupportedError: grpc.StatusCode.UNIMPLEMENTED,
}


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    pairs = context.invocation_metadata() or ()
    return {str(k).lower(): v if isinstance(v, str) else v.decode() for k, v in pairs if not str(k).endswith("-bin")}


class _CallContextBuilder(DefaultGrpcServerCallContextBuilder):
    """The call's metadata as headers, and its caller (already checked by the interceptor) as the user."""

    def __init__(self, secrets: BearerAuth | None) -> None:
        self.secrets = secrets

    def build(self, context: grpc.aio.ServicerContext) -> ServerCallContext:
        headers = _metadata(context)
        version = headers.setdefault("a2a-version", "1.0")
        if (error := unsupported_version(version or "1.0", v03=False)) is not None:
            raise error  # the handler answers it as any A2A error
        call = super().build(context)
        call.state["headers"] = headers
        return call

    def build_user(self, context: grpc.aio.ServicerContext) -> User:
        if self.secrets is None:
            return UnauthenticatedUser()
        return TaskOwner(self.secrets.known_caller(_metadata(context).get("authorization")))


class _BearerCheck(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses a call without a valid bearer secret before any handler runs."""

    def __init__(self, secrets: BearerAuth) -> None:
        self.secrets = secrets

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        metadata = {str(k).lower(): v for k, v in details.invocation_metadata or ()}
        try:
            await self.secrets.caller_of(metadata.get("authorization"))
        except AuthRefused as exc:
            log_caller_error(f"gRPC {details.method}", str(exc))
            return _refusal(handler, str(exc), _REFUSAL_CODES[exc.status])
        return handler


_REFUSAL_CODES = {
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def _refusal(handler: Any, reason: str, code: grpc.StatusCode) -> Any:
    """A handler of the same kind as ``handler`` that answers ``code`` (UNAUTHENTICATED and the like)."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(code, reason)

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await context.abort(code, reason)
        yield  # pragma: no cover - abort raises

    codec = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(refuse_stream, **codec)
    return grpc.unary_unary_rpc_method_handler(refuse, **codec)


class _SpecGrpcHandler(GrpcHandler):
    """The SDK's handler, answering with the spec's gRPC codes."""

    async def abort_context(self, error: A2AError, context: grpc.aio.ServicerContext) -> None:
        code = _SPEC_CODES.get(type(error))
        if code is None:
            await super().abort_context(error, context)
            return
        log_caller_error("gRPC", error)
        _, status_to_grpc, reasons = grpc_parts()
        info = any_pb2.Any()
        reason = reasons.get(type(error), "UNKNOWN_ERROR")
        info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="a2a-protocol.org"))
        status = status_pb2.Status(code=code.value[0], message=error.message, details=[info])
        rich = status_to_grpc(status)
        context.set_trailing_metadata(tuple(rich.trailing_metadata))
        await context.abort(rich.code, rich.details)


class GrpcBinding:
    """A ``grpc.aio`` server for one agent, started and stopped with the ASGI app's lifespan."""

    def __init__(
        self, handler: RequestHandler, *, host: str, port: int, secrets: BearerAuth | None, max_bytes: int
    ) -> None:
        self.host = host
        self.requested_port = port
        self.port: int | None = None  # known once started; 0 asks for a free one
        self.max_bytes = max_bytes
        self.interceptors = [_BearerCheck(secrets)] if secrets is not None else []
        self.servicer = _SpecGrpcHandler(handler, context_builder=_CallContextBuilder(secrets))
        self.server: grpc.aio.Server | None = None

    async def start(self) -> None:
        # Made here, in the serving event loop: a grpc.aio server belongs to the loop it was made in.
        self.server = grpc.aio.server(
            interceptors=self.interceptors, options=[("grpc.max_receive_message_length", self.max_bytes)]
        )
        add_servicer, _, _ = grpc_parts()
        add_servicer(self.servicer, self.server)
        self.port = self.server.add_insecure_port(f"{self.host}:{self.requested_port}")
        if not self.port:
            raise OSError(f"gRPC could not bind {self.host}:{self.requested_port}")
        await self.server.start()
        logger.info("gRPC binding on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(grace=2)
