"""The servers the round-trip benchmark compares, as uvicorn app factories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from a2a_bridge import Done, Event, TextDelta, Turn, to_a2a

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
    return to_a2a(TrivialRunner(), secrets={"bench": "bench-secret-0001"})


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
