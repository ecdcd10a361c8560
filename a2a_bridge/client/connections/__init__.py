"""One remote replica, whichever protocol it speaks: A2A through the a2a-sdk client, or the tutorial's /tasks/send.

base.py         what a connection is: Connection, Outgoing, TaskQuery, the bindings a caller may ask for
a2a.py          A2A v1.0 and v0.3 through the a2a-sdk client (the only module here that loads the SDK),
                with a2a_results.py reading what comes back and a2a_errors.py mapping its errors
tutorial.py     the tutorial's /tasks/send
http_errors.py  HTTP failures as the core's errors, for both
"""

from __future__ import annotations

import httpx

from a2a_bridge.client.card_view import AgentCardView
from a2a_bridge.client.connections.base import Connection

__all__ = ["open_connection"]


def open_connection(
    card: AgentCardView, *, http: httpx.AsyncClient, bindings: tuple[str, ...] | None = None
) -> Connection:
    """The connection the card's protocol needs."""
    if card.protocol == "tutorial":
        from a2a_bridge.client.connections.tutorial import TutorialConnection

        return TutorialConnection(card, http=http, url=card.url)
    # Imported here: only a call over A2A loads the a2a-sdk.
    from a2a_bridge.client.connections.a2a import A2AConnection

    return A2AConnection(card.raw, http=http, agent=card.name, url=card.url, bindings=bindings)
