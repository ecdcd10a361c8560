"""A LangGraph graph that acts out the A2A TCK's scenarios, served through the adapter.

The same scenarios as ``tck_runner.py``, the LangGraph way: a router at START
reads the message id from ``config["metadata"]``; answers are AI messages in
the graph's state; questions are ``interrupt``s; artifacts, refusals and a
reply without a task go through ``a2a_bridge_langgraph.emit``. Serve it with
``to_a2a(tck_graph(), direct_replies=True)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from a2a_bridge_langgraph import emit
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from a2a_bridge import Artifact, DirectReply, NeedsAuth, Progress, Rejected
from conformance.tck_runner import LONG_TASK_SECONDS, STREAMED_TEXT, TEXT_FILE, TEXT_FILE_URL

QUESTION = "The TCK asks for more input."


def message_id(config: RunnableConfig) -> str:
    return str((config.get("metadata") or {}).get("a2a_message_id", ""))


def route(state: MessagesState, config: RunnableConfig) -> str:
    prefix = message_id(config)
    if prefix.startswith("tck-input-required"):
        return "ask"
    if prefix.startswith("tck-auth-required"):
        return "sign_in"
    return "act"


def after_answer(state: MessagesState, config: RunnableConfig) -> str:
    # Another input-required message on the task asks again; anything else finishes it.
    return "ask" if message_id(config).startswith("tck-input-required") else "finish"


def ask(state: MessagesState) -> dict[str, Any]:
    return {"messages": [AIMessage(content=f"Resumed with: {interrupt(QUESTION)}")]}


def sign_in(state: MessagesState) -> dict[str, Any]:
    answer = interrupt(
        NeedsAuth("Sign in to the TCK's service first.", data={"authorizationUrl": "https://example.com/auth"})
    )
    return {"messages": [AIMessage(content=f"Resumed with: {answer}")]}


def finish(state: MessagesState) -> dict[str, Any]:
    return {}


async def act(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    prefix = message_id(config)
    text: str | None = None
    if prefix.startswith("tck-message-response"):
        emit(DirectReply("Direct message response"))
    elif prefix.startswith("tck-reject-task"):
        emit(Rejected("rejected"))
    elif prefix.startswith("tck-artifact-text"):
        emit(Artifact(name="text", text="Generated text content"))
    elif prefix.startswith("tck-artifact-file-url"):
        emit(Artifact(name="file", file=TEXT_FILE_URL))
    elif prefix.startswith(("tck-artifact-file", "tck-stream-artifact-file")):
        emit(Artifact(name="file", file=TEXT_FILE))
    elif prefix.startswith("tck-artifact-data"):
        emit(Artifact(name="data", data={"key": "value", "count": 42}))
    elif prefix.startswith("tck-stream-artifact-chunked"):
        text = "chunk-1 chunk-2"
    elif prefix.startswith("test-resubscribe-message-id"):
        emit(Progress("working on a long task"))
        await asyncio.sleep(LONG_TASK_SECONDS)
    elif streamed := next((text for name, text in STREAMED_TEXT.items() if prefix.startswith(name)), None):
        emit(Progress("streaming"))
        text = streamed
    elif prefix.startswith("tck-complete-task"):
        text = "Hello from TCK"
    elif not prefix.startswith("tck-stream-002"):
        text = f"Unhandled messageId prefix: {prefix}"
    return {"messages": [AIMessage(content=text)]} if text else {}


def tck_graph() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("act", act)
    builder.add_node("ask", ask)
    builder.add_node("sign_in", sign_in)
    builder.add_node("finish", finish)
    builder.add_conditional_edges(START, route, ["act", "ask", "sign_in"])
    builder.add_conditional_edges("ask", after_answer, ["ask", "finish"])
    builder.add_edge("sign_in", END)
    builder.add_edge("act", END)
    builder.add_edge("finish", END)
    return builder.compile(name="tck-graph")
