"""A task's events as the ``StreamResponse`` the protocol streams them in (and push notifications send)."""

from __future__ import annotations

from a2a.types import Message, StreamResponse, Task, TaskArtifactUpdateEvent, TaskStatusUpdateEvent

__all__ = ["stream_response"]


def stream_response(event: Task | Message | TaskStatusUpdateEvent | TaskArtifactUpdateEvent) -> StreamResponse:
    """The event wrapped in the one field of ``StreamResponse`` that carries its kind."""
    if isinstance(event, Task):
        return StreamResponse(task=event)
    if isinstance(event, TaskStatusUpdateEvent):
        return StreamResponse(status_update=event)
    if isinstance(event, TaskArtifactUpdateEvent):
        return StreamResponse(artifact_update=event)
    if isinstance(event, Message):
        return StreamResponse(message=event)
    raise TypeError(f"a {type(event).__name__} is not a stream event")
