"""The synthesis worker: a LangGraph graph that prices GPU fleets and writes the comparison.

    a2a-bridge serve demos.mesh.synthesis_graph:synthesis_worker --port 8102 --secret orchestrator=env:SECRET

A deterministic node prices the GPUs the request mentions from the tutorial's
tier table (the numbers are exact, whatever the model); the model then writes
the comparison from those numbers.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from typing_extensions import TypedDict

from a2a_bridge import TIERS
from demos.mesh import settings

HOURS_PER_MONTH = 730
GPUS = {"H200": TIERS["orchestrator-h200"], "A100": TIERS["worker-a100-14b"]}


class Estimate(TypedDict):
    gpu: str
    on_demand_usd_month: float
    spot_usd_month: float | None
    spot_saving_percent: float | None


class SynthesisState(MessagesState):
    estimates: list[Estimate]
    summary: str


class SynthesisOutput(TypedDict):
    estimates: list[Estimate]
    summary: str


def estimate(state: SynthesisState) -> dict[str, Any]:
    request = state["messages"][-1].text.upper()
    mentioned = [gpu for gpu in GPUS if gpu in request] or list(GPUS)
    estimates = []
    for gpu in mentioned:
        tier = GPUS[gpu]
        spot = tier.spot_hourly_usd
        estimates.append(
            Estimate(
                gpu=gpu,
                on_demand_usd_month=round(tier.hourly_usd * HOURS_PER_MONTH, 2),
                spot_usd_month=round(spot * HOURS_PER_MONTH, 2) if spot is not None else None,
                spot_saving_percent=round(100 * (1 - spot / tier.hourly_usd), 1) if spot is not None else None,
            )
        )
    return {"estimates": estimates}


async def write(state: SynthesisState) -> dict[str, Any]:
    lines = [
        f"{e['gpu']}: ${e['on_demand_usd_month']:,.0f}/month on demand, ${e['spot_usd_month']:,.0f}/month on spot "
        f"({e['spot_saving_percent']}% less)"
        for e in state["estimates"]
    ]
    chat = settings.backend("synthesis-worker").chat_model(
        max_tokens=settings.MAX_TOKENS, temperature=0, frequency_penalty=0.5
    )
    reply = await chat.ainvoke(
        [
            SystemMessage("Compare the GPU costs below in two sentences. Quote the numbers exactly."),
            HumanMessage("\n".join(lines)),
        ]
    )
    return {"messages": [reply], "summary": reply.text}


builder = StateGraph(SynthesisState, output_schema=SynthesisOutput)
builder.add_node("estimate", estimate)
builder.add_node("write", write)
builder.add_edge(START, "estimate")
builder.add_edge("estimate", "write")
builder.add_edge("write", END)
synthesis_worker = builder.compile(name="synthesis-worker")
