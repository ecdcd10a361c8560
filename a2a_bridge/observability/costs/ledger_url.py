"""The cost ledger, chosen by URL: every ended turn, priced, kept to be summed up later.

sqlite:///PATH      one row per turn, in a file (the default: sqlite:///a2a-bridge-costs.db)
redis://HOST:PORT/DB  the tutorial's layout: a ``cost:{task_id}`` hash per task, its turns added up

Several processes may write one ledger at once (the workers of a mesh).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.observability.costs.ledger import CostLedger
from a2a_bridge.support.urls import hide_password

__all__ = ["DEFAULT_LEDGER", "check_ledger_url", "open_ledger", "sqlite_path"]

DEFAULT_LEDGER = "sqlite:///a2a-bridge-costs.db"
_SQLITE = "sqlite:///"
_REDIS = ("redis://", "rediss://", "unix://")


def check_ledger_url(value: object) -> str:
    """A usable ledger URL, or a ConfigurationError that says what is wrong (never the password)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"ledger must be 'sqlite:///PATH' or 'redis://HOST:PORT/DB', got {value!r}")
    value = value.strip()
    shown = hide_password(value)
    if value.startswith(_SQLITE):
        path = value[len(_SQLITE) :]
        if not path or path.endswith("/"):
            raise ConfigurationError(f"ledger {shown!r} names no file: use sqlite:///PATH/costs.db")
        if not Path(path).parent.is_dir():
            raise ConfigurationError(f"ledger {shown!r}: the folder {str(Path(path).parent)!r} does not exist")
        _need(("sqlalchemy", "aiosqlite"), "sqlite", shown)
    elif value.startswith(_REDIS):
        _need(("redis",), "redis", shown)
    else:
        raise ConfigurationError(f"ledger {shown!r} is not 'sqlite:///PATH' or 'redis://HOST:PORT/DB'")
    return value


def _need(modules: tuple[str, ...], extra: str, shown: str) -> None:
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigurationError(
            f"ledger {shown!r} needs {' and '.join(missing)}: pip install 'a2a-bridge-core[{extra}]'"
        )


def sqlite_path(url: str) -> str | None:
    """The file a ``sqlite:///PATH`` ledger URL names; None for any other ledger."""
    return url[len(_SQLITE) :] if url.startswith(_SQLITE) else None


def open_ledger(url: str = DEFAULT_LEDGER) -> CostLedger:
    """The ledger ``url`` names; it connects at its first use, in the caller's event loop."""
    url = check_ledger_url(url)
    if (path := sqlite_path(url)) is not None:
        from a2a_bridge.observability.costs.sqlite_ledger import SqliteLedger

        return SqliteLedger(path)
    from a2a_bridge.observability.costs.redis_ledger import RedisLedger

    return RedisLedger(url)
