"""The chart's pods, run here: the exact command, environment and secret files a rendered
container gets, with the cluster's addresses swapped for loopback ones.

The orchestrator's pod must find its model, its workers and their secrets from what
the chart gives it alone; a queue-mode worker's pod must answer its probe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agents import EchoAgent
from processes import wait_healthy
from rendered_chart import CLUSTER_FLAGS, DEMO_TOPOLOGY, RELEASE, deploy_values, env_of, of_kind, pod_spec, render

from a2a_bridge import RemoteAgent, Skill, to_a2a
from a2a_bridge.deploy import PodSettings
from a2a_bridge.errors import ConfigurationError, RemoteAgentError
from a2a_bridge.testing import services
from a2a_bridge.testing.ports import free_port
from a2a_bridge.testing.scripted_backend import ScriptedBackend

ROOT = Path(__file__).resolve().parents[1]
MOUNTS = "/var/run/a2a-bridge"


@pytest.fixture(scope="module")
def deployments(tmp_path_factory) -> dict[str, dict[str, Any]]:
    values, _ = deploy_values(DEMO_TOPOLOGY, tmp_path_factory.mktemp("values"), *CLUSTER_FLAGS)
    return of_kind(render(values), "Deployment")


def mounted_secrets(deployment: dict[str, Any], root: Path, secrets: dict[str, str]) -> None:
    """Write each Secret the pod mounts where the pod would see it, under ``root`` instead of /var/run."""
    spec = pod_spec(deployment)
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    for volume in spec["volumes"]:
        if "secret" in volume:
            sources = [{"name": volume["secret"]["secretName"], "items": volume["secret"]["items"]}]
        else:
            sources = [source["secret"] for source in volume.get("projected", {}).get("sources", [])]
        for source in sources:
            for item in source["items"]:
                path = root / Path(mounts[volume["name"]]).relative_to(MOUNTS) / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(secrets[source["name"]] + "\n", encoding="utf-8")


def run_container(container: dict[str, Any], env: dict[str, str], *, root: Path, port: int) -> subprocess.Popen[bytes]:
    """The container's own command line, with its mounts under ``root`` and its port on loopback."""
    assert container["command"] == ["a2a-bridge"]
    args = [arg.replace(MOUNTS, str(root)) for arg in container["args"]]
    args = ["--host=127.0.0.1" if a == "--host=0.0.0.0" else a for a in args]
    for flag in ("--port=", "--health-port="):
        args = [f"{flag}{port}" if a.startswith(flag) else a for a in args]
    args = [f"--public-url=http://127.0.0.1:{port}" if a.startswith("--public-url=") else a for a in args]
    return subprocess.Popen(
        [sys.executable, "-m", "a2a_bridge.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **{k: v.replace(MOUNTS, str(root)) for k, v in env.items()}},
    )


@pytest.mark.timeout(120)
async def test_the_orchestrators_pod_finds_its_model_workers_and_secrets_from_the_chart_alone(
    deployments, live_server, tmp_path
):
    deployment = deployments[f"{RELEASE}-orchestrator"]
    container = pod_spec(deployment)["containers"][0]
    secrets = {
        f"{RELEASE}-pair-user-orchestrator": "user-secret-0123456789",
        f"{RELEASE}-pair-orchestrator-research-worker": "to-research-0123456789",
        f"{RELEASE}-pair-orchestrator-synthesis-worker": "to-synthesis-0123456789",
    }
    mounted_secrets(deployment, tmp_path, secrets)
    workers = {name: EchoAgent() for name in ("research-worker", "synthesis-worker")}
    servers = {}
    for name, worker in workers.items():
        secret = secrets[f"{RELEASE}-pair-orchestrator-{name}"]
        servers[name] = live_server(to_a2a(worker, name=name, skills=[Skill(name)], secrets={"orchestrator": secret}))
    env = env_of(container)
    scripted_backend = ScriptedBackend(model=env["A2A_BRIDGE_BACKEND_MODEL"]).start()
    in_cluster = env["A2A_BRIDGE_BACKEND_URL"]
    assert in_cluster == f"http://{RELEASE}-vllm-orchestrator-h200:8000/v1"
    env["A2A_BRIDGE_BACKEND_URL"] = scripted_backend.base_url
    for name, server in servers.items():
        env["A2A_BRIDGE_PEERS"] = env["A2A_BRIDGE_PEERS"].replace(f"http://{RELEASE}-{name}:8080", server.url)
    port = free_port()
    process = run_container(container, env, root=tmp_path, port=port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process, what="the orchestrator", timeout=60)
        scripted_backend.reply(
            json={"subtasks": [{"worker": "research-worker", "query": "H200 price"},
                               {"worker": "synthesis-worker", "query": "cost per day"}]}
        )  # fmt: skip
        scripted_backend.reply("H200: $3.70/hr; $88.80 a day.")
        async with RemoteAgent(f"http://127.0.0.1:{port}", secret="user-secret-0123456789") as remote:
            result = await remote.send("What does an H200 cost a day?")
        async with RemoteAgent(f"http://127.0.0.1:{port}", secret="to-research-0123456789") as stranger:
            with pytest.raises(RemoteAgentError, match="401"):
                await stranger.send("a worker's secret does not open the orchestrator")
    finally:
        process.terminate()
        process.wait(timeout=10)
        scripted_backend.stop()

    assert result.ok, result.message
    assert result.text == "H200: $3.70/hr; $88.80 a day."
    assert workers["research-worker"].turns[0].text == "H200 price"
    assert workers["synthesis-worker"].turns[0].text == "cost per day"
    assert {r.body["model"] for r in scripted_backend.requests} == {"meta-llama/Llama-3.3-70B-Instruct"}


def test_pod_settings_name_what_is_missing(tmp_path):
    with pytest.raises(ConfigurationError, match="A2A_BRIDGE_AGENT is not set"):
        PodSettings.from_environ({})
    base = {"A2A_BRIDGE_AGENT": "a", "A2A_BRIDGE_BACKEND_URL": "http://x:8000/v1", "A2A_BRIDGE_BACKEND_MODEL": "m"}
    with pytest.raises(ConfigurationError, match="A2A_BRIDGE_PEERS: 'b' is not NAME=URL"):
        PodSettings.from_environ({**base, "A2A_BRIDGE_PEERS": "b"})
    with pytest.raises(ConfigurationError, match=r"cannot read the secret for b from .*/b/secret"):
        PodSettings.from_environ(
            {**base, "A2A_BRIDGE_PEERS": "b=http://b:8080", "A2A_BRIDGE_PEER_SECRETS": str(tmp_path)}
        )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "secret").write_text("s3cret\n")
    settings = PodSettings.from_environ(
        {**base, "A2A_BRIDGE_PEERS": "b=http://b:8080", "A2A_BRIDGE_PEER_SECRETS": str(tmp_path)}
    )
    assert settings.peers == {"b": "http://b:8080"}
    assert settings.peer_secrets == {"b": "s3cret"}
    assert settings.backend.api_key == "EMPTY"


@pytest.mark.timeout(180)
async def test_a_queue_mode_agents_front_door_and_worker_pods_run_a_task_together(deployments, tmp_path):
    """The synthesis worker: its front door and its worker, with the chart's Postgres and Redis files."""
    front_door = deployments[f"{RELEASE}-synthesis-worker"]
    worker = deployments[f"{RELEASE}-synthesis-worker-worker"]
    assert any(a.startswith("--checkpointer=") for a in pod_spec(worker)["containers"][0]["args"])
    pair = "orchestrator-to-synthesis-0123"
    with services.postgres() as postgres, services.redis() as redis:
        secrets = {
            "mesh-postgres": postgres.create_database("k8s_synthesis"),
            "mesh-redis": redis.url,
            f"{RELEASE}-pair-orchestrator-synthesis-worker": pair,
        }
        for deployment in (front_door, worker):
            mounted_secrets(deployment, tmp_path, secrets)
        env = env_of(pod_spec(worker)["containers"][0])
        scripted_backend = ScriptedBackend(model=env["A2A_BRIDGE_BACKEND_MODEL"]).start()
        env["A2A_BRIDGE_BACKEND_URL"] = scripted_backend.base_url
        door_port, health_port = free_port(), free_port()
        processes = [
            run_container(pod_spec(front_door)["containers"][0], env, root=tmp_path, port=door_port),
            run_container(pod_spec(worker)["containers"][0], env, root=tmp_path, port=health_port),
        ]
        try:
            wait_healthy(f"http://127.0.0.1:{door_port}/healthz", processes[0], what="the front door", timeout=60)
            wait_healthy(f"http://127.0.0.1:{health_port}/healthz", processes[1], what="the worker", timeout=60)
            scripted_backend.reply("An A100 costs $1,234/month on demand and $599/month on spot.")
            async with RemoteAgent(f"http://127.0.0.1:{door_port}", secret=pair) as remote:
                result = await remote.send("What does an A100 cost a month?")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=15)
            scripted_backend.stop()

    assert result.ok, result.message
    assert result.data["summary"] == "An A100 costs $1,234/month on demand and $599/month on spot."
    assert result.data["estimates"][0]["gpu"] == "A100"
    [request] = scripted_backend.requests
    assert request.model == "Qwen/Qwen2.5-14B-Instruct", "the worker pod called its role's tier model"
