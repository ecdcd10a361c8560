"""LangChain chat models on an a2a-bridge ``Backend`` (vLLM or SGLang)."""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI

from a2a_bridge import Backend

__all__ = ["chat_model"]


def chat_model(backend: Backend, **kwargs: Any) -> ChatOpenAI:
    """A ``ChatOpenAI`` pointed at ``backend``.

    Streaming asks the server for usage (``stream_options.include_usage``), so
    every response, streamed or not, carries the tokens it spent. ``max_tokens`` comes from the backend. Keyword
    arguments go to ``ChatOpenAI`` and win over these defaults.
    """
    options: dict[str, Any] = {
        "base_url": backend.base_url,
        "model": backend.request_model,
        "api_key": backend.api_key,
        "stream_usage": True,
        "max_tokens": backend.max_tokens,
    }
    options.update(kwargs)
    return ChatOpenAI(**options)
