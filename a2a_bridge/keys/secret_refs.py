"""Secrets given by reference, so that they need not appear in a process list or a file under git.

VALUE      the secret itself
@FILE      the first line of FILE (``resolve_secrets``: every non-empty line, for secrets being rotated)
env:VAR    the environment variable VAR
"""

from __future__ import annotations

import os
from pathlib import Path

from a2a_bridge.errors import ConfigurationError

__all__ = ["resolve_secret", "resolve_secrets"]


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the file {path}: {exc.strerror}") from None


def resolve_secret(value: str) -> str:
    """The secret ``value`` refers to; ConfigurationError says why it cannot be read."""
    if value.startswith("@"):
        lines = _lines(value[1:])
        return lines[0].strip() if lines else ""
    if value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise ConfigurationError(f"environment variable {var} is not set")
        return os.environ[var]
    return value


def resolve_secrets(value: str) -> list[str]:
    """Every secret ``value`` refers to: a file may hold several, one a line, while one replaces another."""
    if value.startswith("@"):
        return [line.strip() for line in _lines(value[1:]) if line.strip()]
    return [resolve_secret(value)]
