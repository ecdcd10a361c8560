"""The demo's terminal display: the plan, each A2A hop live, the answer, sources and costs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from a2a_bridge import TIERS, TierProfile

# How the tutorial deploys each role: the tier, and whether it runs on spot capacity.
PRICED_AS: dict[str, tuple[str, bool]] = {
    "orchestrator": ("orchestrator-h200", False),
    "research-worker": ("worker-a100-14b", False),
    "synthesis-worker": ("worker-a100-14b", True),
}
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


class MeshDisplay:
    """Prints the run as it happens; keeps a live table of the hops."""

    def __init__(self, console: Console) -> None:
        self.console = console
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
        table = Table(title="Plan (structured output, workers limited to those that exist)", title_justify="left")
        table.add_column("#")
        table.add_column("worker")
        table.add_column("sub-task")
        for index, subtask in enumerate(event["subtasks"]):
            table.add_row(str(index + 1), subtask["worker"], subtask["query"])
        self.console.print(table)

    def answer(self, state: dict[str, Any]) -> None:
        answer = state["messages"][-1].text if state.get("messages") else "(no answer)"
        self.console.print(Panel(answer, title="Answer", title_align="left"))
        sources: list[str] = []
        facts: list[str] = []
        estimates: list[dict[str, Any]] = []
        for result in sorted(state.get("results", []), key=lambda r: r["index"]):
            data = result.get("data") or {}
            sources += [s for s in data.get("sources", []) if s not in sources]
            facts += [f for f in data.get("facts", []) if f not in facts]
            estimates += data.get("estimates", [])
            if result["status"] != "completed":
                self.console.print(f"[red]sub-task {result['index'] + 1} failed:[/] {result['error']}")
        if facts:
            self.console.print(
                Panel("\n".join(f"• {fact}" for fact in facts), title="Facts (via MCP)", title_align="left")
            )
        if estimates:
            lines = [
                f"• {e['gpu']}: ${e['on_demand_usd_month']:,.0f}/month on demand, "
                f"${e['spot_usd_month']:,.0f}/month spot ({e['spot_saving_percent']}% less)"
                for e in estimates
            ]
            self.console.print(Panel("\n".join(lines), title="Cost estimates (synthesis worker)", title_align="left"))
        if sources:
            self.console.print(
                Panel("\n".join(f"[{i + 1}] {s}" for i, s in enumerate(sources)), title="Sources", title_align="left")
            )

    def costs(self, state: dict[str, Any]) -> None:
        rows: dict[str, list[int]] = {}
        for step in state.get("usage", []):
            totals = rows.setdefault("orchestrator", [0, 0, 0])
            totals[0] += 1
            totals[1] += step["prompt_tokens"]
            totals[2] += step["completion_tokens"]
        for result in state.get("results", []):
            usage = result.get("usage") or {}
            totals = rows.setdefault(result["worker"], [0, 0, 0])
            totals[0] += usage.get("calls", 0)
            totals[1] += usage.get("prompt_tokens", 0)
            totals[2] += usage.get("completion_tokens", 0)
        table = Table(title="Tokens and estimated cost per agent", title_justify="left")
        table.add_column("agent", no_wrap=True)
        table.add_column("priced as", no_wrap=True)
        for column in ("calls", "in", "out", "est. USD"):
            table.add_column(column, justify="right", no_wrap=True)
        total_cost = 0.0
        for agent, (calls, prompt, completion) in rows.items():
            tier_name, spot = PRICED_AS.get(agent, ("worker-a100-14b", True))
            tier: TierProfile = TIERS[tier_name]
            cost = tier.cost_usd(prompt + completion, spot=spot)
            total_cost += cost
            hourly = tier.spot_hourly_usd if spot else tier.hourly_usd
            gpu = tier.gpu.split()[0]
            table.add_row(
                f"{agent}\n[dim]{FRAMEWORKS.get(agent, '?')}[/]", f"{gpu}{' spot' if spot else ''} ${hourly:.2f}/h",
                str(calls), str(prompt), str(completion), f"{cost:.6f}",
            )  # fmt: skip
        table.add_row("total", "", "", "", "", f"{total_cost:.6f}")
        self.console.print(table)
        self.console.print(
            "[dim]cost = tokens x $/hour / (tokens per second x 3600), at the tutorial's prices (on-demand unless "
            "marked spot) and the ~386 tokens/s per GPU its cost example implies.[/]"
        )
