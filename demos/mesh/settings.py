"""How the demo's worker processes learn their backend and peers: environment
variables that demos/mesh/run.py sets for each process it starts, or, in a pod
of the Helm chart, the ones the chart sets (a2a_bridge.deploy.PodSettings)."""

from __future__ import annotations

import os

from a2a_bridge import Backend
from a2a_bridge.deploy import PodSettings


def backend(role: str) -> Backend:
    """The backend for ``role``, from MESH_<ROLE>_URL / _MODEL / _KEY (role upper-cased, - as _)."""
    if "A2A_BRIDGE_BACKEND_URL" in os.environ:
        return PodSettings.from_environ().backend
    prefix = "MESH_" + role.upper().replace("-", "_")
    return Backend(
        os.environ.get(f"{prefix}_URL", "http://127.0.0.1:8000/v1"),
        model=os.environ.get(f"{prefix}_MODEL", "smollm2-135m-instruct"),
        api_key=os.environ.get(f"{prefix}_KEY", "EMPTY"),
    )


def mcp_url() -> str:
    return os.environ.get("MESH_MCP_URL", "http://127.0.0.1:8765/mcp")


MAX_TOKENS = int(os.environ.get("MESH_MAX_TOKENS", "96"))
