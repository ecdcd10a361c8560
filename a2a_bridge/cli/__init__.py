"""The ``a2a-bridge`` command.

    a2a-bridge serve MODULE:ATTR [--port P] [--secret NAME=SECRET ...]   serve an agent
    a2a-bridge worker MODULE:ATTR --queue URL --store URL                 run a queue-mode agent's turns
    a2a-bridge card URL [--json]                                          show and validate a card
    a2a-bridge call URL TEXT [--data JSON] [--stream] [--secret S]        call an agent
    a2a-bridge backend up|down|status|scripted|command|tiers|check        model backends
    a2a-bridge deploy values|cost --topology FILE                         Kubernetes: chart values, GPU cost
    a2a-bridge costs [--ledger URL] [--days N] [--csv F] [--png F]        tokens and cost per agent and day

Errors print one line, ``a2a-bridge: error: ...``, and exit with status 2; a
task that fails exits with status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from a2a_bridge.cli import (
    backend_commands,
    costs_command,
    deploy_commands,
    remote_commands,
    serve_command,
    worker_command,
)
from a2a_bridge.errors import BridgeError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="a2a-bridge", description="Serve and call A2A agents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log retries, failovers and other warnings")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command.add_parser(commands)
    worker_command.add_parser(commands)
    remote_commands.add_parsers(commands)
    backend_commands.add_parser(commands)
    deploy_commands.add_parser(commands)
    costs_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("serve", "worker"):
        level = getattr(logging, args.log_level.upper())
    else:
        # Errors already end in one line of their own; warnings only when asked for.
        level = logging.WARNING if args.verbose else logging.CRITICAL
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.run(args)
    except BridgeError as exc:
        print(f"a2a-bridge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
