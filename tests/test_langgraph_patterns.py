"""The LangGraph patterns beyond a simple graph, served and called over real HTTP.

Subgraphs, several interrupts at once, two tasks on one conversation, the
user's own checkpointer, ``Command(goto=...)`` and ``Send``, and the
functional API. Model calls go to the scripted backend.
"""

from __future__ import annotations

import asyncio
import uuid

import graphs
import httpx
import pytest
from a2a_calls import V1, stream_events
from langgraph.checkpoint.memory import InMemorySaver

from a2a_bridge import Backend, to_a2a
from a2a_bridge.testing import services


def send(url: str, *, text: str = "", data: dict | None = None, stream: bool = False, **ids: str) -> dict | list:
    """One SendMessage (or SendStreamingMessage: its events) over JSON-RPC; ``ids`` are taskId / contextId."""
    parts = ([{"text": text}] if text else []) + ([{"data": data}] if data is not None else [])
    message = {"role": "ROLE_USER", "messageId": uuid.uuid4().hex, "parts": parts, **ids}
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    if stream:
        return stream_events(url, message)
    return httpx.post(url + "/", json=body, headers=V1, timeout=30).json()["result"]["task"]


def state(task: dict) -> str:
    return task["status"]["state"].removeprefix("TASK_STATE_").lower()


def output(task: dict) -> dict:
    return next(a for a in task["artifacts"] if a["name"] == "output")["parts"][0]["data"]


def status_parts(task: dict) -> list[dict]:
    return task["status"]["message"]["parts"]


@pytest.fixture
def chat(scripted_backend):
    return Backend(scripted_backend.base_url, model="scripted-model").chat_model()


def test_progress_from_inside_a_subgraph_is_named_by_its_subgraph(live_server, scripted_backend, chat):
    server = live_server(to_a2a(graphs.with_subgraph(chat)))
    scripted_backend.reply("A100 spot is the cheapest.")
    events = send(server.url, text="Which GPU is cheapest?", stream=True)
    progress = {
        e["statusUpdate"]["status"]["message"]["parts"][0]["text"]: e["statusUpdate"]
        .get("metadata", {})
        .get("progress")
        for e in events
        if "statusUpdate" in e and e["statusUpdate"]["status"].get("message", {}).get("parts")
    }
    assert progress["node `fetch` finished in subgraph `research`"] == {"node": "fetch", "subgraph": "research"}
    assert progress["node `summarise` finished in subgraph `research`"] == {"node": "summarise", "subgraph": "research"}
    assert progress["node `research` finished"] == {"node": "research"}
    assert progress["fetched 3 price notes"] == {"message": "fetched 3 price notes", "subgraph": "research"}
    final = events[-1]["statusUpdate"]["status"]
    assert final["state"] == "TASK_STATE_COMPLETED"
    chunks = [e["artifactUpdate"] for e in events if "artifactUpdate" in e]
    # Token by token as the model writes, then the whole text once more as the last chunk.
    streamed = "".join(c["artifact"]["parts"][0]["text"] for c in chunks if not c.get("lastChunk"))
    assert streamed == "A100 spot is the cheapest.", "the subgraph's model tokens stream to the caller"


def test_several_interrupts_at_once_are_one_question_and_one_answer_resumes_each(live_server):
    server = live_server(to_a2a(graphs.parallel_questions()))
    asked = send(server.url, data={})
    assert state(asked) == "input_required"
    parts = status_parts(asked)
    questions = parts[1]["data"]["questions"]
    assert sorted(q["question"] for q in questions) == ["What is your budget in USD?", "Which region?"]
    assert all(q["id"] in parts[0]["text"] for q in questions), "the prompt names each question's id"
    by_question = {q["question"]: q["id"] for q in questions}
    ids = {"taskId": asked["id"], "contextId": asked["contextId"]}

    # A wrong answer loses nothing: the questions stand, and the caller hears what to mend.
    partial = send(server.url, data={"answers": {by_question["Which region?"]: "eu-west"}}, **ids)
    assert state(partial) == "input_required"
    assert f"no answer for {by_question['What is your budget in USD?']}" in status_parts(partial)[0]["text"]
    assert status_parts(partial)[1]["data"]["questions"] == questions
    plain = send(server.url, text="eu-west", **ids)
    assert state(plain) == "input_required"
    assert 'send a data part {"answers"' in status_parts(plain)[0]["text"]
    wrong_count = send(server.url, data={"answers": ["eu-west"]}, **ids)
    assert "2 questions wait for an answer, and the answers list has 1" in status_parts(wrong_count)[0]["text"]

    answers = {by_question["Which region?"]: "eu-west", by_question["What is your budget in USD?"]: "5000"}
    done = send(server.url, data={"answers": answers}, **ids)
    assert state(done) == "completed"
    assert output(done)["summary"] == "5000 USD in eu-west"


def test_answers_in_the_order_asked_resume_each_interrupt(live_server):
    server = live_server(to_a2a(graphs.parallel_questions()))
    asked = send(server.url, data={})
    questions = status_parts(asked)[1]["data"]["questions"]
    answers = ["eu-west" if q["question"] == "Which region?" else "700" for q in questions]
    done = send(server.url, data={"answers": answers}, taskId=asked["id"], contextId=asked["contextId"])
    assert state(done) == "completed"
    assert output(done)["summary"] == "700 USD in eu-west"


async def test_a_second_task_on_a_busy_conversation_is_rejected_and_the_first_is_untouched(live_server):
    slow = graphs.SlowThread()
    server = live_server(to_a2a(slow.graph()))
    context = uuid.uuid4().hex
    first = asyncio.create_task(asyncio.to_thread(send, server.url, text="first", contextId=context))
    await asyncio.to_thread(slow.started.wait, 10)
    second = await asyncio.to_thread(send, server.url, text="second", contextId=context)
    assert state(second) == "rejected"
    message = status_parts(second)[0]["text"]
    assert f"context {context} is busy" in message
    assert "Send this once that task ends, or on a new context." in message
    elsewhere = asyncio.create_task(asyncio.to_thread(send, server.url, text="other", contextId=uuid.uuid4().hex))
    await asyncio.sleep(0.3)  # the other conversation runs meanwhile
    slow.release.set()
    done = await first
    assert state(done) == "completed"
    assert state(await elsewhere) == "completed", "another conversation was never blocked"
    # The thread holds "first", its answer and "third": the rejected message never reached it.
    again = await asyncio.to_thread(send, server.url, text="third", contextId=context)
    assert state(again) == "completed"
    assert again["artifacts"][0]["parts"][0]["text"] == "held 3 messages"


async def test_the_checkpointer_the_user_compiled_the_graph_with_keeps_the_conversation(live_server):
    saver = InMemorySaver()
    slow = graphs.SlowThread()
    slow.release.set()
    server = live_server(to_a2a(slow.graph(checkpointer=saver)))
    task = await asyncio.to_thread(send, server.url, text="remember me")
    assert state(task) == "completed"
    kept = saver.get_tuple({"configurable": {"thread_id": task["contextId"]}})
    assert kept is not None, "the conversation is in the user's own saver"
    assert [m.text for m in kept.checkpoint["channel_values"]["messages"]] == ["remember me", "held 1 messages"]


def test_command_goto_and_send_inside_a_served_graph(live_server):
    server = live_server(to_a2a(graphs.routed()))
    priced = send(server.url, data={"gpus": ["A100", "H200"]})
    assert state(priced) == "completed"
    assert sorted(output(priced)["quotes"]) == ["A100: $1.69/h", "H200: $3.7/h"]
    assert output(priced)["route"] == "priced"
    nothing = send(server.url, data={"gpus": []})
    assert output(nothing)["route"] == "nothing to price"


def test_a_functional_api_entrypoint_is_served_like_a_graph(live_server):
    app = to_a2a(graphs.quote_order)
    server = live_server(app)
    card = httpx.get(server.url + "/.well-known/agent-card.json", timeout=10).json()
    assert card["name"] == "quote-order"
    assert card["skills"][0]["description"]
    bad = httpx.post(server.url + "/", headers=V1, timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"role": "ROLE_USER", "messageId": "m1", "parts": [{"data": {"gpu": "A100"}}]}},
    }).json()  # fmt: skip
    assert bad["error"]["code"] == -32602
    assert "hours" in bad["error"]["message"], "the entrypoint's input type is the card's input schema"

    events = send(server.url, data={"gpu": "A100", "hours": 10}, stream=True)
    progress = [e["statusUpdate"]["status"]["message"]["parts"][0]["text"] for e in events
                if "statusUpdate" in e and e["statusUpdate"]["status"].get("message")]  # fmt: skip
    assert "task `hourly_price` finished" in progress
    asked = events[-1]["statusUpdate"]
    assert asked["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    assert asked["status"]["message"]["parts"][0]["text"] == "Approve $16.9 for 10 h of A100? Who approves?"
    done = send(server.url, text="Dana", taskId=asked["taskId"], contextId=asked["contextId"])
    assert state(done) == "completed"
    assert output(done) == {"gpu": "A100", "usd": 16.9, "approved_by": "Dana"}


async def test_two_servers_sharing_a_postgres_checkpointer_never_run_one_conversation_at_once(live_server):
    with services.postgres() as postgres:
        checkpointer = postgres.create_database("lg_claims")
        slow = graphs.SlowThread()
        first_server = live_server(to_a2a(slow.graph(), checkpointer=checkpointer))
        second_server = live_server(to_a2a(slow.graph(), checkpointer=checkpointer))
        context = uuid.uuid4().hex
        first = asyncio.create_task(asyncio.to_thread(send, first_server.url, text="first", contextId=context))
        await asyncio.to_thread(slow.started.wait, 20)
        second = await asyncio.to_thread(send, second_server.url, text="second", contextId=context)
        assert state(second) == "rejected"
        assert "another server is running a task on its conversation" in status_parts(second)[0]["text"]
        other = asyncio.create_task(
            asyncio.to_thread(send, second_server.url, text="other", contextId=uuid.uuid4().hex)
        )
        await asyncio.sleep(0.3)
        slow.release.set()
        assert state(await other) == "completed", "the other server runs other conversations meanwhile"
        assert state(await first) == "completed"
        again = await asyncio.to_thread(send, second_server.url, text="third", contextId=context)
        assert state(again) == "completed", "the claim is released when the task ends"
        assert again["artifacts"][0]["parts"][0]["text"] == "held 3 messages", "one history, from both servers"


async def test_an_answer_sent_while_another_task_runs_on_the_conversation_is_not_taken_and_its_task_still_waits(
    live_server,
):
    slow = graphs.SlowThread()
    server = live_server(to_a2a(graphs.asks_or_holds(slow)))
    context = uuid.uuid4().hex
    asked = await asyncio.to_thread(send, server.url, text="ask", contextId=context)
    assert state(asked) == "input_required"
    holding = asyncio.create_task(asyncio.to_thread(send, server.url, text="hold", contextId=context))
    await asyncio.to_thread(slow.started.wait, 10)
    answered = await asyncio.to_thread(send, server.url, text="5000", taskId=asked["id"], contextId=context)
    assert state(answered) == "input_required", "the waiting task is not lost"
    note = status_parts(answered)[0]["text"]
    assert note.startswith(f"Your answer was not taken: context {context} is busy, task ")
    assert note.endswith("Send it again once that task ends.")
    slow.release.set()
    assert state(await holding) == "completed"
