"""``PodSettings``: what the chart gives an agent's pod, read back by the agent's own code.

    settings = PodSettings.from_environ()
    model = settings.backend.chat_model()           # its role's vLLM tier, inside the cluster
    registry = AgentRegistry.from_urls(settings.peers, secrets=settings.peer_secrets)

The chart sets ``A2A_BRIDGE_*`` variables and mounts each secret as a file;
nothing here is read unless the agent's code asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from a2a_bridge.backends.backend import Backend
from a2a_bridge.errors import ConfigurationError

__all__ = ["PodSettings"]


@dataclass(frozen=True)
class PodSettings:
    """An agent's name, its backend, and the agents it calls with their bearer secrets."""

    agent: str
    backend: Backend
    peers: Mapping[str, str] = field(default_factory=dict)
    peer_secrets: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> PodSettings:
        """Read the chart's variables from ``environ`` (the process's environment by default)."""
        env = os.environ if environ is None else environ
        agent = _required(env, "A2A_BRIDGE_AGENT")
        key_file = env.get("A2A_BRIDGE_BACKEND_API_KEY_FILE")
        backend = Backend(
            _required(env, "A2A_BRIDGE_BACKEND_URL"),
            model=_required(env, "A2A_BRIDGE_BACKEND_MODEL"),
            api_key=_read(Path(key_file), "A2A_BRIDGE_BACKEND_API_KEY_FILE") if key_file else "EMPTY",
            tier=env.get("A2A_BRIDGE_BACKEND_TIER") or None,
        )
        peers = _peers(env.get("A2A_BRIDGE_PEERS", ""))
        secrets_dir = Path(env.get("A2A_BRIDGE_PEER_SECRETS", "/var/run/a2a-bridge/peers"))
        secrets = {name: _read(secrets_dir / name / "secret", f"the secret for {name}") for name in peers}
        return cls(agent=agent, backend=backend, peers=peers, peer_secrets=secrets)


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if not value:
        raise ConfigurationError(
            f"{name} is not set: PodSettings reads what the a2a-bridge Helm chart gives an agent's pod "
            "(docs/kubernetes.md)"
        )
    return value


def _peers(value: str) -> dict[str, str]:
    peers: dict[str, str] = {}
    for item in filter(None, value.split(",")):
        name, sep, url = item.partition("=")
        if not sep or not name or not url:
            raise ConfigurationError(f"A2A_BRIDGE_PEERS: {item!r} is not NAME=URL")
        peers[name] = url
    return peers


def _read(path: Path, what: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} from {path}: {exc.strerror}") from None
    if not value:
        raise ConfigurationError(f"{path} is empty; it should hold {what}")
    return value
