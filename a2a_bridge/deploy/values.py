"""The Helm chart's values for a topology: ``a2a-bridge deploy values --topology mesh.toml``.

Each role on a GPU tier gets the tier's vLLM inside the cluster, one GPU
instance per role on it (the tutorial's fleet: every agent its own inference
process); a role without a tier keeps the backend its ``base_url`` names.
The chart (deploy/helm/a2a-bridge) reads what this writes; its
``values.schema.json`` checks the same shape.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from a2a_bridge.backends.tiers import TIERS, TierProfile, vllm_args
from a2a_bridge.backends.topology import Topology
from a2a_bridge.backends.topology_agents import AgentSpec
from a2a_bridge.errors import ConfigurationError

__all__ = ["DEFAULT_VLLM_IMAGE", "chart_values"]

DEFAULT_VLLM_IMAGE = {"repository": "vllm/vllm-openai", "tag": "v0.11.0"}
# The tutorial's scaling advice for queue-mode workers.
KEDA_DEFAULTS = {"lagCount": 20, "cooldownPeriod": 300, "pollingInterval": 15}


def chart_values(topology: Topology, *, image: str | None = None) -> dict[str, Any]:
    """Values for ``topology``'s agents, with ``image`` (repository:tag) holding their code; set it later if None."""
    if not topology.agents:
        raise ConfigurationError(
            "the topology has no [agents.<name>] tables; a deployment needs to know what each agent serves "
            "(docs/kubernetes.md)"
        )
    repository, tag = _split_image(image) if image else ("", "")
    roles = {agent.role for agent in topology.agents.values()}
    on_tier = Counter(tier for role in roles if (tier := topology.backends[role].tier) is not None)
    return {
        "image": {"repository": repository, "tag": tag},
        "tiers": {name: _tier(TIERS[name], replicas) for name, replicas in sorted(on_tier.items())},
        "roles": {role: _role(topology, role) for role in sorted(roles)},
        "agents": {name: _agent(agent) for name, agent in topology.agents.items()},
        "keda": dict(KEDA_DEFAULTS),
    }


def _split_image(image: str) -> tuple[str, str]:
    repository, _, tag = image.rpartition(":")
    if not repository or not tag or "/" in tag:
        raise ConfigurationError(f"--image {image!r}: give the agents' image as REPOSITORY:TAG")
    return repository, tag


def _tier(tier: TierProfile, replicas: int) -> dict[str, Any]:
    if tier.gpu_product is None:
        raise ConfigurationError(
            f"tier {tier.name} runs on one machine, not in a cluster; give its roles a GPU tier, "
            "or a base_url and a model without a tier"
        )
    return {
        "replicas": replicas,
        "model": tier.model,
        "args": vllm_args(tier),
        "gpu": {"product": tier.gpu_product, "count": 1},
        "capacity": tier.capacity,
        "hourlyUsd": tier.hourly_usd,
        "spotHourlyUsd": tier.spot_hourly_usd,
    }


def _role(topology: Topology, role: str) -> dict[str, Any]:
    backend = topology.backends[role]
    if backend.tier:
        return {"tier": backend.tier, "model": backend.request_model}
    values: dict[str, Any] = {"baseUrl": backend.base_url, "model": backend.request_model}
    if backend.api_key != "EMPTY":
        # The key itself stays out of the values: the chart mounts this Secret, which you create.
        values["apiKeySecret"] = f"backend-{role}"
    return values


def _agent(agent: AgentSpec) -> dict[str, Any]:
    values: dict[str, Any] = {
        "serve": agent.serve,
        "role": agent.role,
        "public": agent.public,
        "calls": list(agent.calls),
        "replicas": agent.replicas,
        "queue": agent.queue,
        "checkpointer": agent.checkpointer,
        "capacity": agent.capacity,
    }
    if agent.queue:
        values["workers"] = {"max": agent.max_workers, "concurrency": agent.concurrency}
    if agent.env:
        values["env"] = dict(agent.env)
    if agent.sidecars:
        values["sidecars"] = {name: list(command) for name, command in agent.sidecars.items()}
    return values
