"""The scripted OpenAI-compatible backend, over real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from a2a_bridge.testing import ScriptedBackend, ToolCall


def chat(backend: ScriptedBackend, content: str = "hello there", **body) -> httpx.Response:
    payload = {"model": backend.model, "messages": [{"role": "user", "content": content}], **body}
    return httpx.post(f"{backend.base_url}/chat/completions", json=payload, timeout=10)


def stream_events(backend: ScriptedBackend, **body) -> list:
    payload = {"model": backend.model, "messages": [{"role": "user", "content": "hi"}], "stream": True, **body}
    with httpx.stream("POST", f"{backend.base_url}/chat/completions", json=payload, timeout=10) as response:
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def test_models_lists_the_served_model(scripted_backend):
    body = httpx.get(f"{scripted_backend.base_url}/models").json()
    assert [m["id"] for m in body["data"]] == ["scripted-model"]


def test_unscripted_request_echoes_and_counts_words(scripted_backend):
    body = chat(scripted_backend, "three little words").json()
    assert body["choices"][0]["message"]["content"] == "echo: three little words"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_replies_are_used_in_order_and_requests_are_recorded(scripted_backend):
    scripted_backend.reply("first")
    scripted_backend.reply("second")
    answers = [chat(scripted_backend, f"q{i}").json()["choices"][0]["message"]["content"] for i in range(3)]
    assert answers == ["first", "second", "echo: q2"]
    assert [r.last_user for r in scripted_backend.requests] == ["q0", "q1", "q2"]


def test_rules_match_every_request_they_select(scripted_backend):
    scripted_backend.rule(lambda r: "price" in r.last_user, "cheap")
    answers = [chat(scripted_backend, q).json()["choices"][0]["message"]["content"] for q in ("price?", "x", "price!")]
    assert answers == ["cheap", "echo: x", "cheap"]


def test_json_reply_for_structured_output(scripted_backend):
    scripted_backend.reply(json={"steps": [{"worker": "research", "query": "q"}]})
    schema = {"type": "object", "properties": {"steps": {"type": "array"}}}
    body = chat(
        scripted_backend, response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}}
    )
    assert json.loads(body.json()["choices"][0]["message"]["content"]) == {
        "steps": [{"worker": "research", "query": "q"}]
    }
    assert scripted_backend.requests[0].body["response_format"]["type"] == "json_schema"


def test_tool_call_reply(scripted_backend):
    scripted_backend.reply(tool_calls=[ToolCall("search", {"query": "H200 price"})])
    choice = chat(scripted_backend).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "search"
    assert json.loads(call["function"]["arguments"]) == {"query": "H200 price"}


def test_streaming_text_with_usage(scripted_backend):
    scripted_backend.reply("one two three four")
    events = stream_events(scripted_backend, stream_options={"include_usage": True})
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == "one two three four"
    assert events[-1]["choices"] == []
    assert events[-1]["usage"]["completion_tokens"] == 4
    finishes = [e["choices"][0]["finish_reason"] for e in events if e["choices"]]
    assert finishes[-1] == "stop"


def test_streaming_without_usage_option_sends_no_usage(scripted_backend):
    assert all("usage" not in e for e in stream_events(scripted_backend))


def test_streaming_tool_calls(scripted_backend):
    scripted_backend.reply(tool_calls=[{"name": "lookup", "arguments": {"gpu": "A100"}}])
    events = stream_events(scripted_backend)
    calls = [c for e in events if e["choices"] for c in e["choices"][0]["delta"].get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "lookup"
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_error_reply_and_unknown_model(scripted_backend):
    scripted_backend.reply(error=(503, "overloaded"))
    response = chat(scripted_backend)
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "overloaded"
    response = httpx.post(
        f"{scripted_backend.base_url}/chat/completions", json={"model": "other", "messages": []}, timeout=10
    )
    assert response.status_code == 404
    assert "other" in response.json()["error"]["message"]


def test_malformed_request_is_400(scripted_backend):
    response = httpx.post(f"{scripted_backend.base_url}/chat/completions", content=b"{", timeout=10)
    assert response.status_code == 400


def test_per_request_latency_delays_the_answer():
    with ScriptedBackend(latency=0.0) as backend:
        backend.reply("slow", latency=0.3)
        start = time.monotonic()
        chat(backend)
        assert time.monotonic() - start >= 0.3


def test_url_before_start_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not running"):
        _ = ScriptedBackend().url
