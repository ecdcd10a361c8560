"""The a2a-sdk behaves as ``a2a_bridge/wire/sdk_internals.py`` assumes.

Each name there is one the SDK does not export. When an upgrade moves or
changes one, a test here fails and names it, instead of the bridge quietly
losing speed or cancelling the wrong way.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore, TaskManager
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Artifact,
    CancelTaskRequest,
    GetTaskRequest,
    InvalidParamsError,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf import struct_pb2
from packaging.requirements import Requirement

from a2a_bridge.runner import Done
from a2a_bridge.server.turns.executor import RunnerExecutor
from a2a_bridge.wire import sdk_internals

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_sdk_is_one_the_pin_admits():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pin] = [Requirement(d) for d in dependencies if Requirement(d).name == "a2a-sdk"]
    assert version("a2a-sdk") in pin.specifier
    assert pin.specifier.contains("1.3.0")
    assert not pin.specifier.contains("1.4.0"), "pin the minor versions tested"


def _agent_message(text: str) -> Message:
    return Message(role=Role.ROLE_AGENT, message_id=f"m-{text}", parts=[Part(text=text)])


def _events() -> list[TaskStatusUpdateEvent | TaskArtifactUpdateEvent]:
    metadata = struct_pb2.Struct()
    metadata.update({"usage": {"total_tokens": 3}})

    def status(state: int, text: str | None = None, meta: struct_pb2.Struct | None = None) -> TaskStatusUpdateEvent:
        message = _agent_message(text) if text else None
        return TaskStatusUpdateEvent(
            task_id="t", context_id="c", status=TaskStatus(state=state, message=message), metadata=meta
        )

    def artifact(artifact_id: str, text: str, *, append: bool) -> TaskArtifactUpdateEvent:
        return TaskArtifactUpdateEvent(
            task_id="t",
            context_id="c",
            artifact=Artifact(artifact_id=artifact_id, name="response", parts=[Part(text=text)]),
            append=append,
        )

    return [
        status(TaskState.TASK_STATE_WORKING, "searching"),
        artifact("a", "Hel", append=False),
        artifact("a", "lo", append=True),
        status(TaskState.TASK_STATE_WORKING, "writing"),
        artifact("a", "Hello", append=False),
        artifact("b", "{}", append=False),
        status(TaskState.TASK_STATE_COMPLETED, meta=metadata),
    ]


async def test_apply_task_event_matches_the_sdk_task_manager():
    first = Task(id="t", context_id="c", status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED))
    context = ServerCallContext()
    manager = TaskManager(task_id="t", context_id="c", task_store=InMemoryTaskStore(), initial_message=None,
                          context=context)  # fmt: skip
    await manager.save_task_event(first)
    ours = Task()
    ours.CopyFrom(first)
    for event in _events():
        sdk_task = await manager.save_task_event(event)
        sdk_internals.apply_task_event(ours, event)
    assert sdk_task is not None
    assert ours == sdk_task


def test_append_artifact_is_unwrapped_to_the_plain_function():
    assert not hasattr(sdk_internals.append_artifact_to_task, "__wrapped__")
    assert inspect.signature(sdk_internals.append_artifact_to_task).parameters.keys() == {"task", "event"}


async def test_a_registered_run_is_stopped_by_the_sdk_cancel_task():
    async def agent(turn):
        yield Done()

    store = InMemoryTaskStore()
    card = AgentCard(name="contract", capabilities=AgentCapabilities(streaming=True))
    handler = sdk_internals.LegacyRequestHandler(
        agent_executor=RunnerExecutor(agent), task_store=store, agent_card=card
    )
    sdk_internals.check_handler(handler)
    context = ServerCallContext()
    await store.save(Task(id="t", context_id="c", status=TaskStatus(state=TaskState.TASK_STATE_WORKING)), context)
    run = asyncio.create_task(asyncio.sleep(30))
    sdk_internals.register_run(handler, "t", run)
    canceled = await asyncio.wait_for(handler.on_cancel_task(CancelTaskRequest(id="t"), context), 10)
    assert canceled is not None
    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    with pytest.raises(asyncio.CancelledError):
        await run
    sdk_internals.unregister_run(handler, "t")


def test_check_handler_fails_loudly_without_the_registry():
    with pytest.raises(RuntimeError, match="_running_agents"):
        sdk_internals.check_handler(object())  # type: ignore[arg-type]


def test_card_helpers_write_and_read_both_versions():
    url = "http://127.0.0.1:1/"
    card = AgentCard(
        name="contract",
        description="d",
        version="1",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="s", name="s", description="s", tags=["s"])],
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0"),
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="0.3"),
        ],
    )
    written = sdk_internals.agent_card_to_dict(card)
    assert written["supportedInterfaces"][0]["url"] == url
    assert written["url"] == url, "the v0.3 fields CrewAI's own client reads"
    assert written["preferredTransport"] == "JSONRPC"
    assert sdk_internals.parse_agent_card(written).name == "contract"
    v03 = {"name": "old", "description": "d", "version": "1", "url": "http://127.0.0.1:2/", "protocolVersion": "0.3.0",
           "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": []}  # fmt: skip
    assert sdk_internals.parse_agent_card(v03).supported_interfaces[0].url == "http://127.0.0.1:2/"


def test_errors_and_history_helpers():
    assert issubclass(InvalidParamsError, sdk_internals.A2AError)
    with pytest.raises(InvalidParamsError):
        sdk_internals.validate_history_length(SendMessageConfiguration(history_length=-1))
    task = Task(id="t", history=[_agent_message(str(i)) for i in range(3)])
    trimmed = sdk_internals.apply_history_length(task, SendMessageConfiguration(history_length=1))
    assert [m.message_id for m in trimmed.history] == ["m-2"]
    with pytest.raises(InvalidParamsError):
        sdk_internals.validate_proto_required_fields(CancelTaskRequest())


def test_the_dispatcher_takes_what_the_json_rpc_endpoint_gives_it():
    parameters = inspect.signature(sdk_internals.JsonRpcDispatcher).parameters
    assert {"context_builder", "enable_v0_3_compat"} <= parameters.keys()


def test_the_request_models_are_the_ones_each_dispatcher_validates_with():
    from pydantic import BaseModel

    v03 = sdk_internals.V03_REQUEST_MODELS
    assert {"message/send", "message/stream", "tasks/get", "tasks/cancel"} <= v03.keys()
    assert all(issubclass(model, BaseModel) for model in v03.values())
    assert sdk_internals.V1_REQUEST_MODELS["GetTask"] is GetTaskRequest
    payload = sdk_internals.build_rest_error_payload(InvalidParamsError(message="params.id: missing"))
    assert (payload["error"]["code"], payload["error"]["message"]) == (400, "params.id: missing")


async def test_a_shared_store_writes_the_row_the_sdks_own_store_would(tmp_path):
    from a2a.server.models import TaskMixin, TaskModel
    from a2a.server.tasks import DatabaseTaskStore
    from sqlalchemy.ext.asyncio import create_async_engine

    from a2a_bridge.server.stores.database import SharedTaskStore

    assert sdk_internals.TaskMixin is TaskMixin
    task = Task(
        id="t",
        context_id="c",
        status=TaskStatus(state=TaskState.TASK_STATE_WORKING, message=Message(message_id="s", parts=[Part(text="hi")])),
        history=[Message(role=Role.ROLE_USER, message_id="m", parts=[Part(text="q"), Part(data=struct_pb2.Value())])],
        artifacts=[Artifact(artifact_id="a", name="response", parts=[Part(text="answer")])],
    )
    task.status.timestamp.GetCurrentTime()
    task.metadata.update({"usage": {"total_tokens": 3}})
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    ours = SharedTaskStore(engine, replica_id="r", lease_seconds=15)._values(task, "alice")
    theirs = DatabaseTaskStore(engine)._to_orm(task, "alice")
    for name in ("context_id", "kind", "owner", "last_updated", "status", "artifacts", "history", "task_metadata"):
        assert hasattr(TaskModel, name), f"the SDK's task table lost the column {name!r}"
        assert ours[name] == getattr(theirs, name), name
    await engine.dispose()


def test_the_card_signer_and_verifier_keep_their_shape():
    import jwt
    from a2a.types import AgentCard
    from cryptography.hazmat.primitives.asymmetric import rsa

    def new_key() -> tuple[jwt.PyJWK, jwt.PyJWK]:
        private = rsa.generate_private_key(65537, 2048)
        as_jwk = jwt.algorithms.RSAAlgorithm.to_jwk
        return jwt.PyJWK(as_jwk(private, as_dict=True)), jwt.PyJWK(as_jwk(private.public_key(), as_dict=True))

    signer_factory, verifier_factory, no_signature, invalid = sdk_internals.card_signing()
    (key, public), (_, other) = new_key(), new_key()
    card = signer_factory(key, {"kid": "k", "alg": "RS256", "typ": "JOSE"})(AgentCard(name="n", description="d"))
    assert len(card.signatures) == 1
    verifier_factory(lambda kid, jku: public, ["RS256"])(card)
    with pytest.raises(invalid):
        verifier_factory(lambda kid, jku: other, ["RS256"])(card)
    with pytest.raises(no_signature):
        verifier_factory(lambda kid, jku: public, ["RS256"])(AgentCard(name="n"))


async def test_the_sdks_own_reads_go_through_the_shared_stores_model_and_tables(tmp_path):
    """``use_task_model``: the SDK's get and list query the bridge's table, created by the bridge's initialize."""
    from a2a.server.tasks import DatabaseTaskStore
    from a2a.types import ListTasksRequest
    from sqlalchemy.ext.asyncio import create_async_engine

    from a2a_bridge.server.stores.database import SharedTaskStore, TaskRow

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    store = SharedTaskStore(engine, replica_id="r", lease_seconds=15)
    assert store.task_model is TaskRow
    context = ServerCallContext()
    # The SDK's first read makes the tables through SharedTaskStore.initialize: no "no such table".
    assert await DatabaseTaskStore.get(store, "missing", context) is None
    task = Task(id="t", context_id="c", status=TaskStatus(state=TaskState.TASK_STATE_WORKING))
    await store.save(task, context)
    assert (await DatabaseTaskStore.get(store, "t", context)).context_id == "c"
    listed = await DatabaseTaskStore.list(store, ListTasksRequest(), context)
    assert [t.id for t in listed.tasks] == ["t"]
    with pytest.raises(RuntimeError, match="task_model"):
        sdk_internals.use_task_model(object(), TaskRow)
    await engine.dispose()


async def test_the_grpc_parts_keep_their_shape():
    import grpc
    from a2a.server.request_handlers import GrpcHandler
    from a2a.types import TaskNotFoundError
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2, status_pb2

    add_servicer, status_to_grpc, reasons = sdk_internals.grpc_parts()
    assert reasons[TaskNotFoundError] == "TASK_NOT_FOUND"
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason="TASK_NOT_FOUND", domain="a2a-protocol.org"))
    rich = status_to_grpc(status_pb2.Status(code=5, message="no such task", details=[info]))
    assert (rich.code, rich.details) == (grpc.StatusCode.NOT_FOUND, "no such task")
    assert any(key == "grpc-status-details-bin" for key, _ in rich.trailing_metadata)
    server = grpc.aio.server()
    handler = GrpcHandler.__new__(GrpcHandler)
    add_servicer(handler, server)  # registers the A2AService methods, or raises
    port = server.add_insecure_port("127.0.0.1:0")
    assert port > 0
    await server.stop(None)


async def test_the_sdks_own_runs_are_found_by_running_all_runs_and_running_task_ids():
    """A send on the SDK's own road (return_immediately) registers its producer where ``running`` looks."""
    release = asyncio.Event()

    async def agent(turn):
        await release.wait()
        yield Done()

    store = InMemoryTaskStore()
    card = AgentCard(name="contract", capabilities=AgentCapabilities(streaming=True))
    handler = sdk_internals.LegacyRequestHandler(
        agent_executor=RunnerExecutor(agent), task_store=store, agent_card=card
    )
    request = SendMessageRequest(
        message=Message(role=Role.ROLE_USER, message_id="m", parts=[Part(text="hi")]),
        configuration=SendMessageConfiguration(return_immediately=True),
    )
    task = await asyncio.wait_for(handler.on_message_send(request, ServerCallContext()), 10)
    run = sdk_internals.running(handler, task.id)
    assert run is not None, "the SDK no longer registers its own runs in _running_agents"
    assert run in sdk_internals.all_runs(handler)
    assert sdk_internals.running_task_ids(handler) == [task.id]
    release.set()
    await asyncio.wait_for(run, 10)


def test_the_names_taken_from_modules_without_all_are_still_there_and_still_unlisted():
    """tests/test_layering.py lets these in by name; when their modules gain an ``__all__``, that list must follow."""
    from test_layering import SDK_NAMES_WITHOUT_ALL

    for module_name, name in SDK_NAMES_WITHOUT_ALL:
        module = importlib.import_module(module_name)
        assert isinstance(getattr(module, name), type), f"{module_name}.{name}"
        exported = getattr(module, "__all__", None)
        assert exported is None or name in exported, f"{module_name} has an __all__ now, without {name}"
