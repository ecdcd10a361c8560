"""Telling a service that was out of reach (worth trying again) from a request that was wrong (never retried)."""

from __future__ import annotations

__all__ = ["is_outage"]


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database, Redis or the network failed: a restart, a cut connection, a timeout."""
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # no event bus or queue installed
        pass
    else:
        if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
            return True
    try:
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    except ImportError:  # the memory store: nothing to reach
        return False
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    # asyncpg's "connection was closed in the middle of operation" arrives as a plain DBAPIError.
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
