"""One remote replica through the a2a-sdk client, in the core's types and errors."""

from a2a_bridge.protocol.client.connection import A2AConnection, sdk_card_as_dict

__all__ = ["A2AConnection", "sdk_card_as_dict"]
