"""A TCP proxy on loopback that puts network faults between a process and a service it uses.

Put it between the agents and Redis, Postgres or each other, then break the
network on purpose, at the worst moment, from a test::

    with FaultProxy(redis.port) as proxy:          # point the agents at proxy.port
        proxy.cut()                                # every open connection reset, now
        proxy.refuse()                             # new connections reset at once, until heal()
        proxy.blackhole()                          # nothing passes either way, until heal(): a partition
        proxy.latency(0.05)                        # each chunk waits 50 ms, each way
        proxy.reset_after(100)                     # open connections reset after 100 more bytes back
        proxy.heal()                               # back to a plain proxy

It runs its own event loop in a thread, so sync and async tests drive it
alike. A blackhole holds the data instead of dropping it, as TCP does across a
partition: what was sent arrives once the network heals, unless a side gave up
first. ``tc netem`` does this in the kernel where it is allowed; here it is not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["FaultProxy"]

_CHUNK = 65536
T = TypeVar("T")


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream one."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    reset_budget: int | None = None  # bytes back to the client before a reset
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _reset(writer)
        for pump in self.pumps:
            pump.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (RST), as a crashed peer or a cut cable shows up, not an orderly close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port``, and breaks the connection on demand."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections_seen = 0
        self._links: set[_Link] = set()
        self._refusing = False
        self._delay = 0.0
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    # --- lifetime -----------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        try:
            self._call(self._open).result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close the proxy and every connection through it."""
        if self._thread.is_alive():
            self._call(self._close).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- faults -------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every connection open now; new ones pass."""
        self._run(self._cut)

    def refuse(self) -> None:
        """Reset every open connection, and each new one as it arrives, until :meth:`heal`."""
        self._run(self._refuse)

    def blackhole(self) -> None:
        """Hold everything, open connections and new ones, until :meth:`heal`: a network partition."""
        self._run(self._flowing.clear)

    def latency(self, seconds: float) -> None:
        """Delay each chunk by ``seconds``, in each direction, until :meth:`heal`."""
        self._run(lambda: setattr(self, "_delay", seconds))

    def reset_after(self, received: int) -> None:
        """Reset each open connection once ``received`` more bytes have come back through it."""

        def arm() -> None:
            for link in self._links:
                link.reset_budget = received

        self._run(arm)

    def heal(self) -> None:
        """Forward plainly again: held data flows, new connections pass, no delay, no reset to come."""
        self._run(self._heal)

    @property
    def open_connections(self) -> int:
        return int(self._call(self._count).result(timeout=10))

    # --- inside the loop ----------------------------------------------------------

    def _call(self, coroutine_function: Callable[[], Coroutine[Any, Any, T]]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine_function(), self._loop)

    def _run(self, action: Callable[[], object]) -> None:
        async def act() -> None:
            action()

        self._call(act).result(timeout=10)

    async def _count(self) -> int:
        return len(self._links)

    async def _open(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        self._cut()
        self._flowing.set()  # connections held by a partition see they were cut, and end
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def _cut(self) -> None:
        for link in list(self._links):
            link.abort()
        self._links.clear()

    def _refuse(self) -> None:
        self._refusing = True
        self._cut()

    def _heal(self) -> None:
        self._refusing = False
        self._delay = 0.0
        for link in self._links:
            link.reset_budget = None
        self._flowing.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_seen += 1
        if self._refusing:
            _reset(writer)
            return
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._flowing.wait()  # across a partition the proxy accepts, but nothing reaches the service
            if link not in self._links:
                return  # cut while it waited: the client is gone, so is the connection upstream
            try:
                up_reader, link.upstream = await asyncio.open_connection(*self.target)
            except OSError:
                _reset(writer)
                return
            link.pumps = [
                asyncio.create_task(self._pump(reader, link.upstream, link, back=False)),
                asyncio.create_task(self._pump(up_reader, writer, link, back=True)),
            ]
            await asyncio.gather(*link.pumps, return_exceptions=True)
        finally:
            self._links.discard(link)
            for side in (writer, link.upstream):
                if side is not None and not side.transport.is_closing():
                    side.close()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link, *, back: bool) -> None:
        try:
            while True:
                await self._flowing.wait()  # a blackhole stops reading: the data waits in the kernel's buffers
                data = await source.read(_CHUNK)
                if not data:
                    if sink.can_write_eof():
                        sink.write_eof()  # half-closed, as the peer closed it
                    else:
                        sink.close()
                    return
                if self._delay:
                    await asyncio.sleep(self._delay)
                await self._flowing.wait()
                if back and link.reset_budget is not None:
                    if len(data) >= link.reset_budget:
                        sink.transport.set_write_buffer_limits(high=0)  # drain waits for every byte to go out
                        sink.write(data[: link.reset_budget])
                        await sink.drain()
                        link.abort()
                        return
                    link.reset_budget -= len(data)
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            link.abort()
