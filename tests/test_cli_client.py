"""``a2a-bridge card``, ``call`` and ``task`` as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from a2a_calls import start_task
from processes import TESTS, free_port, serve_process
from sdk import SECRET

CLI = [sys.executable, "-m", "a2a_bridge.cli"]


@pytest.fixture(scope="module")
def steady():
    agent = serve_process("agents:steady", secrets={"orchestrator": SECRET})
    yield agent.url
    agent.stop()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [*CLI, *args], cwd=TESTS, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_card_shows_and_validates(steady):
    result = cli("card", steady)
    assert result.returncode == 0, result.stderr
    assert "steady" in result.stdout.lower() or "SteadyAgent" in result.stdout
    assert "bearer secret" in result.stdout
    assert "valid" in result.stdout
    raw = json.loads(cli("card", steady, "--json").stdout)
    assert raw["supportedInterfaces"][0]["protocolBinding"] == "JSONRPC"


def test_call_prints_the_result(steady):
    result = cli("call", steady, "hello", "--secret", "env:S", env={"S": SECRET})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("step 0 step 1")
    assert '"steps": 10' in result.stdout
    assert "completed" in result.stderr


def test_call_streams_progress(steady):
    result = cli("call", steady, "--data", '{"query": "q"}', "--stream", "--secret", SECRET)
    assert result.returncode == 0, result.stderr
    assert "step 9" in result.stderr
    assert "step 0 step 1" in result.stdout


def test_call_json_output(steady):
    result = cli("call", steady, "hi", "--secret", SECRET, "--json")
    body = json.loads(result.stdout)
    assert body["state"] == "completed"
    assert body["data"]["steps"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["call", "{url}", "hi"], "requires a bearer secret: add --secret VALUE, --secret @FILE or --secret env:VAR"),
        (["call", "{url}", "hi", "--secret", "wrong-secret"], "refused the credentials (HTTP 401)"),
        (["call", "{url}", "--data", "[1]", "--secret", SECRET], "--data must be a JSON object"),
        (["call", "{url}", "--secret", SECRET], "give the message TEXT, --data JSON, or both"),
        (["card", "{dead}"], "cannot reach"),
        (["call", "{dead}", "hi"], "cannot reach"),
    ],
)
def test_failures_exit_nonzero_with_one_line(steady, args, message):
    dead = f"http://127.0.0.1:{free_port()}"
    result = cli(*(a.format(url=steady, dead=dead) for a in args))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("a2a-bridge: error: ")
    assert message in lines[0]


def test_task_get_and_list_cover_a_tasks_life(tmp_path):
    agent = serve_process(
        "agents:steady", secrets={"orchestrator": SECRET}, args=["--store", f"sqlite:///{tmp_path}/tasks.db"]
    )
    try:
        done = json.loads(cli("call", agent.url, "first", "--secret", SECRET, "--json").stdout)
        cli("call", agent.url, "second", "--secret", SECRET)

        got = cli("task", "get", agent.url, done["task_id"], "--secret", SECRET, "--json")
        assert got.returncode == 0, got.stderr
        assert (json.loads(got.stdout)["state"], json.loads(got.stdout)["text"]) == ("completed", done["text"])

        first_page = json.loads(cli("task", "list", agent.url, "--secret", SECRET, "--page-size", "1", "--json").stdout)
        assert (len(first_page["tasks"]), first_page["total"]) == (1, 2)
        token = first_page["next_page_token"]
        rest = cli("task", "list", agent.url, "--secret", SECRET, "--page-token", token, "--json")
        listed = {t["task_id"] for t in first_page["tasks"] + json.loads(rest.stdout)["tasks"]}
        assert done["task_id"] in listed
        assert len(listed) == 2
        table = cli("task", "list", agent.url, "--secret", SECRET, "--state", "completed")
        assert done["task_id"] in table.stdout
        assert "2 of 2 tasks" in table.stdout

        unknown = cli("task", "get", agent.url, "no-such-task", "--secret", SECRET)
        assert unknown.returncode == 2
        assert unknown.stderr.strip().splitlines()[-1].startswith("a2a-bridge: error: ")
        no_secret = cli("task", "list", agent.url)
        assert "requires a bearer secret: add --secret VALUE" in no_secret.stderr
    finally:
        agent.stop()


def test_task_cancel_stops_a_running_task_once():
    # Two minutes of steps: the task is still running whatever the CLI's start-up costs on a busy machine.
    agent = serve_process("agents:steady", secrets={"orchestrator": SECRET}, env={"STEADY_STEPS": "600"})
    try:
        running = start_task(agent.url, "long", secret=SECRET)
        canceled = cli("task", "cancel", agent.url, running, "--secret", SECRET)
        assert canceled.returncode == 0, canceled.stderr
        assert "canceled" in canceled.stderr
        again = cli("task", "cancel", agent.url, running, "--secret", SECRET)
        assert again.returncode == 2
        assert "cannot be canceled" in again.stderr
    finally:
        agent.stop()
