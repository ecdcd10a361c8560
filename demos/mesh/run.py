"""The cross-framework demo: a LangGraph orchestrator, a CrewAI research worker that uses
an MCP tool, and a LangGraph synthesis worker, talking A2A on self-hosted vLLM.

    python demos/mesh/run.py                                   # on the embedded CPU vLLM
    python demos/mesh/run.py --question "..."                  # your own question
    python demos/mesh/run.py --backend http://10.0.0.4:8001/v1 --model meta-llama/Llama-3.3-70B-Instruct
    python demos/mesh/run.py --topology topology.toml          # each role on its own GPU tier
    python demos/mesh/run.py --phoenix                         # and its trace in an Arize Phoenix it starts
    python demos/mesh/run.py --phoenix http://127.0.0.1:6006   # ... or in yours
    python demos/mesh/run.py --ledger redis://127.0.0.1:6379/0 # the cost ledger (default: a SQLite file here)

Everything it starts (the MCP server, the workers, and the embedded vLLM if it
was not already running) is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from a2a_bridge_langgraph import create_orchestrator  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.panel import Panel  # noqa: E402

from a2a_bridge import Backend, BridgeError, Topology, enable_tracing  # noqa: E402
from a2a_bridge.backends.embedded import EmbeddedVLLM  # noqa: E402
from a2a_bridge.observability import spans  # noqa: E402
from a2a_bridge.observability.costs import DEFAULT_LEDGER, check_ledger_url  # noqa: E402
from a2a_bridge.observability.telemetry import DEFAULT_PROJECT  # noqa: E402
from a2a_bridge.support.urls import hide_password  # noqa: E402
from a2a_bridge.testing.phoenix import phoenix  # noqa: E402
from demos.mesh.costs import orchestrator_record, record_and_read  # noqa: E402
from demos.mesh.display import MeshDisplay, findings  # noqa: E402
from demos.mesh.key_facts import MAX_TOKENS as KEY_FACTS_MAX_TOKENS  # noqa: E402
from demos.mesh.key_facts import KeyFacts, pick_key_facts  # noqa: E402
from demos.mesh.mesh import Mesh  # noqa: E402

ROLES = ("orchestrator", "research-worker", "synthesis-worker")
START_PHOENIX = "start"
DEFAULT_QUESTION = (
    "Should our agent fleet run the orchestrator on an H200 and the workers on A100 spot instances? "
    "Compare H200 and A100 prices."
)


def served_model(url: str) -> str:
    response = httpx.get(url.rstrip("/") + "/models", timeout=10)
    response.raise_for_status()
    return str(response.json()["data"][0]["id"])


def choose_backends(args: argparse.Namespace, console: Console) -> tuple[dict[str, Backend], EmbeddedVLLM | None]:
    """The backend of each role, and the embedded vLLM when this run started it."""
    if args.topology:
        topology = Topology.load(args.topology)
        topology.require(ROLES)
        return {role: topology.backend(role) for role in ROLES}, None
    if args.backend:
        backend = Backend(args.backend, model=args.model or served_model(Backend(args.backend, model="x").base_url))
        return dict.fromkeys(ROLES, backend), None
    embedded = EmbeddedVLLM()
    was_running = embedded.state() is not None and embedded.healthy()
    start = time.monotonic()
    with console.status("starting the embedded vLLM ...") as status:

        def progress(message: str) -> None:
            console.print(f"[dim]{time.monotonic() - start:6.1f}s[/] {message}")
            status.update(message)

        embedded.up(progress)
    return dict.fromkeys(ROLES, embedded.backend), (None if was_running else embedded)


async def run_orchestrator(mesh: Mesh, backends: dict[str, Backend], question: str, display: MeshDisplay,
                           max_tokens: int) -> dict[str, Any]:  # fmt: skip
    async with mesh.registry() as registry:
        for name, reason in registry.unavailable.items():
            display.log(f"[red]{name} is unavailable:[/] {reason}")
        planner = backends["orchestrator"].chat_model(max_tokens=max_tokens * 2, temperature=0, frequency_penalty=0.5)
        orchestrator = create_orchestrator(registry, planner=planner, max_subtasks=3)
        final: dict[str, Any] = {}
        with display:
            async for mode, chunk in orchestrator.astream(
                {"messages": [("user", question)]}, stream_mode=["custom", "values"]
            ):
                if mode == "custom":
                    display.event(chunk)
                else:
                    final = chunk
        return final


async def key_facts_of(state: dict[str, Any], backends: dict[str, Backend], question: str) -> KeyFacts | None:
    """The orchestrator's model picks the facts that answer the question; its tokens count as the orchestrator's."""
    facts = findings(state).facts
    if not facts:
        return None
    chat = backends["orchestrator"].chat_model(max_tokens=KEY_FACTS_MAX_TOKENS, temperature=0)
    picked = await pick_key_facts(chat, question, facts)
    if picked.usage is not None:
        state.setdefault("usage", []).append({"step": "key facts", **picked.usage})
    return picked


async def ask(mesh: Mesh, backends: dict[str, Backend], question: str, display: MeshDisplay,
              max_tokens: int) -> tuple[dict[str, Any], KeyFacts | None, str | None]:  # fmt: skip
    """The whole run in one event loop, so that the model clients' connections stay usable; and its trace id."""
    with spans.agent_span("orchestrator") as span:
        state = await run_orchestrator(mesh, backends, question, display, max_tokens)
        with display.console.status(f"{backends['orchestrator'].request_model} picks the key facts ..."):
            key_facts = await key_facts_of(state, backends, question)
    context = span.get_span_context()
    return state, key_facts, f"{context.trace_id:032x}" if context.is_valid else None


@contextlib.contextmanager
def trace_into(where: str, console: Console) -> Iterator[str]:
    """Tracing on for this process, into Phoenix at ``where``, or into one started here (and stopped after)."""
    started_here = where == START_PHOENIX
    with contextlib.ExitStack() as started:
        if started_here:
            with console.status("starting Arize Phoenix (installed once into ~/.cache/a2a-bridge/phoenix) ..."):
                where = started.enter_context(phoenix()).url
            console.print(f"[dim]Phoenix is up at {where}[/]")
        enable_tracing("orchestrator", endpoint=where)
        yield where
        if started_here and sys.stdin.isatty():
            with contextlib.suppress(EOFError, KeyboardInterrupt):
                input("Phoenix keeps the trace while it runs: press Enter to stop it ")


def show_trace(console: Console, url: str, trace_id: str) -> None:
    """Where to look: the trace's page in Phoenix, once Phoenix has filed the spans."""
    spans.flush()
    deadline = time.monotonic() + 15
    while True:
        projects = httpx.get(f"{url}/v1/projects", timeout=10).json()["data"]
        project = next((p["id"] for p in projects if p["name"] == DEFAULT_PROJECT), None)
        if project is not None or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    link = f"{url}/projects/{project}/traces/{trace_id}" if project else url
    console.print(f"[bold]The run's trace, in Arize Phoenix[/] (project {DEFAULT_PROJECT}, trace {trace_id}):")
    console.print(link, soft_wrap=True, highlight=False)  # whole, so that a terminal can open it


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--question", default=DEFAULT_QUESTION, help="what to ask the mesh")
    parser.add_argument("--backend", help="one OpenAI-compatible base URL for every role (vLLM, SGLang)")
    parser.add_argument("--model", help="the model to request from --backend (default: the first it serves)")
    parser.add_argument("--topology", type=Path, help="a topology TOML file mapping each role to a backend")
    parser.add_argument("--max-tokens", type=int, default=96, help="token limit per model answer (default: 96)")
    parser.add_argument(
        "--ledger", default=DEFAULT_LEDGER, metavar="URL",
        help=f"the cost ledger every agent records its tasks in (default: {DEFAULT_LEDGER})",
    )  # fmt: skip
    parser.add_argument(
        "--phoenix", nargs="?", const=START_PHOENIX, metavar="URL",
        help="send the run's trace to Arize Phoenix: at URL, or, without one, in a Phoenix the demo starts",
    )  # fmt: skip
    args = parser.parse_args()
    console = Console()
    started = time.monotonic()
    console.print(Panel.fit(f"[bold]a2a-bridge cross-framework mesh[/]\n{args.question}"))
    embedded: EmbeddedVLLM | None = None
    mesh: Mesh | None = None
    tracing = contextlib.ExitStack()
    try:
        collector = tracing.enter_context(trace_into(args.phoenix, console)) if args.phoenix else None
        backends, embedded = choose_backends(args, console)
        for role, backend in backends.items():
            console.print(f"[dim]{role}: {backend.request_model} at {backend.base_url}[/]")
        ledger = check_ledger_url(args.ledger)
        mesh = Mesh(backends, max_tokens=args.max_tokens, otlp_endpoint=collector, ledger=ledger)
        with console.status("starting the MCP server and the workers ..."):
            mesh.start(lambda message: console.print(f"[dim]{message}[/]"))
        display = MeshDisplay(
            console, model=backends["orchestrator"].request_model, tiny_model=not (args.backend or args.topology)
        )
        asked = time.monotonic()
        state, key_facts, trace_id = asyncio.run(ask(mesh, backends, args.question, display, args.max_tokens))
        display.answer(state, key_facts)
        run_id = f"run-{trace_id or uuid.uuid4().hex}"
        own = orchestrator_record(run_id, state, backends["orchestrator"].request_model, time.monotonic() - asked)
        worker_tasks = {r["task_id"] for r in state.get("results", []) if r.get("task_id")}
        display.costs(asyncio.run(record_and_read(ledger, own, worker_tasks)), hide_password(ledger))
        display.legend()
        if collector is not None and trace_id is not None:
            stopped = mesh.stop()  # the workers send their last spans as they stop
            console.print(f"[dim]stopped {', '.join(stopped)}[/]")
            mesh = None
            show_trace(console, collector, trace_id)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    except (BridgeError, RuntimeError, httpx.HTTPError) as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
    finally:
        if mesh is not None:
            stopped = mesh.stop()
            console.print(f"[dim]stopped {', '.join(stopped) or 'nothing'}[/]")
        if embedded is not None:
            embedded.stop()
            console.print("[dim]stopped the embedded vLLM this run started[/]")
        tracing.close()
    console.print(f"[dim]wall time {time.monotonic() - started:.1f}s[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
