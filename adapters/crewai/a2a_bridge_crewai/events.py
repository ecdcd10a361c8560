"""CrewAI's event bus, turned into the events of the right A2A task.

Many crews run at once, each in its own thread. The thread that runs a task's
crew sets :data:`current_sink`; CrewAI runs its event handlers in a copy of
the emitting thread's context (stream chunks in that very thread), so each
handler finds the sink of the task its event belongs to.
"""

from __future__ import annotations

import asyncio
import threading
from contextvars import ContextVar
from typing import Any

from crewai.events import crewai_event_bus
from crewai.events.types.agent_events import AgentExecutionStartedEvent
from crewai.events.types.flow_events import MethodExecutionFinishedEvent, MethodExecutionStartedEvent
from crewai.events.types.llm_events import LLMCallCompletedEvent, LLMStreamChunkEvent
from crewai.events.types.task_events import TaskCompletedEvent, TaskStartedEvent
from crewai.events.types.tool_usage_events import ToolUsageFinishedEvent, ToolUsageStartedEvent
from crewai.types.usage_metrics import UsageMetrics

from a2a_bridge import Event, Progress, TextDelta, Usage

__all__ = ["TurnSink", "current_sink", "install"]

current_sink: ContextVar[TurnSink | None] = ContextVar("a2a_bridge_crewai_sink", default=None)
_installed = False
_install_lock = threading.Lock()


class TurnSink:
    """Carries one task's events from crew threads to its event loop, and its cancel flag back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.cancelled = threading.Event()
        self._usage_lock = threading.Lock()
        self._usage = Usage()
        self.routers: frozenset[str] = frozenset()  # a flow's router methods, whose finish names a route

    def add_usage(self, provider_usage: dict[str, Any] | None, model: str | None = None) -> None:
        metrics = UsageMetrics.from_provider_dict(provider_usage or {})
        if metrics is None:
            return
        # CrewAI names the model with its provider route (``openai/<served model>``); the server knows the rest.
        served = (model or "").partition("/")[2] if (model or "").startswith("openai/") else model or ""
        with self._usage_lock:
            self._usage = self._usage + Usage(metrics.prompt_tokens, metrics.completion_tokens, 1, served)

    @property
    def usage(self) -> Usage:
        """This task's model calls only: CrewAI's own totals add up every use of a shared LLM."""
        with self._usage_lock:
            return self._usage

    def put(self, event: Event) -> None:
        if not self.cancelled.is_set():
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


def _task_label(task: Any) -> str:
    name = getattr(task, "name", None)
    if name:
        return str(name)
    description = " ".join(str(getattr(task, "description", "") or "").split())
    return description[:60] or "task"


def _emit(event: Event) -> None:
    sink = current_sink.get()
    if sink is not None:
        sink.put(event)


def install() -> None:
    """Register the handlers once per process; they only forward to the current task's sink."""
    global _installed
    with _install_lock:
        if _installed:
            return

        @crewai_event_bus.on(TaskStartedEvent)
        def task_started(source: Any, event: TaskStartedEvent) -> None:
            _emit(Progress(f"task `{_task_label(event.task or source)}` started", data={"event": "task_started"}))

        @crewai_event_bus.on(TaskCompletedEvent)
        def task_completed(source: Any, event: TaskCompletedEvent) -> None:
            _emit(Progress(f"task `{_task_label(event.task or source)}` finished", data={"event": "task_completed"}))

        @crewai_event_bus.on(AgentExecutionStartedEvent)
        def agent_started(source: Any, event: AgentExecutionStartedEvent) -> None:
            _emit(Progress(f"agent `{event.agent.role}` working", data={"event": "agent_started"}))

        @crewai_event_bus.on(ToolUsageStartedEvent)
        def tool_started(source: Any, event: ToolUsageStartedEvent) -> None:
            _emit(Progress(f"using tool `{event.tool_name}`", data={"event": "tool_started", "tool": event.tool_name}))

        @crewai_event_bus.on(ToolUsageFinishedEvent)
        def tool_finished(source: Any, event: ToolUsageFinishedEvent) -> None:
            _emit(Progress(f"tool `{event.tool_name}` done", data={"event": "tool_finished", "tool": event.tool_name}))

        @crewai_event_bus.on(MethodExecutionStartedEvent)
        def method_started(source: Any, event: MethodExecutionStartedEvent) -> None:
            name = str(event.method_name)
            _emit(Progress(f"method `{name}` started", data={"event": "method_started", "method": name}))

        @crewai_event_bus.on(MethodExecutionFinishedEvent)
        def method_finished(source: Any, event: MethodExecutionFinishedEvent) -> None:
            sink = current_sink.get()
            name = str(event.method_name)
            if sink is not None and name in sink.routers:
                route = str(event.result)
                data = {"event": "route_chosen", "method": name, "route": route}
                sink.put(Progress(f"router `{name}` chose `{route}`", data=data))
            else:
                _emit(Progress(f"method `{name}` finished", data={"event": "method_finished", "method": name}))

        @crewai_event_bus.on(LLMCallCompletedEvent)
        def llm_completed(source: Any, event: LLMCallCompletedEvent) -> None:
            sink = current_sink.get()
            if sink is not None:
                sink.add_usage(event.usage, event.model)

        @crewai_event_bus.on(LLMStreamChunkEvent)
        def stream_chunk(source: Any, event: LLMStreamChunkEvent) -> None:
            if event.chunk and event.tool_call is None:
                _emit(TextDelta(event.chunk))

        _installed = True
