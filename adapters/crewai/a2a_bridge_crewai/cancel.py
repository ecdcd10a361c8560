"""Stopping a cancelled task's crew at its next model call, and a flow at its next method, quietly.

A crew runs on a worker thread and cannot be interrupted. A before-model-call
hook stops it: the hook refuses the call, and CrewAI raises its own
``LLMCallBlockedError`` through the crew, pairing its events as for any
failure. On the way out CrewAI's flow runtime logs the error at ERROR for each
agent step it unwinds, and the asyncio loop it runs on logs it again as a
"Future exception was never retrieved" with a traceback (about 270 lines in
all). A cancel is an ordinary event: the flow runtime's records about a
cancelled task's crew are dropped, and the runner logs one INFO line. asyncio's
record comes later, from the garbage collector and out of the task's context;
it only repeats an error the crew has already raised, so it is dropped for
every blocked call.

(Raising CrewAI's ``HookAborted`` from the hook instead skips the flow's log,
but leaves CrewAI's event pairs open, and it prints a warning for each.)

A served Flow is stopped between methods: a before-step hook raises
``HookAborted`` before the next method of a cancelled task's flow, and
asyncio's late record of it is dropped the same way.
"""

from __future__ import annotations

import logging

from crewai.hooks import HookAborted, InterceptionPoint, register_hook
from crewai.hooks.llm_hooks import register_before_llm_call_hook
from crewai.llms.base_llm import LLMCallBlockedError

from a2a_bridge_crewai.events import current_sink

__all__ = ["install"]

_installed = False
_CANCELLED = "the A2A task was cancelled"


def _stop_cancelled(context: object) -> bool | None:
    """The before-model-call hook: refuse the call when the task it serves was cancelled."""
    return False if _cancelled_here() else None


def _cancelled_here() -> bool:
    sink = current_sink.get()
    return sink is not None and sink.cancelled.is_set()


class _CancelIsNotAnError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _cancelled_here()


class _BlockedCallRaisedAlready(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        ours = isinstance(error, HookAborted) and str(error) == _CANCELLED
        return not (isinstance(error, LLMCallBlockedError) or ours)


def _stop_cancelled_flow(context: object) -> None:
    """The before-step hook: a cancelled task's flow stops before its next method (a crew, at its model call)."""
    if getattr(context, "kind", None) == "flow_method" and _cancelled_here():
        raise HookAborted(_CANCELLED)


def install() -> None:
    """Stop cancelled crews at their next model call, and flows at their next method, quietly (once)."""
    global _installed
    if not _installed:
        register_before_llm_call_hook(_stop_cancelled)
        register_hook(InterceptionPoint.PRE_STEP, _stop_cancelled_flow)
        logging.getLogger("crewai.flow.runtime").addFilter(_CancelIsNotAnError())
        logging.getLogger("asyncio").addFilter(_BlockedCallRaisedAlready())
        _installed = True
