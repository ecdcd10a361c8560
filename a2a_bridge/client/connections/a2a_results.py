"""A remote's tasks, messages and stream events as the core's results and events."""

from __future__ import annotations

from a2a.types import Message, Role, StreamResponse, Task

from a2a_bridge.client.results import RemoteArtifact, RemoteEvent, RemoteResult, usage_from
from a2a_bridge.runner import Artifact, Progress, TextDelta
from a2a_bridge.task_states import ENDS_TURN
from a2a_bridge.wire.artifacts import OUTPUT_ARTIFACT, RESPONSE_ARTIFACT
from a2a_bridge.wire.parts import data_of, files_of, struct_json, text_of
from a2a_bridge.wire.sdk_internals import append_artifact_to_task, apply_task_event
from a2a_bridge.wire.states import state_name

__all__ = ["StreamFold", "result_from_message", "result_from_task"]


def result_from_task(task: Task, *, agent: str, url: str) -> RemoteResult:
    artifacts = tuple(
        RemoteArtifact(
            name=a.name,
            text=text_of(a.parts),
            data=data_of(a.parts),
            files=files_of(a.parts),
            description=a.description,
        )
        for a in task.artifacts
    )
    responses = [a.text for a in artifacts if a.name == RESPONSE_ARTIFACT]
    text = "".join(responses) if responses else "".join(a.text for a in artifacts if a.name != OUTPUT_ARTIFACT)
    outputs = [a.data for a in artifacts if a.name == OUTPUT_ARTIFACT and a.data is not None]
    data = outputs[0] if outputs else next((a.data for a in artifacts if a.data is not None), None)
    message = text_of(task.status.message.parts)
    state = state_name(task.status.state)
    if not text and state == "completed":
        # A v0.3 server (this bridge included) may give the answer as the last agent message instead.
        agent_messages = [m for m in task.history if m.role == Role.ROLE_AGENT]
        text = message or (text_of(agent_messages[-1].parts) if agent_messages else "")
    metadata = struct_json(task.metadata) if task.metadata else {}
    return RemoteResult(
        state=state,
        text=text,
        data=data,
        message=message,
        artifacts=artifacts,
        usage=usage_from(metadata.get("usage")),
        task_id=task.id,
        context_id=task.context_id,
        agent=agent,
        url=url,
    )


def result_from_message(message: Message, *, agent: str, url: str) -> RemoteResult:
    return RemoteResult(
        state="completed",
        text=text_of(message.parts),
        data=data_of(message.parts),
        task_id=message.task_id,
        context_id=message.context_id,
        agent=agent,
        url=url,
    )


class StreamFold:
    """Folds stream events into a task and yields the core events they mean."""

    def __init__(self, agent: str, url: str) -> None:
        self.agent = agent
        self.url = url
        self.task = Task()
        self.sent_text: dict[str, str] = {}

    def fold(self, event: StreamResponse) -> list[RemoteEvent]:
        kind = event.WhichOneof("payload")
        if kind == "task":
            self.task.CopyFrom(event.task)
            return []
        if kind == "message":
            return [result_from_message(event.message, agent=self.agent, url=self.url)]
        if kind == "status_update":
            update = event.status_update
            self.task.id, self.task.context_id = update.task_id, update.context_id
            apply_task_event(self.task, update)
            if state_name(update.status.state) in ENDS_TURN:
                return [result_from_task(self.task, agent=self.agent, url=self.url)]
            note = text_of(update.status.message.parts)
            progress = struct_json(update.metadata).get("progress") if update.metadata else None
            return [Progress(note, data=progress)] if note else []
        if kind == "artifact_update":
            return self._artifact(event)
        return []

    def _artifact(self, event: StreamResponse) -> list[RemoteEvent]:
        update = event.artifact_update
        artifact_id = update.artifact.artifact_id
        append_artifact_to_task(self.task, update)
        current = next((a for a in self.task.artifacts if a.artifact_id == artifact_id), None)
        if current is None:
            return []
        text = text_of(current.parts)
        name = update.artifact.name
        if name in ("", RESPONSE_ARTIFACT):
            sent = self.sent_text.get(artifact_id, "")
            self.sent_text[artifact_id] = text
            # A replacement repeats what was streamed; only the new tail is news.
            return [TextDelta(text[len(sent) :])] if text.startswith(sent) and len(text) > len(sent) else []
        if name != OUTPUT_ARTIFACT:
            parts = update.artifact.parts
            return [
                Artifact(
                    name=name,
                    data=data_of(parts),
                    text=text_of(parts) or None,
                    description=update.artifact.description or None,
                )
            ]
        return []
