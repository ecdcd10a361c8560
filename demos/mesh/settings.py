"""How the demo's worker processes learn their backend and peers: environment
variables that demos/mesh/run.py sets for each process it starts."""

from __future__ import annotations

import os

from a2a_bridge import Backend


def backend(role: str) -> Backend:
    """The backend for ``role``, from MESH_<ROLE>_URL / _MODEL / _KEY (role upper-cased, - as _)."""
    prefix = "MESH_" + role.upper().replace("-", "_")
    return Backend(
        os.environ.get(f"{prefix}_URL", "http://127.0.0.1:8000/v1"),
        model=os.environ.get(f"{prefix}_MODEL", "smollm2-135m-instruct"),
        api_key=os.environ.get(f"{prefix}_KEY", "EMPTY"),
    )


def mcp_url() -> str:
    return os.environ.get("MESH_MCP_URL", "http://127.0.0.1:8765/mcp")


MAX_TOKENS = int(os.environ.get("MESH_MAX_TOKENS", "96"))
