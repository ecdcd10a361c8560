"""Turning tracing on: the OpenTelemetry SDK, an OTLP exporter, and spans for model calls.

    from a2a_bridge import enable_tracing
    enable_tracing("research-worker", endpoint="http://127.0.0.1:6006")   # Phoenix, Langfuse, a Collector

``a2a-bridge serve --otlp-endpoint URL`` (or ``--tracing``, to configure the
exporter the standard way, with ``OTEL_EXPORTER_OTLP_ENDPOINT`` and friends)
calls it for you. Model calls through the OpenAI client, which LangChain and
CrewAI both use, get spans from OpenLLMetry's OpenAI instrumentation
(``gen_ai.request.model``, token usage); the bridge adds the agent's name.
Prompts and answers stay out of spans unless you set
``TRACELOOP_TRACE_CONTENT=true``: a prompt may hold a system prompt or a
caller's data.

(OpenTelemetry's own ``openai-v2`` instrumentation was tried first: with
LangChain's streaming it fails to detach its context and logs an error on
every model call.)
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from opentelemetry import trace

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.observability import spans

__all__ = ["DEFAULT_PROJECT", "SDK_SPANS_SWITCH", "enable_tracing"]

# The a2a-sdk's switch for its own spans.
SDK_SPANS_SWITCH = "OTEL_INSTRUMENTATION_A2A_SDK_ENABLED"
# Whether the OpenAI instrumentation records prompts and answers; off unless you turn it on.
CONTENT_SWITCH = "TRACELOOP_TRACE_CONTENT"
# Phoenix files a trace under its resource's project; one name for every agent keeps a mesh's trace whole.
DEFAULT_PROJECT = "a2a-bridge"


def enable_tracing(
    service_name: str,
    *,
    endpoint: str | None = None,
    project: str = DEFAULT_PROJECT,
    exporter: Any = None,
) -> Any:
    """Set a global tracer provider that exports this process's spans over OTLP (HTTP), and return it.

    Args:
        service_name: This process's ``service.name``, usually the agent's name.
        endpoint: The OTLP collector's base URL (``/v1/traces`` is added); None reads
            ``OTEL_EXPORTER_OTLP_ENDPOINT`` and the other standard variables.
        project: The ``openinference.project.name`` that Phoenix files the spans under.
        exporter: A span exporter to use instead of OTLP (tests, other back ends).

    Call it before the process makes its first A2A client or app: the a2a-sdk's own
    spans are turned off (``OTEL_INSTRUMENTATION_A2A_SDK_ENABLED=false``, unless set)
    as the SDK is imported.
    """
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigurationError(
            "tracing needs the OpenTelemetry SDK: pip install 'a2a-bridge-core[tracing]'"
        ) from None

    class AgentNames(SpanProcessor):
        """Names the agent on the spans its turn makes, model calls included."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            agent = spans.current_agent.get()
            if agent is not None and span.attributes.get(spans.AGENT_NAME) is None:
                span.set_attribute(spans.AGENT_NAME, agent)

    # The a2a-sdk's own spans (dozens a call, a third of its throughput) would bury the bridge's, and parent
    # the next hop's under them: off, unless you set the variable yourself. The SDK reads it on import.
    os.environ.setdefault(SDK_SPANS_SWITCH, "false")
    if exporter is None:
        exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces" if endpoint else None)
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "openinference.project.name": project})
    )
    provider.add_span_processor(AgentNames())
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument_openai(provider)
    return provider


def _instrument_openai(provider: Any) -> None:
    if importlib.util.find_spec("opentelemetry.instrumentation.openai") is None:
        return  # not installed: the bridge's own spans still come, its model calls get none
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    os.environ.setdefault(CONTENT_SWITCH, "false")
    instrumentor = OpenAIInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)
