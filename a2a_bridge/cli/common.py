"""Helpers shared by the CLI commands."""

from __future__ import annotations

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.keys.secret_refs import resolve_secret

__all__ = ["SECRET_HELP", "read_secret"]

SECRET_HELP = "a secret as VALUE, @FILE (its first line) or env:VAR, so it need not appear in the process list"


def read_secret(value: str, *, what: str) -> str:
    """Resolve ``VALUE``, ``@FILE`` or ``env:VAR``; an error names what the secret was for."""
    try:
        return resolve_secret(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"the secret for {what}: {exc}") from None
