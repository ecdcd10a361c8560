"""A CrewAI crew on the embedded vLLM, served by the pass-through benchmark.

`a2a-bridge serve bench.vllm_crew:crew` with BENCH_VLLM_URL set.
"""

from __future__ import annotations

import os

from crewai import Agent, Crew, Task

from a2a_bridge import Backend

MAX_TOKENS = 64
backend = Backend(os.environ.get("BENCH_VLLM_URL", "http://127.0.0.1:8000/v1"), model="smollm2-135m-instruct")
# ignore_eos makes every answer exactly MAX_TOKENS long, as for the LangGraph agent.
llm = backend.crewai_llm(max_tokens=MAX_TOKENS, temperature=0, additional_params={"extra_body": {"ignore_eos": True}})
writer = Agent(role="Writer", goal="Answer the question", backstory="A writer.", llm=llm)
crew = Crew(
    agents=[writer],
    tasks=[Task(description="{query}", expected_output="An answer", agent=writer)],
    name="vllm-passthrough-crew",
)
