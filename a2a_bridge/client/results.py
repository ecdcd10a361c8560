"""What a call to a remote agent returns, whole (:class:`RemoteResult`) or as a stream (:data:`RemoteEvent`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from a2a_bridge.runner import Artifact, FilePart, Progress, TextDelta, Usage
from a2a_bridge.task_states import TERMINAL, TaskState

__all__ = ["RemoteArtifact", "RemoteEvent", "RemoteResult", "TaskPage", "TaskState", "usage_from"]


@dataclass(frozen=True, slots=True)
class RemoteArtifact:
    """One artifact of a remote task: its text, data and files."""

    name: str
    text: str = ""
    data: Mapping[str, Any] | None = None
    files: tuple[FilePart, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class RemoteResult:
    """The state and results of a task on a remote agent.

    Attributes:
        state: The task's state, e.g. ``"completed"`` or ``"input_required"``.
        text: The answer text.
        data: The structured output (the ``output`` artifact), if any.
        message: The status message: the question when input is required,
            the reason when the task failed.
        artifacts: Every artifact of the task.
        usage: Tokens the remote reports it spent, if it reports them.
        task_id: The task's id on the remote; use it to answer or cancel.
        context_id: The conversation id; pass it on to continue the conversation.
        agent: The remote's name.
        url: The replica that ran the task.
    """

    state: TaskState
    text: str = ""
    data: Mapping[str, Any] | None = None
    message: str = ""
    artifacts: tuple[RemoteArtifact, ...] = ()
    usage: Usage | None = None
    task_id: str = ""
    context_id: str = ""
    agent: str = ""
    url: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "completed"

    @property
    def needs_input(self) -> bool:
        return self.state == "input_required"

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


RemoteEvent: TypeAlias = Progress | TextDelta | Artifact | RemoteResult


def usage_from(value: Any) -> Usage | None:
    """Read a usage dict as the bridge writes it: camelCase in A2A task metadata, snake_case in /tasks/send."""
    if not isinstance(value, Mapping):
        return None
    try:
        return Usage(
            prompt_tokens=int(value.get("promptTokens", value.get("prompt_tokens", 0))),
            completion_tokens=int(value.get("completionTokens", value.get("completion_tokens", 0))),
            calls=int(value.get("calls", 0)),
            model=str(value.get("model") or ""),
        )
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of a remote's tasks, newest first.

    Attributes:
        tasks: The tasks on this page.
        next_page_token: Pass it on for the next page; empty on the last one.
        total: How many tasks match, on every page.
    """

    tasks: tuple[RemoteResult, ...]
    next_page_token: str = ""
    total: int = 0
