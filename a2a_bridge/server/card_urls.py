"""Which URL a card request gets a card for: a configured public URL, or the server's own address.

A caller's ``Host`` may choose among the configured URLs, never add one, so a
signed card names only URLs the operator chose and the cards an agent builds
are bounded by its configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Scope

__all__ = ["CardUrls"]


class CardUrls:
    """The URL each card request gets a card for: a configured public URL, or the server's own address.

    With public URLs, a request gets the card of the one it names: by its
    ``Host``, or, from a trusted proxy, by the last ``Forwarded`` element's
    ``host`` and ``proto`` (else the last ``X-Forwarded-Host`` and
    ``X-Forwarded-Proto``), which the nearest proxy set. A request naming none
    of them gets the first. Without public URLs, it gets the address of the
    socket it came in on, under the ASGI root path. So the cards are as many as
    the configuration and the server's sockets allow, whatever hosts callers
    send, and a signed card names only URLs the operator chose.
    """

    def __init__(
        self, public_urls: Sequence[str] = (), *, trusted_proxies: Sequence[IPv4Network | IPv6Network] = ()
    ) -> None:
        self.public_urls = tuple(public_urls)
        self._trusted = tuple(trusted_proxies)
        self._by_host: dict[tuple[str, int | None], list[str]] = {}
        for url in self.public_urls:
            if (key := _host_key(urlsplit(url).netloc)) is not None:
                self._by_host.setdefault(key, []).append(url)

    @property
    def default(self) -> str:
        """The first public URL; without one, loopback, as a request without a socket address gets."""
        return self.public_urls[0] if self.public_urls else "http://127.0.0.1"

    def base_url(self, scope: Scope) -> str:
        """The URL the card for this request is built for, without a trailing slash."""
        if not self.public_urls:
            return _own_address(scope)
        scheme, host = self._addressed(scope)
        named = self._by_host.get(_host_key(host) or ("", None), [])
        same_scheme = [url for url in named if url.startswith(f"{scheme}://")]
        return (same_scheme or named or [self.default])[0]

    def _addressed(self, scope: Scope) -> tuple[str, str]:
        """The scheme and host the request was sent to, as far as the peer may say so."""
        headers = Headers(scope=scope)
        scheme, host = str(scope.get("scheme", "http")), headers.get("host", "")
        if self._trusts(scope.get("client")):
            if forwarded := _last_forwarded(headers.getlist("forwarded")):
                host, scheme = forwarded.get("host", host), forwarded.get("proto", scheme)
            else:
                host = _last(headers.getlist("x-forwarded-host")) or host
                scheme = _last(headers.getlist("x-forwarded-proto")) or scheme
        return scheme.lower(), host

    def _trusts(self, client: Any) -> bool:
        if not self._trusted or not client:
            return False
        try:
            address = ip_address(str(client[0]))
        except ValueError:  # not an IP peer, e.g. a Unix socket
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._trusted)


def _host_key(netloc: str) -> tuple[str, int | None] | None:
    """A host and port to compare by: lower case, the usual web ports left out; None if it is no host."""
    if "@" in netloc:
        return None
    try:
        parts = urlsplit(f"//{netloc.strip()}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname, None if port in (80, 443) else port


def _last(values: list[str]) -> str:
    """The last item of a comma-separated header: the one the nearest proxy added."""
    return ",".join(values).rsplit(",", 1)[-1].strip() if values else ""


def _last_forwarded(values: list[str]) -> dict[str, str]:
    """The parameters of the last element of RFC 7239 ``Forwarded`` headers.

    A value this simple reading gets wrong matches no public URL, so the
    request gets the first one: never a host of the caller's choosing.
    """
    params = {}
    for pair in _last(values).split(";"):
        name, sep, value = pair.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"')
    return params


def _own_address(scope: Scope) -> str:
    """The address of the socket the request came in on, with the ASGI root path."""
    root = str(scope.get("root_path", "")).rstrip("/")
    server = scope.get("server")
    if not server or server[1] is None:  # a Unix socket: no address callers could use
        return f"http://127.0.0.1{root}"
    scheme = "https" if scope.get("scheme") == "https" else "http"
    host, port = str(server[0]), int(server[1])
    host = f"[{host}]" if ":" in host else host
    shown = "" if port == (443 if scheme == "https" else 80) else f":{port}"
    return f"{scheme}://{host}{shown}{root}"
