"""Helpers shared by the CLI commands."""

from __future__ import annotations

import os
from pathlib import Path

from a2a_bridge.errors import ConfigurationError

__all__ = ["SECRET_HELP", "read_secret"]

SECRET_HELP = "a secret as VALUE, @FILE (its first line) or env:VAR, so it need not appear in the process list"


def read_secret(value: str, *, what: str) -> str:
    """Resolve ``VALUE``, ``@FILE`` or ``env:VAR``."""
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the secret file for {what}: {exc.strerror}") from None
        return lines[0].strip() if lines else ""
    if value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise ConfigurationError(f"environment variable {var} (secret for {what}) is not set")
        return os.environ[var]
    return value
