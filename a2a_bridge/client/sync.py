"""Running a coroutine from synchronous code, with or without a running event loop.

Frameworks call tools and callbacks synchronously, sometimes from inside an
event loop (an async test, a served agent): ``asyncio.run`` fails there.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion: here when no loop runs, else on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # The thread runs in a copy of this context, so a framework's context variables
    # (LangGraph's run config, its stream writer) still reach the coroutine.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()
