"""The demo's terminal display: the plan, each A2A hop live, the answer, sources and costs.

Every panel says where its content comes from: written by the model, chosen by
the model within the data (structured output), or data that holds whatever the
model writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from a2a_bridge import TIERS
from a2a_bridge.observability.costs import CostRecord
from demos.mesh.costs import PRICED_AS
from demos.mesh.key_facts import KeyFacts

FRAMEWORKS = {"orchestrator": "LangGraph", "research-worker": "CrewAI+MCP", "synthesis-worker": "LangGraph"}


@dataclass
class Hop:
    index: int
    worker: str
    query: str
    started: float = field(default_factory=time.monotonic)
    status: str = "sent"
    chars: int = 0
    seconds: float | None = None
    tokens: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Findings:
    """What the workers returned as data, in sub-task order, each item once."""

    facts: list[str]
    sources: list[str]
    estimates: list[dict[str, Any]]
    failures: list[str]


def findings(state: dict[str, Any]) -> Findings:
    found = Findings([], [], [], [])
    for result in sorted(state.get("results", []), key=lambda r: r["index"]):
        data = result.get("data") or {}
        found.facts.extend(f for f in data.get("facts", []) if f not in found.facts)
        found.sources.extend(s for s in data.get("sources", []) if s not in found.sources)
        found.estimates.extend(data.get("estimates", []))
        if result["status"] != "completed":
            found.failures.append(f"sub-task {result['index'] + 1} failed: {result['error']}")
    return found


class MeshDisplay:
    """Prints the run as it happens; keeps a live table of the hops.

    Args:
        model: The orchestrator's model, named where it wrote or chose something.
        tiny_model: Whether that is the embedded 135M model, whose prose needs a word of warning.
    """

    def __init__(self, console: Console, *, model: str = "the model", tiny_model: bool = False) -> None:
        self.console = console
        self.model = model
        self.tiny_model = tiny_model
        self.hops: dict[int, Hop] = {}
        self.live: Live | None = None

    def _table(self) -> Table:
        table = Table(title="A2A hops", title_justify="left", expand=False)
        for column in ("#", "worker", "sub-task", "status", "latency", "tokens"):
            table.add_column(column)
        for hop in sorted(self.hops.values(), key=lambda h: h.index):
            elapsed = hop.seconds if hop.seconds is not None else time.monotonic() - hop.started
            status = hop.status + (f" ({hop.chars} chars)" if hop.status == "streaming" else "")
            table.add_row(
                str(hop.index + 1), hop.worker, hop.query[:60], status, f"{elapsed:.1f}s",
                str(hop.tokens) if hop.tokens is not None else "-",
            )  # fmt: skip
        return table

    def __enter__(self) -> MeshDisplay:
        self.live = Live(self._table(), console=self.console, refresh_per_second=8, transient=False)
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(None, None, None)
            self.console.print()

    def log(self, message: str) -> None:
        self.console.print(message)

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "plan":
            self._plan(event)
        elif kind == "hop_started":
            self.hops[event["index"]] = Hop(event["index"], event["worker"], event["query"])
            self.log(f"[cyan]→ {event['worker']}[/] sub-task {event['index'] + 1}: {event['query']}")
        elif kind in ("hop_finished", "hop_failed"):
            hop = self.hops.get(event["index"])
            if hop is not None:
                hop.seconds = event.get("seconds", time.monotonic() - hop.started)
                hop.status = "done" if event.get("state") == "completed" else f"[red]{event.get('state', 'failed')}[/]"
                usage = event.get("usage") or {}
                hop.tokens = usage.get("total_tokens")
            verdict = event.get("state") or event.get("error")
            self.log(f"[green]← {event['worker']}[/] {verdict} in {hop.seconds if hop else 0:.1f}s")
        elif kind == "progress":
            self.log(f"  [dim]{event['agent']}: {event['message']}[/]")
        elif kind == "text":
            for hop in self.hops.values():
                if hop.worker == event["agent"] and hop.seconds is None:
                    hop.status = "streaming"
                    hop.chars += len(event["text"])
        if self.live is not None:
            self.live.update(self._table())

    def _plan(self, event: dict[str, Any]) -> None:
        if event.get("error"):
            self.log(f"[red]planning failed:[/] {event['error']}")
            return
        table = Table(title=f"Plan, by {self.model} (held to the workers that exist)", title_justify="left")
        table.add_column("#")
        table.add_column("worker")
        table.add_column("sub-task")
        for index, subtask in enumerate(event["subtasks"]):
            table.add_row(str(index + 1), subtask["worker"], subtask["query"])
        self.console.print(table)

    def answer(self, state: dict[str, Any], key_facts: KeyFacts | None = None) -> None:
        answer = state["messages"][-1].text if state.get("messages") else "(no answer)"
        self.console.print(Panel(answer, title=f"Answer, written by {self.model}", title_align="left"))
        found = findings(state)
        for failure in found.failures:
            self.console.print(f"[red]{failure}[/]")
        if key_facts is not None:
            body = "\n".join(f"• {fact}" for fact in key_facts.facts) or f"[yellow]{key_facts.error}[/]"
            title = f"Key facts, picked by {self.model} among the facts found"
            self.console.print(Panel(body, title=title, title_align="left"))
        if found.facts:
            facts = "\n".join(f"• {fact}" for fact in found.facts)
            self.console.print(Panel(facts, title="Facts: data, from the team's notes through MCP", title_align="left"))
        if found.estimates:
            lines = [
                f"• {e['gpu']}: ${e['on_demand_usd_month']:,.0f}/month on demand, "
                f"${e['spot_usd_month']:,.0f}/month spot ({e['spot_saving_percent']}% less)"
                for e in found.estimates
            ]
            title = "Cost estimates: data, computed from the tier table by the synthesis worker"
            self.console.print(Panel("\n".join(lines), title=title, title_align="left"))
        if found.sources:
            sources = "\n".join(f"[{i + 1}] {s}" for i, s in enumerate(found.sources))
            self.console.print(Panel(sources, title="Sources: data, the notes the facts come from", title_align="left"))

    def legend(self) -> None:
        """Which parts the model wrote and which are data; with the tiny model, what to expect of it."""
        lines = [
            f"[bold]written by the model[/] ({self.model}): the answer, the plan's sub-tasks, the workers' prose",
            "[bold]chosen by the model within the data[/] (structured output: it cannot pick anything else): "
            "the plan's workers, the key facts",
            "[bold]data[/], true whatever the model writes: the facts and sources (notes, through MCP), the cost "
            "estimates (tier table) and the token counts (vLLM's usage)",
        ]
        if self.tiny_model:
            lines += [
                "",
                f"{self.model} is a 135M-parameter model on the CPU. It is here to run the plumbing for real "
                "(batching, streaming, structured output, usage), and its prose often reads as nonsense: "
                "the answer above is exactly what it wrote. For real answers, run the same mesh on your GPU vLLM "
                "(--model NAME picks one of its models), or give each role its own backend with a topology file:",
                "  .venv/bin/python demos/mesh/run.py --backend http://HOST:8000/v1",
                "  .venv/bin/python demos/mesh/run.py --topology topology.toml",
            ]
        self.console.print(Panel("\n".join(lines), title="How to read this", title_align="left", style="dim"))

    def costs(self, records: list[CostRecord], ledger: str) -> None:
        """This run's tokens and cost per agent, as the cost ledger recorded them."""
        rows: dict[str, list[float]] = {}
        for record in records:
            totals = rows.setdefault(record.agent, [0, 0, 0, 0.0])
            totals[0] += 1
            totals[1] += record.prompt_tokens
            totals[2] += record.completion_tokens
            totals[3] += record.cost_usd
        table = Table(
            title=f"Tokens and estimated cost per agent, from the cost ledger ({ledger})", title_justify="left"
        )
        table.add_column("agent", no_wrap=True)
        table.add_column("priced as", no_wrap=True)
        for column in ("tasks", "in", "out", "est. USD"):
            table.add_column(column, justify="right", no_wrap=True)
        for agent in sorted(rows, key=lambda a: list(PRICED_AS).index(a) if a in PRICED_AS else len(PRICED_AS)):
            tasks, prompt, completion, cost = rows[agent]
            priced_as = "-"
            if agent in PRICED_AS:
                tier_name, capacity = PRICED_AS[agent]
                tier = TIERS[tier_name]
                spot = capacity == "spot"
                hourly = tier.spot_hourly_usd if spot else tier.hourly_usd
                priced_as = f"{tier.gpu.split()[0]}{' spot' if spot else ''} ${hourly:.2f}/h"
            table.add_row(
                f"{agent}\n[dim]{FRAMEWORKS.get(agent, '?')}[/]", priced_as,
                str(int(tasks)), str(int(prompt)), str(int(completion)), f"{cost:.6f}",
            )  # fmt: skip
        table.add_row("total", "", "", "", "", f"{sum(r.cost_usd for r in records):.6f}")
        self.console.print(table)
        self.console.print(
            "[dim]cost = tokens x $/hour / (tokens per second x 3600), at the tutorial's prices (on-demand unless "
            "marked spot) and the ~386 tokens/s per GPU its cost example implies. `a2a-bridge costs --ledger "
            f"{ledger}` sums the ledger per agent and day.[/]"
        )
