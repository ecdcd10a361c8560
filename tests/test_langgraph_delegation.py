"""LangGraph graphs that delegate to remote A2A agents: the node, the tools, the orchestrator.

Models are the scripted backend; the remote agents are real servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import crews
import pytest
from a2a_bridge_langgraph import A2ADelegateNode, DelegationError, a2a_tools, create_orchestrator
from agents import AskingAgent, EchoAgent, RefusingAgent
from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command
from processes import free_port

from a2a_bridge import (
    AgentRegistry,
    Backend,
    Done,
    Event,
    RemoteAgent,
    Skill,
    TextDelta,
    TraceContext,
    Turn,
    to_a2a,
)
from a2a_bridge.testing.live_server import LiveServer

SECRET = "delegation-secret-01"


@pytest.fixture
def chat(scripted_backend):
    return Backend(scripted_backend.base_url, model="scripted-model").chat_model()


class ResearchState(MessagesState):
    research: dict[str, Any]


def one_node_graph(node: A2ADelegateNode, *, state: type = MessagesState, checkpointer: Any = None) -> Any:
    builder = StateGraph(state)
    builder.add_node("delegate", node)
    builder.add_edge(START, "delegate")
    builder.add_edge("delegate", END)
    return builder.compile(checkpointer=checkpointer)


async def test_delegate_node_calls_a_langgraph_agent_and_a_crewai_crew(live_server, scripted_backend, chat):
    import graphs

    langgraph_agent = live_server(to_a2a(graphs.chat_graph(chat, name="lg-researcher"), secrets={"graph": SECRET}))
    crew = live_server(
        to_a2a(crews.research_crew(Backend(scripted_backend.base_url, model="scripted-model").crewai_llm()))
    )
    scripted_backend.rule(lambda r: r.last_user == "Which GPU is cheapest?", "The A100 on spot.")
    scripted_backend.rule(lambda r: "Research A100 spot for CFOs" in r.last_user, "A100 spot: $0.82/hr.")

    builder = StateGraph(ResearchState)
    builder.add_node("ask_graph", A2ADelegateNode(langgraph_agent.url, secret=SECRET))
    builder.add_node(
        "ask_crew",
        A2ADelegateNode(crew.url, input=lambda s: {"topic": "A100 spot", "audience": "CFOs"}, output="research"),
    )
    builder.add_edge(START, "ask_graph")
    builder.add_edge("ask_graph", "ask_crew")
    builder.add_edge("ask_crew", END)
    graph = builder.compile()

    state = await graph.ainvoke({"messages": [("user", "Which GPU is cheapest?")]})

    replies = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert [(m.name, m.content) for m in replies] == [
        ("lg-researcher", "The A100 on spot."),
        ("research-crew", "A100 spot: $0.82/hr."),
    ]
    assert state["research"] == {"text": "A100 spot: $0.82/hr."}


async def test_remote_progress_and_tokens_stream_into_the_graph(live_server):
    node = A2ADelegateNode(live_server(to_a2a(EchoAgent(), name="echo", coalesce_interval=0)).url)
    graph = one_node_graph(node)

    custom = [chunk async for chunk in graph.astream({"messages": [("user", "alpha beta")]}, stream_mode="custom")]

    assert custom[0] == {"agent": "echo", "event": "progress", "message": "echoing", "data": {"words": 2}}
    text = "".join(c["text"] for c in custom if c["event"] == "text")
    assert text == "alpha beta "


async def test_remote_input_required_becomes_an_interrupt_and_the_answer_goes_back(live_server):
    asking = AskingAgent()
    graph = one_node_graph(
        A2ADelegateNode(live_server(to_a2a(asking, name="budgeter")).url), checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t-1"}}

    first = await graph.ainvoke({"messages": [("user", "plan my fleet")]}, config)
    [pending] = first["__interrupt__"]
    assert pending.value["question"] == "What is your budget in USD?"
    assert pending.value["agent"] == "budgeter"

    final = await graph.ainvoke(Command(resume="5000"), config)

    assert final["messages"][-1].content == "budget noted: 5000"
    assert [t.resuming for t in asking.turns] == [False, True]
    assert asking.turns[1].task_id == asking.turns[0].task_id, "the answer goes to the same remote task"
    assert pending.value["task_id"] == asking.turns[0].task_id


def test_the_node_runs_under_invoke_and_stream_as_under_ainvoke(live_server):
    node = A2ADelegateNode(live_server(to_a2a(EchoAgent(), name="echo", coalesce_interval=0)).url, output="research")
    graph = one_node_graph(node, state=ResearchState)

    state = graph.invoke({"messages": [("user", "alpha beta")]})
    assert state["messages"][-1].content.startswith("alpha beta ")
    assert state["messages"][-1].name == "echo"
    assert state["research"] == {"summary": "ALPHA BETA", "sources": ["echo://"]}

    custom = list(graph.stream({"messages": [("user", "gamma")]}, stream_mode="custom"))
    assert custom[0]["event"] == "progress"
    assert "".join(c["text"] for c in custom if c["event"] == "text") == "gamma "


def test_an_interrupt_and_its_answer_work_under_invoke(live_server):
    asking = AskingAgent()
    graph = one_node_graph(
        A2ADelegateNode(live_server(to_a2a(asking, name="budgeter")).url), checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t-sync"}}

    first = graph.invoke({"messages": [("user", "plan my fleet")]}, config)
    [pending] = first["__interrupt__"]
    assert pending.value["question"] == "What is your budget in USD?"
    final = graph.invoke(Command(resume="5000"), config)

    assert final["messages"][-1].content == "budget noted: 5000"
    assert asking.turns[1].task_id == asking.turns[0].task_id


async def test_the_node_under_invoke_inside_a_running_event_loop(live_server):
    """A sync call from async code (a notebook, a FastAPI handler) runs the node on a thread of its own."""
    graph = one_node_graph(A2ADelegateNode(live_server(to_a2a(EchoAgent(), name="echo")).url))
    state = graph.invoke({"messages": [("user", "from a loop")]})
    assert state["messages"][-1].content.startswith("from a loop ")


async def test_a_failure_is_a_message_by_default_or_an_exception_when_asked(live_server):
    refusing = live_server(to_a2a(RefusingAgent(), name="refuser")).url
    dead = f"http://127.0.0.1:{free_port()}"

    state = await one_node_graph(A2ADelegateNode(refusing)).ainvoke({"messages": [("user", "A300?")]})
    assert state["messages"][-1].content == "[refuser failed: the query names no GPU I know]"

    state = await one_node_graph(A2ADelegateNode(dead, timeout=5)).ainvoke({"messages": [("user", "hi")]})
    assert state["messages"][-1].content.startswith(f"[{dead} failed: cannot reach")

    with pytest.raises(DelegationError, match="refuser failed: the query names no GPU I know"):
        await one_node_graph(A2ADelegateNode(refusing, on_error="raise")).ainvoke({"messages": [("user", "A300?")]})


def test_a_crew_with_two_tasks_is_one_tool_that_says_what_it_does(live_server, scripted_backend):
    llm = Backend(scripted_backend.base_url, model="scripted-model").crewai_llm()
    server = live_server(to_a2a(crews.two_step_crew(llm), name="report-crew"))
    [tool] = a2a_tools([server.url])
    assert tool.name == "report-crew"
    assert "research" in tool.description
    assert "write" in tool.description
    assert set(tool.args) == {"topic"}


def test_tools_run_under_a_synchronous_agent(live_server, scripted_backend, chat):
    echo = EchoAgent()
    research = live_server(to_a2a(echo, name="research"))
    tools = a2a_tools([research.url])
    agent = create_agent(chat, tools)
    scripted_backend.reply(tool_calls=[{"name": "research", "arguments": {"query": "H200 prices"}}])
    scripted_backend.reply("H200s are $3.70/hr.")

    state = agent.invoke({"messages": [("user", "Prices?")]})

    [tool_message] = [m for m in state["messages"] if m.type == "tool"]
    assert tool_message.status == "success"
    assert tool_message.content.startswith("H200 prices ")
    assert echo.turns[0].data == {"query": "H200 prices"}
    assert state["messages"][-1].content == "H200s are $3.70/hr."


async def test_tools_from_cards_are_called_by_a_tool_calling_model(live_server, scripted_backend, chat):
    echo = EchoAgent()
    research_skill = Skill("web_research", description="Finds sources")
    research = live_server(to_a2a(echo, name="research", skills=[research_skill], secrets={"o": SECRET}))
    refuser = live_server(to_a2a(RefusingAgent(), name="refuser"))
    registry = AgentRegistry.from_urls({"research": research.url, "refuser": refuser.url}, secrets={"research": SECRET})
    async with registry:
        tools = a2a_tools(registry)
    assert [t.name for t in tools] == ["research", "refuser"]
    assert tools[0].description.startswith("Finds sources")
    assert set(tools[0].args) == {"query", "max_sources"}, "arguments come from the card's input schema"

    agent = create_agent(chat, tools)
    scripted_backend.reply(tool_calls=[{"name": "research", "arguments": {"query": "H200 prices", "max_sources": 2}}])
    scripted_backend.reply(tool_calls=[{"name": "refuser", "arguments": {"request": "A300 prices"}}])
    scripted_backend.reply("H200s are $3.70/hr; nobody knows the A300.")
    state = await agent.ainvoke({"messages": [("user", "Prices?")]})

    tool_messages = [m for m in state["messages"] if m.type == "tool"]
    assert tool_messages[0].content.startswith("H200 prices ")
    assert tool_messages[0].status == "success"
    assert tool_messages[1].content == "refuser failed: the query names no GPU I know"
    assert tool_messages[1].status == "error"
    assert state["messages"][-1].content == "H200s are $3.70/hr; nobody knows the A300."
    assert echo.turns[0].data == {"query": "H200 prices", "max_sources": 2}


@dataclass
class SlowWorker:
    """Answers after ``delay`` seconds, and records each turn's trace."""

    label: str
    delay: float = 1.0
    turns: list[Turn] = field(default_factory=list)

    async def run(self, turn: Turn) -> AsyncIterator[Event]:
        self.turns.append(turn)
        await asyncio.sleep(self.delay)
        yield TextDelta(f"{self.label} on {turn.text}")
        yield Done(output={"worker": self.label})


@pytest.fixture
def workers(live_server):
    made = {
        "research-a": SlowWorker("research-a"),
        "research-b": SlowWorker("research-b"),
        "synthesis": SlowWorker("synthesis"),
    }
    skills = {"research-a": "research", "research-b": "research", "synthesis": "synthesis"}
    servers = {
        name: live_server(to_a2a(worker, name=name, description=f"{skills[name]} worker", skills=[Skill(skills[name])]))
        for name, worker in made.items()
    }
    return made, servers


def plan(*subtasks: tuple[str, str]) -> dict[str, Any]:
    return {"subtasks": [{"worker": w, "query": q} for w, q in subtasks]}


async def test_orchestrator_dispatches_in_parallel_and_synthesises(workers, scripted_backend, chat):
    made, servers = workers
    async with AgentRegistry.from_urls({name: server.url for name, server in servers.items()}) as registry:
        graph = create_orchestrator(registry, planner=chat)
        scripted_backend.reply(
            json=plan(("research-a", "H200 prices"), ("research-b", "A100 prices"), ("synthesis", "merge"))
        )
        scripted_backend.reply("Final: H200 $3.70/hr, A100 $1.69/hr.")
        start = time.monotonic()
        state = await graph.ainvoke({"messages": [("user", "Compare GPU prices")]})
        elapsed = time.monotonic() - start

    # Three 1 s workers: about 1 s in parallel, 3 s one after another.
    assert elapsed < 2.0
    assert state["messages"][-1].content == "Final: H200 $3.70/hr, A100 $1.69/hr."
    assert [r["worker"] for r in sorted(state["results"], key=lambda r: r["index"])] == [
        "research-a",
        "research-b",
        "synthesis",
    ]
    assert all(r["status"] == "completed" for r in state["results"])
    planner_request = scripted_backend.requests[0]
    enum = planner_request.body["response_format"]["json_schema"]["schema"]["properties"]["subtasks"]["items"][
        "properties"
    ]["worker"]["enum"]
    assert enum == ["research-a", "research-b", "synthesis"], "the planner can only name workers that exist"
    synthesis_prompt = scripted_backend.requests[1].last_user
    assert "[research-a] (H200 prices):\nresearch-a on H200 prices" in synthesis_prompt
    trace_ids = {t.trace.trace_id for w in made.values() for t in w.turns}
    assert len(trace_ids) == 1, "one trace through every hop"


async def test_orchestrator_fails_over_to_another_worker_with_the_skill(workers, scripted_backend, chat):
    made, servers = workers
    async with AgentRegistry.from_urls({name: server.url for name, server in servers.items()}) as registry:
        servers["research-a"].stop()  # lost after the cards were loaded, like a reclaimed spot instance
        graph = create_orchestrator(registry, planner=chat)
        scripted_backend.reply(json=plan(("research-a", "H200 prices")))
        scripted_backend.reply("H200: see research-b.")
        state = await graph.ainvoke({"messages": [("user", "H200 prices")]})

    [result] = state["results"]
    assert result["status"] == "completed"
    assert result["attempts"] == ["research-a", "research-b"]
    assert result["worker"] == "research-b"
    assert made["research-b"].turns[0].text == "H200 prices"
    assert "Not done" not in state["messages"][-1].content


async def test_a_planner_naming_an_unknown_worker_is_reported_not_dropped(workers, scripted_backend, chat):
    _, servers = workers
    async with AgentRegistry.from_urls({name: server.url for name, server in servers.items()}) as registry:
        graph = create_orchestrator(registry, planner=chat)
        scripted_backend.reply(json=plan(("ghost-worker", "haunt"), ("synthesis", "merge")))
        scripted_backend.reply("Merged what there was.")
        state = await graph.ainvoke({"messages": [("user", "Do both")]})

    results = sorted(state["results"], key=lambda r: r["index"])
    assert results[0]["status"] == "failed"
    assert results[0]["error"].startswith("no worker named 'ghost-worker'")
    assert results[1]["status"] == "completed"
    assert "[FAILED sub-task 1] (haunt): no worker named 'ghost-worker'" in scripted_backend.requests[1].last_user
    assert state["messages"][-1].content.startswith("Merged what there was.\n\nNot done: sub-task 1 (haunt) failed")


async def test_a_served_orchestrator_carries_the_callers_trace_to_every_worker(
    workers, live_server, scripted_backend, chat
):
    made, servers = workers
    async with AgentRegistry.from_urls({name: server.url for name, server in servers.items()}) as registry:
        orchestrator = live_server(to_a2a(create_orchestrator(registry, planner=chat)))
        scripted_backend.reply(json=plan(("research-a", "x"), ("synthesis", "y")))
        scripted_backend.reply("done")
        async with RemoteAgent(orchestrator.url) as remote:
            result = await remote.send("go", trace=TraceContext(trace_id="0123456789abcdef0123456789abcdef"))

    assert result.ok
    assert result.text == "done"
    assert [r["worker"] for r in result.data["results"]] in (["research-a", "synthesis"], ["synthesis", "research-a"])
    for name in ("research-a", "synthesis"):
        trace = made[name].turns[0].trace
        assert trace.trace_id == "0123456789abcdef0123456789abcdef"
        assert trace.parent_task_id == result.task_id


async def test_an_orchestrator_built_before_its_workers_are_up_finds_them_at_its_next_plan(scripted_backend, chat):
    port = free_port()
    registry = AgentRegistry.from_urls({"late": f"http://127.0.0.1:{port}"})  # not loaded: served in a cluster
    try:
        graph = create_orchestrator(registry, planner=chat)
        scripted_backend.reply("Nothing to merge.")
        before = await graph.ainvoke({"messages": [("user", "H200 prices")]})
        assert before["plan"] == []
        assert before["results"] == []
        assert "late" in registry.unavailable

        late = SlowWorker("late")
        with LiveServer(to_a2a(late, name="late", skills=[Skill("research")]), port=port):
            scripted_backend.reply(json=plan(("late", "H200 prices")))
            scripted_backend.reply("H200: $3.70/hr.")
            after = await graph.ainvoke({"messages": [("user", "H200 prices")]})
    finally:
        await registry.aclose()

    assert [r["worker"] for r in after["results"]] == ["late"]
    assert after["results"][0]["status"] == "completed"
    assert late.turns[0].text == "H200 prices"


async def test_orchestrator_fails_over_when_a_worker_is_killed_mid_task(scripted_backend, chat, tmp_path):
    from processes import serve_process

    env = {"STEADY_MARKER_DIR": str(tmp_path)}
    first, second = serve_process("agents:steady", env=env), serve_process("agents:steady", env=env)
    try:
        async with AgentRegistry.from_urls({"steady-a": first.url, "steady-b": second.url}) as registry:
            graph = create_orchestrator(registry, planner=chat)
            scripted_backend.reply(json=plan(("steady-a", "fleet plan")))
            scripted_backend.reply("Planned.")
            run = asyncio.create_task(graph.ainvoke({"messages": [("user", "plan the fleet")]}))
            marker = tmp_path / f"started-{first.process.pid}"
            for _ in range(200):
                if marker.exists():
                    break
                await asyncio.sleep(0.05)
            first.kill()
            state = await run
    finally:
        first.stop()
        second.stop()

    [result] = state["results"]
    assert result["status"] == "completed"
    assert result["attempts"] == ["steady-a", "steady-b"]
    assert result["data"]["pid"] == second.process.pid
    assert result["text"] == "".join(f"step {i} " for i in range(10))
