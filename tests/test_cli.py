"""``a2a-bridge serve`` in a real process, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from processes import serve_process

from a2a_bridge.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "a2a_bridge.cli"]


@pytest.fixture
def served(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file-0001\n")
    agent = serve_process(
        "demos.quickstart.pricing_agent:estimator",
        secrets={"orchestrator": "env:CLI_TEST_SECRET", "auditor": f"@{secret_file}"},
        env={"CLI_TEST_SECRET": "from-the-env-0001"},
        args=["--public-url", "https://pricing.example:9443"],
        cwd=ROOT,
    )
    yield agent.url
    agent.stop()


def test_serve_runs_the_object_with_secrets_and_public_url(served):
    card = httpx.get(served + "/.well-known/agent-card.json").json()
    assert card["name"] == "gpu-cost-estimator"
    assert card["supportedInterfaces"][0]["url"] == "https://pricing.example:9443/"
    for secret in ("from-the-env-0001", "from-a-file-0001"):
        result = httpx.post(
            served + "/tasks/send",
            headers={"Authorization": f"Bearer {secret}"},
            json={"task_id": "cli-1", "input": {"gpu": "H200", "hours": 10}},
        ).json()
        assert result["status"] == "completed"
        assert result["output"]["total_usd"] == 37.0
    assert httpx.post(served + "/tasks/send", json={"task_id": "x", "input": {}}).status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "no_such_module:agent"], "cannot import module 'no_such_module': no such module"),
        (["serve", "demos.quickstart.pricing_agent:nope"], "has no attribute 'nope'"),
        (["serve", "just-a-name"], "expected MODULE:ATTR"),
        (["serve", "demos.quickstart.pricing_agent:PRICES"], "no installed adapter can serve a builtins.dict"),
        (["serve", "demos.quickstart.pricing_agent:estimator", "--secret", "novalue"], "--secret takes NAME=VALUE"),
        (["serve", "demos.quickstart.pricing_agent:estimator", "--secret", "a=env:NOT_SET_ANYWHERE"], "is not set"),
        (["serve", "demos.quickstart.pricing_agent:estimator", "--secret", "a=short"], "at least 8 characters"),
    ],
)
def test_bad_invocations_exit_2_with_one_line(args, message):
    result = subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("a2a-bridge: error: ")
    assert message in lines[0]


def test_serve_grpc_port_and_no_v03_compat_reach_the_card_and_the_wire():
    port = free_port()
    agent = serve_process(
        "demos.quickstart.pricing_agent:estimator", args=["--grpc-port", str(port), "--no-v03-compat"], cwd=ROOT
    )
    try:
        card = httpx.get(agent.url + "/.well-known/agent-card.json").json()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
    finally:
        agent.stop()

    assert [(i["protocolBinding"], i["protocolVersion"]) for i in card["supportedInterfaces"]] == [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("GRPC", "1.0"),
    ]
    assert card["supportedInterfaces"][2]["url"] == f"127.0.0.1:{port}"
    assert "url" not in card
