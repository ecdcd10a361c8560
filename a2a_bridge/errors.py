"""The exceptions a2a-bridge raises.

BridgeError
 ├── ConfigurationError     bad arguments to to_a2a / serve / the CLI
 │    └── AdapterNotFound   no installed adapter (or several) claims the object
 └── InputValidationError   a task's input does not match the input schema
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AdapterNotFound",
    "BridgeError",
    "ConfigurationError",
    "FieldError",
    "InputValidationError",
]


class BridgeError(Exception):
    """Base class of every error a2a-bridge raises on purpose."""


class ConfigurationError(BridgeError):
    """An argument, file or flag given to a2a-bridge is not usable."""


class AdapterNotFound(ConfigurationError):
    """No adapter, or more than one, claims the object to serve."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field, e.g. ``input.max_sources``."""

    field: str
    message: str


class InputValidationError(BridgeError):
    """A task's input does not match the agent's input schema.

    Attributes:
        errors: One entry per offending field, in a stable order.
    """

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
