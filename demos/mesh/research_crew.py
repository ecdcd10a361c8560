"""The research worker: a CrewAI crew that looks facts up through MCP, served over A2A.

    a2a-bridge serve demos.mesh.research_crew:research_worker --port 8101 --secret orchestrator=env:SECRET

Before the crew runs, it calls the `search_notes` tool of the demo's MCP server
(A2A and MCP composing, as the tutorial describes); the notes' facts go into
the task, and the notes' sources and facts into the structured output, so they
reach the final answer whatever the model writes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from a2a_bridge_crewai import a2a_agent
from crewai import Agent, Crew, Process, Task
from crewai.crews.crew_output import CrewOutput
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from a2a_bridge import Skill
from demos.mesh import settings


async def _search_notes(query: str) -> list[dict[str, Any]]:
    async with (
        streamablehttp_client(settings.mcp_url()) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("search_notes", {"query": query, "limit": 3})
    if result.isError:
        raise RuntimeError(f"search_notes failed: {result.content}")
    structured = result.structuredContent or {}
    notes: list[dict[str, Any]] = structured.get("result", [])
    return notes


def build_research_crew() -> Crew:
    """A fresh crew per A2A task; the callbacks share this crew's notes, never another task's."""
    found: dict[str, Any] = {}

    def look_up(inputs: dict[str, Any]) -> dict[str, Any]:
        notes = asyncio.run(_search_notes(str(inputs["query"])))
        found["notes"] = notes
        facts = [fact for note in notes for fact in note["facts"]][:6]
        return {**inputs, "evidence": "\n".join(f"- {fact}" for fact in facts) or "- (no notes found)"}

    def attach_sources(output: CrewOutput) -> CrewOutput:
        notes = found.get("notes", [])
        output.json_dict = {
            "summary": output.raw,
            "facts": [fact for note in notes for fact in note["facts"]][:6],
            "sources": [f"{note['title']} ({note['source']})" for note in notes],
        }
        return output

    researcher = Agent(
        role="GPU cloud researcher",
        goal="Answer questions about GPU rental prices with numbers from the notes",
        backstory="You read pricing notes carefully and quote their numbers.",
        llm=settings.backend("research-worker").crewai_llm(
            max_tokens=settings.MAX_TOKENS, temperature=0, frequency_penalty=0.5
        ),
    )
    research = Task(
        name="research",
        description="Question: {query}\nNotes:\n{evidence}\nAnswer in two sentences using the numbers in the notes.",
        expected_output="Two sentences with prices from the notes",
        agent=researcher,
    )
    return Crew(
        agents=[researcher],
        tasks=[research],
        process=Process.sequential,
        before_kickoff_callbacks=[look_up],
        after_kickoff_callbacks=[attach_sources],
        name="research-worker",
    )


research_worker = a2a_agent(
    build_research_crew,
    name="research-worker",
    description="Researches GPU cloud pricing in the team's notes (through MCP) and answers with facts and sources.",
    skills=[
        Skill(
            "web_research",
            name="GPU pricing research",
            description="Finds facts and their sources about GPU rental prices and agent fleet costs",
            tags=("research", "pricing"),
        )
    ],
    input_schema={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    output_schema={
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "facts": {"type": "array", "items": {"type": "string"}},
            "sources": {"type": "array", "items": {"type": "string"}},
        },
    },
)
