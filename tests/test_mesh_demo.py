"""The cross-framework demo end to end: processes on 127.0.0.1, real HTTP, real MCP."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ledgers import recorded
from rich.console import Console

from a2a_bridge.testing import ScriptedBackend

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demos.mesh.display import MeshDisplay, findings  # noqa: E402
from demos.mesh.mesh import Mesh  # noqa: E402
from demos.mesh.run import ROLES, key_facts_of, run_orchestrator  # noqa: E402


def script_the_mesh(llm: ScriptedBackend) -> None:
    # 9 is out of range and 1 comes twice: neither may reach the display.
    llm.rule(lambda r: "Pick the numbers of the facts" in r.system, json={"facts": [1, 9, 1]})
    llm.rule(
        lambda r: "task planner" in r.system,
        json={
            "subtasks": [
                {"worker": "research-worker", "query": "H200 and A100 spot prices"},
                {"worker": "synthesis-worker", "query": "Compare H200 and A100 monthly costs"},
            ]
        },
    )
    llm.rule(lambda r: "Question:" in r.last_user, "A100 spot is $0.82/hr; an H200 is $3.70/hr.")
    llm.rule(lambda r: "Compare the GPU costs" in r.system, "An A100 on spot costs far less than an H200.")
    llm.rule(lambda r: "Merge the workers" in r.system, "Orchestrate on an H200 and run workers on A100 spot.")


def test_make_demo_runs_the_whole_mesh_on_a_backend_url(tmp_path):
    ledger = f"sqlite:///{tmp_path}/costs.db"
    with ScriptedBackend(model="mesh-model") as llm:
        script_the_mesh(llm)
        result = subprocess.run(
            [sys.executable, "demos/mesh/run.py", "--backend", llm.base_url, "--question", "H200 or A100 spot?",
             "--ledger", ledger],
            cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "160"},
        )  # fmt: skip
        requests = list(llm.requests)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    sections = (
        "Plan, by mesh-model (held to the workers that exist)", "A2A hops", "Answer, written by mesh-model",
        "Key facts, picked by mesh-model", "Facts: data, from the team's notes through MCP",
        "Cost estimates: data, computed from the tier table", "Sources: data",
        "Tokens and estimated cost per agent", "How to read this",
    )  # fmt: skip
    for section in sections:
        assert section in out, f"{section!r} missing from the demo output"
    key_facts = out[out.index("Key facts, picked by") : out.index("Facts: data")]
    facts = out[out.index("Facts: data") : out.index("Cost estimates: data")]
    assert key_facts.count("•") == 1, "fact 1 once; the number out of range is dropped"
    first_line = key_facts.splitlines()[1].strip("│ •")
    assert facts.splitlines()[1].strip("│ •") == first_line, "the key fact is the first fact found"
    assert "135M-parameter" not in out, "the tiny model's warning is for the embedded vLLM only"
    assert "Orchestrate on an H200 and run workers on A100 spot." in out
    assert "An A100 80GB SXM4 rents for $1.69/hr on demand" in out, "a fact found through MCP"
    assert "A100 80GB pricing for worker agents" in out, "its source"
    assert "A100: $1,234/month on demand, $599/month spot" in out, "the synthesis worker's estimate"
    assert "stopped mcp, research-worker, synthesis-worker" in out
    research_prompt = next(r for r in requests if "Question:" in r.last_user).last_user
    assert "$0.82/hr on spot" in research_prompt, "the MCP facts reached the research worker's model"
    # The cost table is the ledger's: one record per agent, each priced at the tier the role is deployed on.
    records = asyncio.run(recorded(ledger, 3))
    assert sorted((r.agent, r.tier) for r in records) == [
        ("orchestrator", "orchestrator-h200"), ("research-worker", "worker-a100-14b"),
        ("synthesis-worker", "worker-a100-14b"),
    ]  # fmt: skip
    assert all(r.model == "mesh-model" and r.completion_tokens > 0 for r in records)
    costs = out[out.index("Tokens and estimated cost per agent") : out.index("How to read this")]
    assert f"{sum(r.cost_usd for r in records):.6f}" in costs
    for record in records:
        assert f"{record.cost_usd:.6f}" in costs


@pytest.mark.vllm
@pytest.mark.timeout(1500)
async def test_the_mesh_completes_on_the_real_embedded_vllm(embedded_vllm):
    mesh = Mesh(dict.fromkeys(ROLES, embedded_vllm), max_tokens=48)
    console = Console(file=io.StringIO(), width=120)
    try:
        await asyncio.to_thread(mesh.start, lambda message: None)
        state = await run_orchestrator(
            mesh, dict.fromkeys(ROLES, embedded_vllm), "Compare H200 and A100 rental prices.", MeshDisplay(console), 48
        )
    finally:
        mesh.stop()
    assert state["plan"], "the planner produced a plan under the enforced JSON schema"
    assert state["results"]
    for result in state["results"]:
        assert result["status"] == "completed", result
        assert result["usage"]["completion_tokens"] > 0, f"{result['worker']} reported no usage"
    assert [step["step"] for step in state["usage"]] == ["plan", "synthesize"]
    assert all(step["completion_tokens"] > 0 for step in state["usage"])
    assert state["messages"][-1].text.strip()
    facts = findings(state).facts
    assert facts, "the research worker found facts through MCP"
    picked = await key_facts_of(state, dict.fromkeys(ROLES, embedded_vllm), "Compare H200 and A100 rental prices.")
    assert picked is not None
    assert picked.error is None
    assert picked.facts
    assert set(picked.facts) <= set(facts), "guided decoding holds the picks to the facts"
    assert state["usage"][-1]["step"] == "key facts"


def test_the_legend_names_the_model_and_with_the_tiny_one_says_how_to_run_on_a_gpu():
    for tiny in (True, False):
        console = Console(file=io.StringIO(), width=200)
        MeshDisplay(console, model="smollm2-135m-instruct", tiny_model=tiny).legend()
        out = console.file.getvalue()  # type: ignore[attr-defined]
        assert "written by the model (smollm2-135m-instruct)" in out
        assert "data, true whatever the model writes" in out
        assert ("135M-parameter model on the CPU" in out) is tiny
        assert ("demos/mesh/run.py --backend http://HOST:8000/v1" in out) is tiny


def tutorial_orchestrator_model() -> str:
    return "meta-llama/Llama-3.3-70B-Instruct"  # the model the tutorial's client code asks for


async def test_the_tutorials_own_client_runs_against_the_demo_workers(monkeypatch):
    import tutorial_orchestrator

    from a2a_bridge import Backend

    with ScriptedBackend(model="mesh-model") as llm, ScriptedBackend(model=tutorial_orchestrator_model()) as planner:
        script_the_mesh(llm)
        planner.rule(lambda r: "Synthesize the following agent outputs" in r.system, "Tutorial client: done.")
        planner.rule(lambda r: "decompose the task" in r.system, '[{"worker": "research-worker", "query": "A100 spot"},'
                     ' {"worker": "synthesis-worker", "query": "H200 against A100"}]')  # fmt: skip
        backend = Backend(llm.base_url, model="mesh-model")
        shared = "your-agent-shared-secret"
        mesh = Mesh(
            dict.fromkeys(ROLES, backend), worker_secrets={"research-worker": shared, "synthesis-worker": shared}
        )
        try:
            await asyncio.to_thread(mesh.start, lambda message: None)
            monkeypatch.setattr(tutorial_orchestrator, "WORKER_HOSTS", {r: mesh.urls[r] for r in ROLES[1:]})
            monkeypatch.setattr(tutorial_orchestrator, "ORCHESTRATOR_VLLM", planner.base_url)
            registry = await tutorial_orchestrator.load_agent_registry()
            research = await tutorial_orchestrator.dispatch_a2a_task(mesh.urls["research-worker"], "t-1", "A100 spot")
            synthesis = await tutorial_orchestrator.dispatch_a2a_task(
                mesh.urls["synthesis-worker"], "t-2", "H200 vs A100"
            )
            answer = await tutorial_orchestrator.run_agent_mesh("Compare GPU prices")
        finally:
            mesh.stop()
    assert registry["research-worker"]["card"]["name"] == "research-worker"
    assert research["status"] == "completed"
    assert "A100 80GB pricing for worker agents" in " ".join(research["output"]["sources"])
    assert synthesis["status"] == "completed"
    assert synthesis["output"]["estimates"][0]["gpu"] == "H200"
    assert answer == "Tutorial client: done."
