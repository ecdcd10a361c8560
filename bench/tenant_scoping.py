"""What keying conversations by caller costs a LangGraph turn on a durable checkpointer.

A named caller's turn looks its thread up before it runs (one checkpoint read,
two on a conversation's first turn: its own thread, then the bare contextId an
earlier release may have kept); an agent without auth reads nothing more. Both
run the same graph on one SQLite checkpointer in one process, interleaved turn
by turn, first turns and later turns apart; medians. Writes
bench/results-tenancy.md.

    python bench/tenant_scoping.py [--turns 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, MessagesState, StateGraph

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from a2a_bridge import Turn  # noqa: E402
from a2a_bridge.plugins import resolve  # noqa: E402
from bench.roundtrip import measured_commit  # noqa: E402

RESULTS = ROOT / "bench" / "results-tenancy.md"


def echo_graph() -> Any:
    def answer(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"echo: {state['messages'][-1].content}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(name="echo")


async def one_turn(runner: Any, caller: str | None, context_id: str) -> float:
    turn = Turn(task_id=uuid.uuid4().hex, context_id=context_id, text="hello", caller=caller)
    started = time.perf_counter()
    async for _ in runner.run(turn):
        pass
    return (time.perf_counter() - started) * 1000


async def measure(turns: int) -> dict[tuple[str, str], float]:
    with tempfile.TemporaryDirectory() as folder:
        runner = resolve(echo_graph(), checkpointer=f"sqlite:///{folder}/threads.db").runner
        samples: dict[tuple[str, str], list[float]] = {}
        contexts = {"no auth": uuid.uuid4().hex, "named caller": uuid.uuid4().hex}
        await one_turn(runner, None, "warm-up")
        for _ in range(turns):
            for label, caller in (("no auth", None), ("named caller", "orchestrator")):
                first = await one_turn(runner, caller, uuid.uuid4().hex)
                samples.setdefault((label, "first turn"), []).append(first)
                later = await one_turn(runner, caller, contexts[label])
                samples.setdefault((label, "later turn"), []).append(later)
        return {key: statistics.median(values) for key, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=400)
    args = parser.parse_args()
    medians = asyncio.run(measure(args.turns))
    lines = [
        "# Conversations keyed by caller: the cost on a LangGraph turn",
        "",
        f"`python bench/tenant_scoping.py --turns {args.turns}`, {date.today().isoformat()},"
        f" commit {measured_commit()}: an echo graph on a SQLite checkpointer, in one process, no HTTP;"
        " an agent without auth beside a named caller, interleaved turn by turn; medians.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| turn | no auth, ms | named caller, ms | named / no auth |",
        "|---|---:|---:|---:|",
    ]
    for kind in ("first turn", "later turn"):
        plain, named = medians[("no auth", kind)], medians[("named caller", kind)]
        lines.append(f"| {kind} | {plain:.2f} | {named:.2f} | {named / plain:.2f}x |")
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
