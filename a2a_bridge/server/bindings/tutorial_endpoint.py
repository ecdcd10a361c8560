"""The tutorial's simplified REST shape, ``POST /tasks/send``.

    request:  {"task_id": "...", "input": {...}, "context": {...}}
    response: {"task_id": "...", "status": "completed", "output": {...}, ...}

It runs through the same request handler as the real A2A bindings, so the
task is validated, owned, stored and fetchable with GetTask under
``a2a_task_id``. A ``context.context_id`` continues an A2A conversation, and a
``context.a2a_task_id`` answers that task when it is ``input_required``.
A text-only agent takes the tutorial's ``{"query": ...}`` as its text.
"""

from __future__ import annotations

from typing import Any

from a2a.server.routes import DefaultServerCallContextBuilder
from a2a.types import InvalidParamsError, ListTasksRequest, Message, Part, Role, SendMessageRequest, Task, TaskState
from a2a.utils.errors import TaskNotFoundError
from starlette.requests import Request

from a2a_bridge.errors import InputValidationError
from a2a_bridge.server.bindings.caller_errors import log_caller_error
from a2a_bridge.server.bindings.tutorial_schema import QUERY_FIELD, QUERY_INPUT, TUTORIAL_PATH
from a2a_bridge.server.handling.handler import ValidatingRequestHandler, invalid_params
from a2a_bridge.server.handling.input_schema import InputSchema
from a2a_bridge.server.handling.request_state import mark_tutorial
from a2a_bridge.task_states import to_tutorial
from a2a_bridge.wire.artifacts import OUTPUT_ARTIFACT, RESPONSE_ARTIFACT
from a2a_bridge.wire.ids import new_id
from a2a_bridge.wire.json_body import (
    MAX_DEPTH_MESSAGE,
    MAX_NESTING,
    FastJSONResponse,
    UnholdableValueError,
    read_json,
)
from a2a_bridge.wire.parts import data_part, struct_json, text_of
from a2a_bridge.wire.sdk_internals import A2AError
from a2a_bridge.wire.states import state_name

__all__ = ["TutorialEndpoint", "tutorial_status"]

# A2A task metadata is camelCase; the tutorial's answers keep the tutorial's own names.
_TUTORIAL_USAGE_KEYS = {
    "promptTokens": "prompt_tokens",
    "completionTokens": "completion_tokens",
    "totalTokens": "total_tokens",
}


def tutorial_status(state: int) -> str:
    return to_tutorial(state_name(state))


def _refused(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> FastJSONResponse:
    log_caller_error(f"POST {TUTORIAL_PATH}", f"{status} {detail}")
    body: dict[str, Any] = {"detail": detail} if errors is None else {"detail": detail, "errors": errors}
    return FastJSONResponse(body, status_code=status)


def _bad_request(detail: str, errors: list[dict[str, str]]) -> FastJSONResponse:
    return _refused(400, detail, errors)


# The tutorial's input travels as the message's one data part: its fields are named as the caller sent them.
_INPUT_PART = "message.parts[0].data"


def _invalid_input(exc: InvalidParamsError) -> FastJSONResponse:
    errors = (exc.data or {}).get("errors", []) if isinstance(exc.data, dict) else []
    errors = [{**error, "field": str(error.get("field", "")).replace(_INPUT_PART, "input")} for error in errors]
    return _bad_request((exc.message or "invalid input").replace(_INPUT_PART, "input"), errors)


def _parse(body: bytes) -> tuple[dict[str, Any] | None, FastJSONResponse | None]:
    try:
        payload = read_json(body, allow_nan=False, max_depth=MAX_NESTING)
    except UnholdableValueError as exc:
        field = exc.field or "body"
        return None, _bad_request(f"Invalid task: {field}: {exc.problem}", [{"field": field, "message": exc.problem}])
    except ValueError as exc:
        why = getattr(exc, "msg", None) or (MAX_DEPTH_MESSAGE if str(exc) == MAX_DEPTH_MESSAGE else "bad encoding")
        msg = f"request body is not valid JSON: {why}"
        return None, _bad_request(msg, [{"field": "body", "message": msg}])
    if not isinstance(payload, dict):
        return None, _bad_request("request body must be a JSON object", [{"field": "body", "message": "not an object"}])
    errors: list[dict[str, str]] = []
    if not isinstance(payload.get("task_id"), str) or not payload.get("task_id"):
        errors.append({"field": "task_id", "message": "required, a non-empty string"})
    if not isinstance(payload.get("input"), dict):
        errors.append({"field": "input", "message": "required, a JSON object"})
    context = payload.get("context")
    if context is not None and not isinstance(context, dict):
        errors.append({"field": "context", "message": "must be a JSON object"})
    elif context and context.get("context_id") is not None and not isinstance(context["context_id"], str):
        errors.append({"field": "context.context_id", "message": "must be a string"})
    unknown = sorted(set(payload) - {"task_id", "input", "context"})
    errors.extend({"field": name, "message": "unexpected field"} for name in unknown)
    if errors:
        return None, _bad_request("Invalid task: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
    return payload, None


def _reply_result(client_task_id: str, reply: Message) -> dict[str, Any]:
    """An answer given as a message, with no A2A task: completed, in the tutorial's shape."""
    text = text_of(reply.parts)
    output = next((struct_json(part.data) for part in reply.parts if part.HasField("data")), None)
    return {
        "task_id": client_task_id,
        "status": "completed",
        "output": output if isinstance(output, dict) else {"summary": text, "sources": []},
        "text": text,
        "a2a_task_id": None,
        "context_id": reply.context_id,
    }


def _result(client_task_id: str, task: Task) -> dict[str, Any]:
    text = ""
    output: dict[str, Any] | None = None
    for artifact in task.artifacts:
        if artifact.name == RESPONSE_ARTIFACT:
            text = text_of(artifact.parts)
        elif artifact.name == OUTPUT_ARTIFACT:
            for part in artifact.parts:
                if part.HasField("data"):
                    output = struct_json(part.data)
    message_text = "\n".join(p.text for p in task.status.message.parts if p.HasField("text"))
    result: dict[str, Any] = {
        "task_id": client_task_id,
        "status": tutorial_status(task.status.state),
        # The tutorial's contract: an agent without structured output still answers output.summary.
        "output": output if output is not None else {"summary": text, "sources": []},
        "text": text,
        "a2a_task_id": task.id,
        "context_id": task.context_id,
    }
    if task.status.state in (TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_REJECTED):
        result["error"] = message_text
    elif task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
        result["question"] = message_text
    usage = struct_json(task.metadata).get("usage") if task.metadata else None
    if isinstance(usage, dict) and usage:
        result["usage"] = {_TUTORIAL_USAGE_KEYS.get(key, key): value for key, value in usage.items()}
    return result


class TutorialEndpoint:
    """The Starlette endpoint for ``POST /tasks/send``."""

    def __init__(self, handler: ValidatingRequestHandler) -> None:
        self.handler = handler
        self.context_builder = DefaultServerCallContextBuilder()
        self.query_input = InputSchema(QUERY_INPUT) if handler.input_schema is None else None

    def _parts(self, task_input: dict[str, Any], answering: bool) -> list[Any]:
        """A text-only agent's new task is its query, as text; anything else is data."""
        if self.query_input is None or answering:
            return [data_part(task_input)]
        self.query_input.validate(task_input)
        return [Part(text=task_input[QUERY_FIELD])]

    async def _waiting_task(self, context_id: str, call_context: Any) -> str | None:
        """The caller's task in this conversation that waits for an answer, if there is one."""
        listed = await self.handler.task_store.list(
            ListTasksRequest(context_id=context_id, status=TaskState.TASK_STATE_INPUT_REQUIRED, page_size=1),
            call_context,
        )
        return str(listed.tasks[0].id) if listed.tasks else None

    async def handle(self, request: Request) -> FastJSONResponse:
        payload, error = _parse(await request.body())
        if error is not None:
            return error
        assert payload is not None
        context = payload.get("context") or {}
        call_context = self.context_builder.build(request)
        mark_tutorial(call_context)
        answering = context.get("a2a_task_id")
        if answering is not None and (not isinstance(answering, str) or not answering):
            message = "context.a2a_task_id: must be the a2a_task_id of the task to answer"
            return _bad_request(message, [{"field": "context.a2a_task_id", "message": "must be a non-empty string"}])
        context_id = str(context.get("context_id") or "")
        if answering is None and context_id and (waiting := await self._waiting_task(context_id, call_context)):
            # Starting over would leave that task waiting for ever, and the agent would take the answer as a new task.
            detail = (
                f"task {waiting} in this context is waiting for an answer (input_required); "
                f"send the answer with context.a2a_task_id = {waiting!r}"
            )
            errors = [{"field": "context.a2a_task_id", "message": f"required: task {waiting} waits for an answer"}]
            return _refused(409, detail, errors)
        try:
            parts = self._parts(payload["input"], answering is not None)
        except InputValidationError as exc:
            return _invalid_input(invalid_params(exc))
        message = Message(
            role=Role.ROLE_USER,
            message_id=new_id(),
            parts=parts,
            context_id=context_id,
            task_id=answering or "",
        )
        message.metadata.update({"task_id": payload["task_id"], "context": context})
        params = SendMessageRequest(message=message)
        try:
            result = await self.handler.on_message_send(params, call_context)
        except InvalidParamsError as exc:
            return _invalid_input(exc)
        except TaskNotFoundError:
            return _refused(404, f"no task {answering!r} to answer")
        except A2AError as exc:
            return _refused(400, exc.message or type(exc).__name__)
        if isinstance(result, Message):
            return FastJSONResponse(_reply_result(payload["task_id"], result))
        return FastJSONResponse(_result(payload["task_id"], result))
