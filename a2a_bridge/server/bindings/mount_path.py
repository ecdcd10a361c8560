"""Serving an agent under a path: mounted in another ASGI app, or behind a proxy, at ``public_url``'s path.

ASGI names that path ``root_path``: Starlette's ``Mount`` sets it, uvicorn's
``--root-path`` sets it, and routes match the request path with it taken off.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PublicPathPrefix", "route_path", "url_path"]


def route_path(scope: Scope) -> str:
    """The request path below the agent's root path, the way Starlette's router matches it."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


def url_path(url: str) -> str:
    """The path of ``url`` without its trailing slash: ``https://gw.example/research/`` gives ``/research``."""
    return urlsplit(url).path.rstrip("/")


class PublicPathPrefix:
    """Serves the agent under the path of its public URL, with the prefix or without it.

    A proxy that passes ``/research/tasks/send`` on unchanged and one that strips
    it to ``/tasks/send`` both reach the route, because the router takes the root
    path off only where the request path starts with it. An app already mounted
    under a path keeps the root path its parent gave it.
    """

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path") and _under(scope["path"], self.prefix):
            # Only a path under the prefix: a stripped one given the prefix as root misses routes that mount
            # below it (the tenant routes, /{tenant}/message:send).
            scope = {**scope, "root_path": self.prefix}
        await self.app(scope, receive, send)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")
