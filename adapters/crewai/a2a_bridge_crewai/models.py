"""CrewAI LLMs on an a2a-bridge ``Backend`` (vLLM or SGLang)."""

from __future__ import annotations

from typing import Any

from crewai import LLM

from a2a_bridge import Backend

__all__ = ["crewai_llm"]


def crewai_llm(backend: Backend, **kwargs: Any) -> LLM:
    """A ``crewai.LLM`` routed as ``openai/<served model>`` to ``backend``.

    CrewAI drops a custom endpoint unless it is given as ``base_url``; passing
    ``api_base`` as well keeps it on every provider path, so no request can
    fall through to a hosted API. Streaming is on, so served crews stream
    tokens and vLLM reports usage on every response (CrewAI asks for it).
    ``max_tokens`` comes from the backend. Keyword arguments win over these defaults.
    """
    options: dict[str, Any] = {
        "model": f"openai/{backend.request_model}",
        "base_url": backend.base_url,
        "api_base": backend.base_url,
        "api_key": backend.api_key,
        "stream": True,
        "max_tokens": backend.max_tokens,
    }
    options.update(kwargs)
    return LLM(**options)
