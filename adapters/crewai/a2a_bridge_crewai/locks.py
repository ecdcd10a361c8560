"""CrewAI's named locks, queued inside the process before the file lock.

Every kickoff writes CrewAI's task-output store (a SQLite file shared by every
crew on the machine) three times, each under a portalocker file lock that a
waiting thread retries only every 250 ms. A server runs many kickoffs at once,
so most of them slept in that retry loop: 32 concurrent tasks through a crew
reached less than half the tokens/s of the same requests sent to vLLM (bench/).
Threads of one process now queue on a per-name threading lock, and only the
head of the queue takes the file lock, which still keeps other processes out.

With ``REDIS_URL`` set, CrewAI locks through Redis and is left alone.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import md5

import portalocker
from crewai_core import lock_store

__all__ = ["install", "queued_lock"]

_DEFAULT_TIMEOUT = 120.0
_gates: dict[str, threading.Lock] = {}
_gates_guard = threading.Lock()


def _gate(name: str) -> threading.Lock:
    with _gates_guard:
        return _gates.setdefault(name, threading.Lock())


def _file_lock(name: str, timeout: float) -> portalocker.Lock:
    """The file CrewAI's own default locks, so that plain CrewAI processes still exclude ours."""
    channel = f"crewai:{md5(name.encode(), usedforsecurity=False).hexdigest()}"
    return portalocker.Lock(os.path.join(tempfile.gettempdir(), f"{channel}.lock"), timeout=timeout)


@contextmanager
def queued_lock(name: str, *, timeout: float = _DEFAULT_TIMEOUT) -> Iterator[None]:
    """Hold CrewAI's lock ``name``: first this process's queue for it, then its file."""
    gate = _gate(name)
    if not gate.acquire(timeout=timeout):
        raise portalocker.exceptions.LockException(f"CrewAI lock {name!r} was busy for {timeout:.0f} s")
    try:
        with _file_lock(name, timeout):
            yield
    finally:
        gate.release()


def install() -> None:
    """Make CrewAI lock through :func:`queued_lock` in this process (once, at serve time)."""
    if not os.environ.get("REDIS_URL"):
        lock_store.set_lock_backend(queued_lock)
