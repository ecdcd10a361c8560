"""The MCP server of the demo: a `search_notes` tool over the local GPU pricing corpus.

python -m demos.mesh.mcp_server --port 8765     (streamable HTTP on 127.0.0.1)
"""

from __future__ import annotations

import argparse

from mcp.server.fastmcp import FastMCP

from demos.mesh.notes import search


def build(port: int) -> FastMCP:
    server = FastMCP("gpu-pricing-notes", host="127.0.0.1", port=port, log_level="WARNING")

    @server.tool()
    def search_notes(query: str, limit: int = 3) -> list[dict[str, object]]:
        """Search the GPU cloud pricing notes. Returns the best notes: title, source and matching facts."""
        return search(query, limit)

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="MCP server over the demo's GPU pricing notes")
    parser.add_argument("--port", type=int, default=8765)
    build(parser.parse_args().port).run(transport="streamable-http")


if __name__ == "__main__":
    main()
