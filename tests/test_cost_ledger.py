"""The cost ledger: served agents record each ended turn, priced by tier, in SQLite or in a real Redis.

``a2a-bridge costs`` then reads the ledger back as a table, a CSV file and a PNG chart.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import graphs
import httpx
import pytest
import redis
from a2a_calls import V1
from agents import AskingAgent
from ledgers import recorded
from sdk import SECRET

from a2a_bridge import Backend, ConfigurationError, to_a2a
from a2a_bridge.backends.tiers import TIERS
from a2a_bridge.observability.costs import CostRecord, open_ledger
from a2a_bridge.observability.costs.redis_ledger import BY_TIME, cost_key
from a2a_bridge.testing import services
from a2a_bridge.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "a2a_bridge.cli"]
AUTH = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[services.Redis]:
    with services.redis() as running:
        yield running


def send(url: str, text: str, **message_fields: str) -> dict:
    message = {"role": "ROLE_USER", "messageId": f"m-{time.monotonic_ns()}", "parts": [{"text": text}]}
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {**message, **message_fields}}}
    return httpx.post(url + "/", json=body, headers={**V1, **AUTH}, timeout=30).json()["result"]["task"]


def served_graph(live_server, scripted_backend, name: str, **options):
    chat = Backend(scripted_backend.base_url, model="scripted-model").chat_model()
    return live_server(to_a2a(graphs.chat_graph(chat, name=name), secrets={"orchestrator": SECRET}, **options))


async def test_a_served_graph_records_each_task_priced_at_its_tier_in_sqlite(live_server, scripted_backend, tmp_path):
    ledger = f"sqlite:///{tmp_path}/costs.db"
    server = served_graph(live_server, scripted_backend, "synthesis-worker", ledger=ledger, tier="worker-a100-14b")
    scripted_backend.reply("A100 spot costs $0.82/hr")
    scripted_backend.reply("H200 on-demand costs $3.70/hr, twice the price")
    started = time.time()
    tasks = [await asyncio.to_thread(send, server.url, q) for q in ("What does an A100 cost?", "And an H200?")]

    records = await recorded(ledger, 2)
    assert [r.task_id for r in records] == [t["id"] for t in tasks]
    tier = TIERS["worker-a100-14b"]
    for record, task in zip(records, tasks, strict=True):
        usage = task["metadata"]["usage"]
        assert record.agent == "synthesis-worker"
        assert record.model == "scripted-model"
        assert record.tier == "worker-a100-14b"
        assert (record.prompt_tokens, record.completion_tokens) == (usage["promptTokens"], usage["completionTokens"])
        # The tier's own capacity (spot, for an A100 worker): tokens x $0.82/h / (386 tokens/s x 3600).
        assert record.cost_usd == pytest.approx(usage["totalTokens"] * 0.82 / (tier.tokens_per_second * 3600))
        assert 0 < record.seconds < 30
        assert started <= record.finished_at <= time.time()


async def test_the_redis_ledger_keeps_the_tutorials_cost_hash_per_task(live_server, scripted_backend, redis_server):
    server = served_graph(
        live_server, scripted_backend, "orchestrator", ledger=redis_server.url, tier="orchestrator-h200",
        capacity="on-demand",
    )  # fmt: skip
    scripted_backend.reply("Run the orchestrator on an H200.")
    task = await asyncio.to_thread(send, server.url, "Where should the orchestrator run?")
    [record] = await recorded(redis_server.url, 1)
    usage = task["metadata"]["usage"]

    stored = redis.Redis.from_url(redis_server.url, decode_responses=True).hgetall(cost_key(task["id"]))
    assert stored["agent"] == "orchestrator"
    assert int(stored["tokens"]) == usage["totalTokens"]
    assert float(stored["cost_usd"]) == pytest.approx(TIERS["orchestrator-h200"].cost_usd(usage["totalTokens"]))
    assert stored["model"] == "scripted-model"
    assert stored["tier"] == "orchestrator-h200"
    assert (int(stored["prompt_tokens"]), int(stored["completion_tokens"])) == (
        usage["promptTokens"],
        usage["completionTokens"],
    )
    assert record.cost_usd == pytest.approx(float(stored["cost_usd"]))


async def test_a_task_that_asks_for_input_adds_its_second_turn_to_its_hash(live_server, redis_server):
    server = live_server(to_a2a(AskingAgent(), name="planner", secrets={"orchestrator": SECRET},
                                ledger=redis_server.url, tier="worker-a100-7b"))  # fmt: skip
    asked = await asyncio.to_thread(send, server.url, "plan a trip")
    assert asked["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    await asyncio.to_thread(send, server.url, "2000", taskId=asked["id"], contextId=asked["contextId"])
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    for _ in range(100):
        if client.hget(cost_key(asked["id"]), "turns") == "2":
            break
        await asyncio.sleep(0.05)
    stored = client.hgetall(cost_key(asked["id"]))
    assert stored["turns"] == "2"
    assert stored["agent"] == "planner"
    assert client.zscore(BY_TIME, asked["id"]) == pytest.approx(float(stored["finished_at"]))


async def test_a_ledger_that_cannot_be_written_costs_a_warning_not_the_task(live_server, caplog):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    server = live_server(to_a2a(AskingAgent(), name="unrecorded", secrets={"orchestrator": SECRET},
                                ledger=unreachable))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="a2a_bridge.costs"):
        asked = await asyncio.to_thread(send, server.url, "plan a trip")
        for _ in range(100):
            if "could not record the cost" in caplog.text:
                break
            await asyncio.sleep(0.05)
    assert asked["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    assert f"could not record the cost of task {asked['id']} in {unreachable}" in caplog.text


def test_bad_ledger_options_are_refused_by_name(tmp_path):
    agent = AskingAgent()
    with pytest.raises(ConfigurationError, match=r"ledger 'http://x' is not 'sqlite:///PATH' or 'redis://"):
        to_a2a(agent, ledger="http://x")
    with pytest.raises(ConfigurationError, match=r"the folder '/no/such' does not exist"):
        to_a2a(agent, ledger="sqlite:////no/such/costs.db")
    with pytest.raises(ConfigurationError, match=r"tier 'a100' is not one of orchestrator-h200, worker-a100-14b"):
        to_a2a(agent, ledger=f"sqlite:///{tmp_path}/c.db", tier="a100")
    with pytest.raises(ConfigurationError, match=r"capacity must be 'on-demand' or 'spot', got 'reserved'"):
        to_a2a(agent, ledger=f"sqlite:///{tmp_path}/c.db", capacity="reserved")
    with pytest.raises(ConfigurationError, match=r"tier and capacity price the turns a cost ledger records"):
        to_a2a(agent, tier="worker-a100-7b")
    with pytest.raises(ConfigurationError, match=r"ledger 'postgresql://app:\*\*\*@db/costs' is not") as refused:
        to_a2a(agent, ledger="postgresql://app:hunter2@db/costs")
    assert "hunter2" not in str(refused.value)


def day(text: str, hour: int) -> float:
    return datetime.fromisoformat(f"{text}T{hour:02d}:00:00+00:00").timestamp()


def run_costs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "costs", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})  # fmt: skip


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_the_costs_command_sums_per_agent_and_day_as_table_csv_and_png(kind, tmp_path, redis_server):
    url = f"sqlite:///{tmp_path}/costs.db" if kind == "sqlite" else redis_server.url
    if kind == "redis":
        redis.Redis.from_url(url).flushdb()
    h200, a100 = TIERS["orchestrator-h200"], TIERS["worker-a100-14b"]

    def spent(task: str, agent: str, tokens: tuple[int, int], when: float) -> CostRecord:
        tier = h200 if agent == "orchestrator" else a100
        cost = tier.cost_usd(sum(tokens), spot=tier is a100)
        return CostRecord(task, agent, "m", tier.name, *tokens, seconds=2.0, cost_usd=cost, finished_at=when)

    records = [
        spent("t1", "orchestrator", (1000, 200), day("2026-11-30", 9)),
        spent("t2", "research-worker", (3000, 100), day("2026-11-30", 10)),
        spent("t3", "research-worker", (2000, 50), day("2026-12-01", 8)),
        spent("t4", "synthesis-worker", (500, 900), day("2026-12-01", 8)),
        spent("old", "research-worker", (90000, 9000), day("2026-11-20", 8)),
    ]

    async def fill() -> None:
        ledger = open_ledger(url)
        for record in records:
            await ledger.record(record)
        await ledger.close()

    asyncio.run(fill())
    out_csv, out_png = tmp_path / "costs.csv", tmp_path / "costs.png"
    result = run_costs("--ledger", url, "--since", "2026-11-30", "--until", "2026-12-01",
                       "--csv", str(out_csv), "--png", str(out_png))  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = result.stdout
    assert "2026-11-30 to 2026-12-01" in table
    assert "90,000" not in table, "a record outside the window is left out"
    for agent in ("orchestrator", "research-worker", "synthesis-worker", "every agent"):
        assert agent in table
    total = sum(r.cost_usd for r in records[:4])
    assert f"{total:.6f}" in table
    with out_csv.open() as rows_file:
        rows = list(csv.DictReader(rows_file))
    assert [(r["day"], r["agent"]) for r in rows] == [
        ("2026-11-30", "orchestrator"), ("2026-11-30", "research-worker"),
        ("2026-12-01", "research-worker"), ("2026-12-01", "synthesis-worker"),
    ]  # fmt: skip
    research_day_two = rows[2]
    assert research_day_two["prompt_tokens"] == "2000"
    assert research_day_two["completion_tokens"] == "50"
    assert research_day_two["tiers"] == "worker-a100-14b"
    assert float(research_day_two["cost_usd"]) == pytest.approx(a100.cost_usd(2050, spot=True), abs=1e-6)
    png = out_png.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    height, width, _ = matplotlib.image.imread(out_png).shape
    assert min(width, height) >= 600


def test_the_costs_command_says_what_is_wrong(tmp_path):
    missing = run_costs("--ledger", f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 2
    assert f"no ledger at '{tmp_path}/none.db'" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_day = run_costs("--since", "30/11/2026")
    assert bad_day.returncode == 2
    assert "'30/11/2026' is not a day: give YYYY-MM-DD" in bad_day.stderr
    (tmp_path / "empty.db").touch()
    reversed_window = run_costs("--ledger", f"sqlite:///{tmp_path}/empty.db", "--since", "2026-12-02",
                                "--until", "2026-12-01")  # fmt: skip
    assert "--since 2026-12-02 is after --until 2026-12-01" in reversed_window.stderr
    empty = run_costs("--ledger", f"sqlite:///{tmp_path}/empty.db", "--days", "3")
    assert empty.returncode == 0, empty.stderr
    today = datetime.now(UTC).date()
    assert f"to {today} (UTC)" in empty.stdout
    assert "no tasks recorded" in empty.stdout
