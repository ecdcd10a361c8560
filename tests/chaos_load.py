"""The chaos suites' load and what they measure: tasks sent, their states, the steps each run did, cancel latency."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from a2a_calls import V1, call, message, state, wait_for_state

TERMINAL = {"completed", "failed", "canceled", "rejected"}
STEPS = 5  # the chaos agent's steps, 0.2 s each

# A fault: what it is called, how to start it, and how long it lasts before the proxy heals.
Fault = tuple[str, Callable[[], object], float]


def steps_run(marker_dir: Path, task_id: str) -> int:
    path = marker_dir / f"steps-{task_id}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def pids_run(marker_dir: Path, task_id: str) -> set[int]:
    """The processes that did a step of the task."""
    path = marker_dir / f"steps-{task_id}"
    lines = path.read_text().splitlines() if path.exists() else []
    return {int(line.split()[0]) for line in lines}


def ticks(marker_dir: Path, task_id: str) -> int:
    path = marker_dir / f"ticks-{task_id}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def tick_pids(marker_dir: Path, task_id: str) -> set[int]:
    """The processes that ran a silent ("quiet") task."""
    path = marker_dir / f"ticks-{task_id}"
    return {int(line) for line in path.read_text().splitlines()} if path.exists() else set()


def until_started(count: Callable[[], int], at_least: int, *, timeout: float) -> None:
    """Wait until a task's marker file has ``at_least`` lines: its run is under way."""
    deadline = time.monotonic() + timeout
    while count() < at_least:
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)


def start(url: str, text: str) -> str:
    params = {"message": message(text), "configuration": {"returnImmediately": True}}
    task_id: str = call(url, "SendMessage", params, timeout=60)["task"]["id"]
    return task_id


def try_start(url: str, text: str) -> str | dict:
    """A task id, or the JSON-RPC error the caller was given instead."""
    params = {"message": message(text), "configuration": {"returnImmediately": True}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}
    reply = httpx.post(url + "/", json=body, headers=V1, timeout=90).json()
    if "error" in reply:
        return dict(reply["error"])
    return str(reply["result"]["task"]["id"])


@dataclass
class Load:
    """The tasks a schedule started, and the sends refused while a fault lasted (each with its error)."""

    task_ids: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)


def run_schedule(urls: Sequence[str], schedule: Sequence[Fault], heal: Callable[[], object], *, per_fault: int) -> Load:
    """For each fault in turn: tasks sent before it lands and while it lasts, through every replica."""
    load = Load()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for name, fault, seconds in schedule:
            before = [pool.submit(start, urls[n % len(urls)], f"load before: {name} {n}") for n in range(per_fault)]
            load.task_ids += [future.result() for future in before]
            time.sleep(0.3)  # the load is running when the fault lands
            fault()
            during = [pool.submit(try_start, urls[n % len(urls)], f"load during: {name} {n}") for n in range(per_fault)]
            time.sleep(seconds)
            heal()
            for future in during:
                outcome = future.result()
                if isinstance(outcome, str):
                    load.task_ids.append(outcome)
                else:
                    load.refused.append(outcome)
    return load


def settle(urls: Sequence[str], task_ids: Sequence[str], *, timeout: float) -> dict[str, str]:
    """Each task's state once it is terminal (or as it stands when the time is up)."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    for index, task_id in enumerate(task_ids):
        url = urls[index % len(urls)]
        left = max(0.5, deadline - time.monotonic())
        states[task_id] = state(wait_for_state(url, task_id, TERMINAL, timeout=left))
    return states


def unfinished(url: str) -> list[str]:
    """Every task the store holds that is not terminal: a stranded task shows here even if its caller never saw it."""
    params: dict = {"pageSize": 100}
    left: list[str] = []
    while True:
        page = call(url, "ListTasks", params)
        left += [task["id"] for task in page["tasks"] if state(task) not in TERMINAL]
        if not (token := page.get("nextPageToken")):
            return left
        params["pageToken"] = token


def stopped_after(count: Callable[[], int], since: float, *, limit: float = 15) -> float:
    """Seconds from ``since`` to the last change of ``count``: a second without a change (a tick is 0.2 s) is a stop."""
    last_change, seen = time.monotonic(), count()
    while time.monotonic() - last_change < 1.0:
        time.sleep(0.1)
        if (now := count()) != seen:
            last_change, seen = time.monotonic(), now
        assert time.monotonic() - since < limit, f"the run went on {limit:.0f} s after the cancel"
    return max(0.0, last_change - since)


def cancel_latency(run_on: str, cancel_on: str, marker_dir: Path) -> float:
    """Seconds from a CancelTask on ``cancel_on`` to the last tick of a silent run started on ``run_on``."""
    task_id = start(run_on, "quiet")
    until_started(lambda: ticks(marker_dir, task_id), 2, timeout=15)
    assert state(call(cancel_on, "CancelTask", {"id": task_id})) == "canceled"
    return stopped_after(lambda: ticks(marker_dir, task_id), time.monotonic())


def report(scenario: str, sent: int, states: dict[str, str], runs: dict[str, int], cancel: float | None) -> None:
    """One line of the fault table (docs/deploying.md, docs/queue.md), printed for ``pytest -s``."""
    lost = sum(1 for s in states.values() if s not in TERMINAL)
    twice = sum(1 for n in runs.values() if n > STEPS)
    shown = f"{cancel:.1f} s" if cancel is not None else "-"
    print(f"\nFAULTS | {scenario} | {sent} | {lost} | {twice} | {shown}")
