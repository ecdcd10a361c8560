"""A runner's events as A2A task updates, for one turn of a task.

Progress     -> status WORKING, with the step as an agent message
TextDelta    -> the "response" text artifact (coalesced when streaming)
Artifact     -> a named artifact
NeedsInput   -> status INPUT_REQUIRED; the next message resumes the task
NeedsAuth    -> status AUTH_REQUIRED; the next message resumes the task
Done         -> the "output" data artifact, then COMPLETED with usage
Failed       -> FAILED with the runner's message
Rejected     -> REJECTED with the runner's message
DirectReply  -> an agent message and no task (the executor sends it, before any task exists)

A v0.3 caller gets the same turn in the shape v0.3 clients read. The most
common one, CrewAI's own A2A client, takes the answer from the text of every
status message and every artifact event it sees (polling: the status message,
else the last agent message of the history, and every artifact), and shows its
model only the task's history. So for a v0.3 caller:

Progress     -> status WORKING with the step in its metadata (``progress``), no message
TextDelta    -> the whole answer once, at the end, as an agent message: status
                WORKING with it, so that it is the last agent message of the history
Artifact     -> held to the end of the turn; one whose text repeats the answer (a
                crew's last task) goes without that text
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from a2a.types import Message, Part, Role, TaskState

from a2a_bridge import runner as ev
from a2a_bridge.server.turns.coalesce import DeltaCoalescer
from a2a_bridge.server.turns.task_events import TaskEvents
from a2a_bridge.wire.artifacts import OUTPUT_ARTIFACT, RESPONSE_ARTIFACT
from a2a_bridge.wire.ids import new_id
from a2a_bridge.wire.parts import data_part, file_part

__all__ = ["TurnPublisher", "reply_message", "usage_metadata"]


def usage_metadata(usage: ev.Usage | None) -> dict[str, Any] | None:
    """A task's usage as metadata: camelCase keys, as all A2A v1.0 JSON (spec §5.5)."""
    if usage is None:
        return None
    counted: dict[str, Any] = {
        "promptTokens": usage.prompt_tokens,
        "completionTokens": usage.completion_tokens,
        "totalTokens": usage.total_tokens,
        "calls": usage.calls,
    }
    if usage.model:
        counted["model"] = usage.model
    return {"usage": counted}


def reply_message(event: ev.DirectReply, context_id: str) -> Message:
    """A runner's answer without a task, as the agent message the caller receives."""
    parts = [Part(text=event.text)] if event.text else []
    if event.data is not None:
        parts.append(data_part(event.data))
    parts.extend(file_part(file) for file in event.files)
    if not parts:
        raise TypeError("a DirectReply needs text, data or files")
    return Message(role=Role.ROLE_AGENT, context_id=context_id, message_id=new_id(), parts=parts)


def _check_artifact(event: ev.Artifact) -> None:
    if event.text is None and event.data is None and event.file is None:
        raise TypeError(f"artifact {event.name!r} has no text, data or file")


class TurnPublisher:
    """Publishes the events of one turn of a task."""

    def __init__(
        self, events: TaskEvents, *, streaming: bool, coalesce_interval: float, v03_caller: bool = False
    ) -> None:
        self.events = events
        self.v03_caller = v03_caller
        self.held: list[ev.Artifact] = []
        self.text: list[str] = []
        self.response_id = f"{RESPONSE_ARTIFACT}-{new_id()}"
        self.chunks_sent = 0
        # Deltas become events only for a caller who reads the stream.
        self.coalescer = DeltaCoalescer(self._send_chunk, interval=coalesce_interval) if streaming else None

    def agent_message(self, text: str, data: Mapping[str, Any] | None = None) -> Message:
        parts = [Part(text=text)] if text else []
        if data is not None:
            parts.append(data_part(data))
        return self.events.agent_message(parts)

    async def _send_chunk(self, text: str) -> None:
        await self.events.artifact(
            [Part(text=text)], artifact_id=self.response_id, name=RESPONSE_ARTIFACT, append=self.chunks_sent > 0
        )
        self.chunks_sent += 1

    async def delta(self, text: str) -> None:
        self.text.append(text)
        if self.coalescer is not None:
            await self.coalescer.add(text)

    async def flush(self) -> None:
        if self.coalescer is not None:
            await self.coalescer.flush()

    async def working(self) -> None:
        """The runner has started: the task is working from now on, whatever it says first."""
        await self.events.status(TaskState.TASK_STATE_WORKING)

    async def abort(self, state: TaskState, message: str | None = None) -> None:
        """End the turn early (cancel, crash): drop buffered text, then say so, unless the task already ended."""
        if self.coalescer is not None:
            await self.coalescer.close()
        with contextlib.suppress(RuntimeError):
            await self.events.status(state, message=self.agent_message(message) if message else None)

    async def finish_text(self, final: str | None = None) -> None:
        """Send the whole answer as one part, replacing the streamed chunks."""
        await self.flush()
        if final is not None:
            self.text = [final]
        if self.v03_caller:
            answer = "".join(self.text)
            if answer:
                await self.events.status(TaskState.TASK_STATE_WORKING, message=self.agent_message(answer))
            self.text.clear()
            held, self.held = self.held, []
            for artifact in held:
                if answer and artifact.text == answer:
                    artifact = replace(artifact, text=None)
                if artifact.data is not None or artifact.file is not None or artifact.text is not None:
                    await self._artifact(artifact)
        elif self.text and self.text != [""]:
            await self.events.artifact(
                [Part(text="".join(self.text))],
                artifact_id=self.response_id,
                name=RESPONSE_ARTIFACT,
                append=False,
                last_chunk=True,
            )
            self.text.clear()

    async def publish(self, event: ev.Event) -> bool:
        """Publish one event; True when the turn is over."""
        if isinstance(event, ev.TextDelta):
            await self.delta(event.text)
            return False
        await self.flush()
        if isinstance(event, ev.Progress):
            if not self.v03_caller:
                meta = {"progress": dict(event.data)} if event.data is not None else None
                await self.events.status(
                    TaskState.TASK_STATE_WORKING, message=self.agent_message(event.message), metadata=meta
                )
            else:
                step: dict[str, Any] = {"message": event.message}
                if event.data is not None:
                    step["data"] = dict(event.data)
                await self.events.status(TaskState.TASK_STATE_WORKING, metadata={"progress": step})
            return False
        if isinstance(event, ev.Artifact):
            if self.v03_caller:
                _check_artifact(event)
                self.held.append(event)
            else:
                await self._artifact(event)
            return False
        await self.finish_text(event.text if isinstance(event, ev.Done) else None)
        if isinstance(event, ev.NeedsInput):
            await self.events.status(
                TaskState.TASK_STATE_INPUT_REQUIRED, message=self.agent_message(event.prompt, event.data)
            )
        elif isinstance(event, ev.NeedsAuth):
            await self.events.status(
                TaskState.TASK_STATE_AUTH_REQUIRED, message=self.agent_message(event.prompt, event.data)
            )
        elif isinstance(event, ev.Rejected):
            await self.events.status(TaskState.TASK_STATE_REJECTED, message=self.agent_message(event.message))
        elif isinstance(event, ev.Done):
            if event.output is not None:
                await self.events.artifact(
                    [data_part(event.output)], artifact_id=new_id(), name=OUTPUT_ARTIFACT, last_chunk=True
                )
            await self.events.status(TaskState.TASK_STATE_COMPLETED, metadata=usage_metadata(event.usage))
        elif isinstance(event, ev.Failed):
            await self.events.status(
                TaskState.TASK_STATE_FAILED,
                message=self.agent_message(event.message),
                metadata=usage_metadata(event.usage),
            )
        elif isinstance(event, ev.DirectReply):
            raise TypeError(
                "a runner yielded DirectReply on a task: it can only answer a new message, as its first event, "
                "from a runner whose direct_replies attribute is True"
            )
        else:
            raise TypeError(f"a runner yielded {type(event).__name__}, which is not an a2a_bridge event")
        return True

    async def _artifact(self, event: ev.Artifact) -> None:
        _check_artifact(event)
        parts: list[Part] = []
        if event.text is not None:
            parts.append(Part(text=event.text))
        if event.data is not None:
            parts.append(data_part(event.data))
        if event.file is not None:
            parts.append(file_part(event.file))
        await self.events.artifact(
            parts, artifact_id=new_id(), name=event.name, description=event.description, last_chunk=True
        )
