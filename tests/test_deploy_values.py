"""A topology's [agents] tables, `a2a-bridge deploy values` and `a2a-bridge deploy cost`, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from rendered_chart import CLUSTER_FLAGS, DEMO_TOPOLOGY, deploy_values

from a2a_bridge import ConfigurationError, Topology
from a2a_bridge.deploy import chart_values, fleet_cost

ROOT = Path(__file__).resolve().parents[1]
ROLES = """
[roles.orchestrator]
tier = "orchestrator-h200"
base_url = "http://10.0.0.4:8001/v1"

[roles.worker]
base_url = "http://10.0.0.9:8000/v1"
model = "Qwen/Qwen2.5-7B-Instruct"
"""
AGENTS = """
[agents.orchestrator]
serve = "mesh.orchestrator:graph"
public = true
calls = ["worker"]

[agents.worker]
serve = "mesh.worker:crew"
"""


def toml(text: str) -> dict:
    return tomllib.loads(text)


def deploy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", "deploy", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_agents_are_read_with_their_defaults():
    topology = Topology.from_dict(toml(ROLES + AGENTS))
    orchestrator, worker = topology.agents["orchestrator"], topology.agents["worker"]
    assert (orchestrator.role, orchestrator.public, orchestrator.calls, orchestrator.capacity) == (
        "orchestrator", True, ("worker",), "on-demand"
    )  # fmt: skip
    assert (worker.queue, worker.replicas, worker.max_workers, worker.concurrency, worker.capacity) == (
        False, 1, 10, 16, "spot"
    )  # fmt: skip
    assert Topology.from_dict(toml(ROLES)).agents == {}, "a file of roles alone still serves the demo"


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        ('[agents.worker]\nserve = "m:a"\nqueu = true', r"agents.worker: unknown key\(s\) queu"),
        ('[agents.worker]\nserve = "m"', r"agents.worker.serve: give the object to serve as module:attr"),
        ('[agents.Worker]\nserve = "m:a"', r"agents.Worker: a name must be lower-case"),
        ('[agents.worker]\nserve = "m:a"\nrole = "ghost"', r"agents.worker.role: no role 'ghost' in \[roles\]"),
        ('[agents.worker]\nserve = "m:a"\ncalls = ["ghost"]', r"agents.worker.calls: no agent 'ghost'"),
        ('[agents.worker]\nserve = "m:a"\ncalls = ["worker"]', r"agents.worker.calls: an agent does not call itself"),
        ('[agents.worker]\nserve = "m:a"\nreplicas = 0', r"agents.worker.replicas: must be a whole number from 1"),
        ('[agents.worker]\nserve = "m:a"\nqueue = "yes"', r"agents.worker.queue: must be true or false"),
        ('[agents.worker]\nserve = "m:a"\ncapacity = "cheap"', r"agents.worker.capacity: must be one of on-demand"),
        ('[agents.worker]\nserve = "m:a"\nenv = { A2A_BRIDGE_AGENT = "x" }', r"A2A_BRIDGE_ variables are set by"),
        ('[agents.worker]\nserve = "m:a"\nsidecars = { mcp = "python" }', r"sidecars.mcp: must be a command as a list"),
    ],
)
def test_a_wrong_agent_table_is_named_with_its_key(agents, expected):
    public = '\n[agents.orchestrator]\nserve = "m:o"\npublic = true\n'
    with pytest.raises(ConfigurationError, match=expected):
        Topology.from_dict(toml(ROLES + public + agents), source="mesh.toml")


def test_a_mesh_needs_a_public_agent():
    with pytest.raises(ConfigurationError, match="no agent is public; mark the orchestrator with public = true"):
        Topology.from_dict(toml(ROLES + '[agents.worker]\nserve = "m:a"\n'))


def test_values_put_tiered_roles_on_the_clusters_vllm_and_keep_other_backends_outside():
    values = chart_values(Topology.from_dict(toml(ROLES + AGENTS)), image="registry.example/mesh:1.2")
    assert values["image"] == {"repository": "registry.example/mesh", "tag": "1.2"}
    assert set(values["tiers"]) == {"orchestrator-h200"}
    assert values["roles"]["orchestrator"] == {
        "tier": "orchestrator-h200",
        "model": "meta-llama/Llama-3.3-70B-Instruct",
    }
    assert values["roles"]["worker"] == {"baseUrl": "http://10.0.0.9:8000/v1", "model": "Qwen/Qwen2.5-7B-Instruct"}
    with pytest.raises(ConfigurationError, match="give the agents' image as REPOSITORY:TAG"):
        chart_values(Topology.from_dict(toml(ROLES + AGENTS)), image="no-tag")


def test_a_backend_key_stays_out_of_the_values(monkeypatch):
    monkeypatch.setenv("WORKER_KEY", "sk-very-secret")
    keyed = ROLES.replace('model = "Qwen/Qwen2.5-7B-Instruct"', 'model = "q"\napi_key = "env:WORKER_KEY"')
    values = chart_values(Topology.from_dict(toml(keyed + AGENTS)))
    assert values["roles"]["worker"]["apiKeySecret"] == "backend-worker"
    assert "sk-very-secret" not in yaml.safe_dump(values)


def test_the_cpu_tier_cannot_go_to_a_cluster():
    cpu = ROLES.replace('tier = "orchestrator-h200"', 'tier = "embedded-cpu"')
    with pytest.raises(ConfigurationError, match="tier embedded-cpu runs on one machine, not in a cluster"):
        chart_values(Topology.from_dict(toml(cpu + AGENTS)))


def test_deploy_values_writes_a_file_and_says_what_is_still_missing(tmp_path):
    values, said = deploy_values(DEMO_TOPOLOGY, tmp_path)
    assert set(values) == {"image", "tiers", "roles", "agents", "keda"}
    assert values["image"] == {"repository": "", "tag": ""}
    for missing in (
        "--image",
        "--public-url orchestrator=URL",
        "--postgres-secret",
        "--redis-secret",
        "--redis-address",
    ):
        assert missing in said
    assert "the GPU fleet costs $128.16 a day" in said
    complete, said = deploy_values(DEMO_TOPOLOGY, tmp_path, *CLUSTER_FLAGS)
    assert "note:" not in said
    assert complete["agents"]["orchestrator"]["publicUrl"] == "https://agents.example.com"
    assert complete["postgres"] == {"urlSecret": {"name": "mesh-postgres", "key": "url"}}


def test_deploy_values_refuses_bad_flags_and_files_in_one_line(tmp_path):
    done = deploy("values", "--topology", str(DEMO_TOPOLOGY), "--public-url", "research-worker=https://x")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "a2a-bridge: error: --public-url 'research-worker=https://x': give AGENT=URL for a public agent (orchestrator)"
    )
    roles_only = tmp_path / "roles.toml"
    roles_only.write_text(ROLES)
    done = deploy("values", "--topology", str(roles_only))
    assert done.returncode == 2
    assert "the topology has no [agents.<name>] tables" in done.stderr
    assert "Traceback" not in done.stderr


def test_deploy_cost_prices_the_fleet_from_the_tier_table(tmp_path):
    done = deploy("cost", "--topology", str(DEMO_TOPOLOGY))
    assert done.returncode == 0, done.stderr
    assert (
        "| orchestrator-h200 | meta-llama/Llama-3.3-70B-Instruct | 1 | on-demand | 3.70 | 88.80 | 88.80 |"
        in done.stdout
    )
    assert "| worker-a100-14b | Qwen/Qwen2.5-14B-Instruct | 2 | spot | 0.82 | 39.36 | 81.12 |" in done.stdout
    assert "| **fleet** | | 3 | | | **128.16** | 169.92 |" in done.stdout
    values, _ = deploy_values(DEMO_TOPOLOGY, tmp_path)
    values["tiers"]["worker-a100-14b"]["capacity"] = "on-demand"
    (tmp_path / "edited.yaml").write_text(yaml.safe_dump(values))
    assert fleet_cost(values).daily_usd == pytest.approx(169.92)
    done = deploy("cost", "--values", str(tmp_path / "edited.yaml"))
    assert "| **fleet** | | 3 | | | **169.92** | 169.92 |" in done.stdout
    (tmp_path / "broken.yaml").write_text("tiers:\n  x: {model: m}\n")
    done = deploy("cost", "--values", str(tmp_path / "broken.yaml"))
    assert (done.returncode, done.stderr.strip()) == (2, "a2a-bridge: error: tiers.x: hourlyUsd is missing")
