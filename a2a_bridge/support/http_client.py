"""HTTP clients that share one TLS context.

Building an ``httpx.AsyncClient`` loads the CA bundle into a fresh TLS context:
about 37 ms of CPU, under the GIL. A delegation hop opens a client, so an
orchestrator fanning out to four workers spent ~150 ms on it before any request
left (bench/fanout.py). With the context built once, a client costs 0.1 ms.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx

__all__ = ["async_client"]


@cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def async_client(timeout: float | httpx.Timeout = 5.0) -> httpx.AsyncClient:
    """A new ``httpx.AsyncClient`` with the process's shared TLS context."""
    return httpx.AsyncClient(timeout=timeout, verify=_tls())
