"""The fault proxy itself: each fault does what it says, through real sockets, and healing restores the service."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from a2a_bridge.testing import services
from a2a_bridge.testing.fault_proxy import FaultProxy


class EchoServer:
    """A TCP echo server on loopback, one thread per connection."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(connection,), daemon=True).start()

    @staticmethod
    def _echo(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the proxy resets it: that is the point
            while data := connection.recv(65536):
                connection.sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    echo = EchoServer()
    with FaultProxy(echo.port) as made:
        yield made
    echo.close()


def connect(proxy: FaultProxy, timeout: float = 2.0) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)
    return client


def round_trip(client: socket.socket, data: bytes = b"ping") -> bytes:
    client.sendall(data)
    received = b""
    while len(received) < len(data):
        chunk = client.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def test_it_forwards_both_ways(proxy):
    with connect(proxy) as client:
        assert round_trip(client, b"hello" * 1000) == b"hello" * 1000


def wait_for_connections(proxy: FaultProxy, count: int) -> None:
    deadline = time.monotonic() + 5
    while proxy.open_connections != count:
        assert time.monotonic() < deadline, f"the proxy never held {count} connection(s)"
        time.sleep(0.01)


def is_broken(client: socket.socket) -> bool:
    """Whether the connection was reset or closed under the client: an echo that never comes back."""
    try:
        for _ in range(10):
            client.sendall(b"x")
            if not client.recv(10):
                return True
            time.sleep(0.05)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return True
    return False


def test_cut_resets_open_connections_and_new_ones_pass(proxy):
    client = connect(proxy)
    assert round_trip(client) == b"ping"
    proxy.cut()
    assert is_broken(client)
    client.close()
    with connect(proxy) as again:
        assert round_trip(again) == b"ping"


def test_refuse_resets_each_new_connection_until_healed(proxy):
    proxy.refuse()
    try:
        with connect(proxy) as client:
            refused = is_broken(client)
    except ConnectionResetError:
        refused = True  # reset before the handshake was over
    assert refused
    proxy.heal()
    with connect(proxy) as client:
        assert round_trip(client) == b"ping"


def test_a_blackhole_holds_the_data_until_healed(proxy):
    client = connect(proxy, timeout=0.5)
    assert round_trip(client) == b"ping"
    proxy.blackhole()
    client.sendall(b"held")
    with pytest.raises(TimeoutError):
        client.recv(10)
    proxy.heal()
    client.settimeout(2)
    assert client.recv(10) == b"held", "what was sent across the partition arrives once it heals"
    client.close()


def test_a_connection_cut_while_a_partition_held_it_never_reaches_the_service():
    echo = EchoServer()
    try:
        with FaultProxy(echo.port) as proxy:
            proxy.blackhole()
            client = connect(proxy)
            wait_for_connections(proxy, 1)
            proxy.cut()
            proxy.heal()
            time.sleep(0.3)
            assert echo.accepted == 0, "the proxy opened a connection for a client it had cut"
            client.close()
    finally:
        echo.close()


def test_stopping_during_a_partition_ends_every_connection():
    echo = EchoServer()
    try:
        proxy = FaultProxy(echo.port).start()
        proxy.blackhole()
        client = connect(proxy)
        wait_for_connections(proxy, 1)
        proxy.stop()
        assert is_broken(client), "the client still holds a connection into a stopped proxy"
        client.close()
    finally:
        echo.close()


def test_latency_delays_each_direction(proxy):
    proxy.latency(0.1)
    with connect(proxy) as client:
        started = time.monotonic()
        assert round_trip(client) == b"ping"
        assert time.monotonic() - started >= 0.2
    proxy.heal()


def test_reset_after_lets_that_many_bytes_back_then_resets(proxy):
    client = connect(proxy)
    assert round_trip(client) == b"ping"
    proxy.reset_after(3)
    client.sendall(b"abcdef")
    received = b""
    reset = False
    try:
        while chunk := client.recv(10):
            received += chunk
    except ConnectionResetError:
        reset = True
    assert (received, reset) == (b"abc", True)
    client.close()


def test_redis_through_the_proxy_meets_each_fault_and_serves_again_after():
    with services.redis() as server, FaultProxy(server.port) as proxy:
        # No retries of its own: the test sees each fault as the first attempt meets it.
        client = redis.Redis(port=proxy.port, socket_timeout=1, retry=Retry(NoBackoff(), 0))
        assert client.ping()
        proxy.cut()
        assert client.ping(), "redis-py finds its pooled connection reset and opens another"
        assert proxy.connections_seen == 2
        proxy.refuse()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        proxy.heal()
        proxy.blackhole()
        with pytest.raises(redis.TimeoutError):
            client.ping()
        proxy.heal()
        assert client.ping()
        client.close()
