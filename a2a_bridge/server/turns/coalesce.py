"""Coalescing text deltas so that a fast model stream is not bottlenecked by events.

Each A2A event costs the SDK about half a millisecond. A vLLM stream can emit
thousands of tokens per second, so the executor sends the first delta at once
(the caller sees the first token without delay) and then at most one event per
``interval`` holding everything that arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

__all__ = ["DeltaCoalescer"]


class DeltaCoalescer:
    """Buffers text and hands it to ``emit`` at most once per ``interval`` seconds."""

    def __init__(self, emit: Callable[[str], Awaitable[None]], *, interval: float) -> None:
        self._emit = emit
        self._interval = interval
        self._buffer: list[str] = []
        self._last_emit = float("-inf")
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # per task: keeps timer flushes and direct flushes in order

    async def add(self, text: str) -> None:
        if not text:
            return
        self._buffer.append(text)
        if self._timer is not None:
            return
        wait = self._last_emit + self._interval - time.monotonic()
        if wait <= 0:
            await self._flush_locked()
        else:
            self._timer = asyncio.create_task(self._flush_later(wait))

    async def _flush_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._timer = None
        await self._flush_locked()

    async def _flush_locked(self) -> None:
        async with self._lock:
            if not self._buffer:
                return
            text = "".join(self._buffer)
            self._buffer.clear()
            self._last_emit = time.monotonic()
            await self._emit(text)

    async def flush(self) -> None:
        """Send whatever is buffered now; call before any other event."""
        if self._timer is None and not self._buffer:
            return
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self._flush_locked()

    async def close(self) -> None:
        """Drop the timer without sending; used when the task is cancelled."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
