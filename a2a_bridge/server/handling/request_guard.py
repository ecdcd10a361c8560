"""What every request method of the handler gets: ids a store can hold in, and no internals out.

In: an id or context id with a NUL character is refused by name (Postgres
cannot store one, and a task sent on such a context was answered and then
never saved), and so is a ListTasks status that names no task state.
Out: an exception that is not the SDK's own A2A error (a database error, a
bug) reaches the caller as ``The server failed on this request (ref ...)``;
its text, which can hold SQL and parameters, stays in the log.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from a2a.types import InvalidParamsError, ListTasksRequest, TaskState
from a2a.utils.errors import InternalError

from a2a_bridge.wire.sdk_internals import A2AError

__all__ = ["guard_requests"]

logger = logging.getLogger("a2a_bridge.handler")

# The request fields that name a task or a conversation, by their ProtoJSON names.
_ID_FIELDS = {"id": "id", "task_id": "taskId", "context_id": "contextId"}


def _refusal(params: object) -> InvalidParamsError | None:
    for owner, prefix in ((params, ""), (getattr(params, "message", None), "message.")):
        for name, shown in _ID_FIELDS.items():
            value = getattr(owner, name, None)
            if isinstance(value, str) and "\x00" in value:
                field = prefix + shown
                error = {"field": field, "message": "must not contain a NUL character"}
                return InvalidParamsError(
                    message=f"{field}: must not contain a NUL character", data={"errors": [error]}
                )
    if isinstance(params, ListTasksRequest) and params.status not in TaskState.values():
        error = {"field": "status", "message": f"{params.status} is not a task state"}
        return InvalidParamsError(message=f"status: {params.status} is not a task state", data={"errors": [error]})
    return None


def _internal(method: str) -> InternalError:
    ref = uuid.uuid4().hex[:8]
    logger.exception("%s failed (ref %s)", method, ref)
    return InternalError(message=f"The server failed on this request (ref {ref}).")


def _guarded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def answered(self: object, params: object, *args: Any, **kwargs: Any) -> Any:
            if (refused := _refusal(params)) is not None:
                raise refused
            try:
                return await method(self, params, *args, **kwargs)
            except A2AError:
                raise
            except Exception:
                raise _internal(name) from None

        return answered

    @functools.wraps(method)
    async def streamed(self: object, params: object, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if (refused := _refusal(params)) is not None:
            raise refused
        try:
            async for event in method(self, params, *args, **kwargs):
                yield event
        except A2AError:
            raise
        except Exception:
            raise _internal(name) from None

    return streamed


def guard_requests(cls: type, *, inherited: bool = False) -> None:
    """Guard each request method (``on_*``) ``cls`` defines, or also those it inherits; each once."""
    names = [name for name in (dir(cls) if inherited else vars(cls)) if name.startswith("on_")]
    for name in names:
        method = getattr(cls, name)
        if callable(method) and not getattr(method, "_guarded", False):
            guarded = _guarded(name, method)
            guarded._guarded = True  # type: ignore[attr-defined]
            setattr(cls, name, guarded)
