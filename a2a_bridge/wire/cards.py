"""Agent Cards as JSON, both ways, with the v0.3 fields old clients read.

Our own card is written with :func:`card_to_dict`; a remote's is read with
:func:`parse_card`, and :func:`card_problems` says what keeps one from being valid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from a2a.types import AgentCard, InvalidParamsError

from a2a_bridge.wire.parts import plain_json
from a2a_bridge.wire.sdk_internals import agent_card_to_dict, parse_agent_card, validate_proto_required_fields

__all__ = ["card_problems", "card_to_dict", "parse_card"]


def card_to_dict(card: AgentCard) -> dict[str, Any]:
    """A card as JSON, with the v0.3 fields (``url``, ``preferredTransport``) beside the v1.0 ones."""
    result: dict[str, Any] = plain_json(agent_card_to_dict(card))
    return result


def parse_card(raw: Mapping[str, Any]) -> AgentCard:
    """A v1.0 or v0.3 card's JSON as an SDK card.

    Raises:
        Exception: whatever the SDK's parser raises for JSON it cannot read.
    """
    # A JSON round trip first: the parser wants plain dicts and lists, not any Mapping.
    card: AgentCard = parse_agent_card(json.loads(json.dumps(dict(raw))))
    return card


def card_problems(raw: Mapping[str, Any]) -> list[str]:
    """What keeps a card from being a valid A2A card, as 'field: problem' lines."""
    try:
        card = parse_card(raw)
    except Exception as exc:
        return [f"card: {exc}"]
    try:
        validate_proto_required_fields(card)
    except InvalidParamsError as exc:
        errors = exc.data.get("errors", []) if isinstance(exc.data, dict) else []
        return [f"{e['field']}: {e['message']}" for e in errors]
    return []
