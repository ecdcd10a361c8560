"""The servers the round-trip benchmark compares, as uvicorn app factories."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from a2a_bridge import Done, Event, Progress, TextDelta, Turn, enable_tracing, to_a2a

QUERY_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


class TrivialRunner:
    """Answers at once, with no model call."""

    name = "trivial"
    input_schema = QUERY_SCHEMA

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        query = (turn.data or {}).get("query", "")
        yield TextDelta(query)
        yield Done(output={"summary": query, "sources": []})


def bridge_app() -> Any:
    """``BENCH_STORE`` names the task store (memory by default)."""
    store = os.environ.get("BENCH_STORE", "memory")
    return to_a2a(TrivialRunner(), secrets={"bench": "bench-secret-0001"}, store=store)


def traced_bridge_app() -> Any:
    """``bridge_app`` with tracing on, exporting over OTLP to ``BENCH_OTLP_ENDPOINT``."""
    enable_tracing("bench", endpoint=os.environ["BENCH_OTLP_ENDPOINT"], project="bench")
    return bridge_app()


class A2ATask(BaseModel):
    task_id: str
    input: dict[str, Any]
    context: dict[str, Any] | None = {}


def raw_fastapi_app() -> FastAPI:
    """The tutorial's worker endpoint, with the model call taken out."""
    app = FastAPI()

    @app.post("/tasks/send")
    async def handle_task(task: A2ATask, authorization: str = Header(...)) -> dict[str, Any]:
        if authorization.replace("Bearer ", "") != "bench-secret-0001":
            raise HTTPException(status_code=401, detail="Invalid token")
        query = task.input.get("query")
        if not query:
            raise HTTPException(status_code=400, detail="Missing required field: query")
        return {"task_id": task.task_id, "status": "completed", "output": {"summary": query, "sources": []}}

    return app


def bare_sdk_app() -> Any:
    """A bare a2a-sdk 1.x server with its defaults: DefaultRequestHandler, JSON-RPC, in-memory tasks."""
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, Task, TaskState, TaskStatus
    from starlette.applications import Starlette

    class EchoExecutor(AgentExecutor):
        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            assert context.message is not None
            assert context.task_id
            assert context.context_id
            await event_queue.enqueue_event(
                Task(
                    id=context.task_id,
                    context_id=context.context_id,
                    status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                    history=[context.message],
                )
            )
            updater = TaskUpdater(event_queue, context.task_id, context.context_id)
            await updater.add_artifact([Part(text=context.get_user_input())], name="response")
            await updater.complete()

        async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
            raise NotImplementedError

    card = AgentCard(
        name="bare",
        description="bare a2a-sdk echo",
        version="1",
        supported_interfaces=[
            AgentInterface(url="http://127.0.0.1/", protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="echo", tags=["echo"])],
    )
    handler = DefaultRequestHandler(agent_executor=EchoExecutor(), task_store=InMemoryTaskStore(), agent_card=card)
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])


class FloodRunner:
    """Streams ``tokens`` one-word deltas as fast as it can: the bridge's own streaming cost."""

    name = "flood"

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        count = int((turn.data or {}).get("tokens", 1000))
        for _ in range(count):
            # A real stream awaits its socket between tokens; so does this one, without waiting.
            await asyncio.sleep(0)
            yield TextDelta("tok ")
        yield Done()


def streaming_app() -> Any:
    return to_a2a(FloodRunner())


def raw_sse_app() -> Any:
    """The anchor: one plain SSE event per token, no A2A."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def stream(request: Request) -> StreamingResponse:
        count = int((await request.json()).get("tokens", 1000))

        async def events() -> AsyncIterator[bytes]:
            for _ in range(count):
                yield b'data: {"text": "tok "}\n\n'
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/stream", stream, methods=["POST"])])


trivial = TrivialRunner()


class TickingRunner:
    """Emits ``BENCH_TICKS`` progress events 20 ms apart, each saying when (time.time_ns) it was emitted."""

    name = "ticking"

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        for _ in range(int(os.environ.get("BENCH_TICKS", "100"))):
            await asyncio.sleep(0.02)
            yield Progress(str(time.time_ns()))
        yield Done()


def ticking_app() -> Any:
    """A replica: ``BENCH_STORE`` and ``BENCH_BUS`` name the shared store and event bus."""
    return to_a2a(TickingRunner(), store=os.environ["BENCH_STORE"], event_bus=os.environ["BENCH_BUS"])
