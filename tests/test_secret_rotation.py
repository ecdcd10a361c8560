"""Rotating a caller's secret without downtime: several valid secrets, and ``@FILE`` secrets re-read on SIGHUP.

The server is a real ``a2a-bridge serve`` process; a client keeps calling it on
one kept-alive connection while the secret file changes under it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter

import httpx
import pytest
from a2a_calls import V1
from agents import EchoAgent
from processes import serve_process

from a2a_bridge import ConfigurationError, to_a2a

OLD, NEW = "old-secret-0001", "new-secret-0002"


def list_tasks(client: httpx.Client, url: str, secret: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ListTasks", "params": {}}
    return client.post(url + "/", json=body, headers={**V1, "Authorization": f"Bearer {secret}"}).status_code


def until(status: int, url: str, secret: str, *, timeout: float = 5) -> float:
    """Seconds until a call with ``secret`` gets ``status``; fails the test after ``timeout``."""
    started = time.monotonic()
    with httpx.Client(timeout=5) as client:
        while list_tasks(client, url, secret) != status:
            assert time.monotonic() - started < timeout, f"{secret} never got {status}"
            time.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.timeout(120)
def test_a_secret_file_rotated_under_load_with_sighup_fails_no_request(tmp_path):
    secret_file = tmp_path / "orchestrator"
    secret_file.write_text(OLD + "\n")
    agent = serve_process("agents:brief", secrets={"orchestrator": f"@{secret_file}"})
    in_use = {"secret": OLD}
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:  # one kept-alive connection throughout
            while not stop.is_set():
                statuses[list_tasks(client, agent.url, in_use["secret"])] += 1

    caller = threading.Thread(target=load)
    caller.start()
    try:
        time.sleep(0.5)
        secret_file.write_text(f"{NEW}\n{OLD}\n")  # both valid while callers move over
        agent.process.send_signal(signal.SIGHUP)
        took = until(200, agent.url, NEW)
        assert until(200, agent.url, OLD) == pytest.approx(0, abs=0.5), "the old one still works meanwhile"
        in_use["secret"] = NEW
        time.sleep(0.5)
        secret_file.write_text(NEW + "\n")
        agent.process.send_signal(signal.SIGHUP)
        until(401, agent.url, OLD)
        time.sleep(0.3)
        secret_file.unlink()  # a mistake: the file is gone
        agent.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        with httpx.Client(timeout=5) as client:
            assert list_tasks(client, agent.url, NEW) == 200, "a failed reload keeps the secrets in use"
            assert list_tasks(client, agent.url, OLD) == 401
    finally:
        stop.set()
        caller.join(timeout=10)
        agent.stop()
    assert agent.process.returncode in (0, -signal.SIGTERM), "SIGHUP never stopped the server"
    assert set(statuses) == {200}, f"no request failed during the rotation: {dict(statuses)}"
    assert sum(statuses.values()) > 100
    print(f"{sum(statuses.values())} calls during the rotation, all 200; the new secret worked {took * 1000:.0f} ms "
          "after SIGHUP")  # fmt: skip


def test_a_caller_may_have_several_secrets_and_each_is_checked(live_server, tmp_path):
    app = to_a2a(EchoAgent(), secrets={"orchestrator": ["first-secret-1", "second-secret-2"], "auditor": "audit-0001"})
    server = live_server(app)
    with httpx.Client(timeout=5) as client:
        for secret in ("first-secret-1", "second-secret-2", "audit-0001"):
            assert list_tasks(client, server.url, secret) == 200
        assert list_tasks(client, server.url, "third-secret-3") == 401
    with pytest.raises(ConfigurationError, match=r"the secret for 'orchestrator' must be a string of at least 8"):
        to_a2a(EchoAgent(), secrets={"orchestrator": ["long-enough-1", "short"]})
    with pytest.raises(ConfigurationError, match=r"two callers share one secret"):
        to_a2a(EchoAgent(), secrets={"orchestrator": ["shared-secret-1"], "auditor": ["x" * 9, "shared-secret-1"]})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigurationError, match=r"the secret for 'orchestrator': its file holds no secret"):
        to_a2a(EchoAgent(), secrets={"orchestrator": f"@{tmp_path / 'empty'}"})
    with pytest.raises(ConfigurationError, match=r"the secret for 'orchestrator': cannot read the file"):
        to_a2a(EchoAgent(), secrets={"orchestrator": f"@{tmp_path / 'missing'}"})
