"""A LangGraph agent on the embedded vLLM, served by the pass-through benchmark.

`a2a-bridge serve bench.vllm_agents:graph` with BENCH_VLLM_URL set. The CrewAI
twin is in bench/vllm_crew.py, apart, so that each process loads one framework.
"""

from __future__ import annotations

import os
from typing import Any

from langgraph.graph import END, START, MessagesState, StateGraph

from a2a_bridge import Backend

MAX_TOKENS = 64
backend = Backend(os.environ.get("BENCH_VLLM_URL", "http://127.0.0.1:8000/v1"), model="smollm2-135m-instruct")
# ignore_eos makes every answer exactly MAX_TOKENS long, so runs compare like for like.
chat = backend.chat_model(max_tokens=MAX_TOKENS, temperature=0, extra_body={"ignore_eos": True})


async def answer(state: MessagesState) -> dict[str, Any]:
    return {"messages": [await chat.ainvoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("answer", answer)
builder.add_edge(START, "answer")
builder.add_edge("answer", END)
graph = builder.compile(name="vllm-passthrough")
