"""Running a crew for one A2A turn, in a thread pool sized for waiting on models.

the crew's inputs       <- the task's data part (validated against the placeholders)
task / agent / tool     -> Progress
LLM stream chunks       -> TextDelta (for LLMs with stream=True)
CrewOutput.raw          -> the answer text
json_dict / pydantic    -> the output data
each task's output      -> an artifact named "task:<name>"; a task with output_file
                           carries it as a file too (its name, its media type by extension)
usage_metrics           -> the task's usage
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import mimetypes
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePath
from typing import Any

from crewai import Crew
from crewai.crews.crew_output import CrewOutput
from crewai.events import crewai_event_bus
from crewai.llms.base_llm import BaseLLM, LLMCallBlockedError, call_stream_override

from a2a_bridge import Artifact, Done, Event, FilePart, Progress, Turn
from a2a_bridge_crewai import cancel, events, executor_state, locks
from a2a_bridge_crewai.crews import CrewSource

__all__ = ["CrewRunner"]

logger = logging.getLogger("a2a_bridge_crewai")


def _data(output: Any) -> dict[str, Any] | None:
    if getattr(output, "pydantic", None) is not None:
        dumped: dict[str, Any] = output.pydantic.model_dump(mode="json")
        return dumped
    json_dict = getattr(output, "json_dict", None)
    return dict(json_dict) if json_dict else None


def _file(path: str | None, output: Any) -> FilePart | None:
    """A task's ``output_file`` as the file it holds: what CrewAI wrote there, under its own name."""
    if not path:
        return None
    name = PurePath(path).name
    media_type = mimetypes.guess_type(name)[0] or "text/plain"
    return FilePart(name=name, media_type=media_type, content=str(output.raw).encode("utf-8"))


def _llms(crew: Crew) -> list[BaseLLM]:
    """Every model the crew's agents (and its manager) call."""
    candidates = [crew.manager_llm, *(getattr(agent, "llm", None) for agent in crew.agents)]
    found: list[BaseLLM] = []
    for llm in candidates:
        if isinstance(llm, BaseLLM) and all(llm is not seen for seen in found):
            found.append(llm)
    return found


def _log_late_end(task_id: str, future: Future[Any]) -> None:
    blocked = not future.cancelled() and isinstance(future.exception(), LLMCallBlockedError)
    logger.info("task %s was cancelled; its crew stopped%s", task_id, " at its next model call" if blocked else "")


class CrewRunner:
    """Runs each turn on its own crew, many at once."""

    def __init__(self, source: CrewSource, *, threads: int) -> None:
        self.source = source
        # CrewAI is largely synchronous; the default pool (cores + 4 threads) would queue 32 tasks.
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="a2a-bridge-crew")
        events.install()
        cancel.install()
        locks.install()
        executor_state.install()

    def _kickoff(
        self, sink: events.TurnSink, inputs: dict[str, Any], *, streaming: bool
    ) -> tuple[CrewOutput, list[str | None]]:
        token = events.current_sink.set(sink)
        try:
            crew = self.source.new()
            with contextlib.ExitStack() as scope:
                if not streaming:
                    # Nobody reads the tokens one by one: ask for whole answers, which saves CrewAI
                    # and the model server per-token work (bench/: CrewAI pass-through).
                    for llm in _llms(crew):
                        scope.enter_context(call_stream_override(llm, False))
                output = crew.kickoff(inputs=inputs)
            if not isinstance(output, CrewOutput):
                raise TypeError("crews served over A2A must not set stream=True; a2a-bridge streams them itself")
            # Usage arrives through event handlers that run on CrewAI's own threads; let them finish.
            crewai_event_bus.flush(timeout=10)
            # Read after kickoff: CrewAI fills the inputs into each task's output_file as it starts.
            return output, [task.output_file for task in crew.tasks]
        finally:
            events.current_sink.reset(token)

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        sink = events.TurnSink(loop)
        inputs = dict(turn.data or {})
        # The crew's thread starts from this turn's context, so its model calls join the turn's trace.
        context = contextvars.copy_context()
        future = self.pool.submit(context.run, self._kickoff, sink, inputs, streaming=turn.streaming)
        done = asyncio.wrap_future(future)
        yield Progress("crew started", data={"inputs": sorted(inputs)})
        getter: asyncio.Future[Any] | None = None
        try:
            while True:
                getter = asyncio.ensure_future(sink.queue.get())
                finished, _ = await asyncio.wait([getter, done], return_when=asyncio.FIRST_COMPLETED)
                if getter in finished:
                    yield getter.result()
                    continue
                break
            while not sink.queue.empty():
                yield sink.queue.get_nowait()
            output, output_files = done.result()
        finally:
            if getter is not None:
                getter.cancel()  # a cancelled run leaves it waiting, to be destroyed pending
            if not future.done():
                sink.cancelled.set()
                future.add_done_callback(functools.partial(_log_late_end, turn.task_id))
        for index, task_output in enumerate(output.tasks_output):
            name = task_output.name or f"task-{index + 1}"
            file = _file(output_files[index] if index < len(output_files) else None, task_output)
            yield Artifact(name=f"task:{name}", text=task_output.raw, data=_data(task_output), file=file)
        yield Done(output=_data(output), usage=sink.usage, text=output.raw)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
