"""Checking one table of a TOML file, with errors that name the file, the table and the key."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from a2a_bridge.errors import ConfigurationError

__all__ = ["check_table"]


def check_table(spec: Any, where: str, *, known: Collection[str], strings: Collection[str], shape: str) -> None:
    """Raise unless ``spec`` is a table of ``known`` keys whose ``strings`` are non-empty strings.

    ``where`` names the table (``mesh.toml: agents.worker``); ``shape`` says what it should hold.
    """
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{where}: must be a table with {shape}")
    unknown = set(spec) - set(known)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})"
        )
    for key in sorted(set(strings) & set(spec)):
        if not isinstance(spec[key], str) or not spec[key]:
            raise ConfigurationError(f"{where}.{key}: must be a non-empty string")
