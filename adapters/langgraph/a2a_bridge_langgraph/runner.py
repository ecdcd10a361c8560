"""Running a compiled graph for one A2A turn.

node updates          -> Progress ("node `research` finished")
LLM tokens            -> TextDelta (models tagged "nostream" stay quiet)
get_stream_writer()   -> Progress (custom events)
emit(event)           -> that event: an Artifact, Progress, Rejected, Failed or DirectReply (events.py)
interrupt(value)      -> NeedsInput; the answer resumes with Command(resume=...)
interrupt(NeedsAuth)  -> NeedsAuth; the same
the final state       -> Done: the last AI message as text, the output-schema
                         fields as data, the usage of every model call
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import StreamMode
from pydantic import BaseModel

from a2a_bridge import Done, Event, Failed, NeedsAuth, NeedsInput, Progress, TextDelta, Turn
from a2a_bridge_langgraph.checkpoints import CheckpointedGraph
from a2a_bridge_langgraph.events import ENDS_RUN, Emitted
from a2a_bridge_langgraph.inputs import UnsupportedFile, graph_input
from a2a_bridge_langgraph.usage import UsageCollector

__all__ = ["GraphRunner"]

_configured_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def _io_thread_pool(size: int) -> None:
    """Give the serving loop a thread pool sized for I/O-bound sync nodes.

    LangChain runs sync nodes and sync models in the loop's default executor,
    which Python sizes to the core count plus four: six threads on two cores
    would serialise 32 concurrent tasks waiting on vLLM.
    """
    loop = asyncio.get_running_loop()
    if loop not in _configured_loops:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=size, thread_name_prefix="a2a-bridge-io"))
        _configured_loops.add(loop)


def jsonable(value: Any) -> Any:
    """State values as JSON: models dumped, messages as their text."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, BaseMessage):
        return value.text
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))


def _final_text(values: Mapping[str, Any]) -> str | None:
    for message in reversed(values.get("messages") or []):
        if isinstance(message, AIMessage) and not isinstance(message, AIMessageChunk):
            return message.text
    return None


def _interrupt_event(value: Any) -> NeedsInput | NeedsAuth:
    if isinstance(value, (NeedsInput, NeedsAuth)):
        return value
    if isinstance(value, str):
        return NeedsInput(value)
    data = jsonable(value)
    if isinstance(data, Mapping):
        prompt = str(data.get("question") or data.get("prompt") or data.get("message") or json.dumps(data))
        return NeedsInput(prompt, data=data)
    return NeedsInput(json.dumps(data), data={"value": data})


class GraphRunner:
    """A runner for one compiled graph; many turns run at once."""

    def __init__(
        self,
        graph: CheckpointedGraph,
        *,
        messages: bool,
        output_fields: list[str],
        sync_threads: int,
        recursion_limit: int | None,
        direct_replies: bool = False,
    ) -> None:
        self.graph = graph
        self.direct_replies = direct_replies
        self.messages = messages
        self.output_fields = output_fields
        self.sync_threads = sync_threads
        self.recursion_limit = recursion_limit

    @property
    def recovers_tasks(self) -> bool:
        """A durable checkpointer lets another server continue a task from its last checkpoint."""
        return self.graph.durable

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        _io_thread_pool(self.sync_threads)
        graph = await self.graph.get()
        usage = UsageCollector()
        config: RunnableConfig = {
            "configurable": {"thread_id": turn.context_id},
            "callbacks": [usage],
            "metadata": {
                "a2a_task_id": turn.task_id,
                "a2a_message_id": turn.message_id,
                "a2a_caller": turn.caller,
                "trace_id": turn.trace.trace_id,
            },
        }
        if self.recursion_limit is not None:
            config["recursion_limit"] = self.recursion_limit
        checkpoint = await graph.aget_state(config) if turn.recovering else None
        # Checkpoints carry the config's metadata, so the last one says whether this task got that far.
        if checkpoint is not None and checkpoint.metadata and checkpoint.metadata.get("a2a_task_id") == turn.task_id:
            if not checkpoint.next:
                yield self._done(checkpoint.values or {}, usage)
                return
            yield Progress("resumed from the last checkpoint", data={"next": list(checkpoint.next)})
            graph_in: Any = None
        else:
            try:
                graph_in = graph_input(turn, messages=self.messages, channels=frozenset(graph.channels))
            except UnsupportedFile as exc:
                yield Failed(str(exc))
                return
        interrupts: list[Any] = []
        modes: list[StreamMode] = ["updates", "messages", "custom"]
        async for mode, chunk in graph.astream(graph_in, config, stream_mode=modes):
            if mode == "messages":
                message = chunk[0]
                if isinstance(message, AIMessageChunk) and message.text:
                    yield TextDelta(message.text)
            elif mode == "updates" and isinstance(chunk, Mapping):
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        interrupts.extend(update)
                    else:
                        yield Progress(f"node `{node}` finished", data={"node": node})
            elif mode == "custom":
                if isinstance(chunk, Emitted):
                    yield chunk.event
                    if isinstance(chunk.event, ENDS_RUN):
                        return
                elif isinstance(chunk, Mapping):
                    yield Progress(str(chunk.get("message") or chunk.get("status") or "update"), data=jsonable(chunk))
                else:
                    yield Progress(str(chunk))
        if interrupts:
            yield _interrupt_event(interrupts[0].value)
            return
        state = await graph.aget_state(config)
        yield self._done(state.values or {}, usage)

    def _done(self, values: Mapping[str, Any], usage: UsageCollector) -> Done:
        output = {name: jsonable(values[name]) for name in self.output_fields if name in values}
        return Done(output=output or None, usage=usage.usage, text=_final_text(values))
