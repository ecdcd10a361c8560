"""The cross-framework demo end to end: processes on 127.0.0.1, real HTTP, real MCP."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from a2a_bridge.testing import ScriptedBackend

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demos.mesh.display import MeshDisplay  # noqa: E402
from demos.mesh.mesh import Mesh  # noqa: E402
from demos.mesh.run import ROLES, run_orchestrator  # noqa: E402


def script_the_mesh(llm: ScriptedBackend) -> None:
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


def test_make_demo_runs_the_whole_mesh_on_a_backend_url():
    with ScriptedBackend(model="mesh-model") as llm:
        script_the_mesh(llm)
        result = subprocess.run(
            [sys.executable, "demos/mesh/run.py", "--backend", llm.base_url, "--question", "H200 or A100 spot?"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        requests = list(llm.requests)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for section in ("Plan", "A2A hops", "Answer", "Facts (via MCP)", "Sources", "Tokens and estimated cost per agent"):
        assert section in out, f"{section!r} missing from the demo output"
    assert "Orchestrate on an H200 and run workers on A100 spot." in out
    assert "An A100 80GB SXM4 rents for $1.69/hr on demand" in out, "a fact found through MCP"
    assert "A100 80GB pricing for worker agents" in out, "its source"
    assert "A100: $1,234/month on demand, $599/month spot" in out, "the synthesis worker's estimate"
    assert "stopped mcp, research-worker, synthesis-worker" in out
    research_prompt = next(r for r in requests if "Question:" in r.last_user).last_user
    assert "$0.82/hr on spot" in research_prompt, "the MCP facts reached the research worker's model"


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
