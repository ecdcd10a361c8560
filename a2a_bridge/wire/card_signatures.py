"""Signed Agent Cards as A2A v1.0 defines them, by the a2a-sdk: a JWS over the card's canonical JSON (RFC 8785).

The server signs each card it serves; a caller verifies a fetched card against
keys it trusts, never against a key the card points to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from a2a.types import AgentCard

from a2a_bridge.keys.signing_keys import SigningKey
from a2a_bridge.wire.cards import parse_card
from a2a_bridge.wire.sdk_internals import card_signing

__all__ = ["CardSignatureError", "card_signer", "verify_card"]


class CardSignatureError(Exception):
    """A card that is unsigned or whose signatures all fail; the message says which."""


def card_signer(key: SigningKey) -> Callable[[AgentCard], AgentCard]:
    """A function that appends this key's signature to a card."""
    import jwt

    create_agent_card_signer = card_signing()[0]
    # The protected header: the key's id and algorithm; "JOSE", as the spec advises for a detached-style JWS.
    header: Any = {"kid": key.kid, "alg": key.alg, "typ": "JOSE"}
    signer: Callable[[AgentCard], AgentCard] = create_agent_card_signer(jwt.PyJWK(dict(key.jwk)), header)
    return signer


def verify_card(raw: Mapping[str, Any], keys: Mapping[str, Mapping[str, Any]], *, required: bool) -> bool:
    """Check a fetched card's signatures against trusted public keys, by key id.

    Returns whether the card was signed (and verified). An unsigned card passes
    unless ``required``.

    Raises:
        CardSignatureError: no signature verifies, or none is there and one is required.
    """
    import jwt

    _, create_signature_verifier, _, SignatureVerificationError = card_signing()
    if not raw.get("signatures"):
        if required:
            raise CardSignatureError("the card is not signed, and a signed card is required")
        return False
    trusted = {kid: jwt.PyJWK(dict(jwk)) for kid, jwk in keys.items()}
    algorithms = sorted({str(jwk["alg"]) for jwk in keys.values()})

    def key_for(kid: str | None, jku: str | None) -> Any:
        # ``jku`` is ignored on purpose: a key the card points to proves nothing about the card.
        if kid is not None and kid in trusted:
            return trusted[kid]
        if len(trusted) == 1:  # one trusted key, perhaps from a PEM file, which names no key id
            return next(iter(trusted.values()))
        raise jwt.InvalidKeyError("no trusted key has this id")

    try:
        card = parse_card(raw)
    except Exception:  # the SDK's parser raises several kinds for JSON that is not a card
        raise CardSignatureError("the card cannot be read to check its signatures") from None
    try:
        create_signature_verifier(key_for, algorithms)(card)
    except SignatureVerificationError:  # its NoSignatureError too, though an unsigned card was answered above
        raise CardSignatureError("no signature on the card verifies with a trusted key") from None
    return True
