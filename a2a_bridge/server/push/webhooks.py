"""Which webhook URLs a served agent will call for push notifications, and how hard it tries.

A push-notification URL is chosen by the caller, so calling it is a request the
caller makes from inside your network (server-side request forgery). An agent
calls only public addresses, unless its configuration allows a network:
never loopback, private, link-local, site-local, shared (100.64.0.0/10),
multicast, reserved or unspecified addresses, nor a cloud metadata service. An
IPv6 address that carries IPv4 addresses (IPv4-mapped or -compatible, 6to4,
Teredo, NAT64) passes only if each IPv4 address it carries does. A URL's host
is resolved at each delivery, every address it resolves to must pass, and the
call goes to the checked address, so DNS cannot answer differently in between.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.keys.secret_refs import resolve_secret

__all__ = ["ResolvedWebhook", "WebhookPolicy", "WebhookRefused", "check_webhook_policy", "resolve_webhook"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services, named apart: they hand out the credentials of the machine they serve.
# AWS, GCP, Azure and OpenStack's 169.254.169.254 and AWS's IPv6 one; Oracle Cloud's legacy 192.0.0.192;
# Azure's WireServer, 168.63.129.16, a public address that only a VM on Azure reaches.
METADATA_ADDRESSES = {
    ipaddress.ip_address(address) for address in ("169.254.169.254", "fd00:ec2::254", "192.0.0.192", "168.63.129.16")
}

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

# Never public. Named here because Python's ipaddress calls fec0::/10 global and judges the others
# differently from version to version; the others lead, through someone's gateway, to an IPv4 address.
NOT_PUBLIC = (
    # Python before 3.11.10 / 3.12.4 calls it global (CVE-2024-4032): IETF protocol assignments, never public.
    (ipaddress.IPv4Network("192.0.0.0/24"), "an IETF protocol assignment"),
)
NOT_PUBLIC_IPV6 = (
    (ipaddress.IPv6Network("fec0::/10"), "a site-local address"),
    (ipaddress.IPv6Network("2001::/32"), "a Teredo address"),
    (LOCAL_NAT64, "a local-use NAT64 address"),
    (IPV4_COMPATIBLE, "a deprecated IPv4-compatible address"),
)

# These forms are the IPv4 address by another name, so only the IPv4 address is judged.
SAME_ADDRESS_FORMS = {"IPv4-mapped", "NAT64"}


@dataclass(frozen=True)
class WebhookPolicy:
    """Push notifications: where they may go, and their retries.

    Attributes:
        allow: Networks webhooks may reach although they are not public, e.g.
            ``["10.20.0.0/16"]`` for receivers inside your network, or
            ``["127.0.0.0/8"]`` on a developer's machine.
        retries: Further attempts after a failed delivery (a lost connection,
            a timeout, 408, 429 or 5xx); a 4xx or a redirect is not retried.
        backoff: Seconds before the first retry; doubled each time, with jitter, at most 30 s.
        timeout: Seconds one attempt may take.
        encryption_key: A Fernet key (a value, ``@FILE`` or ``env:VAR``): webhook
            registrations, their tokens and credentials, are encrypted in a
            database task store. Read once at start; the policy holds the key itself.
    """

    allow: tuple[Network, ...] = ()
    retries: int = 5
    backoff: float = 0.5
    timeout: float = 10.0
    encryption_key: str | None = field(default=None, repr=False)


def check_webhook_policy(given: WebhookPolicy | Mapping[str, Any] | bool | None) -> WebhookPolicy | None:
    """``push_notifications`` as given to ``to_a2a``: True (public webhooks only), False, a dict or a policy."""
    if given is None or given is False:
        return None
    if given is True:
        return WebhookPolicy()
    if isinstance(given, WebhookPolicy):
        fields: dict[str, Any] = {name: getattr(given, name) for name in WebhookPolicy.__dataclass_fields__}
    elif isinstance(given, Mapping):
        unknown = set(given) - set(WebhookPolicy.__dataclass_fields__)
        if unknown:
            raise ConfigurationError(f"push_notifications: unknown field(s) {', '.join(sorted(unknown))}")
        fields = dict(given)
    else:
        raise ConfigurationError("push_notifications must be True, False, a WebhookPolicy or a dict of its fields")
    defaults = WebhookPolicy()
    retries = fields.get("retries", defaults.retries)
    backoff = fields.get("backoff", defaults.backoff)
    timeout = fields.get("timeout", defaults.timeout)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 20:
        raise ConfigurationError(f"push_notifications.retries must be a whole number from 0 to 20, got {retries!r}")
    if not isinstance(backoff, (int, float)) or not 0 <= backoff <= 60:
        raise ConfigurationError(f"push_notifications.backoff must be 0 to 60 seconds, got {backoff!r}")
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= 120:
        raise ConfigurationError(f"push_notifications.timeout must be more than 0 and at most 120 s, got {timeout!r}")
    key = _encryption_key(fields.get("encryption_key"))
    return WebhookPolicy(_networks(fields.get("allow", ())), retries, float(backoff), float(timeout), key)


def _encryption_key(given: object) -> str | None:
    if given is None or given == "":
        return None
    if not isinstance(given, str):
        raise ConfigurationError("push_notifications.encryption_key must be a string: a key, @FILE or env:VAR")
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        raise ConfigurationError("encrypting push registrations needs: pip install 'a2a-bridge-core[oauth]'") from None
    key = resolve_secret(given)
    try:
        Fernet(key.encode())
    except ValueError:
        raise ConfigurationError(
            "push_notifications.encryption_key is not a Fernet key (32 url-safe base64-encoded bytes); make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    return key


def _networks(given: Iterable[Any]) -> tuple[Network, ...]:
    if isinstance(given, str):
        given = [given]
    networks = []
    for item in given:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"push_notifications.allow: {item!r} is not a network, e.g. '10.0.0.0/8' or '::1/128'"
            ) from None
    return tuple(networks)


class WebhookRefused(Exception):
    """A webhook URL this agent will not call; the message says why, naming the address."""


@dataclass(frozen=True)
class ResolvedWebhook:
    """A webhook URL and the checked address the call goes to."""

    url: str
    host: str
    address: str


def embedded_ipv4(address: Address) -> tuple[tuple[str, ipaddress.IPv4Address], ...]:
    """The IPv4 addresses an IPv6 address carries, each with the name of its form; none for a plain address.

    IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), 6to4
    (``2002::/16``), Teredo (``2001::/32``: its server, and its client) and
    NAT64 (``64:ff9b::/96``, and the local-use ``64:ff9b:1::/48``).
    """
    if isinstance(address, ipaddress.IPv4Address):
        return ()
    if address.ipv4_mapped is not None:
        return (("IPv4-mapped", address.ipv4_mapped),)
    if address.sixtofour is not None:
        return (("6to4", address.sixtofour),)
    if address.teredo is not None:
        server, client = address.teredo
        return ("Teredo server", server), ("Teredo client", client)
    # The local-use prefix is read as a /96 (RFC 6052 allows others); it is refused unless allowed anyway.
    last = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in NAT64:
        return (("NAT64", last),)
    if address in LOCAL_NAT64:
        return (("local-use NAT64", last),)
    if address in IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return (("IPv4-compatible", last),)
    return ()


def _why_forbidden(address: Address) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata service"
    checks = [
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("an unspecified address", address.is_unspecified),
        *((kind, address in network) for network, kind in (*NOT_PUBLIC, *NOT_PUBLIC_IPV6)),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
    ]
    for kind, matches in checks:
        if matches:
            return kind
    if not address.is_global:
        return "not a public address"
    return None


def check_address(address: str, policy: WebhookPolicy) -> None:
    """Raise :class:`WebhookRefused` unless the address is public or in a network the policy allows.

    An address that carries IPv4 addresses passes only if each of them does
    too; an IPv4-mapped or NAT64 address is judged as its IPv4 address alone.
    """
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise WebhookRefused(f"{address!r} is not an IP address") from None
    carried = embedded_ipv4(parsed)
    judged: list[tuple[Address, str]] = [(ipv4, f" (in {parsed}, {form})") for form, ipv4 in carried]
    if not any(form in SAME_ADDRESS_FORMS for form, _ in carried):
        judged.append((parsed, ""))
    for candidate, where in judged:
        if any(candidate in network for network in policy.allow):
            continue
        reason = _why_forbidden(candidate)
        if reason is not None:
            raise WebhookRefused(
                f"{candidate} is {reason}{where}, which this agent does not call (push_notifications.allow)"
            )


def _parts(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRefused("the webhook URL cannot be parsed") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused(f"the webhook URL must be http or https, not {parts.scheme or 'schemeless'}")
    if not parts.hostname:
        raise WebhookRefused("the webhook URL has no host")
    if parts.username or parts.password:
        raise WebhookRefused("the webhook URL must not carry a user or password; register a token instead")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_webhook(url: str, policy: WebhookPolicy, *, unresolved_ok: bool = False) -> ResolvedWebhook | None:
    """Resolve the URL's host and check every address it has; the first is the one to call.

    ``unresolved_ok``: a host that does not resolve now passes (None), for a
    check at registration; a delivery resolves again, and refuses it then.
    """
    host, port = _parts(url)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(str(literal), policy)
        return ResolvedWebhook(url, host, str(literal))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # IDNA refuses the name itself: a label over 63 characters, an empty label
        raise WebhookRefused(f"the webhook host {host[:80]!r} is not a valid host name") from None
    except OSError:
        if unresolved_ok:
            return None
        raise WebhookRefused(f"the webhook host {host!r} does not resolve") from None
    addresses: Sequence[str] = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:  # every one: the connection could go to any
        check_address(address, policy)
    return ResolvedWebhook(url, host, addresses[0])
