"""Running a compiled graph for one A2A turn.

node updates          -> Progress ("node `research` finished")
LLM tokens            -> TextDelta (models tagged "nostream" stay quiet)
get_stream_writer()   -> Progress (custom events)
emit(event)           -> that event: an Artifact, Progress, Rejected, Failed or DirectReply (events.py)
interrupt(value)      -> NeedsInput; the answer resumes with Command(resume=...)
interrupt(NeedsAuth)  -> NeedsAuth; the same
several interrupts    -> one NeedsInput listing every question; the answers resume each (interrupts.py)
a subgraph's events   -> the same, named with the subgraph they ran in
the final state       -> Done: the last AI message as text, the output-schema
                         fields as data, the usage of every model call
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.types import Interrupt, StreamMode

from a2a_bridge import Done, Event, Failed, NeedsInput, Progress, Rejected, TextDelta, Turn
from a2a_bridge_langgraph.checkpoints import CheckpointedGraph
from a2a_bridge_langgraph.events import ENDS_RUN, Emitted
from a2a_bridge_langgraph.inputs import UnsupportedFile, graph_input
from a2a_bridge_langgraph.interrupts import ask, resume_all
from a2a_bridge_langgraph.usage import UsageCollector
from a2a_bridge_langgraph.values import jsonable

__all__ = ["GraphRunner"]

# A server cut off from Postgres holds its claims until Postgres notices the connection is gone.
_RECOVERY_WAIT_SECONDS = 30.0
_configured_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
# Conversations whose thread this process remembers, so a later turn reads no checkpoint to find it.
_THREADS_KEPT = 10_000


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


def _final_text(values: Mapping[str, Any]) -> str | None:
    for message in reversed(values.get("messages") or []):
        if isinstance(message, AIMessage) and not isinstance(message, AIMessageChunk):
            return message.text
    return None


class GraphRunner:
    """A runner for one compiled graph (or functional-API entrypoint); many turns run at once.

    One turn at a time per conversation: a task sent on a context whose
    thread another task is running is rejected, since two runs would write one
    thread. In this process always; across servers sharing a Postgres
    checkpointer too (checkpoints.py).
    """

    def __init__(
        self,
        graph: CheckpointedGraph,
        *,
        messages: bool,
        output_fields: list[str],
        sync_threads: int,
        recursion_limit: int | None,
        direct_replies: bool = False,
        functional: bool = False,
    ) -> None:
        self.graph = graph
        self.direct_replies = direct_replies
        self.messages = messages
        self.output_fields = output_fields
        self.sync_threads = sync_threads
        self.recursion_limit = recursion_limit
        self.functional = functional
        self._running: dict[str, str] = {}  # thread id -> the task whose turn runs on it
        # Conversation key -> its thread, once found: only its caller writes there now, so it stays right.
        self._threads: OrderedDict[str, str] = OrderedDict()

    @property
    def recovers_tasks(self) -> bool:
        """A durable checkpointer lets another server continue a task from its last checkpoint."""
        return self.graph.durable

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        thread = await self._thread_of(turn)
        if thread is None:
            yield Rejected(
                f"context {turn.context_id} cannot be used: its thread holds another caller's history, written "
                "before this agent kept callers apart. Send this on a new context."
            )
            return
        running = self._running.get(thread)
        if running is not None and running != turn.task_id:
            yield _busy(turn, f"task {running} is running on its conversation")
            return
        self._running[thread] = turn.task_id
        try:
            if not await self._claim(thread, recovering=turn.recovering):
                yield _busy(turn, "another server is running a task on its conversation")
                return
            try:
                async with contextlib.aclosing(self._run(turn, thread)) as events:
                    async for event in events:
                        yield event
            finally:
                await self.graph.release_thread(thread)
        finally:
            if self._running.get(thread) == turn.task_id:
                del self._running[thread]

    async def _thread_of(self, turn: Turn) -> str | None:
        """The thread that holds the turn's conversation: its caller's own (``Turn.conversation``).

        Earlier releases kept every caller's conversation under the bare
        context id, which the caller chose. Checkpoints carry ``a2a_caller``,
        so such a thread stays in use for the caller its last checkpoint
        names: an upgrade loses no history and shows none to another caller.
        For the same reason a thread under the caller's own key that another
        caller wrote (a context id chosen before the upgrade to look like one)
        is never taken up: None, and the turn is refused.
        """
        thread = turn.conversation
        if thread == turn.context_id or not self.graph.durable:
            return thread
        if (known := self._threads.get(thread)) is not None:
            self._threads.move_to_end(thread)
            return known
        own = await self.graph.last_metadata(thread)
        if own is not None and own.get("a2a_caller") != turn.caller:
            return None
        found = thread
        if own is None:
            legacy = await self.graph.last_metadata(turn.context_id)
            found = turn.context_id if legacy is not None and legacy.get("a2a_caller") == turn.caller else thread
        self._threads[thread] = found
        while len(self._threads) > _THREADS_KEPT:
            self._threads.popitem(last=False)
        return found

    async def _claim(self, thread: str, *, recovering: bool) -> bool:
        """Claim the thread; a turn taken over from a server that died waits for its claim to lapse."""
        deadline = asyncio.get_running_loop().time() + (_RECOVERY_WAIT_SECONDS if recovering else 0)
        while not await self.graph.claim_thread(thread):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.5)
        return True

    async def _run(self, turn: Turn, thread: str) -> AsyncGenerator[Event, None]:
        _io_thread_pool(self.sync_threads)
        graph = await self.graph.get()
        usage = UsageCollector()
        config: RunnableConfig = {
            "configurable": {"thread_id": thread},
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
                yield self._done(checkpoint.values, usage)
                return
            yield Progress("resumed from the last checkpoint", data={"next": list(checkpoint.next)})
            graph_in: Any = None
        elif turn.resuming and len(pending := (await graph.aget_state(config)).interrupts) > 1:
            graph_in = resume_all(pending, turn.data)
            if isinstance(graph_in, str):
                # A wrong answer loses nothing: the questions stand, and the caller is told what to mend.
                asked = ask(pending)
                yield NeedsInput(f"{graph_in}.\n{asked.prompt}", data=asked.data)
                return
        else:
            try:
                graph_in = graph_input(turn, messages=self.messages, channels=frozenset(graph.channels))
            except UnsupportedFile as exc:
                yield Failed(str(exc))
                return
        interrupts: dict[str, Interrupt] = {}
        modes: list[StreamMode] = ["updates", "messages", "custom"]
        async for namespace, mode, chunk in graph.astream(graph_in, config, stream_mode=modes, subgraphs=True):
            within = _subgraphs(tuple(namespace))
            if mode == "messages":
                message = chunk[0]
                if isinstance(message, AIMessageChunk) and message.text:
                    yield TextDelta(message.text)
            elif mode == "updates" and isinstance(chunk, Mapping):
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        # A subgraph's interrupt reaches its parents too: each counts once.
                        interrupts.update((i.id, i) for i in update)
                    else:
                        yield self._finished(node, within)
            elif mode == "custom":
                if isinstance(chunk, Emitted):
                    yield chunk.event
                    if isinstance(chunk.event, ENDS_RUN):
                        return
                elif isinstance(chunk, Mapping):
                    data = jsonable(chunk)
                    if within:
                        data = {**data, "subgraph": "/".join(within)}
                    yield Progress(str(chunk.get("message") or chunk.get("status") or "update"), data=data)
                else:
                    yield Progress(str(chunk), data={"subgraph": "/".join(within)} if within else None)
        state = await graph.aget_state(config)
        if interrupts:
            # In the state's order, the one a later turn resumes in: the questions keep their order when asked again.
            known = {i.id for i in state.interrupts}
            yield ask([i for i in state.interrupts if i.id in interrupts] + [
                i for i in interrupts.values() if i.id not in known
            ])  # fmt: skip
            return
        yield self._done(state.values, usage)

    def _finished(self, node: str, within: list[str]) -> Progress:
        """A node (or a functional-API task) finished, named with the subgraphs it ran in."""
        kind = "task" if self.functional else "node"
        where = f" in subgraph `{'/'.join(within)}`" if within else ""
        data: dict[str, Any] = {"node": node}
        if within:
            data["subgraph"] = "/".join(within)
        return Progress(f"{kind} `{node}` finished{where}", data=data)

    def _done(self, values: Any, usage: UsageCollector) -> Done:
        if self.functional:
            # An entrypoint's state is what it returned.
            if isinstance(values, str):
                return Done(usage=usage.usage, text=values)
            data = jsonable(values)
            output = data if isinstance(data, Mapping) or data is None else {"result": data}
            return Done(output=output, usage=usage.usage)
        values = values or {}
        output = {name: jsonable(values[name]) for name in self.output_fields if name in values}
        return Done(output=output or None, usage=usage.usage, text=_final_text(values))


def _busy(turn: Turn, why: str) -> Rejected | NeedsInput:
    """A turn that may not run now: a new task is rejected; an answer is not taken, and its task still waits."""
    if turn.resuming:
        return NeedsInput(
            f"Your answer was not taken: context {turn.context_id} is busy, {why}. Send it again once that task ends."
        )
    return Rejected(f"context {turn.context_id} is busy: {why}. Send this once that task ends, or on a new context.")


def _subgraphs(namespace: tuple[str, ...]) -> list[str]:
    """``("research:3f2a...", "fetch:9c1b...")`` -> ``["research", "fetch"]``: the nodes that are subgraphs."""
    return [part.partition(":")[0] for part in namespace]
