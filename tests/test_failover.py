"""Failover: a replica dies while it holds a task, and the task completes on the next one."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from processes import serve_process
from sdk import SECRET

from a2a_bridge import Progress, RemoteAgent, RemoteResult, TextDelta

EXPECTED_TEXT = "".join(f"step {i} " for i in range(10))


@pytest.fixture
def replicas(tmp_path):
    env = {"STEADY_MARKER_DIR": str(tmp_path)}
    first = serve_process("agents:steady", secrets={"orchestrator": SECRET}, env=env)
    second = serve_process("agents:steady", secrets={"orchestrator": SECRET}, env=env)
    yield first, second, tmp_path
    first.stop()
    second.stop()


async def wait_for_marker(folder: Path, pid: int) -> None:
    marker = folder / f"started-{pid}"
    for _ in range(200):
        if marker.exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"replica {pid} never started the task")


async def test_blocking_send_moves_to_the_next_replica_when_the_first_dies(replicas):
    first, second, markers = replicas
    async with RemoteAgent(first.url, secret=SECRET, replicas=[second.url], backoff=0.01) as remote:
        call = asyncio.create_task(remote.send(data={"query": "fleet"}))
        await wait_for_marker(markers, first.process.pid)
        first.kill()
        result = await call

    assert result.ok
    assert result.url == second.url
    assert result.text == EXPECTED_TEXT
    assert result.data == {"steps": 10, "pid": second.process.pid, "input": {"query": "fleet"}}


async def test_stream_reports_the_failover_and_completes_on_the_next_replica(replicas):
    first, second, _ = replicas
    events = []
    async with RemoteAgent(first.url, secret=SECRET, replicas=[second.url], backoff=0.01) as remote:
        async for event in remote.stream("fleet"):
            events.append(event)
            if isinstance(event, Progress) and event.message == "step 2" and first.process.poll() is None:
                first.kill()

    failovers = [e for e in events if isinstance(e, Progress) and e.data and "failover" in e.data]
    assert len(failovers) == 1
    assert failovers[0].data["failover"]["from"] == first.url
    assert failovers[0].data["failover"]["to"] == second.url
    after = events[events.index(failovers[0]) + 1 :]
    assert "".join(e.text for e in after if isinstance(e, TextDelta)) == EXPECTED_TEXT
    result = events[-1]
    assert isinstance(result, RemoteResult)
    assert result.ok
    assert result.text == EXPECTED_TEXT
    assert result.data["input"] == {"text": "fleet"}


async def test_a_timeout_on_one_replica_sends_the_task_to_the_next(replicas):
    first, second, _ = replicas
    async with RemoteAgent(first.url, secret=SECRET, replicas=[second.url], timeout=4, backoff=0.01) as remote:
        warm = await remote.send("hello")
        assert warm.url == first.url
        first.process.send_signal(signal.SIGSTOP)  # alive but silent, like a hung instance
        try:
            result = await remote.send("hello again")
        finally:
            first.process.send_signal(signal.SIGCONT)
    assert result.ok
    assert result.url == second.url
