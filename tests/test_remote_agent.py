"""RemoteAgent against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import pytest
import tutorial_worker
from agents import AskingAgent, EchoAgent, RefusingAgent, SlowAgent
from sdk import SECRET, get_json, sdk_client

from a2a_bridge import (
    AgentCardView,
    Artifact,
    ConfigurationError,
    Done,
    Progress,
    RemoteAgent,
    RemoteAgentError,
    RemoteAuthError,
    RemoteInputError,
    RemoteResult,
    RemoteTimeout,
    RemoteUnavailable,
    TaskNotFound,
    TextDelta,
    TraceContext,
    UnsupportedOperation,
    to_a2a,
)
from a2a_bridge.testing import ScriptedBackend

SECRETS = {"orchestrator": SECRET}


@pytest.fixture
def echo_url(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, name="echo", secrets=SECRETS))
    return agent, server.url


async def test_send_returns_state_text_data_usage_and_ids(echo_url):
    agent, url = echo_url
    async with RemoteAgent(url, secret=SECRET) as remote:
        result = await remote.send(data={"query": "gpu prices"})

    assert result.ok
    assert result.text == "gpu prices "
    assert result.data == {"summary": "GPU PRICES", "sources": ["echo://"]}
    assert result.usage is not None
    assert result.usage.total_tokens == 5
    assert result.agent == "echo"
    assert result.url == url
    assert result.task_id == agent.turns[0].task_id
    assert result.context_id == agent.turns[0].context_id


async def test_stream_yields_progress_deltas_then_the_result(echo_url):
    _, url = echo_url
    async with RemoteAgent(url, secret=SECRET) as remote:
        events = [event async for event in remote.stream("alpha beta gamma")]

    assert isinstance(events[0], Progress)
    assert events[0].message == "echoing"
    assert events[0].data == {"words": 3}
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert deltas == "alpha beta gamma "
    result = events[-1]
    assert isinstance(result, RemoteResult)
    assert result.ok
    assert result.text == deltas


async def test_a_card_without_a_secret_fails_before_any_request(echo_url):
    agent, url = echo_url
    async with RemoteAgent(url) as remote:
        with pytest.raises(RemoteAuthError, match="echo requires a bearer secret"):
            await remote.send("hi")
    assert agent.turns == []


async def test_a_wrong_secret_is_reported_clearly(echo_url):
    agent, url = echo_url
    async with RemoteAgent(url, secret="not-the-right-one") as remote:
        with pytest.raises(RemoteAuthError, match=r"refused the credentials \(HTTP 401\)"):
            await remote.send("hi")
    assert agent.turns == []


async def test_bad_input_names_the_field_and_is_not_retried(echo_url):
    agent, url = echo_url
    async with RemoteAgent(url, secret=SECRET) as remote:
        with pytest.raises(RemoteInputError) as caught:
            await remote.send(data={"query": 7})
    assert [e.field for e in caught.value.errors] == ["input.query"]
    assert "input.query" in str(caught.value)
    assert agent.turns == []


async def test_a_task_failed_on_purpose_is_a_result_and_is_not_retried(live_server):
    calls = []

    class CountingRefuser(RefusingAgent):
        async def run(self, turn):
            calls.append(turn)
            async for event in super().run(turn):
                yield event

    server = live_server(to_a2a(CountingRefuser()))
    async with RemoteAgent(server.url, retries=3) as remote:
        result = await remote.send("A300?")
    assert result.state == "failed"
    assert result.message == "the query names no GPU I know"
    assert len(calls) == 1


async def test_a_named_artifact_keeps_its_description_both_ways(live_server):
    async def charting(turn):
        yield Artifact(name="chart", data={"h200": 3.7}, description="Hourly price per GPU, in USD")
        yield Done(text="done")

    server = live_server(to_a2a(charting))
    async with RemoteAgent(server.url) as remote:
        result = await remote.send("prices")
        streamed = [event async for event in remote.stream("prices") if isinstance(event, Artifact)]
    [chart] = [a for a in result.artifacts if a.name == "chart"]
    assert (chart.data, chart.description) == ({"h200": 3.7}, "Hourly price per GPU, in USD")
    assert [(a.name, a.data, a.description) for a in streamed] == [
        ("chart", {"h200": 3.7}, "Hourly price per GPU, in USD")
    ]


async def test_input_required_round_trip(live_server):
    agent = AskingAgent()
    server = live_server(to_a2a(agent))
    async with RemoteAgent(server.url) as remote:
        first = await remote.send("plan my fleet")
        assert first.needs_input
        assert first.message == "What is your budget in USD?"
        second = await remote.send("5000", task_id=first.task_id, context_id=first.context_id)
    assert second.ok
    assert second.task_id == first.task_id
    assert second.text == "budget noted: 5000"
    assert [t.resuming for t in agent.turns] == [False, True]


async def test_trace_headers_arrive_at_the_server(echo_url):
    agent, url = echo_url
    trace = TraceContext(trace_id="4bf92f3577b34da6a3ce929d0e0e4736", parent_task_id="orch-task-1")
    async with RemoteAgent(url, secret=SECRET) as remote:
        await remote.send("first", trace=trace)
        await remote.send("second")
    seen = agent.turns[0].trace
    assert seen.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert seen.parent_task_id == "orch-task-1"
    assert seen.traceparent is not None
    assert seen.traceparent.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    fresh = agent.turns[1].trace
    assert fresh.traceparent is not None
    assert fresh.trace_id == fresh.traceparent.split("-")[1], "a new trace when none is given"
    assert fresh.trace_id != seen.trace_id


async def test_a_served_runner_passes_its_trace_on(live_server):
    downstream = EchoAgent()
    downstream_url = live_server(to_a2a(downstream)).url

    class Delegator:
        name = "delegator"

        async def run(self, turn):
            async with RemoteAgent(downstream_url) as remote:
                result = await remote.send(turn.text, trace=turn.delegation_trace())
            yield TextDelta(result.text)

    upstream = live_server(to_a2a(Delegator()))
    async with RemoteAgent(upstream.url) as remote:
        first = await remote.send("pass it on", trace=TraceContext(trace_id="aaaabbbbccccddddeeeeffff00001111"))
    assert first.text == "pass it on "
    hop = downstream.turns[0].trace
    assert hop.trace_id == "aaaabbbbccccddddeeeeffff00001111"
    assert hop.parent_task_id == first.task_id


async def test_get_task_and_cancel(live_server):
    agent = SlowAgent()
    server = live_server(to_a2a(agent))
    async with RemoteAgent(server.url) as remote:
        stream = remote.stream("go")
        first = await anext(stream)
        assert isinstance(first, Progress)
        await asyncio.to_thread(agent.started.wait, 5)
        client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)
        from a2a.types import ListTasksRequest

        [task] = (await client.list_tasks(ListTasksRequest())).tasks
        running = await remote.get_task(task.id)
        assert running.state == "working"
        canceled = await remote.cancel(task.id)
        assert canceled.state == "canceled"
        rest = [event async for event in stream]
    assert isinstance(rest[-1], RemoteResult)
    assert rest[-1].state == "canceled"


async def test_timeout_is_reported_with_the_limit(live_server):
    server = live_server(to_a2a(SlowAgent()))
    async with RemoteAgent(server.url, timeout=0.5) as remote:
        with pytest.raises(RemoteTimeout, match=r"did not finish within 0.5 s"):
            await remote.send("go")
        with pytest.raises(RemoteTimeout):
            async for _ in remote.stream("go"):
                pass


class FlakyApp:
    """Answers the first ``failures`` POSTs with 503, then passes through."""

    def __init__(self, app, failures: int) -> None:
        self.app = app
        self.failures = failures
        self.posts = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
            if self.posts <= self.failures:
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"overloaded"})
                return
        await self.app(scope, receive, send)


async def test_5xx_is_retried_with_backoff(live_server):
    agent = EchoAgent()
    flaky = FlakyApp(to_a2a(agent), failures=2)
    server = live_server(flaky)
    async with RemoteAgent(server.url, retries=2, backoff=0.01) as remote:
        result = await remote.send("third time lucky")
    assert result.ok
    assert flaky.posts == 3
    assert len(agent.turns) == 1


async def test_5xx_beyond_the_retries_is_unavailable(live_server):
    server = live_server(FlakyApp(to_a2a(EchoAgent()), failures=10))
    async with RemoteAgent(server.url, retries=1, backoff=0.01) as remote:
        with pytest.raises(RemoteUnavailable, match="HTTP 503"):
            await remote.send("never")


async def test_a_dead_replica_is_skipped(live_server):
    from processes import free_port

    agent = EchoAgent()
    alive = live_server(to_a2a(agent))
    dead = f"http://127.0.0.1:{free_port()}"
    async with RemoteAgent(dead, replicas=[alive.url], backoff=0.01) as remote:
        result = await remote.send("hello")
    assert result.ok
    assert result.url == alive.url


async def test_card_as_dict_file_and_view_with_http_json_only(live_server, tmp_path):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, name="echo"))
    card = await get_json(server.url + "/.well-known/agent-card.json")
    card["supportedInterfaces"] = [i for i in card["supportedInterfaces"] if i["protocolBinding"] == "HTTP+JSON"]
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    for source in (card, path, AgentCardView.from_dict(card)):
        async with RemoteAgent(source) as remote:
            result = await remote.send("via rest")
        assert result.text == "via rest "
    assert len(agent.turns) == 3


async def test_v03_only_card_falls_back_to_the_compat_transport(live_server):
    agent = EchoAgent()
    server = live_server(to_a2a(agent, name="echo"))
    card = await get_json(server.url + "/.well-known/agent-card.json")
    card["supportedInterfaces"] = [i for i in card["supportedInterfaces"] if i["protocolVersion"] == "0.3"]
    async with RemoteAgent(card) as remote:
        assert (await remote.card()).protocol == "0.3"
        result = await remote.send(data={"query": "old times"})
        streamed = [event async for event in remote.stream("old stream")]
    assert result.data == {"summary": "OLD TIMES", "sources": ["echo://"]}
    assert streamed[-1].text == "old stream "


async def test_the_tutorials_own_worker_is_called_through_tasks_send(live_server, monkeypatch):
    with ScriptedBackend(model="Qwen/Qwen2.5-14B-Instruct") as llm:
        llm.reply("A100 spot is $0.82/hr.")
        monkeypatch.setattr(tutorial_worker, "VLLM_BASE", llm.base_url)
        server = live_server(tutorial_worker.app)
        async with RemoteAgent(server.url, secret=tutorial_worker.SHARED_SECRET) as remote:
            card = await remote.card()
            result = await remote.send("What does an A100 cost?")
            with pytest.raises(UnsupportedOperation, match="only the tutorial's /tasks/send"):
                await remote.cancel(result.task_id)
    assert card.protocol == "tutorial"
    assert [s.id for s in card.skills] == ["web_research", "document_summarization"]
    assert card.bearer_required
    assert result.ok
    assert result.text == "A100 spot is $0.82/hr."
    assert result.data == {"summary": "A100 spot is $0.82/hr.", "sources": []}
    assert llm.requests[0].last_user == "What does an A100 cost?"


def test_bad_arguments_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="not an http"):
        RemoteAgent("http://127.0.0.1:1", replicas=["ftp://x"])
    with pytest.raises(ConfigurationError, match="takes a URL"):
        RemoteAgent(42)
    with pytest.raises(ConfigurationError, match="timeout"):
        RemoteAgent("http://127.0.0.1:1", timeout=0)


async def test_a_bug_is_raised_as_itself_and_never_retried(live_server, caplog):
    first, second = EchoAgent(), EchoAgent()
    urls = [live_server(to_a2a(first)).url, live_server(to_a2a(second)).url]
    async with RemoteAgent(urls[0], replicas=urls[1:], retries=3, backoff=0.01) as remote:
        with pytest.raises(TypeError, match="not JSON serializable"):
            await remote.send(data={"query": object()})
    assert "was lost" not in caplog.text
    assert not [r for r in caplog.records if r.name == "a2a_bridge.remote"], "no retry, no failover"
    assert first.turns == second.turns == []


async def test_an_answer_that_cannot_be_read_is_not_retried(live_server):
    posts = []

    async def garbage(scope, receive, send):
        if scope["type"] != "http":
            return
        posts.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{not json"})

    card = await get_json(live_server(to_a2a(EchoAgent())).url + "/.well-known/agent-card.json")
    broken = live_server(garbage)
    card["supportedInterfaces"] = [{"url": broken.url + "/", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}]
    async with RemoteAgent(card, retries=3, backoff=0.01) as remote:
        with pytest.raises(RemoteAgentError, match="JSON Decode Error") as caught:
            await remote.send("hello")
    assert not isinstance(caught.value, RemoteUnavailable)
    assert len(posts) == 1


async def test_a_task_lookup_asks_every_replica(live_server):
    holder = live_server(to_a2a(EchoAgent()))
    other = live_server(to_a2a(EchoAgent()))
    async with RemoteAgent(holder.url) as direct:
        made = await direct.send("kept on the second replica")
    async with RemoteAgent(other.url, replicas=[holder.url]) as remote:
        found = await remote.get_task(made.task_id)
        assert (found.state, found.url, found.text) == ("completed", holder.url, made.text)
        with pytest.raises(TaskNotFound, match=f"no replica of .* knows task nope .*{other.url}.*{holder.url}"):
            await remote.get_task("nope")


@pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
async def test_a_caller_that_gives_up_cancels_the_remote_task(live_server, streaming):
    agent = SlowAgent()
    server = live_server(to_a2a(agent, secrets=SECRETS))

    async def give_up(remote: RemoteAgent) -> None:
        if streaming:
            [event async for event in remote.stream("work until told to stop")]
        else:
            await remote.send("work until told to stop")

    async with RemoteAgent(server.url, secret=SECRET, timeout=1.0, retries=0) as remote:
        with pytest.raises(RemoteTimeout):
            await give_up(remote)
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False)
    from a2a.types import ListTasksRequest, TaskState

    [task] = (await client.list_tasks(ListTasksRequest())).tasks
    assert task.status.state == TaskState.TASK_STATE_CANCELED
    steps = agent.steps
    await asyncio.sleep(0.3)
    assert agent.steps == steps, "the runner stopped"
    assert agent.stopped_cleanly


async def test_a_cancelled_caller_cancels_the_remote_task(live_server):
    agent = SlowAgent()
    server = live_server(to_a2a(agent))
    async with RemoteAgent(server.url) as remote:
        call = asyncio.create_task(remote.send("work until told to stop"))
        await asyncio.to_thread(agent.started.wait, 5)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    client = await sdk_client(server.url, binding="JSONRPC", streaming=False, secret=None)
    from a2a.types import ListTasksRequest, TaskState

    [task] = (await client.list_tasks(ListTasksRequest())).tasks
    assert task.status.state == TaskState.TASK_STATE_CANCELED
