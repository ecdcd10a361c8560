"""The A2A bindings of a served agent: the ASGI app, its routes, handler and executor."""

from a2a_bridge.protocol.server.app import AppConfig, build_app

__all__ = ["AppConfig", "build_app"]
