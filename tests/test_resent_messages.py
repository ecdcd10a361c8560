"""A message sent again (the same messageId, from the same caller) finds the task it started: the work runs once.

Only for callers that name the idempotent-send extension (RemoteAgent does); others keep A2A's plain behaviour.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from a2a_calls import V1, call, error_of, message, state, stream_events, subscribe_events, wait_for_state

from a2a_bridge import DirectReply, Done, Event, Progress, TextDelta, Turn, to_a2a
from a2a_bridge.testing import LiveServer
from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION

SECRETS = {"alice": "alice-secret-0123456789", "bob": "bob-secret-0123456789ab"}
IDEMPOTENT = {"A2A-Extensions": IDEMPOTENT_SEND_EXTENSION}


class CountingAgent:
    """Counts each run it starts, by the message text; ``slow`` takes a second, ``chatty`` saves 100 times."""

    name = "counting"

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        with self.lock:
            self.runs[turn.text] += 1
        yield Progress("working")
        if turn.text.startswith("slow"):
            await asyncio.sleep(1.0)
        if turn.text.startswith("chatty"):
            for step in range(100):  # a save for each: the task's writes share group commits with others'
                yield Progress(f"step {step}")
                await asyncio.sleep(0.01)
        yield TextDelta(f"done: {turn.text}")
        yield Done()


@pytest.fixture(params=["memory", "sqlite"])
def served(request, tmp_path) -> Iterator[tuple[LiveServer, CountingAgent]]:
    agent = CountingAgent()
    store = "memory" if request.param == "memory" else f"sqlite:///{tmp_path}/tasks.db"
    server = LiveServer(to_a2a(agent, secrets=SECRETS, store=store)).start()
    try:
        yield server, agent
    finally:
        server.stop()


def send(
    url: str, sent: dict[str, Any], *, secret: str, headers: dict[str, str] = IDEMPOTENT, **configuration: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {"message": sent}
    if configuration:
        params["configuration"] = configuration
    result: dict[str, Any] = call(url, "SendMessage", params, secret=secret, headers=headers)["task"]
    return result


def final_state(events: list[dict[str, Any]]) -> str:
    """The state the stream ended on: its last status update, or a task sent last."""
    last = events[-1]
    status = last["statusUpdate"]["status"] if "statusUpdate" in last else last["task"]["status"]
    return str(status["state"])


def test_the_same_message_sent_again_gets_the_task_it_started(served):
    server, agent = served
    sent = message("quote H200")
    first = send(server.url, sent, secret=SECRETS["alice"])
    again = send(server.url, sent, secret=SECRETS["alice"])
    assert state(first) == state(again) == "completed"
    assert again["id"] == first["id"]
    assert agent.runs["quote H200"] == 1
    listed = call(server.url, "ListTasks", {}, secret=SECRETS["alice"])["tasks"]
    assert [task["id"] for task in listed] == [first["id"]]


def test_a_message_id_sent_again_with_other_content_is_refused_with_the_field_at_fault(served):
    """The first task answers the first message: a different message under its id is a caller's mistake."""
    server, agent = served
    first = send(server.url, message("quote H200"), secret=SECRETS["alice"])
    changed = {**message("quote A100"), "messageId": first["history"][0]["messageId"]}
    params = {"message": changed}
    headers = {"Authorization": f"Bearer {SECRETS['alice']}", "A2A-Version": "1.0", **IDEMPOTENT}
    for method in ("SendMessage", "SendStreamingMessage"):
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        reply = httpx.post(server.url + "/", json=body, headers={**headers, "Accept": "text/event-stream"}, timeout=10)
        text = reply.text
        assert "-32602" in text, f"{method}: {text}"
        assert "message.messageId" in text, text
        assert first["id"] in text, text
    assert agent.runs["quote A100"] == 0


def test_without_the_extension_a_message_id_used_again_starts_a_new_task(served):
    """A2A does not make message ids keys; the TCK sends one id with many tasks."""
    server, agent = served
    sent = message("plain")
    first = send(server.url, sent, secret=SECRETS["alice"], headers={})
    again = send(server.url, sent, secret=SECRETS["alice"], headers={})
    assert again["id"] != first["id"]
    assert agent.runs["plain"] == 2


def test_the_card_offers_the_extension(served):
    server, _ = served
    card = httpx.get(server.url + "/.well-known/agent-card.json", timeout=10).json()
    offered = {ext["uri"]: ext for ext in card["capabilities"]["extensions"]}
    assert offered[IDEMPOTENT_SEND_EXTENSION].get("required", False) is False


def test_another_callers_message_id_starts_that_callers_own_task(served):
    server, agent = served
    sent = message("quote A100")
    alices = send(server.url, sent, secret=SECRETS["alice"])
    bobs = send(server.url, sent, secret=SECRETS["bob"])
    assert bobs["id"] != alices["id"], "a message id is scoped by its caller"
    assert agent.runs["quote A100"] == 2
    listed = call(server.url, "ListTasks", {}, secret=SECRETS["bob"])["tasks"]
    assert [task["id"] for task in listed] == [bobs["id"]]


def test_a_message_sent_again_while_its_task_runs_waits_for_that_task(served):
    server, agent = served
    sent = message("slow quote")
    started = send(server.url, sent, secret=SECRETS["alice"], returnImmediately=True)
    again = send(server.url, sent, secret=SECRETS["alice"])
    assert again["id"] == started["id"]
    assert state(again) == "completed", "a blocking caller gets the task once its turn ends"
    assert agent.runs["slow quote"] == 1


def test_a_message_sent_again_without_waiting_gets_the_task_as_it_is(served):
    server, agent = served
    sent = message("slow check")
    started = send(server.url, sent, secret=SECRETS["alice"], returnImmediately=True)
    again = send(server.url, sent, secret=SECRETS["alice"], returnImmediately=True)
    assert again["id"] == started["id"]
    done = wait_for_state(server.url, started["id"], {"completed"}, timeout=10, secret=SECRETS["alice"])
    assert state(done) == "completed"
    assert agent.runs["slow check"] == 1


def test_a_stream_sent_again_follows_the_task_it_started(served):
    server, agent = served
    sent = message("slow stream")
    started = send(server.url, sent, secret=SECRETS["alice"], returnImmediately=True)
    again = stream_events(server.url, sent, secret=SECRETS["alice"], headers=IDEMPOTENT)
    assert again[0]["task"]["id"] == started["id"]
    assert final_state(again) == "TASK_STATE_COMPLETED"
    assert agent.runs["slow stream"] == 1
    finished = stream_events(server.url, sent, secret=SECRETS["alice"], headers=IDEMPOTENT)
    assert [event["task"]["status"]["state"] for event in finished] == ["TASK_STATE_COMPLETED"]


def test_a_subscriber_to_a_task_on_the_sdks_road_hears_how_it_ended(served):
    """return_immediately runs on the SDK's queue; its subscriber learns the end even when the queue drops it."""
    server, _ = served
    started = send(server.url, message("slow subscribed"), secret=SECRETS["alice"], returnImmediately=True)
    events = subscribe_events(server.url, started["id"], secret=SECRETS["alice"])
    assert events[0]["task"]["id"] == started["id"]
    assert final_state(events) == "TASK_STATE_COMPLETED"


def test_a_caller_with_a_very_long_message_id_harms_no_other_callers_tasks_on_postgres():
    """Tasks are saved in group commits: one caller's 10,000-character id must not fail the others' saves."""
    import concurrent.futures

    from a2a_bridge.testing import services

    with services.postgres() as postgres:
        store = postgres.create_database("long_message_ids")
        agent = CountingAgent()
        server = LiveServer(to_a2a(agent, secrets=SECRETS, store=store)).start()
        try:
            long_one = {
                **message("chatty long id"),
                "messageId": os.urandom(5008).hex(),
            }  # 10,016 characters that do not compress
            with concurrent.futures.ThreadPoolExecutor(11) as pool:
                first = pool.submit(send, server.url, long_one, secret=SECRETS["alice"])
                time.sleep(0.3)
                others = [
                    pool.submit(send, server.url, message(f"other {n}"), secret=SECRETS["bob"]) for n in range(10)
                ]
                tasks = [first.result(), *(future.result() for future in others)]
            for task, secret in zip(tasks, ["alice"] + ["bob"] * 10, strict=True):
                stored = call(server.url, "GetTask", {"id": task["id"]}, secret=SECRETS[secret])
                assert state(stored) == "completed", stored["status"]
            again = send(server.url, long_one, secret=SECRETS["alice"])
            assert again["id"] == tasks[0]["id"], "the long id is found again"
        finally:
            server.stop()


def test_a_message_sent_again_to_a_replica_not_running_its_task_gets_the_task(tmp_path):
    """Two replicas on one SQLite file and no event bus: B cannot follow A's run, but finds the task."""
    store = f"sqlite:///{tmp_path}/tasks.db"
    agent_a, agent_b = CountingAgent(), CountingAgent()
    a = LiveServer(to_a2a(agent_a, secrets=SECRETS, store=store)).start()
    b = LiveServer(to_a2a(agent_b, secrets=SECRETS, store=store)).start()
    try:
        sent = message("slow on A")
        started = send(a.url, sent, secret=SECRETS["alice"], returnImmediately=True)
        again = send(b.url, sent, secret=SECRETS["alice"])
        assert again["id"] == started["id"]
        assert state(again) == "completed", "B waited for the turn A ran"
        assert agent_b.runs["slow on A"] == 0, "B did not run it again"
    finally:
        a.stop()
        b.stop()


def test_a_message_sent_again_while_its_first_send_is_still_saving_on_a_slow_replica_runs_once():
    """A's database link is slow: the resend reaches B before A saved the task, and must still find it."""
    import concurrent.futures

    from a2a_bridge.testing import services
    from a2a_bridge.testing.fault_proxy import FaultProxy

    agent = CountingAgent()  # one count across both replicas
    with services.postgres() as postgres, FaultProxy(postgres.port) as slow:
        store = postgres.create_database("resent_race")
        a = LiveServer(to_a2a(agent, secrets=SECRETS, store=store.replace(f"127.0.0.1:{postgres.port}", slow.url_host)))
        b = LiveServer(to_a2a(agent, secrets=SECRETS, store=store))
        a.start()
        b.start()
        try:
            slow.latency(0.3)
            sent = message("slow on A")
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                first = pool.submit(send, a.url, sent, secret=SECRETS["alice"])
                time.sleep(0.5)  # A has taken the message, and is still saving its task
                again = pool.submit(send, b.url, sent, secret=SECRETS["alice"])
                tasks = [first.result(timeout=60), again.result(timeout=60)]
        finally:
            a.stop()
            b.stop()
    assert tasks[0]["id"] == tasks[1]["id"], "one message, one task"
    assert agent.runs["slow on A"] == 1, "run once"


def test_eight_sends_of_one_message_at_once_run_it_once(served):
    server, agent = served
    sent = message("twice at once")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: send(server.url, sent, secret=SECRETS["alice"]), range(8)))
    assert len({reply["id"] for reply in replies}) == 1
    assert agent.runs["twice at once"] == 1


def test_a_caller_whose_context_id_the_database_refuses_harms_no_other_callers_tasks():
    """A 40-character contextId (the task table's column holds 36) is refused up front; no other task suffers."""
    import concurrent.futures

    from a2a_bridge.testing import services

    with services.postgres() as postgres:
        store = postgres.create_database("refused_context")
        server = LiveServer(to_a2a(CountingAgent(), secrets=SECRETS, store=store)).start()
        try:
            refused = {**message("chatty refused context"), "contextId": "c" * 40}
            with concurrent.futures.ThreadPoolExecutor(11) as pool:
                answer = pool.submit(error_of, server.url, "SendMessage", {"message": refused}, secret=SECRETS["alice"])
                time.sleep(0.3)
                others = [
                    pool.submit(send, server.url, message(f"beside {n}"), secret=SECRETS["bob"]) for n in range(9)
                ]
                tasks = [future.result() for future in others]
            assert answer.result()["code"] == -32602, "refused up front, naming the field"
            assert "message.contextId" in answer.result()["message"]
            for task in tasks:
                stored = call(server.url, "GetTask", {"id": task["id"]}, secret=SECRETS["bob"])
                assert state(stored) == "completed", stored["status"]
        finally:
            server.stop()


class Thinker:
    """Answers without a task of its own until its first event (``direct_replies``), after ``think`` seconds."""

    direct_replies = True
    name = "thinker"

    def __init__(self, *, think: float, reply: bool) -> None:
        self.runs: Counter[str] = Counter()
        self.think = think
        self.reply = reply

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        self.runs[turn.text] += 1
        await asyncio.sleep(self.think)
        if self.reply:
            yield DirectReply(text=f"answer: {turn.text}")
            return
        yield TextDelta(f"done: {turn.text}")
        yield Done()


def send_raw(url: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": params}
    reply: dict[str, Any] = httpx.post(url + "/", json=body, headers={**V1, **IDEMPOTENT}, timeout=60).json()
    return reply


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_resend_waits_for_a_first_send_still_thinking_on_this_replica_however_long(store, tmp_path, monkeypatch):
    """No task is stored until the first event: the resend must wait for the send under way, not start again."""
    from a2a_bridge.server.handling import resent

    monkeypatch.setattr(resent, "_APPEARS_WITHIN_SECONDS", 0.5)  # thinking outlasts a replica's wait
    agent = Thinker(think=2.0, reply=False)
    server = LiveServer(to_a2a(agent, store="memory" if store == "memory" else f"sqlite:///{tmp_path}/t.db"))
    server.start()
    try:
        sent = message("think hard")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            first = pool.submit(send_raw, server.url, {"message": sent})
            time.sleep(0.5)
            again = send_raw(server.url, {"message": sent})
            replies = [first.result(), again]
    finally:
        server.stop()
    assert replies[0]["result"]["task"]["id"] == replies[1]["result"]["task"]["id"]
    assert agent.runs["think hard"] == 1


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_message_answered_without_a_task_is_answered_again_at_once(store, tmp_path):
    """A direct reply leaves nothing to find again; the resend must not wait for a task that will never be."""
    agent = Thinker(think=0.0, reply=True)
    server = LiveServer(to_a2a(agent, store="memory" if store == "memory" else f"sqlite:///{tmp_path}/t.db"))
    server.start()
    try:
        sent = message("quick question")
        send_raw(server.url, {"message": sent})
        started = time.monotonic()
        again = send_raw(server.url, {"message": sent})
        took = time.monotonic() - started
    finally:
        server.stop()
    assert again["result"]["message"]["parts"][0]["text"] == "answer: quick question"
    assert took < 3.0, f"the resend waited {took:.1f} s for a task that was never to be"


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_refused_send_leaves_its_message_id_free(store, tmp_path):
    agent = CountingAgent()
    server = LiveServer(to_a2a(agent, store="memory" if store == "memory" else f"sqlite:///{tmp_path}/t.db"))
    server.start()
    try:
        sent = message("hello")
        refused = send_raw(server.url, {"message": sent, "configuration": {"historyLength": -1}})
        started = time.monotonic()
        fixed = send_raw(server.url, {"message": sent})
        took = time.monotonic() - started
    finally:
        server.stop()
    assert refused["error"]["code"] == -32602
    assert state(fixed["result"]["task"]) == "completed"
    assert took < 3.0, f"the corrected send waited {took:.1f} s on the refused one's reservation"


def test_a_blocking_resend_to_an_agent_without_streaming_waits_for_the_turn_to_end(tmp_path):
    from a2a_bridge.plugins import Adapted
    from a2a_bridge.profile import AgentProfile

    agent = CountingAgent()
    server = LiveServer(to_a2a(Adapted(runner=agent, profile=AgentProfile(name="counting", streaming=False))))
    server.start()
    try:
        sent = message("slow job")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(send_raw, server.url, {"message": sent})
            time.sleep(0.4)
            again = send_raw(server.url, {"message": sent})
            first.result()
    finally:
        server.stop()
    assert state(again["result"]["task"]) == "completed"
    assert agent.runs["slow job"] == 1


def test_the_memory_store_forgets_the_message_ids_of_sends_that_left_no_task():
    from a2a_bridge.server.stores.memory import RetainingTaskStore

    store = RetainingTaskStore(keep=5)
    server = LiveServer(to_a2a(Thinker(think=0.0, reply=True), task_store=store)).start()
    try:
        for n in range(50):
            send_raw(server.url, {"message": message(f"question {n}")})
    finally:
        server.stop()
    assert not store._started, f"{len(store._started)} message ids kept for sends that left no task"
