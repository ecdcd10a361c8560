"""How each turn ended, told to the turn's observers: the Prometheus metrics and the cost ledger.

The executor keeps one :class:`TurnOutcome` per turn and reports it once, as the
turn ends; a turn handed over to another process (the server stopping, a
worker that lost its lease) is reported as ``None``, since the process that
runs it again reports its end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from a2a_bridge import runner as ev

__all__ = ["TurnEnd", "TurnObserver", "TurnOutcome"]

logger = logging.getLogger("a2a_bridge.executor")

_ENDING_STATES: dict[type, str] = {
    ev.Done: "completed",
    ev.Failed: "failed",
    ev.NeedsInput: "input_required",
    ev.NeedsAuth: "auth_required",
    ev.Rejected: "rejected",
    ev.DirectReply: "replied",
}


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """One turn of a task, ended: in which state, what its model calls spent, how long it took.

    ``state`` is the task's state name (``completed``, ``input_required``, ...),
    or ``replied`` for an answer without a task.
    """

    agent: str
    task_id: str
    context_id: str
    state: str
    usage: ev.Usage | None
    seconds: float
    ended_at: float


class TurnObserver(Protocol):
    def turn_started(self) -> None: ...

    def turn_ended(self, end: TurnEnd | None) -> None: ...


class TurnOutcome:
    """What one turn came to: its ending event, or how it stopped."""

    def __init__(self, agent: str, task_id: str, context_id: str, observers: list[TurnObserver]) -> None:
        self.agent = agent
        self.task_id = task_id
        self.context_id = context_id
        self.observers = observers
        self.state: str | None = None
        self.usage: ev.Usage | None = None
        self.handed_over = False
        self._started = time.monotonic()
        for observer in observers:
            _safely(observer.turn_started)

    def saw(self, event: object) -> None:
        if (state := _ENDING_STATES.get(type(event))) is not None:
            self.state = state
            self.usage = getattr(event, "usage", None)

    def stopped(self, state: str) -> None:
        """The turn ended without an ending event: canceled, or the runner raised."""
        self.state = state

    def report(self) -> None:
        end = None
        if not self.handed_over:
            end = TurnEnd(
                agent=self.agent,
                task_id=self.task_id,
                context_id=self.context_id,
                state=self.state or "completed",
                usage=self.usage,
                seconds=time.monotonic() - self._started,
                ended_at=time.time(),
            )
        for observer in self.observers:
            _safely(observer.turn_ended, end)


def _safely(call: Callable[..., object], *args: object) -> None:
    # Counting a turn must never change how the turn ends.
    try:
        call(*args)
    except Exception:
        logger.exception("a turn observer failed")
