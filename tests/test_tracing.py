"""One request, one trace: a graph delegating to a crew, traced into a real Arize Phoenix.

Both agents run as `a2a-bridge serve --otlp-endpoint` processes; the test reads
the trace back through Phoenix's REST API and checks its tree: which span is
whose parent, and what each says.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import serve_process, worker_process
from test_mesh_demo import script_the_mesh

from a2a_bridge import RemoteAgent, TraceContext
from a2a_bridge.observability.telemetry import DEFAULT_PROJECT
from a2a_bridge.testing import services
from a2a_bridge.testing.phoenix import Phoenix, phoenix
from a2a_bridge.testing.scripted_backend import ScriptedBackend

ROOT = Path(__file__).resolve().parents[1]
PEER_SECRET = "orchestrator-to-quotes-0123"


@pytest.fixture(scope="module")
def collector() -> Iterator[Phoenix]:
    with phoenix() as running:
        yield running


class Tree:
    """Spans by id, and their children, as Phoenix returns them."""

    def __init__(self, spans: list[dict[str, Any]]) -> None:
        self.spans = spans
        self.by_id = {s["context"]["span_id"]: s for s in spans}

    def children(self, span: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
        found = [s for s in self.spans if s["parent_id"] == span["context"]["span_id"]]
        return [s for s in found if name is None or s["name"] == name]

    def only_child(self, span: dict[str, Any], name: str) -> dict[str, Any]:
        [child] = self.children(span, name)
        return child

    def draw(self, span: dict[str, Any], depth: int = 0) -> list[str]:
        lines = [f"{'  ' * depth}{span['name']}"]
        for child in sorted(self.children(span), key=lambda s: s["start_time"]):
            lines += self.draw(child, depth + 1)
        return lines


@pytest.mark.timeout(300)
async def test_a_graph_delegating_to_a_crew_is_one_trace_in_phoenix(collector, tmp_path):
    backend = ScriptedBackend(model="scripted-model").start()
    tracing = ["--otlp-endpoint", collector.url]
    (tmp_path / "quotes").mkdir()
    (tmp_path / "quotes" / "secret").write_text(PEER_SECRET)
    crew = serve_process(
        "crews:served_quotes", secrets={"orchestrator": PEER_SECRET}, env={"CREWS_LLM_URL": backend.base_url},
        args=[*tracing, "--name", "quotes"],
    )  # fmt: skip
    orchestrator = None
    try:
        orchestrator = serve_process(
            "demos.mesh.orchestrator:orchestrator",
            env={
                "PYTHONPATH": str(ROOT),
                "A2A_BRIDGE_AGENT": "orchestrator",
                "A2A_BRIDGE_BACKEND_URL": backend.base_url,
                "A2A_BRIDGE_BACKEND_MODEL": "scripted-model",
                "A2A_BRIDGE_PEERS": f"quotes={crew.url}",
                "A2A_BRIDGE_PEER_SECRETS": str(tmp_path),
            },
            args=[*tracing, "--name", "orchestrator"],
            cwd=ROOT,
        )
        backend.reply(json={"subtasks": [{"worker": "quotes", "query": "H200"}]})
        backend.reply(json={"gpu": "H200", "hourly_usd": 3.7, "source": "the tier table"})
        backend.reply("An H200 costs $3.70 an hour.")
        trace_id = secrets.token_hex(16)
        async with RemoteAgent(orchestrator.url) as remote:
            result = await remote.send(
                "What does an H200 cost?", trace=TraceContext(traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01")
            )
        assert result.ok, result.message
        spans = collector.trace(DEFAULT_PROJECT, trace_id, count=9)
    finally:
        for process in (orchestrator, crew):
            if process is not None:
                process.stop()
        backend.stop()

    tree = Tree(spans)
    [root] = [s for s in spans if s["parent_id"] not in tree.by_id]
    print("\n".join(tree.draw(root)))
    assert root["name"] == "SendMessage"
    assert root["attributes"]["gen_ai.agent.name"] == "orchestrator"
    assert root["attributes"]["a2a.task.id"] == result.task_id
    assert root["attributes"]["a2a.task.state"] == "completed"
    assert root["attributes"]["a2a.protocol.version"] == "1.0"
    assert root["attributes"]["gen_ai.conversation.id"] == result.context_id

    turn = tree.only_child(root, "invoke_agent orchestrator")
    assert turn["attributes"]["gen_ai.agent.name"] == "orchestrator"
    model_calls = tree.children(turn, "openai.chat")
    assert len(model_calls) == 2, "the plan and the synthesis"
    for call in model_calls:
        assert call["attributes"]["gen_ai.request.model"] == "scripted-model"
        content = [k for k in call["attributes"] if k.startswith(("gen_ai.prompt", "gen_ai.completion", "gen_ai.in"))]
        assert not content, "prompts and answers stay out of spans unless asked for"
        assert call["attributes"]["gen_ai.agent.name"] == "orchestrator"
        assert call["attributes"]["gen_ai.usage.input_tokens"] > 0

    client = tree.only_child(turn, "SendStreamingMessage")
    assert client["attributes"]["gen_ai.agent.name"] == "quotes"
    assert client["attributes"]["a2a.task.state"] == "completed"
    worker_call = tree.only_child(client, "SendStreamingMessage")
    assert worker_call["attributes"]["a2a.task.id"] == client["attributes"]["a2a.task.id"]
    assert worker_call["attributes"]["a2a.task.state"] == "completed"
    assert worker_call["attributes"]["gen_ai.agent.name"] == "quotes"
    worker_turn = tree.only_child(worker_call, "invoke_agent quotes")
    [crew_call] = tree.children(worker_turn, "openai.chat")
    assert crew_call["attributes"]["gen_ai.agent.name"] == "quotes"
    assert worker_turn["attributes"]["gen_ai.usage.output_tokens"] > 0

    assert PEER_SECRET not in json.dumps(spans), "a bearer secret never reaches a span"

    def ends(span: dict[str, Any]) -> str:
        return str(span["end_time"])

    assert ends(worker_call) <= ends(client) <= ends(turn) <= ends(root), "each hop inside its caller's"


@pytest.mark.timeout(240)
async def test_a_queued_turn_on_a_worker_is_the_front_doors_child(collector):
    """Queue mode: the front door's call and the worker's turn, two processes apart, one trace."""
    backend = ScriptedBackend(model="scripted-model").start()
    tracing = ["--otlp-endpoint", collector.url, "--name", "queued-researcher"]
    processes = []
    with services.postgres() as postgres, services.redis() as redis:
        store = postgres.create_database("traced_queue")
        try:
            processes.append(
                serve_process("agents:researcher", args=["--store", store, "--queue", redis.url, *tracing])
            )
            processes.append(
                worker_process(
                    "agents:researcher", queue=redis.url, store=store, env={"LLM_BASE_URL": backend.base_url},
                    args=tracing,
                )
            )  # fmt: skip
            backend.reply("H200: $3.70/hr.")
            trace_id = secrets.token_hex(16)
            async with RemoteAgent(processes[0].url) as remote:
                result = await remote.send(
                    data={"query": "H200 price"},
                    trace=TraceContext(traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01"),
                )
            assert result.ok, result.message
            spans = collector.trace(DEFAULT_PROJECT, trace_id, count=2)
        finally:
            for process in processes:
                process.stop()
            backend.stop()

    tree = Tree(spans)
    [root] = [s for s in spans if s["parent_id"] not in tree.by_id]
    assert root["name"] == "SendMessage"
    assert root["attributes"]["a2a.task.id"] == result.task_id
    turn = tree.only_child(root, "invoke_agent queued-researcher")
    assert turn["attributes"]["a2a.task.id"] == result.task_id
    assert turn["attributes"]["a2a.task.state"] == "completed"
    assert turn["attributes"]["gen_ai.usage.input_tokens"] > 0


@pytest.mark.timeout(300)
def test_the_demo_sends_its_whole_run_to_phoenix_and_says_where_to_look(collector):
    """`demos/mesh/run.py --phoenix URL`: the orchestrator (in the demo's process), both workers, every model call."""
    with ScriptedBackend(model="mesh-model") as llm:
        script_the_mesh(llm)
        done = subprocess.run(
            [sys.executable, "demos/mesh/run.py", "--backend", llm.base_url, "--phoenix", collector.url,
             "--question", "H200 or A100 spot?"],
            cwd=ROOT, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    link = re.search(rf"{re.escape(collector.url)}/projects/(\S+)/traces/([0-9a-f]{{32}})", done.stdout)
    assert link, done.stdout
    spans = collector.trace(DEFAULT_PROJECT, link.group(2), count=14)
    tree = Tree(spans)
    [root] = [s for s in spans if s["parent_id"] not in tree.by_id]
    print("\n".join(tree.draw(root)))
    assert root["name"] == "invoke_agent orchestrator"
    assert len(tree.children(root, "openai.chat")) == 3, "the plan, the synthesis and the key facts"
    hops = {c["attributes"]["gen_ai.agent.name"]: c for c in tree.children(root, "SendStreamingMessage")}
    assert set(hops) == {"research-worker", "synthesis-worker"}
    for worker, hop in hops.items():
        served = tree.only_child(hop, "SendStreamingMessage")
        turn = tree.only_child(served, f"invoke_agent {worker}")
        [model_call] = tree.children(turn, "openai.chat")
        assert model_call["attributes"]["gen_ai.agent.name"] == worker
        assert model_call["attributes"]["gen_ai.request.model"] == "mesh-model"


@pytest.mark.parametrize(("flags", "expected"), [([], "false"), (["--sdk-tracing"], "true")])
def test_the_sdks_own_spans_stay_off_with_tracing_unless_sdk_tracing_asks(flags, expected):
    """`serve --otlp-endpoint URL --sdk-tracing`: enable_tracing's default must not turn the SDK's spans off."""
    code = (
        "import os\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "from a2a_bridge.cli import build_parser\n"
        "from a2a_bridge.cli.serve_command import quiet_frameworks\n"
        "from a2a_bridge.observability.telemetry import enable_tracing\n"
        f"args = build_parser().parse_args(['serve', 'm:a', *{flags!r}])\n"
        "quiet_frameworks(args)\n"
        "enable_tracing('agent', exporter=InMemorySpanExporter())\n"
        "print(os.environ['OTEL_INSTRUMENTATION_A2A_SDK_ENABLED'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == expected
