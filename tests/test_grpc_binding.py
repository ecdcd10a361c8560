"""The gRPC binding: the same agent, auth, validation, limits and tasks as JSON-RPC and HTTP+JSON.

Driven by the a2a-sdk's own gRPC client and by RemoteAgent, over real gRPC on 127.0.0.1.
"""

from __future__ import annotations

import grpc
import httpx
import pytest
from a2a.client import ClientCallContext, ClientConfig, ClientFactory
from a2a.types import GetTaskRequest, SendMessageRequest, TaskPushNotificationConfig, TaskState, a2a_pb2_grpc
from agents import EchoAgent
from conformance.tck_runner import TckRunner
from sdk import SECRET, request, user_message

from a2a_bridge import ConfigurationError, RemoteAgent, RemoteUnavailable, to_a2a
from a2a_bridge.testing.ports import free_port
from a2a_bridge.wire.cards import parse_card

SECRETS = {"orchestrator": SECRET}
AUTH = {"authorization": f"Bearer {SECRET}"}


def card_of(server) -> dict:
    return httpx.get(server.url + "/.well-known/agent-card.json").json()


def grpc_address(server) -> str:
    return next(i["url"] for i in card_of(server)["supportedInterfaces"] if i["protocolBinding"] == "GRPC")


async def grpc_client(server, *, streaming: bool = False):
    config = ClientConfig(
        streaming=streaming,
        supported_protocol_bindings=["GRPC"],
        grpc_channel_factory=grpc.aio.insecure_channel,
    )
    return ClientFactory(config).create(parse_card(card_of(server)))


@pytest.fixture
def served(live_server):
    return live_server(to_a2a(EchoAgent(), secrets=SECRETS, grpc_port=0))


def test_the_card_lists_grpc_on_the_port_it_listens_on(served):
    interfaces = card_of(served)["supportedInterfaces"]

    grpc_interfaces = [i for i in interfaces if i["protocolBinding"] == "GRPC"]
    assert len(grpc_interfaces) == 1
    host, port = grpc_interfaces[0]["url"].rsplit(":", 1)
    assert host == "127.0.0.1"
    assert int(port) > 0
    assert grpc_interfaces[0]["protocolVersion"] == "1.0"


def test_without_grpc_port_there_is_no_grpc_interface(live_server):
    server = live_server(to_a2a(EchoAgent()))

    assert all(i["protocolBinding"] != "GRPC" for i in card_of(server)["supportedInterfaces"])


async def test_a_task_sent_over_grpc_is_the_same_task_over_json_rpc(served):
    client = await grpc_client(served)

    events = await collect_with(client, request(user_message(data={"query": "gpu prices"})))
    task = events[0].task

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert dict(task.metadata["usage"]) == {"promptTokens": 3, "completionTokens": 2, "totalTokens": 5, "calls": 1}
    async with httpx.AsyncClient(headers={"A2A-Version": "1.0", "Authorization": f"Bearer {SECRET}"}) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": task.id}}
        over_json_rpc = (await http.post(served.url + "/", json=body)).json()["result"]
    assert over_json_rpc["status"]["state"] == "TASK_STATE_COMPLETED"
    again = await client.get_task(GetTaskRequest(id=task.id), context=ClientCallContext(service_parameters=AUTH))
    assert again.id == task.id


async def collect_with(client, req, *, metadata=AUTH):
    return [e async for e in client.send_message(req, context=ClientCallContext(service_parameters=metadata))]


async def test_streaming_over_grpc_sends_the_steps_and_the_end(served):
    client = await grpc_client(served, streaming=True)

    events = await collect_with(client, request(user_message(data={"query": "gpu prices fell"})))

    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    assert "artifact_update" in kinds
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({}, "missing Authorization header"),
        ({"authorization": "Bearer not-the-secret"}, "the bearer secret is not valid for this agent"),
        ({"authorization": "Basic abc"}, "must be 'Bearer <secret>'"),
    ],
)
async def test_grpc_without_a_valid_secret_is_unauthenticated_and_says_why(served, metadata, reason):
    with pytest.raises(grpc.aio.AioRpcError) as rpc:
        await raw_send(served, user_message(text="hi"), metadata=metadata)
    assert rpc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in rpc.value.details()


async def raw_send(server, message, *, metadata=AUTH):
    async with grpc.aio.insecure_channel(grpc_address(server)) as channel:
        stub = a2a_pb2_grpc.A2AServiceStub(channel)
        return await stub.SendMessage(SendMessageRequest(message=message), metadata=tuple(metadata.items()))


async def test_grpc_input_is_validated_like_every_binding(served):
    with pytest.raises(grpc.aio.AioRpcError) as rpc:
        await raw_send(served, user_message(data={"query": 42}))

    assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "query" in rpc.value.details()


async def test_a_grpc_request_over_the_body_limit_is_resource_exhausted(live_server):
    server = live_server(to_a2a(EchoAgent(), grpc_port=0, max_body_bytes=4096))

    with pytest.raises(grpc.aio.AioRpcError) as rpc:
        await raw_send(server, user_message(text="x" * 10_000), metadata={})

    assert rpc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_a_grpc_call_in_another_version_is_unimplemented_and_says_which_works(served):
    with pytest.raises(grpc.aio.AioRpcError) as rpc:
        await raw_send(served, user_message(text="hi"), metadata={**AUTH, "a2a-version": "99.0"})

    assert rpc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "A2A-Version '99.0' is not supported" in rpc.value.details()
    assert "A2A 1.0" in rpc.value.details()


async def test_push_configs_over_grpc_are_checked_and_unimplemented_where_push_is_off(served, live_server):
    without_push = live_server(to_a2a(EchoAgent(), secrets=SECRETS, grpc_port=0, push_notifications=False))
    calls = [
        (without_push, "https://example.com/hook", grpc.StatusCode.UNIMPLEMENTED),
        (served, "https://example.com/hook", grpc.StatusCode.NOT_FOUND),  # push is on; there is no task "t"
        (served, "http://169.254.169.254/latest/meta-data/", grpc.StatusCode.INVALID_ARGUMENT),
    ]
    for server, url, code in calls:
        async with grpc.aio.insecure_channel(grpc_address(server)) as channel:
            stub = a2a_pb2_grpc.A2AServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as rpc:
                await stub.CreateTaskPushNotificationConfig(
                    TaskPushNotificationConfig(task_id="t", url=url), metadata=tuple(AUTH.items())
                )
        assert rpc.value.code() == code, url
    assert "169.254.169.254 is a cloud metadata service" in rpc.value.details()


def card_with_dead_http(grpc_port: int) -> dict:
    """A card whose HTTP bindings point at a port nobody listens on, and whose gRPC binding is real."""
    dead = f"http://127.0.0.1:{free_port()}"
    return {
        "name": "grpc-only-in-practice",
        "description": "Reachable over gRPC alone.",
        "version": "1.0.0",
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "tck", "name": "tck", "description": "acts out TCK scenarios", "tags": ["tck"]}],
        "supportedInterfaces": [
            {"url": dead + "/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
            {"url": f"127.0.0.1:{grpc_port}", "protocolBinding": "GRPC", "protocolVersion": "1.0"},
        ],
    }


async def test_remote_agent_speaks_grpc_when_the_caller_prefers_it(live_server):
    port = free_port()
    card = card_with_dead_http(port)
    server = live_server(to_a2a(TckRunner(), secrets=SECRETS, grpc_port=port, card=card))

    async with RemoteAgent(server.url, secret=SECRET, bindings=["GRPC", "JSONRPC"], retries=0) as agent:
        answer = await agent.send("hello")
        streamed = [event async for event in agent.stream("hello again")]
    async with RemoteAgent(server.url, secret=SECRET, retries=0, connect_timeout=1) as by_json_rpc:
        with pytest.raises(RemoteUnavailable):
            await by_json_rpc.send("hello")

    assert answer.state == "completed"
    assert answer.text.startswith("Unhandled messageId prefix: ")  # RemoteAgent's own message id
    assert streamed[-1].state == "completed"


async def test_remote_agent_refuses_bindings_it_does_not_know():
    with pytest.raises(ConfigurationError, match="bindings must name some of JSONRPC, HTTP\\+JSON, GRPC"):
        RemoteAgent("http://127.0.0.1:9", bindings=["SOAP"])


def test_grpc_port_must_be_a_port_number():
    with pytest.raises(ConfigurationError, match="grpc_port must be a port number"):
        to_a2a(EchoAgent(), grpc_port=70000)
