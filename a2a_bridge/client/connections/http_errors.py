"""HTTP failures as the core's errors, for every client of a remote agent.

One table for both ways of calling: the a2a-sdk client (:mod:`a2a_bridge.client.connections.a2a`)
and the tutorial's ``/tasks/send`` (:mod:`a2a_bridge.client.connections.tutorial`).
"""

from __future__ import annotations

import httpx

from a2a_bridge.errors import (
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteTimeout,
    RemoteUnavailable,
    TaskNotFound,
)

__all__ = ["error_for_status", "error_for_transport"]


def error_for_status(status: int, *, agent: str, url: str) -> RemoteAgentError | None:
    """The error an HTTP status means, or None for a success."""
    where = f"{agent} at {url}" if agent else url
    if status < 400:
        return None
    if status in (401, 403):
        return RemoteAuthError(f"{where} refused the credentials (HTTP {status})", agent=agent, url=url)
    if status == 404:
        return TaskNotFound(f"{where} answered 404: no such task or route", agent=agent, url=url)
    if status == 413:
        return RemoteInputError(f"{where} says the request is too large (HTTP 413)", agent=agent, url=url)
    if status >= 500:
        return RemoteUnavailable(f"{where} failed with HTTP {status}", agent=agent, url=url)
    return RemoteInputError(f"{where} rejected the request with HTTP {status}", agent=agent, url=url)


def error_for_transport(exc: BaseException, *, agent: str, url: str) -> RemoteAgentError | None:
    """The error a timeout or a lost connection means, or None for any other exception."""
    where = f"{agent} at {url}" if agent else url
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return RemoteTimeout(f"{where} did not answer in time", agent=agent, url=url)
    if isinstance(exc, httpx.TransportError):
        return RemoteUnavailable(f"cannot reach {where}: {type(exc).__name__}", agent=agent, url=url)
    return None
