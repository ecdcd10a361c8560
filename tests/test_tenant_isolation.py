"""Every caller is a tenant: whatever caller B names, it gets nothing of caller A's.

Two callers by bearer secret (alice, bob) and two by OAuth access token from
a real OpenID Provider (client-a, client-b), against a LangGraph graph with a
SQLite checkpointer whose answers show the conversation, a CrewAI Flow with
``@persist``, and the same graph in queue mode (tests/tenant_served.py).

- The matrix: each road of tests/tenant_roads.py (a method of a binding,
  aimed at A's task, waiting task, conversation or push config) is refused
  with task-not-found, or shows B nothing of A's (no text, no id B did not
  name), and changes nothing of A's. A road that carries B's note into a
  conversation must still be answered, and the model must be sent none of A's.
- Two callers who pick one context id have two conversations; each still
  sees its own history.
- B's long run on a context id does not block A's conversation of that id.
- Every method the server exposes has a road, so a road added later fails
  here until it is scoped and given its row.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from a2a.types import a2a_pb2
from starlette.routing import Mount, Route
from tenant_calls import OK, Caller, Reply, Target, jsonrpc, v1_message
from tenant_roads import GRPC, JSONRPC, JSONRPC_V03, ROADS, Road
from tenant_served import (
    ASKS,
    AUDIENCE,
    CONVERSATION_PAIRS,
    LONG_RUN,
    LOOPBACK,
    PAIRS,
    SECRETS,
    Served,
    note,
    served_agents,
)

from a2a_bridge import AccessTokens, to_a2a


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_agents(tmp_path_factory.mktemp("tenants")) as agents:
        yield agents


CASES = [
    pytest.param(road, target, pair, id=f"{road.id}-{target}-{pair}")
    for road in ROADS
    for target, asks in ASKS.items()
    if asks or not road.asks
    for pair in PAIRS
]


@pytest.mark.parametrize(("road", "target_name", "pair"), CASES)
def test_a_road_refuses_or_shows_nothing_of_the_other_callers(served: Served, road: Road, target_name: str, pair: str):
    target, owned = served.targets[target_name], served.owned[target_name, pair]
    _, b = served.pair(pair)
    said = note(b, "note")

    reply = road.call(target, b, owned, said)

    assert road.accepts(reply.outcome), f"{road.label}: wanted {road.expect}, got {reply.outcome}: {reply.raw[:600]}"
    leaks = reply.leaks(owned.secrets)
    assert not leaks, f"{road.label} shows {b.name} {owned.a.name}'s {leaks}: ...{_around(reply.raw, leaks[0])}..."
    if road.answers:
        assert target.answered(said, reply), f"{road.label}: {b.name}'s own message went unanswered: {reply.raw[:600]}"
        if target.llm:
            prompts = served.model_saw(said)
            assert prompts, f"{road.label}: the model was never asked about {said}"
            seen = [m for m in owned.markers if any(m in p for p in prompts)]
            assert not seen, f"{road.label}: the model was sent {owned.a.name}'s words {seen} with {b.name}'s message"
    if road.mutates:
        assert served.holdings(target_name, pair) == served.snapshots[target_name, pair], (
            f"{road.label} changed what {owned.a.name} holds"
        )


def _around(text: str, found: str, *, width: int = 200) -> str:
    at = text.index(found)
    return text[max(0, at - width) : at + len(found) + width]


def _task(reply: Reply) -> dict[str, Any]:
    assert reply.outcome == OK, reply.raw[:600]
    task: dict[str, Any] = json.loads(reply.raw)["result"]["task"]
    return task


def _state(task: dict[str, Any]) -> str:
    said = " ".join(p.get("text", "") for p in task["status"].get("message", {}).get("parts", []))
    return f"{task['status']['state']} {said}".strip()


def _say(target: Target, caller: Caller, text: str, context: str) -> Reply:
    """A turn of ``caller`` on ``context``, which must complete."""
    reply = jsonrpc(target, caller, "SendMessage", {"message": v1_message(text, context_id=context)})
    task = _task(reply)
    assert task["status"]["state"] == "TASK_STATE_COMPLETED", f"{caller.name}'s turn ended {_state(task)}"
    return reply


@pytest.mark.parametrize("pair", CONVERSATION_PAIRS)
@pytest.mark.parametrize("target_name", ASKS)
def test_two_callers_who_pick_one_context_id_have_two_conversations(served: Served, target_name: str, pair: str):
    target = served.targets[target_name]
    a, b = served.pair(pair)
    context = f"shared-{uuid.uuid4().hex}"
    a1, b1, a2, b2 = note(a, "first"), note(b, "first"), note(a, "second"), note(b, "second")

    _say(target, a, a1, context)
    _say(target, b, b1, context)
    a_reply = _say(target, a, a2, context)
    b_reply = _say(target, b, b2, context)

    assert target.answered(a2, a_reply)
    assert a1 in a_reply.raw, f"{a.name} lost its own conversation: {a_reply.raw[:600]}"
    assert b1 not in a_reply.raw, f"{b.name}'s message was written into {a.name}'s conversation"
    assert target.answered(b2, b_reply)
    assert b1 in b_reply.raw, f"{b.name} lost its own conversation: {b_reply.raw[:600]}"
    assert a1 not in b_reply.raw, f"{b.name} read {a.name}'s conversation: ...{_around(b_reply.raw, a1)}..."
    assert a2 not in b_reply.raw
    if target.llm:
        [a_prompt], [b_prompt] = served.model_saw(a2), served.model_saw(b2)
        assert a1 in a_prompt, "the model was not sent A's own conversation"
        assert b1 not in a_prompt, "the model was sent B's words with A's"
        assert b1 in b_prompt, "the model was not sent B's own conversation"
        assert a1 not in b_prompt, "the model was sent A's words with B's"


@pytest.mark.parametrize("pair", CONVERSATION_PAIRS)
@pytest.mark.parametrize("target_name", [name for name, asks in ASKS.items() if asks])
def test_a_long_run_of_one_caller_does_not_block_the_others_conversation(served: Served, target_name: str, pair: str):
    """A graph runs one turn at a time per conversation: the caller's conversation, not the bare context id."""
    target = served.targets[target_name]
    a, b = served.pair(pair)
    context = f"busy-{uuid.uuid4().hex}"
    slow, quick = f"{LONG_RUN} {note(b, 'slow')}", note(a, "quick")
    params = {"message": v1_message(slow, context_id=context), "configuration": {"returnImmediately": True}}
    b_task = _task(jsonrpc(target, b, "SendMessage", params))["id"]
    deadline = time.monotonic() + 15
    while not served.model_saw(slow):  # from here until the model answers, B's turn holds B's conversation
        assert time.monotonic() < deadline, f"{b.name}'s long run never reached the model"
        time.sleep(0.02)

    b_again = _task(jsonrpc(target, b, "SendMessage", {"message": v1_message(note(b, "again"), context_id=context)}))
    a_reply = _say(target, a, quick, context)

    assert b_again["status"]["state"] == "TASK_STATE_REJECTED", f"{b.name}'s own conversation lost its lock"
    assert target.answered(quick, a_reply)
    assert b_task not in a_reply.raw, f"{a.name} was shown {b.name}'s task: {a_reply.raw[:600]}"
    while (b_task_now := _task_of(target, b, b_task))["status"]["state"] != "TASK_STATE_COMPLETED":
        assert time.monotonic() < deadline, f"{b.name}'s long run ended {_state(b_task_now)}"
        time.sleep(0.1)
    assert quick not in json.dumps(b_task_now)


def _task_of(target: Target, caller: Caller, task_id: str) -> dict[str, Any]:
    reply = jsonrpc(target, caller, "GetTask", {"id": task_id})
    assert reply.outcome == OK, reply.raw[:600]
    task: dict[str, Any] = json.loads(reply.raw)["result"]
    return task


def _routes(routes: list[object], prefix: str = "") -> set[str]:
    """Each route of a Starlette app as ``VERB /path`` (HEAD goes with GET), mounts included."""
    found: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            found |= _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            found |= {f"{verb} {prefix}{route.path}" for verb in route.methods or () if verb != "HEAD"}
    return found


def _jsonrpc_methods(app: object) -> tuple[set[str], set[str]]:
    """The v1.0 and v0.3 JSON-RPC methods of the app's ``POST /``, as its SDK dispatcher registers them."""
    [endpoint] = [r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/"]  # type: ignore[attr-defined]
    dispatcher = endpoint.__self__.dispatcher
    v03 = dispatcher._v03_adapter
    return set(dispatcher.METHOD_TO_MODEL), set(v03.METHOD_TO_MODEL) if v03 is not None else set()


def test_every_method_the_server_exposes_has_a_road(served: Served, tmp_path):
    """The apps are built as ``a2a-bridge serve`` builds the served ones: same agents, same options."""
    import crews
    from crewai.flow.persistence import SQLiteFlowPersistence
    from tenant_agents import served_history

    options = {
        "secrets": SECRETS, "grpc_port": 0, "push_notifications": {"allow": LOOPBACK},
        "tokens": AccessTokens(issuer=served.issuer, audience=AUDIENCE, scopes=("a2a",)),
    }  # fmt: skip
    notebook = crews.notebook_flow(SQLiteFlowPersistence(db_path=str(tmp_path / "flows.db")))
    apps = [
        to_a2a(served_history, checkpointer="memory", **options),
        to_a2a(notebook, **options),
        to_a2a(served_history, store=f"sqlite:///{tmp_path}/tasks.db", queue="redis://127.0.0.1:1/0", **options),
    ]
    exposed: dict[str, set[str]] = {"HTTP": set(), JSONRPC: set(), JSONRPC_V03: set()}
    for app in apps:
        exposed["HTTP"] |= _routes(app.routes)
        v1, v03 = _jsonrpc_methods(app)
        exposed[JSONRPC] |= v1
        exposed[JSONRPC_V03] |= v03
    # The gRPC binding serves the SDK's A2AService as its descriptor defines it.
    exposed[GRPC] = {method.name for method in a2a_pb2.DESCRIPTOR.services_by_name["A2AService"].methods}
    covered = {
        "HTTP": {road.route for road in ROADS if road.route is not None},
        JSONRPC: {road.method for road in ROADS if road.binding == JSONRPC},
        JSONRPC_V03: {road.method for road in ROADS if road.binding == JSONRPC_V03},
        GRPC: {road.method for road in ROADS if road.binding == GRPC},
    }
    for kind, methods in exposed.items():
        assert methods - covered[kind] == set(), f"{kind} methods without a tenant isolation road"
        assert covered[kind] - methods == set(), f"{kind} roads for methods the server does not expose"
