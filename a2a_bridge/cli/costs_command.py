"""``a2a-bridge costs``: what each agent role spent, per day, from the cost ledger.

a2a-bridge costs                                   the last 7 days, from sqlite:///a2a-bridge-costs.db
a2a-bridge costs --ledger redis://10.0.0.9:6379/0 --days 30 --csv costs.csv --png costs.png
a2a-bridge costs --since 2026-11-01 --until 2026-12-01
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from a2a_bridge.cli.serve_command import url_arg
from a2a_bridge.errors import ConfigurationError
from a2a_bridge.observability.costs import DEFAULT_LEDGER, CostRecord, check_ledger_url, open_ledger
from a2a_bridge.observability.costs.ledger_url import sqlite_path
from a2a_bridge.observability.costs.report import print_table, write_csv, write_png
from a2a_bridge.support.urls import hide_password

__all__ = ["add_parser"]


def add_parser(commands: Any) -> None:
    costs = commands.add_parser("costs", help="tokens and cost per agent role and day, from the cost ledger")
    costs.add_argument(
        "--ledger",
        default=DEFAULT_LEDGER,
        metavar="URL",
        help="the ledger the agents record in (sqlite:///PATH or redis://...; env:VAR or @FILE too) "
        "(default: %(default)s)",
    )
    window = costs.add_mutually_exclusive_group()
    window.add_argument("--days", type=int, default=7, help="the last N days, today included (default: %(default)s)")
    window.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="from this day (UTC) on")
    costs.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="up to this day (UTC), included")
    costs.add_argument("--csv", type=Path, metavar="FILE", help="also write the rows, per day and agent, as CSV")
    costs.add_argument("--png", type=Path, metavar="FILE", help="also draw cost and tokens per day as a PNG chart")
    costs.set_defaults(run=run)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day: give YYYY-MM-DD") from None


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def window(args: argparse.Namespace, now: float) -> tuple[float, float]:
    """Seconds since the epoch: from the first day's start to the last day's end (UTC)."""
    today = datetime.fromtimestamp(now, UTC).date()
    last = args.until or today
    if args.since is not None:
        first = args.since
    else:
        if args.days < 1:
            raise ConfigurationError(f"--days must be at least 1, got {args.days}")
        first = last - timedelta(days=args.days - 1)
    if first > last:
        raise ConfigurationError(f"--since {first} is after --until {last}")
    return _midnight(first), _midnight(last + timedelta(days=1))


async def _read(url: str, since: float, until: float) -> list[CostRecord]:
    ledger = open_ledger(url)
    try:
        return await ledger.records(since=since, until=until)
    finally:
        await ledger.close()


def run(args: argparse.Namespace) -> int:
    url = check_ledger_url(url_arg(args.ledger, "--ledger"))
    if (path := sqlite_path(url)) is not None and not Path(path).exists():
        raise ConfigurationError(f"no ledger at {path!r}: serve agents with --ledger {url} first, or give --ledger")
    since, until = window(args, time.time())
    records = asyncio.run(_read(url, since, until))
    first = datetime.fromtimestamp(since, UTC).date()
    last = datetime.fromtimestamp(until, UTC).date() - timedelta(days=1)
    title = f"Tokens and cost per agent role, {first} to {last} (UTC), from {hide_password(url)}"
    console = Console()
    if not records:
        console.print(f"{title}: no tasks recorded.")
    else:
        print_table(records, console, title=title)
    if args.csv:
        write_csv(records, args.csv)
        console.print(f"wrote {args.csv}")
    if args.png:
        days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        write_png(records, args.png, title=f"Cost and tokens per agent role, {first} to {last}", days=days)
        console.print(f"wrote {args.png}")
    return 0
