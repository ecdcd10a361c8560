"""The keys a caller trusts to sign Agent Cards, and the check of a fetched card against them.

    RemoteAgent(url, card_keys=CardKeys("https://keys.example.com/agents.jwks"))
    RemoteAgent(url, card_keys="/etc/a2a/research-card.pub.pem")   # a file: PEM, JWK or JWK Set

Only keys given here count: a key the card itself points to (``jku``) proves
nothing. With ``required`` (the default) an unsigned card is refused too, so a
card whose signature was stripped on the way is not taken for an unsigned one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from a2a_bridge.errors import CardError, ConfigurationError
from a2a_bridge.keys.signing_keys import public_keys, read_public_keys

__all__ = ["CardKeys"]

REFETCH_SECONDS = 5.0  # a JWKS URL is read again after this long, when a card's signature fails


class CardKeys:
    """Public keys that sign the Agent Cards a caller trusts.

    Args:
        source: A JWKS URL (``https://...``), a key file (PEM public key, JWK
            or JWK Set), or a JWK / JWK Set as a dict.
        required: Refuse unsigned cards too, not only wrongly signed ones.
    """

    def __init__(self, source: str | Path | Mapping[str, Any], *, required: bool = True) -> None:
        self.required = required
        self.url: str | None = None
        self._keys: dict[str, Mapping[str, Any]] = {}
        self._read_at = float("-inf")
        if isinstance(source, str) and source.startswith(("https://", "http://")):
            self.url = source
        elif isinstance(source, (str, Path)):
            self._keys = read_public_keys(source)
        elif isinstance(source, Mapping):
            self._keys = public_keys(source)
        else:
            raise ConfigurationError(
                f"card_keys takes a JWKS URL, a key file or a JWK Set, not {type(source).__name__}"
            )

    @classmethod
    def of(cls, given: CardKeys | str | Path | Mapping[str, Any] | None) -> CardKeys | None:
        return given if isinstance(given, CardKeys) or given is None else cls(given)

    def __repr__(self) -> str:
        return f"CardKeys({self.url or sorted(self._keys)!r}, required={self.required})"

    async def check(self, raw: Mapping[str, Any], *, http: httpx.AsyncClient, url: str) -> bool:
        """Verify a fetched card; True when it was signed. Raises :class:`CardError` saying why it is refused."""
        from a2a_bridge.wire.card_signatures import CardSignatureError, verify_card

        keys = await self._current(http, url)
        try:
            return verify_card(raw, keys, required=self.required)
        except CardSignatureError as first:
            if self.url is None or time.monotonic() - self._read_at < REFETCH_SECONDS:
                raise CardError(f"the card at {url} is refused: {first}", url=url) from None
        keys = await self._current(http, url, again=True)  # the signer may have rotated its key
        try:
            return verify_card(raw, keys, required=self.required)
        except CardSignatureError as exc:
            raise CardError(f"the card at {url} is refused: {exc}", url=url) from None

    async def _current(
        self, http: httpx.AsyncClient, url: str, *, again: bool = False
    ) -> Mapping[str, Mapping[str, Any]]:
        if self.url is None or (self._keys and not again):
            return self._keys
        # No lock: a RemoteAgent may run on any event loop, and two reads at once do no harm.
        try:
            response = await http.get(self.url, timeout=10, follow_redirects=False)
            response.raise_for_status()
            self._keys = public_keys(response.json())
        except (httpx.HTTPError, ValueError, ConfigurationError) as exc:
            if not self._keys:
                raise CardError(
                    f"cannot check the card at {url}: the keys at {self.url} cannot be read ({exc})", url=url
                ) from None
        self._read_at = time.monotonic()
        return self._keys
