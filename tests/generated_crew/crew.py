"""The crew module `crewai create crew latest_ai_development` writes, on a given model."""

from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Process, Task
from crewai.project import CrewBase, agent, crew, task


def generated_crew(llm: Any, *, documented: bool = True) -> type:
    @CrewBase
    class LatestAiDevelopment:
        """LatestAiDevelopment crew"""

        @agent
        def researcher(self) -> Agent:
            return Agent(config=self.agents_config["researcher"], llm=llm, verbose=False)  # type: ignore[index]

        @agent
        def reporting_analyst(self) -> Agent:
            return Agent(config=self.agents_config["reporting_analyst"], llm=llm, verbose=False)  # type: ignore[index]

        @task
        def research_task(self) -> Task:
            return Task(config=self.tasks_config["research_task"])  # type: ignore[index]

        @task
        def reporting_task(self) -> Task:
            return Task(config=self.tasks_config["reporting_task"])  # type: ignore[index]

        @crew
        def crew(self) -> Crew:
            """Creates the LatestAiDevelopment crew"""
            return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)  # type: ignore[attr-defined]

    if not documented:
        LatestAiDevelopment.__doc__ = None
    return LatestAiDevelopment
