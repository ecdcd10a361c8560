"""A2A's task-state enum against the core's state names (:mod:`a2a_bridge.task_states`)."""

from __future__ import annotations

from a2a.types import TaskState

from a2a_bridge.task_states import STATES, TERMINAL
from a2a_bridge.task_states import TaskState as StateName

__all__ = ["AWAITING_CALLER_STATES", "TERMINAL_STATES", "state_name", "state_value"]

_BY_NAME: dict[StateName, int] = {name: TaskState.Value(f"TASK_STATE_{name.upper()}") for name in STATES}
_BY_VALUE: dict[int, StateName] = {value: name for name, value in _BY_NAME.items()}
TERMINAL_STATES: frozenset[int] = frozenset(_BY_NAME[name] for name in TERMINAL)
# A task in these states has no run: the caller's next message starts its next turn.
AWAITING_CALLER_STATES: frozenset[int] = frozenset(_BY_NAME[name] for name in ("input_required", "auth_required"))


def state_name(state: int) -> StateName:
    """The core's name of an A2A task state; ``"unknown"`` for one it does not know."""
    return _BY_VALUE.get(state, "unknown")


def state_value(name: StateName) -> int:
    """The A2A task-state enum value of one of the core's state names."""
    return _BY_NAME[name]
