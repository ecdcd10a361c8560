"""``a2a-bridge backend ...``: the embedded vLLM, the scripted test backend, tier launch commands, health checks."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from a2a_bridge.backends.backend import Backend
from a2a_bridge.backends.embedded import EmbeddedVLLM
from a2a_bridge.backends.tiers import RUNTIMES, TIERS, get_tier, launch_command, shell_command
from a2a_bridge.backends.topology import Topology
from a2a_bridge.errors import BackendError, ConfigurationError

__all__ = ["add_parser"]


def add_parser(commands: Any) -> None:
    backend = commands.add_parser("backend", help="model backends: the embedded vLLM and the GPU tiers")
    verbs = backend.add_subparsers(dest="verb", required=True)

    up = verbs.add_parser("up", help="install (once) and start the embedded vLLM on the CPU")
    up.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: 8000)")
    up.add_argument("--home", type=Path, default=None, help="where it installs and keeps its state")
    up.add_argument("--wait", type=float, default=600, help="seconds to wait for health (default: %(default)s)")
    up.add_argument(
        "--memory-fraction", type=float, default=0.3, help="share of RAM vLLM reserves for its KV cache (default: 0.3)"
    )
    up.set_defaults(run=run_up)

    down = verbs.add_parser("down", help="stop the embedded vLLM")
    down.add_argument("--home", type=Path, default=None)
    down.set_defaults(run=run_down)

    status = verbs.add_parser("status", help="is the embedded vLLM running?")
    status.add_argument("--home", type=Path, default=None)
    status.set_defaults(run=run_status)

    scripted = verbs.add_parser(
        "scripted",
        help="serve the scripted OpenAI-compatible backend, for tests, until stopped",
        description="Serve the scripted backend in the foreground. Unscripted requests get 'echo: <last user "
        "message>'. POST /scripted/replies adds replies; GET /scripted/requests lists what it received.",
    )
    scripted.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    scripted.add_argument("--port", type=int, default=8001, help="port, 0 for any free one (default: %(default)s)")
    scripted.add_argument("--model", default="scripted-model", help="the model name it serves (default: %(default)s)")
    scripted.add_argument("--replies", type=Path, metavar="FILE", help='a JSON file {"replies": [...]} to answer with')
    scripted.add_argument("--latency", type=float, default=0.0, help="seconds before each answer (default: 0)")
    scripted.add_argument("--token-latency", type=float, default=0.0, help="seconds between streamed tokens")
    scripted.set_defaults(run=run_scripted)

    command = verbs.add_parser("command", help="print the exact launch command for a tier")
    command.add_argument("--tier", required=True, choices=list(TIERS))
    command.add_argument("--runtime", default="vllm", choices=list(RUNTIMES))
    command.add_argument("--port", type=int, default=None)
    command.set_defaults(run=run_command)

    tiers = verbs.add_parser("tiers", help="list the tier profiles")
    tiers.set_defaults(run=run_tiers)

    check = verbs.add_parser("check", help="check that backends are up and serve their models")
    check.add_argument("--topology", type=Path, help="a topology TOML file: check every role")
    check.add_argument("--url", help="a single backend's base URL")
    check.add_argument("--model", help="the model it should serve (with --url)")
    check.set_defaults(run=run_check)


def run_up(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    embedded = EmbeddedVLLM(home=args.home, port=args.port, memory_fraction=args.memory_fraction)
    start = time.monotonic()
    with console.status("preparing the embedded vLLM ...") as status:

        def progress(message: str) -> None:
            console.print(f"[dim]{time.monotonic() - start:6.1f}s[/] {message}")
            status.update(f"{message} ...")

        state = embedded.up(progress, wait=args.wait)
    backend = embedded.backend
    console.print(
        f"[green]ready[/] in {time.monotonic() - start:.0f} s: {backend.base_url} serves {backend.request_model}"
    )
    console.print(f"stop it with: a2a-bridge backend down{f' --home {args.home}' if args.home else ''}")
    print(f"{backend.base_url} {backend.request_model} pid={state.pid}")
    return 0


def run_down(args: argparse.Namespace) -> int:
    state = EmbeddedVLLM(home=args.home).stop()
    print(f"stopped vLLM (pid {state.pid}, port {state.port})" if state else "the embedded vLLM was not running")
    return 0


def run_status(args: argparse.Namespace) -> int:
    embedded = EmbeddedVLLM(home=args.home)
    state = embedded.state()
    if state is None:
        print("not running")
        return 1
    healthy = embedded.healthy(state.port)
    print(f"running: pid {state.pid}, http://127.0.0.1:{state.port}/v1, {'healthy' if healthy else 'not healthy yet'}")
    return 0 if healthy else 1


def run_scripted(args: argparse.Namespace) -> int:
    from a2a_bridge.testing.reply_script import load_reply_script
    from a2a_bridge.testing.scripted_backend import ScriptedBackend

    if args.latency < 0 or args.token_latency < 0:
        raise ConfigurationError("--latency and --token-latency must not be negative")
    replies = load_reply_script(args.replies) if args.replies else []
    backend = ScriptedBackend(
        model=args.model, latency=args.latency, token_latency=args.token_latency, host=args.host, port=args.port
    )
    for reply in replies:
        backend.reply(**reply)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        backend.start()
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    console = Console(stderr=True)
    scripted = f"{len(replies)} scripted repl{'y' if len(replies) == 1 else 'ies'}"
    console.print(f"[green]ready[/]: {backend.base_url} serves {args.model}, {scripted}; stop it with Ctrl-C")
    # The one line on stdout, for a script that started it on port 0.
    print(f"{backend.base_url} {args.model} pid={os.getpid()}", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        backend.stop()
    return 0


def run_command(args: argparse.Namespace) -> int:
    print(shell_command(launch_command(get_tier(args.tier), runtime=args.runtime, port=args.port)))
    return 0


def run_tiers(args: argparse.Namespace) -> int:
    table = Table("tier", "model", "hardware", "seqs", "ctx", "$/h on-demand", "$/h spot", "role")
    for tier in TIERS.values():
        spot = f"{tier.spot_hourly_usd:.2f}" if tier.spot_hourly_usd is not None else "-"
        table.add_row(
            tier.name, tier.model, tier.gpu, str(tier.max_num_seqs), str(tier.max_model_len),
            f"{tier.hourly_usd:.2f}", spot, tier.role,
        )  # fmt: skip
    Console().print(table)
    return 0


async def _check_all(backends: dict[str, Backend]) -> dict[str, str | None]:
    async def one(backend: Backend) -> str | None:
        try:
            await backend.health()
        except BackendError as exc:
            return str(exc)
        return None

    results = await asyncio.gather(*(one(b) for b in backends.values()))
    return dict(zip(backends, results, strict=True))


def run_check(args: argparse.Namespace) -> int:
    if args.topology:
        backends = dict(Topology.load(args.topology).backends)
    elif args.url and args.model:
        backends = {"backend": Backend(args.url, model=args.model)}
    else:
        raise BackendError("give --topology FILE, or --url URL with --model NAME")
    problems = asyncio.run(_check_all(backends))
    for role, problem in problems.items():
        backend = backends[role]
        print(f"{role}: {'ok' if problem is None else problem} ({backend.base_url}, {backend.request_model})")
    failed = [role for role, problem in problems.items() if problem]
    if failed:
        raise BackendError(f"{len(failed)} of {len(problems)} backend(s) not usable: {', '.join(failed)}")
    return 0
