"""Clients share one TLS context, and it still verifies servers."""

from __future__ import annotations

import ssl

from a2a_bridge.support.http_client import async_client


def _tls(client) -> ssl.SSLContext:
    return client._transport._pool._ssl_context


async def test_clients_share_one_verifying_tls_context():
    first, second = async_client(), async_client(30.0)
    try:
        assert _tls(first) is _tls(second)
        assert _tls(first).verify_mode == ssl.CERT_REQUIRED
        assert _tls(first).check_hostname
        assert second.timeout.read == 30.0
    finally:
        await first.aclose()
        await second.aclose()
