"""Agents whose answers show the conversation they were given, for the tenant isolation tests.

``served_history`` is served by ``a2a-bridge serve`` / ``a2a-bridge worker``
in queue mode, on the LLM named by ``TENANT_LLM_URL``.
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from a2a_bridge import Backend

# A message holding this word makes the graph ask a question: the task waits, input-required.
ASK = "please-ask"
HEARD = "heard:"


def history_graph(chat: Any, *, name: str = "historian") -> Any:
    """Answers with the model's reply and every human message of its thread so far.

    So a caller reads in each answer the whole conversation the graph holds
    for its context; the model is sent that conversation too.
    """

    async def answer(state: MessagesState) -> dict[str, Any]:
        if ASK in state["messages"][-1].text:
            budget = interrupt("What is your budget in USD?")
            return {"messages": [AIMessage(f"budget noted: {budget}")]}
        reply = await chat.ainvoke(state["messages"])
        heard = " / ".join(m.text for m in state["messages"] if isinstance(m, HumanMessage))
        return {"messages": [AIMessage(f"{reply.text} | {HEARD} {heard}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(name=name)


served_history = history_graph(
    Backend(os.environ.get("TENANT_LLM_URL", "http://127.0.0.1:9/v1"), model="scripted-model").chat_model()
)
