"""Webhook addresses that carry an IPv4 address inside IPv6 are judged by the IPv4 address they carry.

One table holds every form: the address, the IPv4 addresses it carries, and
whether the default policy (or the ``allow`` of the row) refuses it. Each row
is checked as a literal in a URL and as an address a host name resolves to;
a few rows are registered with a served agent over HTTP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from a2a_calls import call, error_of, message
from agents import AskingAgent
from webhook_receiver import webhook

from a2a_bridge import to_a2a
from a2a_bridge.server.push.webhooks import (
    WebhookPolicy,
    WebhookRefused,
    check_webhook_policy,
    embedded_ipv4,
    resolve_webhook,
)
from a2a_bridge.testing import LiveServer

SECRET = "orchestrator-secret-1"
PUBLIC_V6 = "2606:4700:4700::1111"


@dataclass(frozen=True)
class Row:
    """One address: the IPv4 addresses it carries (with their form), and what the refusal says (None: allowed)."""

    address: str
    carries: tuple[str, ...]
    says: str | None
    allow: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.address + (f" allow={','.join(self.allow)}" if self.allow else "")


TEREDO_CLIENT_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"  # server 65.54.227.120, client 127.0.0.1
TEREDO_SERVER_METADATA = "2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7"  # server 169.254.169.254, client 8.8.8.8
TEREDO_CLIENT_PRIVATE = "2001:0:4136:e378:8000:63bf:f5ff:fffa"  # server 65.54.227.120, client 10.0.0.5
TEREDO_PUBLIC = "2001:0:4136:e378:8000:63bf:f7f7:f7f7"  # server 65.54.227.120, client 8.8.8.8

TABLE = [
    # IPv4-mapped: the IPv4 address by another name.
    Row("::ffff:127.0.0.1", ("IPv4-mapped 127.0.0.1",), "127.0.0.1 is a loopback address"),
    Row("::ffff:169.254.169.254", ("IPv4-mapped 169.254.169.254",), "169.254.169.254 is a cloud metadata service"),
    Row("::ffff:10.0.0.5", ("IPv4-mapped 10.0.0.5",), "10.0.0.5 is a private address"),
    Row("::ffff:8.8.8.8", ("IPv4-mapped 8.8.8.8",), None),
    # IPv4-compatible (deprecated): the IPv4 address, and never public itself.
    Row("::127.0.0.1", ("IPv4-compatible 127.0.0.1",), "127.0.0.1 is a loopback address"),
    Row("::169.254.169.254", ("IPv4-compatible 169.254.169.254",), "169.254.169.254 is a cloud metadata service"),
    Row("::8.8.8.8", ("IPv4-compatible 8.8.8.8",), "is a deprecated IPv4-compatible address"),
    # 6to4 (2002::/16): the IPv4 address in bits 16-47.
    Row("2002:7f00:1::", ("6to4 127.0.0.1",), "127.0.0.1 is a loopback address"),
    Row("2002:a9fe:a9fe::", ("6to4 169.254.169.254",), "169.254.169.254 is a cloud metadata service"),
    Row("2002:a00:5::1", ("6to4 10.0.0.5",), "10.0.0.5 is a private address"),
    Row("2002:c0a8:114::", ("6to4 192.168.1.20",), "192.168.1.20 is a private address"),
    Row("2002:6440:1::", ("6to4 100.64.0.1",), "100.64.0.1 is not a public address"),
    Row("2002::", ("6to4 0.0.0.0",), "0.0.0.0 is an unspecified address"),
    Row("2002:808:808::1", ("6to4 8.8.8.8",), None),
    # Teredo (2001::/32): the server, and the client (its last 32 bits, inverted); never public itself.
    Row(
        TEREDO_CLIENT_LOOPBACK,
        ("Teredo server 65.54.227.120", "Teredo client 127.0.0.1"),
        "127.0.0.1 is a loopback address",
    ),
    Row(
        TEREDO_SERVER_METADATA,
        ("Teredo server 169.254.169.254", "Teredo client 8.8.8.8"),
        "169.254.169.254 is a cloud metadata service",
    ),
    Row(
        TEREDO_CLIENT_PRIVATE,
        ("Teredo server 65.54.227.120", "Teredo client 10.0.0.5"),
        "10.0.0.5 is a private address",
    ),
    Row(TEREDO_PUBLIC, ("Teredo server 65.54.227.120", "Teredo client 8.8.8.8"), "is a Teredo address"),
    # NAT64, well-known prefix (64:ff9b::/96): the IPv4 address by another name.
    Row("64:ff9b::127.0.0.1", ("NAT64 127.0.0.1",), "127.0.0.1 is a loopback address"),
    Row("64:ff9b::169.254.169.254", ("NAT64 169.254.169.254",), "169.254.169.254 is a cloud metadata service"),
    Row("64:ff9b::10.0.0.5", ("NAT64 10.0.0.5",), "10.0.0.5 is a private address"),
    Row("64:ff9b::8.8.8.8", ("NAT64 8.8.8.8",), None),
    # NAT64, local-use prefix (64:ff9b:1::/48): read as a /96 prefix, and never public itself.
    Row("64:ff9b:1::127.0.0.1", ("local-use NAT64 127.0.0.1",), "127.0.0.1 is a loopback address"),
    Row("64:ff9b:1:ab::169.254.169.254", ("local-use NAT64 169.254.169.254",), "is a cloud metadata service"),
    Row("64:ff9b:1::8.8.8.8", ("local-use NAT64 8.8.8.8",), "is a local-use NAT64 address"),
    # Site-local (fec0::/10, deprecated), which Python's ipaddress calls global.
    Row("fec0::1", (), "fec0::1 is a site-local address"),
    Row("feff:ffff::1", (), "feff:ffff::1 is a site-local address"),
    # Plain IPv6, as before.
    Row("::1", (), "::1 is a loopback address"),
    Row("::", (), ":: is an unspecified address"),
    Row("fd00:ec2::254", (), "fd00:ec2::254 is a cloud metadata service"),
    Row("::ffff:192.0.0.8", ("IPv4-mapped 192.0.0.8",), "192.0.0.8 is an IETF protocol assignment"),
    Row("fe80::1", (), "fe80::1 is a link-local address"),
    Row(PUBLIC_V6, (), None),
    # allow names networks of IPv4 addresses, and the IPv4 address carried is what it is matched against.
    Row("2002:7f00:1::", ("6to4 127.0.0.1",), None, allow=("127.0.0.0/8",)),
    Row("64:ff9b::127.0.0.1", ("NAT64 127.0.0.1",), None, allow=("127.0.0.0/8",)),
    Row("::ffff:127.0.0.1", ("IPv4-mapped 127.0.0.1",), "127.0.0.1 is a loopback address", allow=("::/0",)),
    Row("2002:7f00:1::", ("6to4 127.0.0.1",), "127.0.0.1 is a loopback address", allow=("2002::/16",)),
    Row(
        TEREDO_CLIENT_LOOPBACK,
        ("Teredo server 65.54.227.120", "Teredo client 127.0.0.1"),
        "is a Teredo address",
        allow=("127.0.0.0/8",),
    ),
    Row(
        TEREDO_CLIENT_LOOPBACK,
        ("Teredo server 65.54.227.120", "Teredo client 127.0.0.1"),
        "127.0.0.1 is a loopback address",
        allow=("2001::/32",),
    ),
    Row("64:ff9b:1::8.8.8.8", ("local-use NAT64 8.8.8.8",), None, allow=("64:ff9b:1::/48",)),
    Row(
        "64:ff9b:1::10.0.0.5", ("local-use NAT64 10.0.0.5",), "10.0.0.5 is a private address", allow=("64:ff9b:1::/48",)
    ),
    Row("fec0::1", (), None, allow=("fec0::/10",)),
]

# Rows registered with a served agent (default policy) over HTTP.
OVER_HTTP = [
    "::ffff:127.0.0.1",
    "::127.0.0.1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
    TEREDO_CLIENT_LOOPBACK,
    TEREDO_SERVER_METADATA,
    "64:ff9b::127.0.0.1",
    "64:ff9b:1::8.8.8.8",
    "fec0::1",
    "2002:808:808::1",
    "64:ff9b::8.8.8.8",
]


class HostsLoop(asyncio.SelectorEventLoop):
    """An event loop whose name lookups answer from a table, as a hosts file would: the resolver is not under test."""

    def __init__(self, hosts: dict[str, list[str]]) -> None:
        super().__init__()
        self.hosts = hosts

    async def getaddrinfo(self, host: Any, port: Any, **_: Any) -> list[Any]:
        if host not in self.hosts:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in self.hosts[host]
        ]


def verdict(url: str, policy: WebhookPolicy, hosts: dict[str, list[str]]) -> str | None:
    """What a delivery to ``url`` meets: None when it may go, else the refusal."""
    with asyncio.Runner(loop_factory=lambda: HostsLoop(hosts)) as runner:
        try:
            runner.run(resolve_webhook(url, policy))
        except WebhookRefused as refused:
            return str(refused)
    return None


@pytest.mark.parametrize("row", TABLE, ids=str)
def test_each_form_is_unwrapped_and_judged_as_a_literal_and_as_a_resolved_address(row: Row) -> None:
    unwrapped = embedded_ipv4(ipaddress.ip_address(row.address))
    assert tuple(f"{form} {ipv4}" for form, ipv4 in unwrapped) == row.carries

    policy = check_webhook_policy({"allow": list(row.allow)})
    assert policy is not None
    literal = verdict(f"http://[{row.address}]:8080/hook", policy, {})
    # The first address is public: every address a name resolves to is checked, not only the one called.
    by_name = verdict("https://hooks.example.test/hook", policy, {"hooks.example.test": [PUBLIC_V6, row.address]})
    for refusal in (literal, by_name):
        if row.says is None:
            assert refusal is None
        else:
            assert refusal is not None, f"{row.address} was not refused"
            assert row.says in refusal
            assert refusal.endswith("which this agent does not call (push_notifications.allow)")
            named = {ipv4: form for form, ipv4 in (carried.rsplit(" ", 1) for carried in row.carries)}
            if row.says.split()[0] in named:  # the refusal says which form carried the address it names
                assert f"(in {ipaddress.ip_address(row.address)}, {named[row.says.split()[0]]})" in refusal


# IPv4 addresses some Pythons call global, or that are public yet lead to a cloud's own services.
IPV4_NOT_PUBLIC = [
    ("192.0.0.192", "192.0.0.192 is a cloud metadata service"),  # Oracle Cloud's legacy metadata
    ("168.63.129.16", "168.63.129.16 is a cloud metadata service"),  # Azure's WireServer
    ("192.0.0.8", "192.0.0.8 is an IETF protocol assignment"),  # global to Python 3.11.7 (CVE-2024-4032)
]


@pytest.mark.parametrize(("address", "says"), IPV4_NOT_PUBLIC, ids=[a for a, _ in IPV4_NOT_PUBLIC])
def test_ipv4_addresses_that_look_public_to_some_pythons_are_refused(address: str, says: str) -> None:
    policy = check_webhook_policy({})
    assert policy is not None
    for refusal in (
        verdict(f"http://{address}:8080/hook", policy, {}),
        verdict("https://hooks.example.test/hook", policy, {"hooks.example.test": [PUBLIC_V6, address]}),
    ):
        assert refusal is not None
        assert says in refusal


@pytest.fixture(scope="module")
def served() -> Iterator[LiveServer]:
    server = LiveServer(to_a2a(AskingAgent(), name="research", secrets={"orchestrator": SECRET}))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("row", [row for row in TABLE if row.address in OVER_HTTP and not row.allow], ids=str)
def test_a_served_agent_tells_the_caller_which_address_it_refuses(served: LiveServer, row: Row) -> None:
    url = f"http://[{row.address}]:8080/hook"
    task = call(served.url, "SendMessage", {"message": message("plan a cluster")}, secret=SECRET)["task"]
    later = {"taskId": task["id"], **webhook(url)}
    if row.says is None:
        # Registered for a task waiting on its caller: nothing is delivered, so no call leaves the machine.
        assert call(served.url, "CreateTaskPushNotificationConfig", later, secret=SECRET)["url"] == url
        return
    with_message = {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(url)}}
    for error in (
        error_of(served.url, "SendMessage", with_message, secret=SECRET),
        error_of(served.url, "CreateTaskPushNotificationConfig", later, secret=SECRET),
    ):
        assert error["code"] == -32602
        assert error["message"].startswith("push notification url: ")
        assert row.says in error["message"]
        (bad_request,) = [detail for detail in error["data"] if detail["@type"].endswith("google.rpc.BadRequest")]
        why = error["message"].removeprefix("push notification url: ")
        assert bad_request["fieldViolations"] == [{"field": "url", "description": why}]
        assert "Traceback" not in str(error)
    print(f"\n{url}: {error['message']}")
