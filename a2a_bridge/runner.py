"""The framework-neutral contract between the server and an agent.

A *runner* receives one :class:`Turn` and yields events. The server maps the
events onto A2A tasks; adapters map a framework's own run loop onto events.
Nothing here knows about A2A wire types or about any agent framework.

A runner is either an object with an async-generator method ``run(turn)`` or
an async-generator function ``fn(turn)``::

    async def echo(turn: Turn) -> AsyncIterator[Event]:
        yield Progress("thinking")
        yield TextDelta(turn.text)
        yield Done(output={"echo": turn.text})

A turn ends with exactly one of :class:`Done`, :class:`Failed`,
:class:`Rejected`, :class:`NeedsInput` or :class:`NeedsAuth` (a runner that
just returns is Done). A runner whose ``direct_replies`` attribute is True may
instead answer a new message with a :class:`DirectReply` and no task at all.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable
from urllib.parse import quote

__all__ = [
    "Artifact",
    "DirectReply",
    "Done",
    "Event",
    "Failed",
    "FilePart",
    "NeedsAuth",
    "NeedsInput",
    "Progress",
    "Rejected",
    "Runner",
    "TextDelta",
    "TraceContext",
    "Turn",
    "Usage",
    "as_runner",
    "conversation_key",
]


@dataclass(frozen=True, slots=True)
class TraceContext:
    """Trace identifiers carried across A2A hops.

    Attributes:
        traceparent: The W3C ``traceparent`` header, if the caller sent one.
        trace_id: The tutorial-style ``X-Trace-ID``, or the trace id taken
            from ``traceparent``.
        parent_task_id: The caller's own task id (``X-Parent-Task-ID``).
    """

    traceparent: str | None = None
    trace_id: str | None = None
    parent_task_id: str | None = None


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file the caller attached: inline bytes or a URL, never both."""

    name: str | None = None
    media_type: str | None = None
    content: bytes | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One incoming message for a runner.

    Attributes:
        task_id: The A2A task id; the same across the turns of one task.
        context_id: The conversation id; the same across related tasks. The
            caller chose it, so two callers may choose the same one: key a
            conversation's state by :attr:`conversation`, never by this.
        message_id: The id the caller gave this message; unique per message.
        text: All text parts of the message, joined by newlines.
        data: The structured input (already validated against the input
            schema), or None when the message carried no data.
        files: Files attached to the message.
        caller: The caller: the name of its secret or its access token's
            client, or None when the agent is served without either.
        trace: Trace identifiers from the request headers.
        resuming: True when this turn answers a :class:`NeedsInput` or a
            :class:`NeedsAuth`.
        recovering: True when the server that ran this turn stopped before it
            ended, and this one takes the task over. Only a runner whose
            ``recovers_tasks`` attribute is True gets such a turn; it continues
            from its own durable state (a LangGraph checkpoint) if it has any.
        metadata: The message metadata the caller sent.
        streaming: True when the caller reads this turn as a stream. When
            False nobody sees :class:`TextDelta` events one by one, so a runner
            may ask its model for the whole answer at once instead.
    """

    task_id: str
    context_id: str
    message_id: str = ""
    text: str = ""
    data: Mapping[str, Any] | None = None
    files: tuple[FilePart, ...] = ()
    caller: str | None = None
    trace: TraceContext = field(default_factory=TraceContext)
    resuming: bool = False
    recovering: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    streaming: bool = False

    @property
    def conversation(self) -> str:
        """The key of this conversation's state: the context id, scoped by its caller.

        Checkpoints, persisted state and per-conversation locks are keyed by it,
        so two callers who pick the same context id have two conversations.
        """
        return conversation_key(self.caller, self.context_id)

    def delegation_trace(self) -> TraceContext:
        """The trace context for a call this turn makes to another agent."""
        return TraceContext(
            traceparent=self.trace.traceparent, trace_id=self.trace.trace_id, parent_task_id=self.task_id
        )


def conversation_key(caller: str | None, context_id: str) -> str:
    """``context_id`` as the conversation of ``caller``: ``"<caller>:<context_id>"``.

    The caller's name is percent-encoded, so no ``:`` in a name or an id can
    make two callers' keys meet. An agent served without auth has one tenant:
    its key is the context id itself, as it always was.
    """
    if not caller:
        return context_id
    return f"{quote(caller, safe='')}:{context_id}"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens spent on one task, summed over every model call.

    ``model`` names the model that spent them, as the server answered it;
    several models, comma-separated; empty when the runner did not say.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    model: str = ""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.calls + other.calls,
            _models(self.model, other.model),
        )

    def as_dict(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "calls": self.calls,
        }
        if self.model:
            usage["model"] = self.model
        return usage


def _models(first: str, second: str) -> str:
    if not first or first == second:
        return second
    if not second:
        return first
    return ", ".join(sorted({*first.split(", "), *second.split(", ")}))


@dataclass(frozen=True, slots=True)
class Progress:
    """A human-readable step, e.g. "node `research` finished"."""

    message: str
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer text. Deltas are concatenated in order."""

    text: str


@dataclass(frozen=True, slots=True)
class Artifact:
    """A named result besides the answer text: data, text or a file."""

    name: str
    data: Mapping[str, Any] | None = None
    text: str | None = None
    file: FilePart | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsInput:
    """The runner needs an answer from the caller before it can go on.

    The task enters ``input-required``; the caller's next message on the same
    task starts a new turn with ``resuming=True``.
    """

    prompt: str
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NeedsAuth:
    """The runner needs the caller to authenticate (e.g. to a downstream service) before it can go on.

    The task enters ``auth-required``; ``prompt`` says what to do, and ``data``
    can carry the details (an authorization URL, the scopes). The caller's next
    message on the same task starts a new turn with ``resuming=True``.
    """

    prompt: str
    data: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """The task completed.

    Attributes:
        output: Structured output that matches the agent's output schema.
        usage: Tokens spent, reported in the task's metadata.
        text: The final answer, when it is not simply every delta joined
            (e.g. a graph streamed tokens of several model calls).
    """

    output: Mapping[str, Any] | None = None
    usage: Usage | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    """The task failed on purpose. ``message`` is shown to the caller."""

    message: str
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """The agent declines the task without trying it (out of scope, against policy).

    The task ends ``rejected`` with ``message``, which is shown to the caller.
    """

    message: str


@dataclass(frozen=True, slots=True)
class DirectReply:
    """An answer as a single message, with no task: for questions that need no tracking.

    Only a runner whose ``direct_replies`` attribute is True may yield it, and
    only as the first and only event of a new message's turn.
    """

    text: str = ""
    data: Mapping[str, Any] | None = None
    files: tuple[FilePart, ...] = ()


Event: TypeAlias = Progress | TextDelta | Artifact | NeedsInput | NeedsAuth | Done | Failed | Rejected | DirectReply


@runtime_checkable
class Runner(Protocol):
    """Anything that turns a :class:`Turn` into a stream of events.

    A runner may also set ``recovers_tasks = True``: it can continue a task
    whose server stopped mid-turn (see :attr:`Turn.recovering`). Without it,
    such a task fails with a message saying so.

    A runner that sets ``direct_replies = True`` may answer a new message with
    a :class:`DirectReply` instead of a task. Its task is then created at its first
    event rather than the moment it starts, since until then it may never exist.
    """

    def run(self, turn: Turn) -> AsyncIterator[Event]: ...


class _FunctionRunner:
    """Adapts an async-generator function to the :class:`Runner` protocol."""

    def __init__(self, fn: Callable[[Turn], AsyncIterator[Event]]) -> None:
        self._fn = fn
        self.__name__ = getattr(fn, "__name__", "agent")
        self.__doc__ = fn.__doc__

    def run(self, turn: Turn) -> AsyncIterator[Event]:
        return self._fn(turn)


def as_runner(obj: object) -> Runner | None:
    """Return ``obj`` as a runner, or None if it is not one."""
    if isinstance(obj, Runner) and not isinstance(obj, type):
        return obj
    if inspect.isasyncgenfunction(obj):
        return _FunctionRunner(obj)
    return None
