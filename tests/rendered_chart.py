"""Rendering deploy/helm/a2a-bridge with Helm's own engine (the helm-python-sdk wheel), for the chart's tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "a2a-bridge"
DEMO_TOPOLOGY = ROOT / "demos" / "mesh" / "topology.toml"
RELEASE, NAMESPACE = "mesh", "agents"
# What a cluster adds to the topology: the image, and the Secrets and address of its Postgres and Redis.
CLUSTER_FLAGS = [
    "--image", "ghcr.io/example/mesh:0.1.0",
    "--postgres-secret", "mesh-postgres",
    "--redis-secret", "mesh-redis",
    "--redis-address", "redis.data.svc:6379",
    "--public-url", "orchestrator=https://agents.example.com",
]  # fmt: skip


def deploy_values(topology: Path, directory: Path, *flags: str) -> tuple[dict[str, Any], str]:
    """``a2a-bridge deploy values`` as a user runs it: the values it wrote, and what it said on stderr."""
    out = directory / "values.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", "deploy", "values", "--topology", str(topology), "-o", str(out),
         *flags],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return yaml.safe_load(out.read_text(encoding="utf-8")), done.stderr


def render_text(values: dict[str, Any], *, release: str = RELEASE) -> dict[str, str]:
    """Each template's output, by template path."""
    with helm_python.Chart.load(CHART) as chart:
        return chart.render(values, name=release, namespace=NAMESPACE, is_install=True)


def render(values: dict[str, Any], *, release: str = RELEASE) -> list[dict[str, Any]]:
    """Every manifest the chart renders for ``values``, in template order."""
    manifests = []
    for path, text in sorted(render_text(values, release=release).items()):
        if path.endswith(".yaml"):
            manifests += [doc for doc in yaml.safe_load_all(text) if doc]
    return manifests


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}
