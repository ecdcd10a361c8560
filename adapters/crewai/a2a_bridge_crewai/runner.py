"""Running a crew (or a flow: flows.py) for one A2A turn, in a thread pool sized for waiting on models.

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
import contextvars
import functools
import logging
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from crewai.llms.base_llm import LLMCallBlockedError

from a2a_bridge import Done, Event, Progress, Turn
from a2a_bridge_crewai import cancel, events, executor_state, locks
from a2a_bridge_crewai.crews import CrewSource, Finished
from a2a_bridge_crewai.flows import FlowSource

__all__ = ["CrewRunner"]

logger = logging.getLogger("a2a_bridge_crewai")


def _log_late_end(task_id: str, future: Future[Any]) -> None:
    blocked = not future.cancelled() and isinstance(future.exception(), LLMCallBlockedError)
    logger.info("task %s was cancelled; its crew stopped%s", task_id, " at its next model call" if blocked else "")


class CrewRunner:
    """Runs each turn on its own crew (or flow), many at once."""

    def __init__(self, source: CrewSource | FlowSource, *, threads: int) -> None:
        self.source = source
        self.kind = "flow" if isinstance(source, FlowSource) else "crew"
        # CrewAI is largely synchronous; the default pool (cores + 4 threads) would queue 32 tasks.
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="a2a-bridge-crew")
        events.install()
        cancel.install()
        locks.install()
        executor_state.install()

    def _kickoff(self, sink: events.TurnSink, turn: Turn) -> Finished:
        token = events.current_sink.set(sink)
        try:
            return self.source.run(turn)
        finally:
            events.current_sink.reset(token)

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        sink = events.TurnSink(loop)
        inputs = dict(turn.data or {})
        # The crew's thread starts from this turn's context, so its model calls join the turn's trace.
        context = contextvars.copy_context()
        future = self.pool.submit(context.run, self._kickoff, sink, turn)
        done = asyncio.wrap_future(future)
        yield Progress(f"{self.kind} {'resumed' if turn.resuming else 'started'}", data={"inputs": sorted(inputs)})
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
            result: Finished = done.result()
        finally:
            if getter is not None:
                getter.cancel()  # a cancelled run leaves it waiting, to be destroyed pending
            if not future.done():
                sink.cancelled.set()
                future.add_done_callback(functools.partial(_log_late_end, turn.task_id))
        for artifact in result.artifacts:
            yield artifact
        if result.question is not None:
            yield result.question
            return
        yield Done(output=result.output, usage=sink.usage, text=result.text)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
