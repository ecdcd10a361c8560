"""Runners used by the tests. Each records what it was asked, so tests can
check what reached the agent (and that bad input never did)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from a2a_bridge import Done, Event, Failed, NeedsInput, Progress, TextDelta, Turn, Usage

QUERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "max_sources": {"type": "integer", "minimum": 1, "default": 5}},
    "required": ["query"],
    "additionalProperties": False,
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "sources": {"type": "array", "items": {"type": "string"}}},
}


@dataclass
class EchoAgent:
    """Echoes the query back, word by word."""

    turns: list[Turn] = field(default_factory=list)
    input_schema: dict[str, Any] = field(default_factory=lambda: QUERY_SCHEMA)
    output_schema: dict[str, Any] = field(default_factory=lambda: SUMMARY_SCHEMA)
    __name__: str = "echo-agent"

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        self.turns.append(turn)
        query = (turn.data or {}).get("query", turn.text)
        yield Progress("echoing", data={"words": len(query.split())})
        for word in query.split(" "):
            yield TextDelta(word + " ")
        yield Done(output={"summary": query.upper(), "sources": ["echo://"]}, usage=Usage(3, len(query.split()), 1))


@dataclass
class SlowAgent:
    """Works for a long time, one step at a time, until cancelled."""

    started: threading.Event = field(default_factory=threading.Event)
    steps: int = 0
    stopped_cleanly: bool = False

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        try:
            yield Progress("starting")
            self.started.set()
            for step in range(600):
                self.steps = step
                await asyncio.sleep(0.05)
                yield TextDelta(f"{step} ")
            yield Done()
        finally:
            self.stopped_cleanly = True


@dataclass
class RendezvousAgent:
    """Completes only when ``parties`` tasks are running at once."""

    parties: int
    waiting: int = 0
    max_waiting: int = 0
    _all_here: asyncio.Event | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        if self._all_here is None:
            self._all_here = asyncio.Event()
        self.waiting += 1
        self.max_waiting = max(self.max_waiting, self.waiting)
        if self.waiting == self.parties:
            self._all_here.set()
        await asyncio.wait_for(self._all_here.wait(), timeout=10)
        yield Done()


class CrashingAgent:
    """Raises an exception carrying a secret-looking detail."""

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        yield Progress("about to fail")
        raise RuntimeError("db password is hunter2; traceback follows")


class RefusingAgent:
    """Fails on purpose with a message meant for the caller."""

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        yield Failed("the query names no GPU I know")


@dataclass
class AskingAgent:
    """Asks for the budget, then answers with it."""

    turns: list[Turn] = field(default_factory=list)

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        self.turns.append(turn)
        if not turn.resuming:
            yield NeedsInput("What is your budget in USD?", data={"field": "budget"})
            return
        yield TextDelta(f"budget noted: {turn.text}")
        yield Done()


@dataclass
class LLMWorker:
    """The tutorial's research worker: one chat completion against an OpenAI-compatible backend."""

    base_url: str
    model: str
    input_schema: dict[str, Any] = field(default_factory=lambda: QUERY_SCHEMA)
    output_schema: dict[str, Any] = field(default_factory=lambda: SUMMARY_SCHEMA)

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        assert turn.data is not None
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{self.base_url}/chat/completions",
                json={
                    "model": self.model,
                    "messages": [
                        {"role": "system", "content": "You are a research assistant."},
                        {"role": "user", "content": turn.data["query"]},
                    ],
                },
            )
            response.raise_for_status()
            body = response.json()
        usage = body["usage"]
        text = body["choices"][0]["message"]["content"]
        yield TextDelta(text)
        yield Done(
            output={"summary": text, "sources": []},
            usage=Usage(usage["prompt_tokens"], usage["completion_tokens"], 1, body["model"]),
        )


def _append(path: Path, line: str) -> None:
    with path.open("a") as file:
        file.write(line + "\n")


@dataclass
class SteadyAgent:
    """Works in ``steps`` steps of ``delay`` seconds; records its pid in a marker file when it starts."""

    steps: int = 10
    delay: float = 0.2
    marker_dir: str | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        if self.marker_dir:
            await asyncio.to_thread(Path(self.marker_dir, f"started-{os.getpid()}").write_text, turn.task_id)
        for step in range(self.steps):
            yield Progress(f"step {step}")
            await asyncio.sleep(self.delay)
            if self.marker_dir:
                # One line per step done, so a test can tell when the work really stopped.
                await asyncio.to_thread(
                    _append, Path(self.marker_dir, f"steps-{turn.task_id}"), f"{os.getpid()} {step}"
                )
            yield TextDelta(f"step {step} ")
        yield Done(output={"steps": self.steps, "pid": os.getpid(), "input": dict(turn.data or {"text": turn.text})})


# Served by `a2a-bridge serve agents:steady` in the failover tests.
steady = SteadyAgent(steps=int(os.environ.get("STEADY_STEPS", "10")), marker_dir=os.environ.get("STEADY_MARKER_DIR"))


@dataclass
class QuietAgent:
    """One long silent step, as a model call is: it ticks a marker file, and sends no event until it ends."""

    seconds: float = 30.0
    marker_dir: str | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        yield Progress("thinking")
        loop = asyncio.get_running_loop()
        ends = loop.time() + self.seconds
        while loop.time() < ends:
            await asyncio.sleep(0.2)
            if self.marker_dir:
                await asyncio.to_thread(_append, Path(self.marker_dir, f"ticks-{turn.task_id}"), str(os.getpid()))
        yield Done()


# Served by `a2a-bridge serve agents:quiet` in the replica tests: only a cancel from the bus can stop it early.
quiet = QuietAgent(marker_dir=os.environ.get("QUIET_MARKER_DIR"))


@dataclass
class ChaosAgent:
    """The chaos suite's load: five steady steps (``steps-{task}``); the text "quiet", one silent 30 s step."""

    marker_dir: str | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        agent: Any = (
            QuietAgent(marker_dir=self.marker_dir)
            if turn.text == "quiet"
            else SteadyAgent(steps=5, marker_dir=self.marker_dir)
        )
        async for event in agent.run(turn):
            yield event


chaos = ChaosAgent(marker_dir=os.environ.get("CHAOS_MARKER_DIR"))


@dataclass
class PidAskingAgent:
    """Asks for the budget, then answers with it and with the process that answered."""

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        if not turn.resuming:
            yield NeedsInput("What is your budget in USD?")
            return
        yield TextDelta(f"budget noted: {turn.text} (pid {os.getpid()})")
        yield Done()


# Served by `a2a-bridge serve agents:asking` in the replica tests.
asking = PidAskingAgent()


@dataclass
class SlowAskingAgent:
    """One 1.5 s step, then a question; on the answer, done. Records each start in ``starts-{task}``."""

    marker_dir: str | None = None

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        if self.marker_dir:
            await asyncio.to_thread(
                _append, Path(self.marker_dir, f"starts-{turn.task_id}"), f"{os.getpid()} resuming={turn.resuming}"
            )
        yield Progress("thinking")
        await asyncio.sleep(1.5)
        if not turn.resuming:
            yield NeedsInput("What is your budget in USD?")
            return
        yield TextDelta(f"budget noted: {turn.text}")
        yield Done()


# Served by `a2a-bridge worker agents:slow_asking` in the queue tests.
slow_asking = SlowAskingAgent(marker_dir=os.environ.get("STEADY_MARKER_DIR"))


BRIEF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "body": {"type": "string"}, "pages": {"type": "integer"}},
}


@dataclass
class InputEchoAgent:
    """Answers with the input it was given, so a test sees which field plain text filled."""

    input_schema: dict[str, Any] = field(default_factory=lambda: BRIEF_SCHEMA)
    turns: list[Turn] = field(default_factory=list)

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        self.turns.append(turn)
        yield Done(text=json.dumps(turn.data, sort_keys=True))


# Served by `a2a-bridge serve agents:brief` in the CLI tests: every input optional, none named like text.
brief = InputEchoAgent()


# Served by `a2a-bridge worker agents:researcher` in the queue-mode tests, against the model at LLM_BASE_URL.
researcher = LLMWorker(os.environ.get("LLM_BASE_URL", "http://127.0.0.1:9/v1"), "scripted-model")
