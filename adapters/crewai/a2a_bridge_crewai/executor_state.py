"""One state class for CrewAI's agent executors, instead of a new one per kickoff.

CrewAI runs each agent's turn as a Flow whose state type, ``AgentExecutorState``,
is a plain pydantic model. For such a state, ``Flow._create_initial_state``
defines ``class StateWithId(FlowState, AgentExecutorState)`` afresh every time,
and pydantic builds the new class's schema: about 4.5 ms of CPU per kickoff,
all of it before the model call. A served crew starts many kickoffs at once,
so on a busy server the first model requests waited for each other's classes
(bench/: CrewAI pass-through). Handing the executor that same class, made
once, takes CrewAI's ``FlowState`` branch, which only instantiates it.

If CrewAI changes this code, the executor's state type is no longer the plain
model and :func:`install` leaves it alone.
"""

from __future__ import annotations

from crewai.agents.agent_executor import AgentExecutor, AgentExecutorState
from crewai.flow.runtime import FlowState

__all__ = ["install"]


class ExecutorState(FlowState, AgentExecutorState):
    """The class CrewAI would build for every executor, built once."""


def install() -> None:
    """Give CrewAI's agent executors :class:`ExecutorState` (once, at serve time)."""
    if getattr(AgentExecutor, "_initial_state_t", None) is AgentExecutorState:
        # Set by Flow.__class_getitem__, so unknown to type checkers.
        setattr(AgentExecutor, "_initial_state_t", ExecutorState)  # noqa: B010
