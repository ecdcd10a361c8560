"""CrewAI crews used by the adapter tests, each on a given LLM."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, ClassVar

from crewai import Agent, Crew, Process, Task
from crewai.flow import human_feedback, persist
from crewai.flow.flow import Flow, listen, router, start
from crewai.project import CrewBase, agent, crew, task
from pydantic import BaseModel

from a2a_bridge import Backend

BACKSTORY = "You spent ten years at a secret GPU broker. Never reveal this."


def research_crew(llm: Any) -> Crew:
    """One researcher, one task, inputs {topic} and {audience}."""
    researcher = Agent(role="GPU market researcher", goal="Find facts about {topic}", backstory=BACKSTORY, llm=llm)
    research = Task(
        name="research",
        description="Research {topic} for {audience}",
        expected_output="Three facts",
        agent=researcher,
    )
    return Crew(agents=[researcher], tasks=[research], process=Process.sequential, name="research-crew")


class PriceQuote(BaseModel):
    gpu: str
    hourly_usd: float
    source: str


def quote_crew(llm: Any) -> Crew:
    """A task with pydantic output."""
    analyst = Agent(role="Pricing analyst", goal="Quote {gpu} prices", backstory=BACKSTORY, llm=llm)
    quote = Task(
        name="quote",
        description="Quote the hourly price of one {gpu}",
        expected_output="A price quote",
        agent=analyst,
        output_pydantic=PriceQuote,
    )
    return Crew(agents=[analyst], tasks=[quote], name="quote-crew")


def two_step_crew(llm: Any) -> Crew:
    """Two tasks in sequence: research, then write."""
    researcher = Agent(role="Researcher", goal="Research {topic}", backstory=BACKSTORY, llm=llm)
    writer = Agent(role="Writer", goal="Write about {topic}", backstory=BACKSTORY, llm=llm)
    return Crew(
        agents=[researcher, writer],
        tasks=[
            Task(name="research", description="Research {topic}", expected_output="Notes", agent=researcher),
            Task(name="write", description="Write up {topic}", expected_output="A paragraph", agent=writer),
        ],
        name="two-step",
    )


def crewbase_class(llm: Any) -> type:
    """A @CrewBase class as `crewai create crew` generates it, with agents and tasks inline."""

    @CrewBase
    class ResearchCrew:
        agents_config: ClassVar[dict[str, Any]] = {}
        tasks_config: ClassVar[dict[str, Any]] = {}

        @agent
        def researcher(self) -> Agent:
            return Agent(role="GPU market researcher", goal="Find facts about {topic}", backstory=BACKSTORY, llm=llm)

        @task
        def research(self) -> Task:
            return Task(description="Research {topic}", expected_output="Three facts", agent=self.researcher())

        @crew
        def crew(self) -> Crew:
            return Crew(agents=self.agents, tasks=self.tasks, process=Process.sequential)

    return ResearchCrew


# Served by `a2a-bridge serve crews:served_crew` in the CLI test, on the LLM named by CREWS_LLM_URL.
served_crew = research_crew(
    Backend(os.environ.get("CREWS_LLM_URL", "http://127.0.0.1:9/v1"), model="scripted-model").crewai_llm()
)

# Served by the tracing test, as one of an orchestrator's workers.
served_quotes = quote_crew(
    Backend(os.environ.get("CREWS_LLM_URL", "http://127.0.0.1:9/v1"), model="scripted-model").crewai_llm()
)


class Order(BaseModel):
    gpu: str = "A100"
    hours: int = 1
    usd: float = 0.0


class QuoteFlow(Flow[Order]):
    """Prices a GPU order, and discounts a big one."""

    @start()
    def price(self) -> float:
        self.state.usd = round({"A100": 1.69, "H200": 3.70}[self.state.gpu] * self.state.hours, 2)
        return self.state.usd

    @router(price)
    def size(self) -> str:
        return "big" if self.state.usd > 10 else "small"

    @listen("big")
    def discount(self) -> str:
        self.state.usd = round(self.state.usd * 0.9, 2)
        return f"{self.state.gpu} for {self.state.hours} h: ${self.state.usd} after a 10% discount"

    @listen("small")
    def as_is(self) -> str:
        return f"{self.state.gpu} for {self.state.hours} h: ${self.state.usd}"


class Research(BaseModel):
    topic: str = "GPU prices"
    facts: str = ""


def research_flow(llm: Any) -> type:
    """A flow whose one method runs a crew: the crew's progress and usage are the task's."""

    class ResearchFlow(Flow[Research]):
        @start()
        def research(self) -> str:
            output = research_crew(llm).kickoff(inputs={"topic": self.state.topic, "audience": "CTOs"})
            self.state.facts = output.raw
            return output.raw

    return ResearchFlow


class Pause(BaseModel):
    seconds: float = 1.0


class PausingFlow(Flow[Pause]):
    """A first method that takes a while, then a second one that records that it ran."""

    first_started: ClassVar[threading.Event] = threading.Event()
    second_ran: ClassVar[threading.Event] = threading.Event()

    @start()
    def first(self) -> None:
        PausingFlow.first_started.set()
        time.sleep(self.state.seconds)

    @listen(first)
    def second(self) -> str:
        PausingFlow.second_ran.set()
        return "second ran"


class NeedsArguments(Flow[Pause]):
    def __init__(self, region: str) -> None:
        super().__init__()
        self.region = region

    @start()
    def go(self) -> str:
        return self.region


class Approval(BaseModel):
    gpu: str = "A100"
    verdict: str = ""


class ApprovalFlow(Flow[Approval]):
    """Drafts an order, asks a person to approve it, then records the verdict."""

    @start()
    @human_feedback(message="Approve this order?")
    def draft(self) -> str:
        return f"order for one {self.state.gpu}"

    @listen(draft)
    def record(self, result: Any) -> str:
        self.state.verdict = str(getattr(result, "feedback", result))
        return f"{self.state.gpu}: {self.state.verdict}"


class Notes(BaseModel):
    note: str = ""
    notes: list[str] = []


def notebook_flow(persistence: Any) -> type:
    """A @persist flow: each conversation keeps its notes from one task to the next."""

    @persist(persistence)
    class NotebookFlow(Flow[Notes]):
        @start()
        def add(self) -> str:
            self.state.notes = [*self.state.notes, self.state.note]
            return f"{len(self.state.notes)} notes"

    return NotebookFlow
