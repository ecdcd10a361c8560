"""Task states by name: one vocabulary for the core, the A2A wire and the tutorial's shape.

A2A names a state ``TASK_STATE_INPUT_REQUIRED``; the core and :class:`RemoteResult`
say ``"input_required"``; the tutorial's ``/tasks/send`` says ``"in_progress"``
where the others say working. Every map between them is built here, from one list.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ENDS_TURN",
    "STATES",
    "TERMINAL",
    "TaskState",
    "from_tutorial",
    "to_tutorial",
]

TaskState = Literal[
    "submitted", "working", "input_required", "auth_required", "completed", "failed", "canceled", "rejected", "unknown"
]
STATES: tuple[TaskState, ...] = tuple(state for state in get_args(TaskState) if state != "unknown")
# A finished task takes no more messages.
TERMINAL: frozenset[TaskState] = frozenset({"completed", "failed", "canceled", "rejected"})
# A turn is over when the task finishes or waits for the caller.
ENDS_TURN: frozenset[TaskState] = TERMINAL | {"input_required", "auth_required"}

_TUTORIAL_RENAMED: dict[TaskState, str] = {"working": "in_progress"}
_FROM_TUTORIAL: dict[str, TaskState] = {_TUTORIAL_RENAMED.get(state, state): state for state in STATES}


def to_tutorial(state: TaskState) -> str:
    """The tutorial's status name for ``state``."""
    return _TUTORIAL_RENAMED.get(state, state)


def from_tutorial(status: object) -> TaskState:
    """The state a tutorial status names, or ``"unknown"``."""
    return _FROM_TUTORIAL.get(str(status), "unknown")
