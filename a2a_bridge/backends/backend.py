"""``Backend``: one OpenAI-compatible model server (vLLM, or SGLang as a drop-in).

    worker = Backend("http://10.0.0.7:8002/v1", model="Qwen/Qwen2.5-14B-Instruct", tier="worker-a100-14b")
    await worker.health()              # raises BackendUnavailable / ModelNotServed with the reason
    chat = worker.chat_model()         # a LangChain ChatOpenAI   (needs a2a-bridge-langgraph)
    llm = worker.crewai_llm()          # a crewai.LLM             (needs a2a-bridge-crewai)

There are no hosted-API defaults: every model is reached through a base URL
you give, and the key is only what you pass (vLLM accepts any key unless it
was started with ``--api-key``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import httpx

from a2a_bridge.backends.tiers import TierProfile, get_tier
from a2a_bridge.errors import BackendUnavailable, ConfigurationError, ModelNotServed
from a2a_bridge.support.http_client import async_client

__all__ = ["DEFAULT_MAX_TOKENS", "Backend"]

# Long enough for a worker's report, short enough that a runaway answer stops in about a minute on the CPU.
DEFAULT_MAX_TOKENS = 1024


def _plugin(module: str, distribution: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name and module.startswith(exc.name):
            raise ConfigurationError(
                f"Backend.{what}() needs the {distribution} adapter: pip install {distribution}"
            ) from None
        raise


@dataclass(frozen=True, slots=True)
class Backend:
    """An OpenAI-compatible endpoint serving one model.

    Args:
        base_url: The server's OpenAI base URL, e.g. ``http://10.0.0.7:8002/v1``;
            ``/v1`` is added when missing.
        model: The model the server runs (vLLM's ``--model``).
        api_key: Sent as the bearer key; ``"EMPTY"`` suits a vLLM without ``--api-key``.
        tier: The tier profile name, for launch commands and cost estimates.
        served_model_name: The name the model is served under (vLLM's
            ``--served-model-name``), when it differs; requests use it.
        max_tokens: The most tokens one model call may write, set on the
            models :meth:`chat_model` and :meth:`crewai_llm` build. A call
            whose caller gave up still runs to this limit on the GPU; None
            leaves it to the server (up to the model's whole context).
    """

    base_url: str
    model: str
    api_key: str = "EMPTY"
    tier: str | None = None
    served_model_name: str | None = None
    max_tokens: int | None = DEFAULT_MAX_TOKENS

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        url = self.base_url.rstrip("/")
        object.__setattr__(self, "base_url", url if url.endswith("/v1") else f"{url}/v1")
        if not self.model:
            raise ConfigurationError("model must not be empty")
        if self.tier is not None:
            get_tier(self.tier)
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1
        ):
            raise ConfigurationError(
                f"max_tokens must be a whole number of at least 1, or None; got {self.max_tokens!r}"
            )

    @classmethod
    def for_tier(cls, tier: str, *, base_url: str | None = None, api_key: str = "EMPTY") -> Backend:
        """A backend for a tier profile, at ``base_url`` or the tier's default local port."""
        profile = get_tier(tier)
        return cls(
            base_url=base_url or f"http://127.0.0.1:{profile.port}/v1",
            model=profile.request_model,
            api_key=api_key,
            tier=tier,
        )

    @property
    def request_model(self) -> str:
        return self.served_model_name or self.model

    @property
    def profile(self) -> TierProfile | None:
        return get_tier(self.tier) if self.tier else None

    async def health(self, *, timeout: float = 5.0) -> list[str]:  # noqa: ASYNC109
        """Check that the server is up and serves this model; return what it serves.

        Raises:
            BackendUnavailable: The server cannot be reached or answers with an error.
            ModelNotServed: The server is up but serves other models.
        """
        url = f"{self.base_url}/models"
        try:
            async with async_client(timeout) as http:
                response = await http.get(url, headers={"Authorization": f"Bearer {self.api_key}"})
        except httpx.TimeoutException:
            raise BackendUnavailable(f"model server at {self.base_url} did not answer within {timeout:g} s") from None
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                f"cannot reach the model server at {self.base_url} ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise BackendUnavailable(
                f"model server at {self.base_url} answered GET /models with HTTP {response.status_code}"
            )
        try:
            served = [str(item["id"]) for item in response.json()["data"]]
        except (ValueError, KeyError, TypeError):
            raise BackendUnavailable(
                f"model server at {self.base_url} sent a /models answer that is not OpenAI's"
            ) from None
        if self.request_model not in served:
            raise ModelNotServed(
                f"model server at {self.base_url} does not serve {self.request_model!r}; "
                f"it serves: {', '.join(served)}",
                served=served,
            )
        return served

    def chat_model(self, **kwargs: Any) -> Any:
        """A LangChain ``ChatOpenAI`` on this backend, with streamed usage on and ``max_tokens`` set."""
        return _plugin("a2a_bridge_langgraph.models", "a2a-bridge-langgraph", "chat_model").chat_model(self, **kwargs)

    def crewai_llm(self, **kwargs: Any) -> Any:
        """A ``crewai.LLM`` on this backend as ``openai/<model>``, base URL kept, ``max_tokens`` set."""
        return _plugin("a2a_bridge_crewai.models", "a2a-bridge-crewai", "crewai_llm").crewai_llm(self, **kwargs)

    def __repr__(self) -> str:
        return f"Backend({self.base_url!r}, model={self.request_model!r}, tier={self.tier!r})"
