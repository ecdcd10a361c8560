"""Publishing one task's status and artifact events: the SDK's TaskUpdater, made cheap.

``TaskUpdater`` takes a lock for every status change, builds its timestamp
through ``datetime``, and looks up protobuf enums on every construction: about
15 us of a small task's 200 (bench/). One turn of a task publishes from one
coroutine at a time, so the lock guards nothing here; the events, the
refusal after a terminal state and the agent messages are the same.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from a2a.server.events import EventQueue
from a2a.types import (
    Artifact,
    Message,
    Part,
    Role,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf.timestamp_pb2 import Timestamp

from a2a_bridge.wire.ids import new_id
from a2a_bridge.wire.states import TERMINAL_STATES

__all__ = ["TaskEvents", "now_timestamp"]

_AGENT = Role.ROLE_AGENT


def now_timestamp() -> Timestamp:
    # Microseconds, as TaskUpdater's datetime gives, so timestamps print alike.
    micros = time.time_ns() // 1000
    return Timestamp(seconds=micros // 1_000_000, nanos=micros % 1_000_000 * 1000)


class TaskEvents:
    """Creates and enqueues the events of one task."""

    def __init__(self, queue: EventQueue, task_id: str, context_id: str) -> None:
        self.queue = queue
        self.task_id = task_id
        self.context_id = context_id
        self.terminal = False

    def agent_message(self, parts: list[Part]) -> Message:
        return Message(role=_AGENT, task_id=self.task_id, context_id=self.context_id, message_id=new_id(), parts=parts)

    async def status(
        self, state: TaskState, *, message: Message | None = None, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Publish a status change.

        Raises:
            RuntimeError: the task already reached a terminal state.
        """
        if self.terminal:
            raise RuntimeError(f"Task {self.task_id} is already in a terminal state.")
        self.terminal = state in TERMINAL_STATES
        status = TaskStatus(state=state, message=message, timestamp=now_timestamp())
        event = TaskStatusUpdateEvent(
            task_id=self.task_id, context_id=self.context_id, status=status, metadata=metadata
        )
        await self.queue.enqueue_event(event)

    async def artifact(
        self,
        parts: list[Part],
        *,
        artifact_id: str,
        name: str,
        description: str | None = None,
        append: bool = False,
        last_chunk: bool = False,
    ) -> None:
        event = TaskArtifactUpdateEvent(
            task_id=self.task_id,
            context_id=self.context_id,
            artifact=Artifact(artifact_id=artifact_id, name=name, description=description or "", parts=parts),
            append=append,
            last_chunk=last_chunk,
        )
        await self.queue.enqueue_event(event)
