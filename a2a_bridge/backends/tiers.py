"""vLLM tier profiles, from the tutorial, as data, and the commands that launch them.

orchestrator-h200   Llama-3.3-70B-Instruct fp8 on an H200 SXM5 (0.90, 32 seqs, 8192 ctx)
worker-a100-14b     Qwen2.5-14B-Instruct fp8 on an A100 80GB (0.85, 64 seqs, 4096 ctx)
worker-a100-7b      Qwen2.5-7B-Instruct fp8 on an A100 80GB (0.85, 64 seqs, 4096 ctx)
embedded-cpu        SmolLM2-135M-Instruct on this machine's CPU, for the demo and tests
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Literal

from a2a_bridge.errors import ConfigurationError

__all__ = ["TIERS", "Capacity", "Runtime", "TierProfile", "get_tier", "launch_command", "vllm_args"]

Runtime = Literal["vllm", "docker", "sglang"]
Capacity = Literal["on-demand", "spot"]
RUNTIMES: tuple[Runtime, ...] = ("vllm", "docker", "sglang")


@dataclass(frozen=True, slots=True)
class TierProfile:
    """One model tier: what it serves, on what hardware, and what an hour costs.

    Prices are the tutorial's (29 Jun 2026) per GPU-hour. ``tokens_per_second``
    is the throughput cost estimates assume: for the GPU tiers, the tutorial's
    own example implies it (100M output tokens a day on three GPUs at full
    utilisation: about 386 tokens/s each); for the CPU tier it is measured
    (bench/results-vllm.md). Put your own measurement in for real budgets.

    ``capacity`` is the tutorial's billing advice: orchestrators hold session
    state and stay on on-demand instances, retryable workers go on spot.
    ``gpu_product`` is the ``nvidia.com/gpu.product`` node label that NVIDIA's
    GPU feature discovery gives a node with this GPU.
    """

    name: str
    model: str
    gpu: str
    quantization: str | None
    gpu_memory_utilization: float | None
    max_num_seqs: int
    max_model_len: int
    port: int
    hourly_usd: float
    spot_hourly_usd: float | None
    role: str
    served_model_name: str | None = None
    tokens_per_second: float = 386.0
    capacity: Capacity = "on-demand"
    gpu_product: str | None = None

    def cost_usd(self, tokens: int, *, spot: bool = False) -> float:
        """The tutorial's attribution: tokens x hourly price / tokens per hour."""
        hourly = self.spot_hourly_usd if spot and self.spot_hourly_usd is not None else self.hourly_usd
        return tokens * hourly / (self.tokens_per_second * 3600)

    @property
    def request_model(self) -> str:
        """The model name clients put in requests."""
        return self.served_model_name or self.model


# The tutorial's two A100 workers differ only in model, port and role.
_A100_WORKER = TierProfile(
    name="worker-a100-14b",
    model="Qwen/Qwen2.5-14B-Instruct",
    gpu="A100 80GB SXM4",
    quantization="fp8",
    gpu_memory_utilization=0.85,
    max_num_seqs=64,
    max_model_len=4096,
    port=8002,
    hourly_usd=1.69,
    spot_hourly_usd=0.82,
    role="research and synthesis workers; retryable, fine on spot capacity",
    capacity="spot",
    gpu_product="NVIDIA-A100-SXM4-80GB",
)

TIERS: dict[str, TierProfile] = {
    tier.name: tier
    for tier in (
        TierProfile(
            name="orchestrator-h200",
            model="meta-llama/Llama-3.3-70B-Instruct",
            gpu="H200 SXM5 141GB",
            quantization="fp8",
            gpu_memory_utilization=0.90,
            max_num_seqs=32,
            max_model_len=8192,
            port=8001,
            hourly_usd=3.70,
            spot_hourly_usd=3.31,
            role="planner and synthesiser; keep on on-demand capacity, it holds session state",
            gpu_product="NVIDIA-H200",
        ),
        _A100_WORKER,
        replace(
            _A100_WORKER,
            name="worker-a100-7b",
            model="Qwen/Qwen2.5-7B-Instruct",
            port=8003,
            role="code and light workers; retryable, fine on spot capacity",
        ),
        TierProfile(
            name="embedded-cpu",
            model="SmolLM2-135M-Instruct",
            gpu="none (CPU)",
            quantization=None,
            gpu_memory_utilization=None,
            max_num_seqs=32,
            max_model_len=2048,
            port=8000,
            hourly_usd=0.0,
            spot_hourly_usd=None,
            role="the demo and tests on a laptop or CI machine; `a2a-bridge backend up` runs it",
            served_model_name="smollm2-135m-instruct",
            tokens_per_second=300.0,
        ),
    )
}


def get_tier(name: str) -> TierProfile:
    try:
        return TIERS[name]
    except KeyError:
        raise ConfigurationError(f"unknown tier {name!r}; known tiers: {', '.join(TIERS)}") from None


def launch_command(tier: TierProfile, *, runtime: Runtime = "vllm", port: int | None = None) -> list[str]:
    """The exact command that serves ``tier`` with ``runtime``, as an argv list."""
    if runtime not in RUNTIMES:
        raise ConfigurationError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIMES)}")
    port = port or tier.port
    if tier.name == "embedded-cpu":
        if runtime != "vllm":
            raise ConfigurationError("the embedded-cpu tier runs with `a2a-bridge backend up` (runtime vllm) only")
        return ["a2a-bridge", "backend", "up", "--port", str(port)]
    if runtime == "sglang":
        command = ["python", "-m", "sglang.launch_server", "--model-path", tier.model]
        if tier.quantization:
            command += ["--quantization", tier.quantization]
        command += ["--host", "0.0.0.0", "--port", str(port), "--context-length", str(tier.max_model_len)]
        if tier.gpu_memory_utilization is not None:
            command += ["--mem-fraction-static", f"{tier.gpu_memory_utilization:.2f}"]
        return [*command, "--max-running-requests", str(tier.max_num_seqs)]
    if runtime == "docker":
        image = ["docker", "run", "--gpus", "all", "--ipc=host", "-p", f"{port}:8000", "vllm/vllm-openai:latest"]
        return [*image, "--model", tier.model, *vllm_args(tier)]
    return ["vllm", "serve", tier.model, *vllm_args(tier), "--host", "0.0.0.0", "--port", str(port)]


def vllm_args(tier: TierProfile) -> list[str]:
    """The tier's vLLM engine arguments after the model: the same in a shell, in Docker and in the Helm chart."""
    args: list[str] = []
    if tier.quantization:
        args += ["--quantization", tier.quantization]
    if tier.gpu_memory_utilization is not None:
        args += ["--gpu-memory-utilization", f"{tier.gpu_memory_utilization:.2f}"]
    args += ["--max-num-seqs", str(tier.max_num_seqs), "--max-model-len", str(tier.max_model_len)]
    if tier.served_model_name:
        args += ["--served-model-name", tier.served_model_name]
    return args


def shell_command(argv: list[str]) -> str:
    """``argv`` as one line a shell can run."""
    return shlex.join(argv)
