"""Secrets given by reference, so that they need not appear in a process list or a file under git.

VALUE      the secret itself
@FILE      the first line of FILE
env:VAR    the environment variable VAR
"""

from __future__ import annotations

import os
from pathlib import Path

from a2a_bridge.errors import ConfigurationError

__all__ = ["resolve_secret"]


def resolve_secret(value: str) -> str:
    """The secret ``value`` refers to; ConfigurationError says why it cannot be read."""
    if value.startswith("@"):
        try:
            lines = Path(value[1:]).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the file {value[1:]}: {exc.strerror}") from None
        return lines[0].strip() if lines else ""
    if value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise ConfigurationError(f"environment variable {var} is not set")
        return os.environ[var]
    return value
