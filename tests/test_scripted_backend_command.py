"""``a2a-bridge backend scripted``: the scripted backend in its own process, with a graph served against it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from processes import TESTS, serve_process

CLI = [sys.executable, "-m", "a2a_bridge.cli"]


class BackendProcess:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*CLI, "backend", "scripted", "--port", "0", *args],
            cwd=TESTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # printed once it listens
        assert line, self.process.stderr.read() if self.process.stderr else "no output"
        self.base_url, self.model, _ = line.split()
        self.root = self.base_url.removesuffix("/v1")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps({"replies": [{"text": "H200 time costs $3.50 an hour."}]}))
    return path


@pytest.fixture
def backend(script: Path) -> Iterator[BackendProcess]:
    process = BackendProcess("--replies", str(script))
    yield process
    process.stop()


def test_a_graph_served_in_another_process_gets_the_scripted_reply(backend):
    agent = serve_process("graphs:served_chat", env={"GRAPHS_LLM_URL": backend.base_url})
    try:
        called = subprocess.run(
            [*CLI, "call", agent.url, "What does an H200 hour cost?"],
            cwd=TESTS, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        agent.stop()

    assert called.returncode == 0, called.stderr
    assert called.stdout.strip() == "H200 time costs $3.50 an hour."
    received = httpx.get(f"{backend.root}/scripted/requests").json()
    assert len(received) == 1
    assert received[0]["body"]["model"] == "scripted-model"
    assert received[0]["body"]["messages"][-1]["content"] == "What does an H200 hour cost?"


def test_replies_posted_at_run_time_answer_the_requests_they_match(backend):
    added = httpx.post(
        f"{backend.root}/scripted/replies",
        json=[{"json": {"steps": ["price"]}, "when": {"system": "planner"}, "times": None}],
    )
    chat = f"{backend.base_url}/chat/completions"

    def ask(system: str) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": "go"}]
        body = httpx.post(chat, json={"model": "scripted-model", "messages": messages}).json()
        return str(body["choices"][0]["message"]["content"])

    assert added.json() == {"added": 1}
    assert ask("You are the planner.") == "H200 time costs $3.50 an hour.", "replies answer in the order given"
    assert ask("You are the planner.") == '{"steps": ["price"]}'
    assert ask("You are the planner.") == '{"steps": ["price"]}', "times: null answers every match"
    assert ask("You are a worker.") == "echo: go"


def test_a_bad_reply_posted_is_refused_naming_the_entry_and_key(backend):
    response = httpx.post(f"{backend.root}/scripted/replies", json={"text": "a", "json": {}})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "replies[0]: give exactly one of text, json, tool_calls, error"


def test_sigterm_stops_it_at_once_with_status_zero(backend):
    assert backend.stop() == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{backend.base_url}/models", timeout=2)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"replies": [{"txt": "x"}]}, "replies[0].txt: unknown; expected one of error, json, latency, text"),
        ({"replies": [{"text": "a"}, {"error": [200, "ok"]}]}, 'replies[1].error: must be [STATUS, "message"]'),
        ({"replies": [{"text": "a", "when": {"user": "x"}}]}, "replies[0].when.user: unknown"),
        ({"replies": [{"text": "a", "times": 0}]}, "replies[0].times: must be a whole number of at least 1"),
        ({"reply": []}, "unknown key 'reply'"),
    ],
)
def test_a_bad_script_file_is_one_line_naming_the_entry(tmp_path, script, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(script))

    result = subprocess.run(
        [*CLI, "backend", "scripted", "--port", "0", "--replies", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("a2a-bridge: error: ")
    assert message in lines[0]
