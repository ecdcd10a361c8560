"""Every name the bridge takes from the a2a-sdk that the SDK does not export, in one place.

The SDK exports its public API through each package's ``__all__``. The names
below are not in it, so a minor release may move or change them without
notice. Each is used for a measured reason (bench/), and each is pinned down
by ``tests/test_sdk_contract.py``, which fails loudly when an SDK upgrade
breaks one, instead of letting the bridge slow down or misbehave quietly.
``pyproject.toml`` pins a2a-sdk to the minor versions that test has passed on.

The layering test keeps every other SDK import to exported names.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from a2a.client.card_resolver import parse_agent_card
from a2a.server.request_handlers import LegacyRequestHandler
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.server.tasks import task_manager
from a2a.types import Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent
from a2a.utils.error_handlers import build_rest_error_payload
from a2a.utils.errors import A2AError
from a2a.utils.proto_utils import validate_proto_required_fields
from a2a.utils.task import apply_history_length, validate_history_length

# isort: split
# Only after the SDK's routes are loaded: imported first, this module is a circular import.
from a2a.compat.v0_3.jsonrpc_adapter import JSONRPC03Adapter

__all__ = [
    "A2AError",
    "JsonRpcDispatcher",
    "agent_card_to_dict",
    "append_artifact_to_task",
    "build_rest_error_payload",
    "apply_history_length",
    "card_signing",
    "apply_task_event",
    "check_handler",
    "grpc_parts",
    "parse_agent_card",
    "register_run",
    "unregister_run",
    "use_task_model",
    "TaskMixin",
    "V03_REQUEST_MODELS",
    "V1_REQUEST_MODELS",
    "all_runs",
    "running",
    "running_task_ids",
    "validate_history_length",
    "validate_proto_required_fields",
]

try:
    from a2a.server.models import TaskMixin
except ImportError:  # SQLAlchemy is an extra; the memory store does without it

    class TaskMixin:  # type: ignore[no-redef]
        """Stands in without SQLAlchemy; parse_store_url names the extra to install."""


# The request type of each JSON-RPC method as the SDK's dispatchers validate it (v0.3 pydantic, v1.0 protobuf).
V03_REQUEST_MODELS: dict[str, Any] = dict(JSONRPC03Adapter.METHOD_TO_MODEL)
V1_REQUEST_MODELS: dict[str, Any] = dict(JsonRpcDispatcher.METHOD_TO_MODEL)

# The SDK wraps this in a tracing span even with tracing off, which cost more than the function.
append_artifact_to_task = inspect.unwrap(task_manager.append_artifact_to_task)


def apply_task_event(task: Task, event: TaskStatusUpdateEvent | TaskArtifactUpdateEvent) -> None:
    """Apply one event to ``task`` in place, as ``TaskManager.save_task_event`` does before it saves.

    The direct run saves once per burst of events instead of once per event
    (``server/turns/direct_run.py``), so it cannot call the TaskManager itself.
    """
    if isinstance(event, TaskStatusUpdateEvent):
        if task.status.HasField("message"):
            task.history.append(task.status.message)
        if event.metadata:
            task.metadata.MergeFrom(event.metadata)
        task.status.CopyFrom(event.status)
    else:
        append_artifact_to_task(task, event)


def check_handler(handler: LegacyRequestHandler) -> None:
    """Fail at start-up, not mid-request, when the handler lacks the state :func:`register_run` uses."""
    running = getattr(handler, "_running_agents", None)
    lock = getattr(handler, "_running_agents_lock", None)
    if not isinstance(running, dict) or not hasattr(lock, "__enter__"):
        raise RuntimeError(
            "this a2a-sdk's LegacyRequestHandler keeps no _running_agents registry; "
            "a2a-bridge needs the a2a-sdk version pinned in its pyproject.toml"
        )


def register_run(handler: LegacyRequestHandler, task_id: str, run: asyncio.Task[Any]) -> None:
    """Register a run the SDK did not start, so that its CancelTask stops it like its own.

    The SDK's ``_register_producer`` does just this, behind a tracing wrapper that costs more.
    """
    with handler._running_agents_lock:
        handler._running_agents[task_id] = run


def unregister_run(handler: LegacyRequestHandler, task_id: str) -> None:
    with handler._running_agents_lock:
        handler._running_agents.pop(task_id, None)


def all_runs(handler: LegacyRequestHandler) -> list[asyncio.Task[Any]]:
    with handler._running_agents_lock:
        return list(handler._running_agents.values())


def running_task_ids(handler: LegacyRequestHandler) -> list[str]:
    """The tasks whose runs are on this handler now, the SDK's and direct ones."""
    with handler._running_agents_lock:
        return list(handler._running_agents)


def running(handler: LegacyRequestHandler, task_id: str) -> asyncio.Task[Any] | None:
    """The run of ``task_id`` on this handler, the SDK's or a direct one, if there is one."""
    with handler._running_agents_lock:
        run: asyncio.Task[Any] | None = handler._running_agents.get(task_id)
        return run


def use_task_model(store: Any, model: type) -> None:
    """Make the SDK's ``DatabaseTaskStore`` read and list through ``model``: the SDK's columns and the bridge's.

    Its constructor takes only a table name; the model it picks is the ``task_model`` its queries use.
    """
    if not hasattr(store, "task_model"):
        raise RuntimeError(
            "this a2a-sdk's DatabaseTaskStore keeps no task_model; "
            "a2a-bridge needs the a2a-sdk version pinned in its pyproject.toml"
        )
    store.task_model = model


def card_signing() -> tuple[Callable[..., Any], Callable[..., Any], type[Exception], type[Exception]]:
    """The SDK's card signer and verifier factories, and the verifier's two errors (no signature, none valid).

    Imported on demand: they need PyJWT, an extra. ``a2a.utils.signing`` has no ``__all__``.
    """
    from a2a.utils.signing import (
        NoSignatureError,
        SignatureVerificationError,
        create_agent_card_signer,
        create_signature_verifier,
    )

    return create_agent_card_signer, create_signature_verifier, NoSignatureError, SignatureVerificationError


def grpc_parts() -> tuple[Callable[[Any, Any], None], Callable[[Any], Any], Mapping[type, str]]:
    """The SDK's gRPC servicer registration, its rich-status builder and its error reasons.

    Imported on demand: grpcio is an extra. The registration is generated code
    the SDK does not export; the builder turns a ``google.rpc.Status`` into what
    ``ServicerContext.abort`` takes.
    """
    from a2a.types import a2a_pb2_grpc
    from a2a.utils.errors import A2A_ERROR_REASONS
    from a2a.utils.grpc_status import status_to_grpc

    return a2a_pb2_grpc.add_A2AServiceServicer_to_server, status_to_grpc, A2A_ERROR_REASONS
