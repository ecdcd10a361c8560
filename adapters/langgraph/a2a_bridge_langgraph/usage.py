"""Adding up the tokens every model call of a graph run reports."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from a2a_bridge import Usage

__all__ = ["UsageCollector"]


class UsageCollector(BaseCallbackHandler):
    """A callback that sums ``usage_metadata`` over one run's model calls.

    One collector per task; the lock covers sync nodes reporting from threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        usage = Usage()
        for generations in response.generations:
            for generation in generations:
                message = getattr(generation, "message", None)
                metadata = getattr(message, "usage_metadata", None) or {}
                model = (getattr(message, "response_metadata", None) or {}).get("model_name") or ""
                spent = Usage(int(metadata.get("input_tokens", 0)), int(metadata.get("output_tokens", 0)), 0, model)
                usage = usage + spent
        with self._lock:
            self._usage = self._usage + replace(usage, calls=1)

    @property
    def usage(self) -> Usage:
        with self._lock:
            return self._usage
