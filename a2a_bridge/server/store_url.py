"""Where a served agent keeps its tasks, chosen by URL.

memory                      in this process; the newest finished tasks are kept
sqlite:///path/tasks.db     one host; tasks survive a restart
postgresql://user@host/db   shared by every replica
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.support.urls import hide_password

__all__ = ["StoreUrl", "check_event_bus", "parse_store_url"]

StoreKind = Literal["memory", "sqlite", "postgresql"]

_SQLITE = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
_DRIVERS: dict[str, tuple[str, ...]] = {
    "sqlite": ("sqlalchemy", "aiosqlite"),
    "postgresql": ("sqlalchemy", "asyncpg"),
    "redis": ("redis",),
}
_EXTRAS = {"sqlite": "sqlite", "postgresql": "postgres", "redis": "redis"}


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A parsed store URL.

    Attributes:
        kind: ``memory``, ``sqlite`` or ``postgresql``.
        url: The SQLAlchemy URL with its async driver; empty for memory.
        shown: The URL with any password hidden, for logs and errors.
    """

    kind: StoreKind
    url: str = ""
    shown: str = "memory"

    @property
    def durable(self) -> bool:
        return self.kind != "memory"


def _check_drivers(kind: str, shown: str) -> None:
    missing = [name for name in _DRIVERS[kind] if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(
            f"store {shown!r} needs {' and '.join(missing)}: pip install 'a2a-bridge-core[{_EXTRAS[kind]}]'"
        )


def parse_store_url(value: str) -> StoreUrl:
    """Read ``memory``, ``sqlite:///PATH`` or ``postgresql://...``; say what is wrong otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError("store must be 'memory', 'sqlite:///PATH' or 'postgresql://...'")
    value = value.strip()
    if value == "memory":
        return StoreUrl("memory")
    if value.startswith(_SQLITE):
        path = value[len(_SQLITE) :]
        if not path or path.endswith("/"):
            raise ConfigurationError(f"store {value!r} names no database file: use sqlite:///PATH/tasks.db")
        if not Path(path).parent.is_dir():
            raise ConfigurationError(f"store {value!r}: the folder {str(Path(path).parent)!r} does not exist")
        _check_drivers("sqlite", value)
        return StoreUrl("sqlite", f"sqlite+aiosqlite:///{path}", value)
    scheme, _, rest = value.partition("://")
    if scheme in _POSTGRES_SCHEMES and rest:
        shown = hide_password(value)
        if not urlsplit(value).hostname:
            raise ConfigurationError(f"store {shown!r} names no host")
        _check_drivers("postgresql", shown)
        return StoreUrl("postgresql", f"postgresql+asyncpg://{rest}", shown)
    raise ConfigurationError(
        f"store {hide_password(value)!r} is not one of 'memory', 'sqlite:///PATH' or 'postgresql://...'"
    )


def check_redis_url(value: object, *, what: str) -> str:
    """A Redis URL, with the driver installed; the error names ``what`` and hides a password."""
    shown = hide_password(value) if isinstance(value, str) else repr(value)
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(f"{what} {shown!r} must be a Redis URL: redis://HOST:PORT/DB")
    _check_drivers("redis", shown)
    return value


def check_event_bus(value: str, store: StoreUrl) -> None:
    """An event bus is a Redis URL, and serves replicas that share a database store."""
    check_redis_url(value, what="event_bus")
    if not store.durable:
        raise ConfigurationError("event_bus joins replicas that share a store: give store='postgresql://...' too")
