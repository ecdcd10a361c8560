"""The official A2A TCK, at MUST level, against a runner and a LangGraph graph served on the public API.

``.ci/run`` points ``A2A_TCK_KIT`` at the kit; there, a missing kit fails the
suite. Without the variable the test is skipped with where to get the kit.
The TCK runs go side by side: most of their time is the TCK's own 10-second
waits on streams that, rightly, stay open.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from conformance.kit import WHERE_TO_GET_IT, TckRun, install, kit_path, run_tck, unpack
from conformance.tck_graph import tck_graph
from conformance.tck_runner import TckRunner

from a2a_bridge import to_a2a
from a2a_bridge.testing import LiveServer

TRANSPORTS = "jsonrpc,http_json,grpc"


@pytest.fixture(scope="module")
def tck_runs(tmp_path_factory) -> dict[str, TckRun]:
    kit = kit_path()
    if kit is None:
        pytest.skip(f"A2A_TCK_KIT is not set; {WHERE_TO_GET_IT}")
    if not kit.exists():
        pytest.fail(f"A2A_TCK_KIT={kit} does not exist; {WHERE_TO_GET_IT}")
    # The kit's webhook receiver listens on this machine: allowed here, as it never is by default.
    push = {"allow": ["127.0.0.0/8", "::1/128"]}
    apps = {
        "runner, v1.0 only": to_a2a(TckRunner(), v03_compat=False, grpc_port=0, push_notifications=push),
        "runner, v1.0 and v0.3": to_a2a(TckRunner(), grpc_port=0, push_notifications=push),
        "graph, v1.0 only": to_a2a(
            tck_graph(), v03_compat=False, direct_replies=True, grpc_port=0, push_notifications=push
        ),
    }
    servers = {name: LiveServer(app).start() for name, app in apps.items()}
    try:
        sources = {name: unpack(kit, tmp_path_factory.mktemp("tck") / "a2a-tck") for name in apps}
        install(sources["runner, v1.0 only"])  # once, before the runs would each try
        with ThreadPoolExecutor(len(apps)) as pool:
            futures = {
                name: pool.submit(run_tck, sources[name], server.url, level="must", transports=TRANSPORTS)
                for name, server in servers.items()
            }
            return {name: future.result() for name, future in futures.items()}
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("agent", ["runner", "graph"])
def test_served_a2a_1_0_only_every_must_of_the_tck_passes(tck_runs, agent):
    run = tck_runs[f"{agent}, v1.0 only"]

    assert run.failing("MUST") == {}, run.output
    assert run.failed == 0, run.output
    assert run.passed >= 190, run.output
    assert {binding: counts["failed"] for binding, counts in run.transports.items()} == {
        "agent_card": 0,
        "jsonrpc": 0,
        "http_json": 0,
        "grpc": 0,
    }
    assert all(run.transports[binding]["passed"] > 50 for binding in ("jsonrpc", "http_json", "grpc"))
    pushed = {req: info["status"] for req, info in run.requirements.items() if req.startswith("PUSH-")}
    assert len(pushed) == 10
    assert set(pushed.values()) == {"PASS"}, pushed  # push-config operations and delivery, on every binding


@pytest.mark.timeout(900)
def test_with_v03_compat_only_the_card_schema_check_fails_on_the_v03_fields(tck_runs):
    run = tck_runs["runner, v1.0 and v0.3"]

    failing = run.failing("MUST")
    assert list(failing) == ["CARD-STRUCT-001"], run.output
    assert all(name in failing["CARD-STRUCT-001"][0] for name in ("'url'", "'preferredTransport'", "'protocolVersion'"))
    assert run.failed == 1, run.output
