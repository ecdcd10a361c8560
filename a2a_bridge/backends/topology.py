"""A topology file: which backend serves each agent role.

    # topology.toml
    [roles.orchestrator]
    tier = "orchestrator-h200"
    base_url = "http://10.0.0.4:8001/v1"

    [roles.research-worker]
    tier = "worker-a100-14b"
    base_url = "http://10.0.0.7:8002/v1"
    api_key = "env:WORKER_VLLM_KEY"     # optional: a value, @FILE or env:VAR

    [roles.synthesis-worker]
    base_url = "http://10.0.0.8:8002/v1"
    model = "Qwen/Qwen2.5-14B-Instruct" # optional when a tier names it

    [agents.research-worker]            # optional: the agents, for `a2a-bridge deploy values`
    serve = "my_mesh.research:crew"     # (topology_agents.py)

Every mistake is reported with the file, the role and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a2a_bridge.backends.backend import Backend
from a2a_bridge.backends.tiers import TIERS
from a2a_bridge.backends.toml_tables import check_table
from a2a_bridge.backends.topology_agents import AgentSpec, parse_agents
from a2a_bridge.errors import ConfigurationError
from a2a_bridge.keys.secret_refs import resolve_secret

__all__ = ["Topology"]

_KEYS = {"tier", "base_url", "model", "served_model_name", "api_key"}


@dataclass(frozen=True)
class Topology:
    """Backends by agent role, and the agents when the file names them."""

    backends: Mapping[str, Backend]
    agents: Mapping[str, AgentSpec] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Topology:
        file = Path(path)
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"cannot read topology file {file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{file}: not valid TOML: {exc}") from None
        return cls.from_dict(raw, source=str(file))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "topology") -> Topology:
        extra = set(raw) - {"roles", "agents"}
        if extra:
            raise ConfigurationError(
                f"{source}: unknown section(s) {', '.join(sorted(extra))}; use [roles.<name>] and [agents.<name>]"
            )
        roles = raw.get("roles")
        if not isinstance(roles, Mapping) or not roles:
            raise ConfigurationError(f"{source}: no roles; add a [roles.<name>] table for each agent role")
        backends = {name: _backend(name, spec, source) for name, spec in roles.items()}
        agents = parse_agents(raw["agents"], roles, source) if "agents" in raw else {}
        return cls(backends, agents)

    @classmethod
    def single(cls, backend: Backend, roles: Iterable[str]) -> Topology:
        """Every role on one backend, e.g. the embedded vLLM."""
        return cls({role: backend for role in roles})

    def backend(self, role: str) -> Backend:
        try:
            return self.backends[role]
        except KeyError:
            known = ", ".join(sorted(self.backends)) or "none"
            raise ConfigurationError(f"the topology has no role {role!r} (roles: {known})") from None

    def require(self, roles: Iterable[str]) -> None:
        """Raise unless every one of ``roles`` has a backend."""
        missing = [role for role in roles if role not in self.backends]
        if missing:
            raise ConfigurationError(f"the topology has no backend for role(s): {', '.join(missing)}")


def _backend(role: str, spec: Any, source: str) -> Backend:
    where = f"{source}: roles.{role}"
    check_table(spec, where, known=_KEYS, strings=_KEYS, shape="base_url and a tier or model")
    tier = spec.get("tier")
    if tier is not None and tier not in TIERS:
        raise ConfigurationError(f"{where}.tier: unknown tier {tier!r} (known: {', '.join(TIERS)})")
    if "base_url" not in spec:
        raise ConfigurationError(f"{where}: base_url is required, e.g. http://10.0.0.7:8002/v1")
    model = spec.get("model") or (TIERS[tier].model if tier else None)
    if not model:
        raise ConfigurationError(f"{where}: give a model, or a tier that names one")
    served = spec.get("served_model_name") or (TIERS[tier].served_model_name if tier and "model" not in spec else None)
    try:
        return Backend(
            spec["base_url"],
            model=model,
            api_key=_api_key(spec.get("api_key"), where),
            tier=tier,
            served_model_name=served,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _api_key(value: str | None, where: str) -> str:
    if value is None:
        return "EMPTY"
    try:
        return resolve_secret(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}.api_key: {exc}") from None
