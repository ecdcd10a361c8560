"""Totals per agent role and per day, from ledger records: a terminal table, a CSV file, a PNG chart."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.observability.costs.records import CostRecord

__all__ = ["CostRow", "by_agent", "by_day_and_agent", "print_table", "write_csv", "write_png"]


@dataclass
class CostRow:
    """What one agent role spent, on one day (``day`` is empty for a total over the window)."""

    day: str
    agent: str
    tasks: int = 0
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost_usd: float = 0.0
    tiers: set[str] = field(default_factory=set)
    _task_ids: set[str] = field(default_factory=set, repr=False)

    def add(self, record: CostRecord) -> None:
        self._task_ids.add(record.task_id)
        self.tasks = len(self._task_ids)
        self.turns += 1
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens
        self.seconds += record.seconds
        self.cost_usd += record.cost_usd
        if record.tier:
            self.tiers.add(record.tier)


def day_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def _grouped(records: Iterable[CostRecord], *, daily: bool) -> list[CostRow]:
    rows: dict[tuple[str, str], CostRow] = {}
    for record in records:
        day = day_of(record.finished_at) if daily else ""
        rows.setdefault((day, record.agent), CostRow(day, record.agent)).add(record)
    return [rows[key] for key in sorted(rows)]


def by_day_and_agent(records: Iterable[CostRecord]) -> list[CostRow]:
    """One row per day (UTC) and agent role, oldest day first."""
    return _grouped(records, daily=True)


def by_agent(records: Iterable[CostRecord]) -> list[CostRow]:
    """One row per agent role, over every record."""
    return _grouped(records, daily=False)


def print_table(records: list[CostRecord], console: Console, *, title: str) -> None:
    """Each day's rows, then each agent's total over the window, then the total."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("day", "agent", "tier"):
        table.add_column(column, no_wrap=True)
    for column in ("tasks", "in", "out", "USD"):
        table.add_column(column, justify="right", no_wrap=True)

    def add(row: CostRow, day: str, tiers: str, *, style: str | None = None) -> None:
        table.add_row(
            day, row.agent, tiers, str(row.tasks), f"{row.prompt_tokens:,}", f"{row.completion_tokens:,}",
            f"{row.cost_usd:.6f}", style=style,
        )  # fmt: skip

    for row in by_day_and_agent(records):
        add(row, row.day, ", ".join(sorted(row.tiers)) or "-")
    table.add_section()
    for row in by_agent(records):
        add(row, "total", ", ".join(sorted(row.tiers)) or "-", style="bold")
    grand = CostRow("", "every agent")
    for record in records:
        grand.add(record)
    add(grand, "total", "", style="bold")
    console.print(table)


def write_csv(records: list[CostRecord], path: Path) -> None:
    """One line per day and agent role, with the tokens, seconds and cost."""
    columns = [f.name for f in fields(CostRow) if not f.name.startswith("_")]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in by_day_and_agent(records):
            values = {**{c: getattr(row, c) for c in columns}, "tiers": " ".join(sorted(row.tiers))}
            values["cost_usd"] = f"{row.cost_usd:.6f}"
            values["seconds"] = f"{row.seconds:.3f}"
            writer.writerow(values[c] for c in columns)


def write_png(records: list[CostRecord], path: Path, *, title: str, days: list[str] | None = None) -> None:
    """Cost and tokens per day, stacked by agent role; ``days`` (YYYY-MM-DD) shows quiet days too."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigurationError("a PNG chart needs matplotlib: pip install 'a2a-bridge-core[costs]'") from None
    rows = by_day_and_agent(records)
    days = sorted({row.day for row in rows} | set(days or []))
    agents = sorted({row.agent for row in rows})
    cell = {(row.day, row.agent): row for row in rows}
    figure, (cost_axes, token_axes) = plt.subplots(2, 1, figsize=(max(7.0, 0.9 * len(days) + 4), 7), sharex=True)
    measures: list[tuple[Any, Callable[[CostRow], float], str]] = [
        (cost_axes, lambda r: r.cost_usd, "cost, USD"),
        (token_axes, lambda r: r.prompt_tokens + r.completion_tokens, "tokens"),
    ]
    for axes, value, label in measures:
        bottom = [0.0] * len(days)
        for agent in agents:
            heights = [value(cell[(day, agent)]) if (day, agent) in cell else 0.0 for day in days]
            axes.bar(days, heights, bottom=bottom, label=agent)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        axes.set_ylabel(label)
    cost_axes.set_title(title)
    cost_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    token_axes.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
