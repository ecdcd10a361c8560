"""``a2a-bridge worker MODULE:ATTR --queue URL --store URL``: run queued turns (queue mode, docs/queue.md)."""

from __future__ import annotations

import argparse
from typing import Any

from a2a_bridge.cli.serve_command import (
    add_cost_flags,
    add_framework_flags,
    add_push_flags,
    cost_options,
    load_object,
    push_options,
    quiet_frameworks,
    start_tracing,
    url_arg,
)
from a2a_bridge.server.limits import DEFAULT_KEEP_TASKS, DEFAULT_LEASE_SECONDS
from a2a_bridge.server.worker import DEFAULT_CONCURRENCY

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    worker = commands.add_parser(
        "worker", help="run the turns a queue-mode front door (`serve --queue`) queued for this agent"
    )
    worker.add_argument("target", metavar="MODULE:ATTR", help="the object the front door serves, e.g. my_agents:graph")
    worker.add_argument(
        "--queue", required=True, metavar="URL", help="the front door's --queue, redis://HOST:PORT/DB (env:VAR, @FILE)"
    )
    worker.add_argument(
        "--store", required=True, metavar="URL", help="the front door's --store, postgresql://... (env:VAR, @FILE)"
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="turns run at once (default: %(default)s)",
    )
    worker.add_argument("--name", help="the agent's name, when the front door overrides it with --name")
    worker.add_argument(
        "--checkpointer",
        metavar="URL",
        help="a LangGraph graph's checkpointer, shared by all workers: postgresql://... (env:VAR, @FILE)",
    )
    worker.add_argument(
        "--lease-seconds",
        type=float,
        default=DEFAULT_LEASE_SECONDS,
        metavar="S",
        help="how long a turn stays this worker's without renewal; a dead worker's turns go to others this "
        "long after its last renewal (default: %(default)s)",
    )
    worker.add_argument(
        "--keep-tasks",
        type=int,
        default=DEFAULT_KEEP_TASKS,
        metavar="N",
        help="finished tasks kept (default: %(default)s)",
    )
    worker.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="answer GET /healthz on this port, on all interfaces, for a cluster's probes: 200 while the worker "
        "reads its queue, 503 while it cannot (default: none)",
    )
    worker.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_framework_flags(worker)
    add_cost_flags(worker)
    add_push_flags(worker)
    worker.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    quiet_frameworks(args)
    start_tracing(args)
    from a2a_bridge.server.worker import run_worker

    obj = load_object(args.target)
    adapter_options: dict[str, Any] = {}
    if args.checkpointer:
        adapter_options["checkpointer"] = url_arg(args.checkpointer, "--checkpointer")
    run_worker(
        obj,
        queue=url_arg(args.queue, "--queue"),
        store=url_arg(args.store, "--store"),
        name=args.name,
        concurrency=args.concurrency,
        lease_seconds=args.lease_seconds,
        keep_tasks=args.keep_tasks,
        health_port=args.health_port,
        push_notifications=push_options(args),
        **cost_options(args),
        **adapter_options,
    )
    return 0
