"""A free TCP port on the loopback interface, and waiting for a server started on one to answer."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx

__all__ = ["free_port", "wait_until_up"]


def free_port() -> int:
    """A port nothing listens on right now (another process may still take it before you do)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], *, what: str, log: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200; raise, pointing at ``log``, if ``process`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s; see {log}")
        time.sleep(0.1)
