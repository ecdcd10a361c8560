"""Backends, tiers and topology files, against the scripted OpenAI-compatible server."""

from __future__ import annotations

import subprocess
import sys

import pytest
from processes import free_port

from a2a_bridge import Backend, BackendUnavailable, ConfigurationError, ModelNotServed, Topology
from a2a_bridge.backends.backend import DEFAULT_MAX_TOKENS
from a2a_bridge.backends.tiers import TIERS, get_tier, launch_command, shell_command
from a2a_bridge.testing import ScriptedBackend


async def test_health_lists_what_the_server_serves(scripted_backend):
    backend = Backend(scripted_backend.url, model="scripted-model")
    assert backend.base_url == scripted_backend.base_url, "/v1 is added"
    assert await backend.health() == ["scripted-model"]


async def test_a_wrong_model_is_named_with_what_is_served(scripted_backend):
    backend = Backend(scripted_backend.base_url, model="Qwen/Qwen2.5-14B-Instruct")
    expected = r"does not serve 'Qwen/Qwen2.5-14B-Instruct'; it serves: scripted-model"
    with pytest.raises(ModelNotServed, match=expected):
        await backend.health()


async def test_a_down_endpoint_is_unavailable():
    backend = Backend(f"http://127.0.0.1:{free_port()}/v1", model="m")
    with pytest.raises(BackendUnavailable, match="cannot reach the model server"):
        await backend.health()


def test_served_model_name_is_what_requests_use():
    backend = Backend("http://127.0.0.1:9/v1", model="HuggingFaceTB/SmolLM2-135M-Instruct", served_model_name="smol")
    assert backend.request_model == "smol"
    assert "api_key" not in repr(backend)


def test_for_tier_uses_the_profile():
    backend = Backend.for_tier("worker-a100-14b", base_url="http://10.0.0.7:8002")
    assert (backend.base_url, backend.request_model) == ("http://10.0.0.7:8002/v1", "Qwen/Qwen2.5-14B-Instruct")
    assert backend.profile is not None
    assert backend.profile.hourly_usd == 1.69


def test_chat_model_talks_to_the_backend_with_streamed_usage(scripted_backend):
    backend = Backend(scripted_backend.base_url, model="scripted-model")
    chat = backend.chat_model(temperature=0)
    scripted_backend.reply("four words of answer")
    chunks = list(chat.stream("hello"))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "four words of answer"
    assert total.usage_metadata["output_tokens"] == 4
    request = scripted_backend.requests[-1]
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["model"] == "scripted-model"
    assert request.headers["authorization"] == "Bearer EMPTY"


def test_crewai_llm_keeps_the_base_url_and_counts_usage(scripted_backend):
    backend = Backend(scripted_backend.base_url, model="scripted-model", api_key="local-key")
    llm = backend.crewai_llm()
    scripted_backend.reply("crew answer")
    assert llm.call("hi") == "crew answer"
    assert scripted_backend.requests[-1].body["model"] == "scripted-model"
    assert scripted_backend.requests[-1].headers["authorization"] == "Bearer local-key"
    assert llm.get_token_usage_summary().completion_tokens == 2


def _limit(body):
    return body.get("max_completion_tokens", body.get("max_tokens"))


def test_models_write_at_most_the_backends_max_tokens(scripted_backend):
    scripted_backend.reply("one")
    scripted_backend.reply("two")
    scripted_backend.reply("three")
    scripted_backend.reply("four")
    Backend(scripted_backend.base_url, model="scripted-model").chat_model().invoke("hi")
    assert _limit(scripted_backend.requests[-1].body) == DEFAULT_MAX_TOKENS == 1024
    Backend(scripted_backend.base_url, model="scripted-model", max_tokens=64).crewai_llm().call("hi")
    assert _limit(scripted_backend.requests[-1].body) == 64
    Backend(scripted_backend.base_url, model="scripted-model").chat_model(max_tokens=8).invoke("hi")
    assert _limit(scripted_backend.requests[-1].body) == 8
    Backend(scripted_backend.base_url, model="scripted-model", max_tokens=None).chat_model().invoke("hi")
    assert _limit(scripted_backend.requests[-1].body) is None


@pytest.mark.parametrize("bad", [0, -5, 1.5, "100", True])
def test_a_bad_max_tokens_is_refused(bad):
    with pytest.raises(ConfigurationError, match="max_tokens must be a whole number"):
        Backend("http://127.0.0.1:9/v1", model="m", max_tokens=bad)


def test_tier_profiles_follow_the_tutorial():
    orchestrator = get_tier("orchestrator-h200")
    assert (orchestrator.model, orchestrator.quantization) == ("meta-llama/Llama-3.3-70B-Instruct", "fp8")
    assert (orchestrator.gpu_memory_utilization, orchestrator.max_num_seqs, orchestrator.max_model_len) == (
        0.9,
        32,
        8192,
    )
    for name in ("worker-a100-14b", "worker-a100-7b"):
        worker = get_tier(name)
        assert (worker.gpu_memory_utilization, worker.max_num_seqs, worker.max_model_len) == (0.85, 64, 4096)
    assert TIERS["embedded-cpu"].request_model == "smollm2-135m-instruct"
    with pytest.raises(ConfigurationError, match="unknown tier 'h100'"):
        get_tier("h100")


def test_launch_commands_are_exact():
    docker = shell_command(launch_command(get_tier("orchestrator-h200"), runtime="docker"))
    assert docker == (
        "docker run --gpus all --ipc=host -p 8001:8000 vllm/vllm-openai:latest "
        "--model meta-llama/Llama-3.3-70B-Instruct --quantization fp8 --gpu-memory-utilization 0.90 "
        "--max-num-seqs 32 --max-model-len 8192"
    )
    vllm = shell_command(launch_command(get_tier("worker-a100-14b"), runtime="vllm", port=9000))
    assert vllm == (
        "vllm serve Qwen/Qwen2.5-14B-Instruct --quantization fp8 --gpu-memory-utilization 0.85 "
        "--max-num-seqs 64 --max-model-len 4096 --host 0.0.0.0 --port 9000"
    )
    sglang = shell_command(launch_command(get_tier("worker-a100-14b"), runtime="sglang"))
    assert sglang.startswith("python -m sglang.launch_server --model-path Qwen/Qwen2.5-14B-Instruct --quantization fp8")
    assert "--port 8002" in sglang


def test_backend_command_cli_prints_the_command():
    command = ["backend", "command", "--tier", "worker-a100-7b", "--runtime", "docker"]
    result = subprocess.run(
        [sys.executable, "-m", "a2a_bridge.cli", *command], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    expected = (
        "--model Qwen/Qwen2.5-7B-Instruct --quantization fp8 "
        "--gpu-memory-utilization 0.85 --max-num-seqs 64 --max-model-len 4096"
    )
    assert result.stdout.strip().endswith(expected)


TOPOLOGY = """
[roles.orchestrator]
tier = "orchestrator-h200"
base_url = "http://10.0.0.4:8001/v1"

[roles.research-worker]
tier = "worker-a100-14b"
base_url = "http://10.0.0.7:8002"
api_key = "env:A2A_TEST_WORKER_KEY"

[roles.synthesis-worker]
base_url = "http://10.0.0.8:8002/v1"
model = "Qwen/Qwen2.5-7B-Instruct"
"""


def test_topology_maps_roles_to_backends(tmp_path, monkeypatch):
    monkeypatch.setenv("A2A_TEST_WORKER_KEY", "worker-key-1")
    path = tmp_path / "topology.toml"
    path.write_text(TOPOLOGY)
    topology = Topology.load(path)
    assert topology.backend("orchestrator").request_model == "meta-llama/Llama-3.3-70B-Instruct"
    research = topology.backend("research-worker")
    assert (research.base_url, research.api_key) == ("http://10.0.0.7:8002/v1", "worker-key-1")
    assert topology.backend("synthesis-worker").request_model == "Qwen/Qwen2.5-7B-Instruct"
    with pytest.raises(ConfigurationError, match="no role 'code-worker'"):
        topology.backend("code-worker")


def test_topology_reads_an_api_key_from_a_file(tmp_path):
    key_file = tmp_path / "vllm.key"
    key_file.write_text("file-key-7\n")
    path = tmp_path / "topology.toml"
    path.write_text(f"[roles.a]\nbase_url = 'http://x/v1'\nmodel = 'm'\napi_key = '@{key_file}'\n")

    assert Topology.load(path).backend("a").api_key == "file-key-7"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[roles.a]\ntier = 'worker-a100-14b'\nbase_url = 'http://x/v1'\nmodle = 'typo'",
            "roles.a: unknown key(s) modle",
        ),
        ("[roles.a]\ntier = 'h100'\nbase_url = 'http://x/v1'", "roles.a.tier: unknown tier 'h100'"),
        ("[roles.a]\ntier = 'worker-a100-14b'", "roles.a: base_url is required"),
        ("[roles.a]\nbase_url = 'http://x/v1'", "roles.a: give a model, or a tier that names one"),
        ("[roles.a]\nbase_url = 'x:8000'\nmodel = 'm'", "roles.a: base_url must be an http(s) URL"),
        ("[roles.a]\nbase_url = 'http://x'\nmodel = 'm'\napi_key = 'env:NOT_SET_A2A'", "api_key: environment variable"),
        ("[roles.a\n", "not valid TOML"),
        ("[backends.a]\nbase_url = 'http://x'", "unknown section(s) backends"),
        ("", "no roles"),
    ],
)
def test_topology_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "topology.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        Topology.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_backend_check_cli_reports_each_role(tmp_path):
    with ScriptedBackend(model="orchestrator-model") as llm:
        path = tmp_path / "topology.toml"
        path.write_text(
            f"[roles.orchestrator]\nbase_url = '{llm.base_url}'\nmodel = 'orchestrator-model'\n"
            f"[roles.worker]\nbase_url = '{llm.base_url}'\nmodel = 'missing-model'\n"
        )
        result = subprocess.run(
            [sys.executable, "-m", "a2a_bridge.cli", "backend", "check", "--topology", str(path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert "orchestrator: ok" in result.stdout
    assert "worker: model server at" in result.stdout
    assert "a2a-bridge: error: 1 of 2 backend(s) not usable: worker" in result.stderr
