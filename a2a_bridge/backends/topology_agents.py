"""The ``[agents.<name>]`` tables of a topology file: which agents make up the mesh.

    [agents.orchestrator]
    serve = "my_mesh.orchestrator:graph"   # what `a2a-bridge serve` runs
    role = "orchestrator"                  # its backend role (default: the agent's name)
    public = true                          # reachable from outside the mesh
    calls = ["research-worker"]            # a bearer secret per caller-callee pair

    [agents.research-worker]
    serve = "my_mesh.research:crew"
    queue = true                           # queue mode: a front door and workers scaled on queue depth
    max_workers = 20

Backends are enough to run the demo on one machine; ``a2a-bridge deploy values``
needs the agents too, to write a cluster's values from the same file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from a2a_bridge.backends.tiers import Capacity
from a2a_bridge.backends.toml_tables import check_table
from a2a_bridge.errors import ConfigurationError

__all__ = ["AgentSpec", "parse_agents"]

_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
# DNS-1035 labels, so that a name can be a Kubernetes Service name as it is.
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRINGS = {"serve", "role", "capacity"}
_BOOLS = {"public", "queue", "checkpointer"}
_INTS = {"replicas": (1, 100), "max_workers": (1, 1000), "concurrency": (1, 1024)}
_KEYS = _STRINGS | _BOOLS | set(_INTS) | {"calls", "env", "sidecars"}
_CAPACITIES: tuple[Capacity, ...] = ("on-demand", "spot")


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the mesh, as a deployment needs it."""

    name: str
    serve: str
    role: str
    public: bool = False
    calls: tuple[str, ...] = ()
    queue: bool = False
    checkpointer: bool = False
    replicas: int = 1
    max_workers: int = 10
    concurrency: int = 16
    capacity: Capacity = "spot"
    env: Mapping[str, str] = field(default_factory=dict)
    sidecars: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def parse_agents(raw: Any, roles: Mapping[str, Any], source: str) -> dict[str, AgentSpec]:
    """Every ``[agents.<name>]`` table, checked against the roles and each other."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigurationError(f"{source}: [agents] needs an [agents.<name>] table for each agent")
    agents = {name: _agent(name, spec, roles, f"{source}: agents.{name}") for name, spec in raw.items()}
    for agent in agents.values():
        for callee in agent.calls:
            if callee not in agents:
                known = ", ".join(sorted(agents))
                raise ConfigurationError(f"{source}: agents.{agent.name}.calls: no agent {callee!r} (agents: {known})")
    if not any(agent.public for agent in agents.values()):
        raise ConfigurationError(f"{source}: no agent is public; mark the orchestrator with public = true")
    return agents


def _agent(name: str, spec: Any, roles: Mapping[str, Any], where: str) -> AgentSpec:
    if not _NAME.match(name):
        raise ConfigurationError(f"{where}: a name must be lower-case letters, digits and '-', starting with a letter")
    check_table(spec, where, known=_KEYS, strings=_STRINGS, shape="serve = 'module:attr'")
    for key in _BOOLS & set(spec):
        if not isinstance(spec[key], bool):
            raise ConfigurationError(f"{where}.{key}: must be true or false")
    for key, (low, high) in _INTS.items():
        value = spec.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigurationError(f"{where}.{key}: must be a whole number from {low} to {high}")
    serve = spec.get("serve")
    if not isinstance(serve, str) or not _TARGET.match(serve):
        raise ConfigurationError(f"{where}.serve: give the object to serve as module:attr, e.g. my_mesh.research:crew")
    role = spec.get("role", name)
    if role not in roles:
        raise ConfigurationError(f"{where}.role: no role {role!r} in [roles] (roles: {', '.join(sorted(roles))})")
    public = spec.get("public", False)
    capacity = spec.get("capacity", "on-demand" if public else "spot")
    if capacity not in _CAPACITIES:
        raise ConfigurationError(f"{where}.capacity: must be one of {', '.join(_CAPACITIES)}")
    return AgentSpec(
        name=name,
        serve=serve,
        role=role,
        public=public,
        calls=_calls(spec.get("calls", []), name, where),
        queue=spec.get("queue", False),
        checkpointer=spec.get("checkpointer", False),
        replicas=spec.get("replicas", 1),
        max_workers=spec.get("max_workers", 10),
        concurrency=spec.get("concurrency", 16),
        capacity=capacity,
        env=_env(spec.get("env", {}), where),
        sidecars=_sidecars(spec.get("sidecars", {}), where),
    )


def _calls(value: Any, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"{where}.calls: must be a list of agent names")
    if name in value:
        raise ConfigurationError(f"{where}.calls: an agent does not call itself")
    if len(set(value)) != len(value):
        raise ConfigurationError(f"{where}.calls: names an agent twice")
    return tuple(value)


def _env(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}.env: must be a table of NAME = 'value'")
    for key, item in value.items():
        if not _ENV_NAME.match(key) or not isinstance(item, str):
            raise ConfigurationError(f"{where}.env.{key}: must be NAME = 'a string'")
        if key.startswith("A2A_BRIDGE_"):
            raise ConfigurationError(f"{where}.env.{key}: A2A_BRIDGE_ variables are set by the deployment")
    return dict(value)


def _sidecars(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where}.sidecars: must be a table of name = ['command', 'arg', ...]")
    for key, command in value.items():
        if not _NAME.match(key):
            raise ConfigurationError(f"{where}.sidecars.{key}: a name must be lower-case letters, digits and '-'")
        if not isinstance(command, list) or not command or not all(isinstance(arg, str) for arg in command):
            raise ConfigurationError(f"{where}.sidecars.{key}: must be a command as a list of strings")
    return {key: tuple(command) for key, command in value.items()}
