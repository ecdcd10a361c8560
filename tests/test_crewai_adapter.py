"""CrewAI crews served over A2A; every model is the scripted backend, over real HTTP."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time

import crews
import httpx
import pytest
from a2a.types import CancelTaskRequest, TaskState
from a2a_bridge_crewai import A2ADelegateTool, a2a_agent, executor_state
from agents import EchoAgent
from crewai import Agent, Crew, Task
from generated_crew.crew import generated_crew
from sdk import artifact_data, collect, get_json, request, sdk_client, user_message

from a2a_bridge import Backend, ConfigurationError, RemoteAgent, TextDelta, to_a2a
from a2a_bridge.testing import ScriptedBackend

CARD = "/.well-known/agent-card.json"
SECRET = "orchestrator-crew-secret"


@pytest.fixture
def llm(scripted_backend):
    return Backend(scripted_backend.base_url, model="scripted-model").crewai_llm()


async def test_decorated_crewbase_class_serves_with_its_secret(live_server, scripted_backend, llm):
    decorated = a2a_agent(name="research-worker", secrets={"orchestrator": SECRET})(crews.crewbase_class(llm))
    server = live_server(decorated.to_a2a())
    scripted_backend.reply("H200s rent for $3.70/hr.")

    async with RemoteAgent(server.url, secret=SECRET) as remote:
        result = await remote.send("GPU prices")
    async with RemoteAgent(server.url) as anonymous:
        card = await anonymous.card()

    assert result.ok
    assert result.text == "H200s rent for $3.70/hr."
    assert card.name == "research-worker"
    assert card.bearer_required
    assert "Research GPU prices" in scripted_backend.requests[0].last_user


async def test_decorated_function_is_still_a_crew_factory_and_serves(live_server, scripted_backend, llm):
    @a2a_agent(description="Quotes GPU prices.")
    def quoting() -> object:
        return crews.research_crew(llm)

    assert quoting().name == "research-crew"
    server = live_server(quoting.to_a2a())
    result_card = await get_json(server.url + CARD)
    assert result_card["description"] == "Quotes GPU prices."
    scripted_backend.reply("noted")
    async with RemoteAgent(server.url) as remote:
        result = await remote.send(data={"topic": "A100", "audience": "CFOs"})
    assert result.text == "noted"


async def test_inputs_are_inferred_and_a_missing_one_is_named_before_any_call(live_server, scripted_backend, llm):
    server = live_server(to_a2a(crews.research_crew(llm)))
    card = await get_json(server.url + CARD)
    schema = card["capabilities"]["extensions"][0]["params"]["input"]
    assert schema["required"] == ["topic", "audience"]

    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url + "/tasks/send", json={"task_id": "t1", "input": {"topic": "GPUs"}, "context": {}}
        )
        text_only = await http.post(
            server.url + "/message:send",
            json={"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "GPUs"}]}},
            headers={"A2A-Version": "1.0"},
        )
    assert response.status_code == 400
    assert {"field": "input.audience", "message": "required field is missing"} in response.json()["errors"]
    assert text_only.status_code == 400
    assert "expects a data part with the fields topic, audience" in text_only.json()["error"]["message"]
    assert scripted_backend.requests == []


async def test_text_fills_the_configured_input(live_server, scripted_backend, llm):
    @a2a_agent(text_input="topic")
    def single() -> object:
        return crews.two_step_crew(llm)

    server = live_server(single.to_a2a())
    async with RemoteAgent(server.url) as remote:
        result = await remote.send("spot pricing")
    assert result.ok
    assert "Research spot pricing" in scripted_backend.requests[0].last_user


async def test_pydantic_output_becomes_data_and_its_schema_goes_on_the_card(live_server, scripted_backend, llm):
    server = live_server(to_a2a(crews.quote_crew(llm)))
    scripted_backend.reply(json={"gpu": "H200", "hourly_usd": 3.7, "source": "tutorial table"})
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)

    task = (await collect(client, request(user_message(data={"gpu": "H200"}))))[0].task

    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert artifact_data(task, "output") == [{"gpu": "H200", "hourly_usd": 3.7, "source": "tutorial table"}]
    assert artifact_data(task, "task:quote") == [{"gpu": "H200", "hourly_usd": 3.7, "source": "tutorial table"}]
    assert task.metadata["usage"]["calls"] == 1
    card = await get_json(server.url + CARD)
    output_schema = card["capabilities"]["extensions"][0]["params"]["output"]
    assert set(output_schema["properties"]) == {"gpu", "hourly_usd", "source"}


async def test_card_lists_role_and_goal_never_backstory(live_server, llm):
    server = live_server(to_a2a(crews.two_step_crew(llm)))
    async with httpx.AsyncClient() as http:
        card_text = (await http.get(server.url + CARD)).text
    card = json.loads(card_text)
    assert [s["description"] for s in card["skills"]] == [
        "Researcher: Research the given topic",
        "Writer: Write about the given topic",
    ]
    assert crews.BACKSTORY not in card_text
    assert "secret GPU broker" not in card_text


@pytest.mark.parametrize("documented", [True, False], ids=["with a docstring", "without"])
async def test_a_generated_crewbase_crew_reads_as_a_person_wrote_its_card(live_server, llm, documented):
    crew_class = generated_crew(llm, documented=documented)
    server = live_server(to_a2a(crew_class))
    card = await get_json(server.url + CARD)
    tool = await asyncio.to_thread(A2ADelegateTool, server.url)

    expected = (
        "LatestAiDevelopment crew" if documented else "A CrewAI crew of Senior Data Researcher and Reporting Analyst."
    )
    assert card["description"] == expected
    assert [s["description"] for s in card["skills"]] == [
        "Senior Data Researcher: Uncover cutting-edge developments in the given topic",
        "Reporting Analyst: Create detailed reports based on the given topic data analysis and research findings",
    ]
    assert expected in tool.description
    for text in (json.dumps(card), tool.description):
        assert "{" + "topic}" not in text
        assert " ," not in text
        assert "  " not in text
    assert set(card["capabilities"]["extensions"][0]["params"]["input"]["required"]) == {"topic", "current_year"}


async def test_streaming_shows_crew_progress_and_tokens(live_server, scripted_backend, llm):
    server = live_server(to_a2a(crews.two_step_crew(llm), coalesce_interval=0))
    scripted_backend.reply("notes on spot capacity")
    scripted_backend.reply("Spot capacity halves the bill.")
    async with RemoteAgent(server.url) as remote:
        events = [event async for event in remote.stream(data={"topic": "spot"})]

    notes = [e.message for e in events if type(e).__name__ == "Progress"]
    assert notes[0] == "crew started"
    assert "task `research` started" in notes
    assert "agent `Writer` working" in notes
    assert "task `write` finished" in notes
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "Spot capacity halves the bill." in deltas
    result = events[-1]
    assert result.text == "Spot capacity halves the bill."
    assert [a.name for a in result.artifacts if a.name.startswith("task:")] == ["task:research", "task:write"]
    assert result.usage.calls == 2


async def test_the_model_streams_only_when_the_caller_does(live_server, scripted_backend, llm):
    server = live_server(to_a2a(crews.research_crew(llm)))
    scripted_backend.reply("whole answer")
    scripted_backend.reply("streamed answer")

    async with RemoteAgent(server.url) as remote:
        blocking = await remote.send(data={"topic": "spot", "audience": "ops"})
        streamed = [event async for event in remote.stream(data={"topic": "spot", "audience": "ops"})]

    assert [bool(r.body.get("stream")) for r in scripted_backend.requests] == [False, True]
    assert blocking.text == "whole answer"
    assert blocking.usage.calls == 1
    assert "".join(e.text for e in streamed if isinstance(e, TextDelta)) == "streamed answer"
    assert streamed[-1].text == "streamed answer"


async def test_concurrent_callers_never_see_each_others_data(live_server, scripted_backend, llm):
    server = live_server(to_a2a(crews.research_crew(llm), coalesce_interval=0))
    topics = [f"topic-{i}" for i in range(8)]

    async def one(topic: str) -> tuple[str, list]:
        async with RemoteAgent(server.url) as remote:
            events = [e async for e in remote.stream(data={"topic": topic, "audience": f"team-{topic}"})]
        return topic, events

    for topic, events in await asyncio.gather(*(one(t) for t in topics)):
        assert events[-1].usage.calls == 1, "usage counts this task's model calls only, though the LLM is shared"
        streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert topic in events[-1].text
        assert f"team-{topic}" in events[-1].text
        others = [t for t in topics if t != topic]
        assert not any(f"{other} " in streamed + " " or f"{other} for" in streamed for other in others), streamed


async def test_32_concurrent_tasks_beat_a_six_thread_pool(live_server):
    latency = 1.0
    with ScriptedBackend(latency=latency) as slow:
        llm = Backend(slow.base_url, model="scripted-model").crewai_llm()
        server = live_server(to_a2a(crews.research_crew(llm)))
        async with RemoteAgent(server.url, timeout=60) as remote:
            start = time.monotonic()
            results = await asyncio.gather(
                *(remote.send(data={"topic": f"t{i}", "audience": "CFOs"}) for i in range(32))
            )
            elapsed = time.monotonic() - start
    assert all(r.ok for r in results)
    # Six threads need at least ceil(32 / 6) x 1 s = 6 s; serialised, 32 s.
    assert elapsed < 5.0


async def test_cancel_is_immediate_and_the_crew_stops_at_its_next_step(live_server, caplog):
    caplog.set_level(logging.INFO)
    with ScriptedBackend() as llm_server:
        llm = Backend(llm_server.base_url, model="scripted-model").crewai_llm()
        llm_server.reply("research notes", latency=1.5)
        server = live_server(to_a2a(crews.two_step_crew(llm)))
        client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)
        task = (await collect(client, request(user_message(data={"topic": "x"}), return_immediately=True)))[0].task
        for _ in range(100):
            if llm_server.requests:
                break
            await asyncio.sleep(0.05)

        start = time.monotonic()
        canceled = await client.cancel_task(CancelTaskRequest(id=task.id))
        took = time.monotonic() - start
        await asyncio.sleep(2.5)

        gc.collect()  # asyncio reports an unretrieved exception when its future is collected

    assert canceled.status.state == TaskState.TASK_STATE_CANCELED
    assert took < 1.0, "cancel does not wait for the crew"
    assert len(llm_server.requests) == 1, "the second task's model call never happened"
    # A cancel is an ordinary event: one INFO line, no ERROR, no traceback.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    [line] = [r for r in caplog.records if "cancel" in r.getMessage()]
    assert (line.levelno, line.getMessage()) == (
        logging.INFO,
        f"task {task.id} was cancelled; its crew stopped at its next model call",
    )


async def test_delegate_tool_calls_a_served_runner(live_server, scripted_backend, llm):
    echo = EchoAgent()
    remote = live_server(to_a2a(echo, name="echo-research", secrets={"crew": SECRET}))
    tool = A2ADelegateTool(remote.url, secret=SECRET)
    assert tool.name == "ask_echo_research"
    assert "query" in tool.description

    answer = tool.run(request="spot prices")
    text, data = answer.split("\n\nData: ")
    assert text == "spot prices "
    assert json.loads(data) == {"summary": "SPOT PRICES", "sources": ["echo://"]}
    assert echo.turns[0].data == {"query": "spot prices"}

    from crewai import Agent, Crew, Task

    analyst = Agent(role="Analyst", goal="Answer with help", backstory="-", llm=llm, tools=[tool])
    crew = Crew(
        agents=[analyst], tasks=[Task(description="Find H200 prices", expected_output="A price", agent=analyst)]
    )
    scripted_backend.reply(tool_calls=[{"name": "ask_echo_research", "arguments": {"request": "H200 price"}}])
    scripted_backend.reply("H200: see the research agent.")
    output = await asyncio.to_thread(crew.kickoff)
    assert output.raw == "H200: see the research agent."
    assert echo.turns[1].text == "H200 price"
    tool_message = scripted_backend.requests[1].messages[-1]
    assert tool_message["role"] == "tool"
    assert "H200 PRICE" in tool_message["content"]


async def test_delegate_tool_reports_failures_as_text(live_server):
    remote = live_server(to_a2a(EchoAgent(), secrets={"crew": SECRET}))
    tool = A2ADelegateTool(remote.url, secret="not-the-secret")
    answer = tool.run(request="x")
    assert answer.startswith("The remote agent could not be reached or refused the request:")
    assert "401" in answer


async def test_a2a_bridge_serve_runs_a_crew_from_a_module():
    from processes import serve_process

    with ScriptedBackend() as llm_server:
        llm_server.reply("served crew answer")
        agent = serve_process("crews:served_crew", env={"CREWS_LLM_URL": llm_server.base_url})
        try:
            async with RemoteAgent(agent.url) as remote:
                result = await remote.send(data={"topic": "GPUs", "audience": "CFOs"})
        finally:
            agent.stop()
    assert result.text == "served crew answer"


def test_agent_executors_make_their_flow_state_from_one_class(llm):
    """CrewAI's Flow builds each executor a state it then replaces; it now comes from one class."""
    executor_state.install()
    served = [crews.research_crew(llm) for _ in range(2)]
    for crew in served:
        crew.kickoff(inputs={"topic": "H200", "audience": "buyers"})
    made = [crew.agents[0].agent_executor._create_initial_state() for crew in served]
    assert type(made[0]) is type(made[1]) is executor_state.ExecutorState
    assert made[0].id != made[1].id
    assert all(crew.agents[0].agent_executor.state.messages for crew in served)


def test_bad_options_are_named(llm):
    with pytest.raises(ConfigurationError, match="unknown option"):
        to_a2a(crews.research_crew(llm), thread=3)
    with pytest.raises(ConfigurationError, match="text_field 'nope' is not a property"):
        to_a2a(crews.research_crew(llm), text_field="nope")


@pytest.mark.vllm
@pytest.mark.timeout(1500)
async def test_a_crew_on_the_real_embedded_vllm(live_server, embedded_vllm):
    llm = embedded_vllm.crewai_llm(max_tokens=32, temperature=0)
    server = live_server(to_a2a(crews.research_crew(llm)))
    async with RemoteAgent(server.url, timeout=300) as remote:
        result = await remote.send(data={"topic": "GPU rental prices", "audience": "engineers"})
    assert result.ok
    assert result.text.strip()
    assert result.usage is not None
    assert result.usage.prompt_tokens > 0
    assert 0 < result.usage.completion_tokens <= 32


async def test_a_task_with_an_output_file_sends_it_as_a_file_with_its_name_and_media_type(
    live_server, scripted_backend, llm, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # CrewAI writes the file where it runs, as well
    writer = Agent(role="Writer", goal="Write about {topic}", backstory=crews.BACKSTORY, llm=llm)
    report = Task(
        name="report",
        description="Report on {topic}",
        expected_output="A report",
        agent=writer,
        output_file="{topic}_report.md",
    )
    server = live_server(to_a2a(Crew(agents=[writer], tasks=[report], name="reporting")))
    scripted_backend.reply("# H200 prices\nThey fell.")
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)

    task = (await collect(client, request(user_message(data={"topic": "gpu"}))))[0].task

    artifact = next(a for a in task.artifacts if a.name == "task:report")
    file = next(p for p in artifact.parts if p.HasField("raw"))
    assert (file.filename, file.media_type) == ("gpu_report.md", "text/markdown")
    assert file.raw.decode() == (tmp_path / "gpu_report.md").read_text()
    assert "They fell." in file.raw.decode()
