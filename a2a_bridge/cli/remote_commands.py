"""``a2a-bridge card URL`` and ``a2a-bridge call URL TEXT``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from a2a_bridge.cli.common import SECRET_HELP, read_secret
from a2a_bridge.client.card_view import AgentCardView, fetch_card
from a2a_bridge.client.remote_agent import RemoteAgent
from a2a_bridge.client.results import RemoteResult, TaskPage
from a2a_bridge.errors import CardError, ConfigurationError, RemoteAuthError
from a2a_bridge.runner import Artifact, Progress, TextDelta
from a2a_bridge.support.http_client import async_client
from a2a_bridge.task_states import STATES, TERMINAL

__all__ = ["add_parsers"]

T = TypeVar("T")

# The command exits 1 unless the task completed, or waits for an answer the caller can give.
_FAILED_STATES = (TERMINAL - {"completed"}) | {"auth_required", "unknown"}


def add_parsers(commands: Any) -> None:
    card = commands.add_parser("card", help="fetch, validate and show an agent's card")
    card.add_argument("url", help="the agent's base URL")
    card.add_argument("--json", action="store_true", help="print the card's JSON instead of a table")
    card.set_defaults(run=run_card)

    call = commands.add_parser("call", help="send a message to an agent and print the result")
    call.add_argument("url", help="the agent's base URL")
    call.add_argument("text", nargs="?", help="the message text")
    call.add_argument("--data", help="structured input as a JSON object")
    call.add_argument("--stream", action="store_true", help="show progress and text as they arrive")
    call.add_argument("--secret", help=f"the bearer secret for this agent, {SECRET_HELP}")
    call.add_argument("--context-id", help="continue this conversation")
    call.add_argument("--task-id", help="answer this task (one that asked for input)")
    call.add_argument("--replica", action="append", default=[], help="another replica's URL; repeatable")
    call.add_argument("--timeout", type=float, default=120.0, help="seconds per attempt (default: %(default)s)")
    call.add_argument("--json", action="store_true", help="print the result as JSON")
    call.set_defaults(run=run_call)

    task = commands.add_parser("task", help="get, list or cancel an agent's tasks")
    actions = task.add_subparsers(dest="action", required=True)
    for action, helptext in (("get", "show a task's state and results"), ("cancel", "cancel a task")):
        parser = actions.add_parser(action, help=helptext)
        parser.add_argument("url", help="the agent's base URL")
        parser.add_argument("task_id", help="the task's id")
        _add_common(parser)
        parser.set_defaults(run=run_task_call)
    listing = actions.add_parser("list", help="list your tasks, newest first")
    listing.add_argument("url", help="the agent's base URL")
    listing.add_argument("--context-id", help="only this conversation's tasks")
    listing.add_argument("--state", choices=STATES, help="only tasks in this state")
    listing.add_argument("--page-size", type=int, default=50, help="tasks per page, 1 to 100 (default: %(default)s)")
    listing.add_argument("--page-token", default="", help="the token the previous page printed")
    _add_common(listing)
    listing.set_defaults(run=run_task_list)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secret", help=f"the bearer secret for this agent, {SECRET_HELP}")
    parser.add_argument("--replica", action="append", default=[], help="another replica's URL; repeatable")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per attempt (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _card_table(view: AgentCardView, problems: list[str]) -> Table:
    table = Table(title=f"{view.name} {view.version}".strip(), show_header=False, title_justify="left")
    table.add_row("description", view.description)
    table.add_row("url", view.url)
    table.add_row("protocol", {"tutorial": "tutorial /tasks/send only"}.get(view.protocol, f"A2A {view.protocol}"))
    for interface in view.raw.get("supportedInterfaces") or []:
        table.add_row(
            "interface",
            f"{interface.get('protocolBinding')} {interface.get('protocolVersion')}  {interface.get('url')}",
        )
    table.add_row("streaming", "yes" if view.streaming else "no")
    table.add_row("auth", "bearer secret" if view.bearer_required else "none")
    for skill in view.skills:
        tags = f"  [dim]{', '.join(skill.tags)}[/]" if skill.tags else ""
        table.add_row("skill", f"[bold]{skill.id}[/]: {skill.description}{tags}")
    for label, schema in (("input", view.input_schema), ("output", view.output_schema)):
        if schema:
            fields = schema.get("properties") or {}
            required = set(schema.get("required") or [])
            table.add_row(label, ", ".join(f"{name}{'*' if name in required else ''}" for name in fields) or "any")
    table.add_row("valid", "[green]yes[/]" if not problems else "[red]no[/]: " + "; ".join(problems))
    return table


async def _fetch(url: str) -> tuple[dict[str, Any], AgentCardView]:
    async with async_client() as http:
        raw = await fetch_card(http, url)
    return raw, AgentCardView.from_dict(raw, url=url)


def run_card(args: argparse.Namespace) -> int:
    raw, view = asyncio.run(_fetch(args.url))
    problems: list[str] = []
    if view.protocol != "tutorial":
        from a2a_bridge.wire.cards import card_problems

        problems = card_problems(raw)
    if args.json:
        print(json.dumps(raw, indent=2))
    else:
        Console().print(_card_table(view, problems))
    if problems:
        raise CardError(f"the card at {args.url} is not valid: {'; '.join(problems)}")
    return 0


def _data(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--data is not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ConfigurationError("--data must be a JSON object")
    return data


def _result_json(result: RemoteResult) -> dict[str, Any]:
    return {
        "state": result.state,
        "text": result.text,
        "data": result.data,
        "message": result.message,
        "usage": result.usage.as_dict() if result.usage else None,
        "task_id": result.task_id,
        "context_id": result.context_id,
        "agent": result.agent,
        "url": result.url,
    }


def _print_result(result: RemoteResult, *, as_json: bool, streamed: bool, err: Console) -> None:
    if as_json:
        print(json.dumps(_result_json(result), indent=2))
        return
    if result.text and not streamed:
        print(result.text)
    elif streamed:
        print()
    if result.data is not None:
        print(json.dumps(result.data, indent=2))
    usage = f", {result.usage.total_tokens} tokens" if result.usage else ""
    err.print(f"[dim]{result.agent}: {result.state}{usage}; task {result.task_id}, context {result.context_id}[/]")
    if result.needs_input:
        err.print(f"[yellow]the agent asks:[/] {result.message}")
        err.print(f"[dim]answer with: --task-id {result.task_id} --context-id {result.context_id}[/]")


async def _call(args: argparse.Namespace, err: Console) -> RemoteResult:
    data = _data(args.data)
    if args.text is None and data is None:
        raise ConfigurationError("give the message TEXT, --data JSON, or both")
    async with _agent(args) as agent:
        kwargs: dict[str, Any] = {"data": data, "context_id": args.context_id, "task_id": args.task_id}
        if not args.stream:
            with err.status(f"waiting for {args.url} ..."):
                return await agent.send(args.text, **kwargs)
        start = time.perf_counter()
        async for event in agent.stream(args.text, **kwargs):
            stamp = f"[dim]{time.perf_counter() - start:6.2f}s[/]"
            if isinstance(event, Progress):
                err.print(f"{stamp} {event.message}")
            elif isinstance(event, TextDelta):
                if not args.json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
            elif isinstance(event, Artifact):
                err.print(f"{stamp} artifact [cyan]{event.name}[/]")
            elif isinstance(event, RemoteResult):
                return event
        raise CardError(f"{args.url} ended the stream without a result")


def _run(args: argparse.Namespace, work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except RemoteAuthError as exc:
        if args.secret:
            raise
        # The library's wording names the keyword argument; here the flag is what to give.
        raise RemoteAuthError(
            f"{exc.agent or args.url} requires a bearer secret: add --secret VALUE, --secret @FILE or --secret env:VAR",
            agent=exc.agent,
            url=exc.url,
        ) from None


def _exit_code(result: RemoteResult) -> int:
    if result.state in _FAILED_STATES:
        reason = result.message or "no reason given"
        print(f"a2a-bridge: task {result.state}: {reason}", file=sys.stderr)
        return 1
    return 0


def run_call(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    result = _run(args, _call(args, err))
    _print_result(result, as_json=args.json, streamed=args.stream and not args.json, err=err)
    return _exit_code(result)


def _agent(args: argparse.Namespace) -> RemoteAgent:
    secret = read_secret(args.secret, what=args.url) if args.secret else None
    return RemoteAgent(args.url, secret=secret, replicas=args.replica, timeout=args.timeout)


async def _task_call(args: argparse.Namespace) -> RemoteResult:
    async with _agent(args) as agent:
        if args.action == "cancel":
            return await agent.cancel(args.task_id)
        return await agent.get_task(args.task_id)


def run_task_call(args: argparse.Namespace) -> int:
    """``task get`` and ``task cancel``: the task, with the exit codes of ``call``."""
    result = _run(args, _task_call(args))
    _print_result(result, as_json=args.json, streamed=False, err=Console(stderr=True))
    if args.action == "cancel":
        return 0 if result.state == "canceled" else 1
    return _exit_code(result)


async def _task_list(args: argparse.Namespace) -> TaskPage:
    async with _agent(args) as agent:
        return await agent.list_tasks(
            context_id=args.context_id, state=args.state, page_size=args.page_size, page_token=args.page_token
        )


def run_task_list(args: argparse.Namespace) -> int:
    page = _run(args, _task_list(args))
    if args.json:
        body = {"tasks": [_result_json(t) for t in page.tasks], "next_page_token": page.next_page_token}
        print(json.dumps({**body, "total": page.total}, indent=2))
        return 0
    table = Table(title=f"{len(page.tasks)} of {page.total} tasks", title_justify="left")
    # Ids are never cut: they are what the next command takes. --json has the contexts too.
    table.add_column("task", no_wrap=True, min_width=36)
    table.add_column("state", no_wrap=True)
    table.add_column("text", no_wrap=True, overflow="ellipsis")
    for task in page.tasks:
        table.add_row(task.task_id, task.state, (task.text or task.message).replace("\n", " "))
    Console().print(table)
    if page.next_page_token:
        Console(stderr=True).print(f"[dim]next page: --page-token {page.next_page_token}[/]")
    return 0
