"""Everything that touches the a2a-sdk. No other part of the core imports it.

When the SDK changes, this folder is the one that changes with it.
"""

from a2a_bridge.protocol.app import AppConfig, build_app
from a2a_bridge.protocol.card import TASK_SCHEMA_EXTENSION

__all__ = ["TASK_SCHEMA_EXTENSION", "AppConfig", "build_app"]
