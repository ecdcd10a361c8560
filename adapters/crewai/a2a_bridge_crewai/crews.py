"""Where each task's crew comes from, and what the card says about it.

Every A2A task runs on its own crew: a fresh one from the decorated class or
function, or a deep copy of a plain ``Crew``, so no state leaks between callers.
"""

from __future__ import annotations

import contextlib
import inspect
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from crewai import Crew
from crewai.crews.crew_output import CrewOutput
from crewai.events import crewai_event_bus
from crewai.llms.base_llm import BaseLLM, call_stream_override

from a2a_bridge import AgentProfile, Artifact, ConfigurationError, FilePart, NeedsInput, Skill, Turn
from a2a_bridge.adapter_api import slug

__all__ = ["CrewSource", "Finished"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Finished:
    """What a kickoff came to: its artifacts, its output data and its answer text, or a question for the caller."""

    artifacts: list[Artifact]
    output: dict[str, Any] | None
    text: str | None
    question: NeedsInput | None = None


def _data(output: Any) -> dict[str, Any] | None:
    if getattr(output, "pydantic", None) is not None:
        dumped: dict[str, Any] = output.pydantic.model_dump(mode="json")
        return dumped
    json_dict = getattr(output, "json_dict", None)
    return dict(json_dict) if json_dict else None


def _file(path: str | None, output: Any) -> FilePart | None:
    """A task's ``output_file`` as the file it holds: what CrewAI wrote there, under its own name."""
    if not path:
        return None
    name = PurePath(path).name
    media_type = mimetypes.guess_type(name)[0] or "text/plain"
    return FilePart(name=name, media_type=media_type, content=str(output.raw).encode("utf-8"))


def _llms(crew: Crew) -> list[BaseLLM]:
    """Every model the crew's agents (and its manager) call."""
    candidates = [crew.manager_llm, *(getattr(agent, "llm", None) for agent in crew.agents)]
    found: list[BaseLLM] = []
    for llm in candidates:
        if isinstance(llm, BaseLLM) and all(llm is not seen for seen in found):
            found.append(llm)
    return found


def shorten(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _readable(text: str | None, *, title: bool = False) -> str:
    """Template text as a person would write it: no ``{placeholder}``, no stray whitespace.

    A title such as ``{topic} Senior Data Researcher`` loses the placeholder; in a
    sentence it becomes what it stands for (``developments in the given topic``).
    """
    if title:
        filled = _PLACEHOLDER.sub("", text or "")
    else:
        filled = _PLACEHOLDER.sub(lambda m: "the given " + m.group(1).replace("_", " "), text or "")
    return " ".join(filled.split())


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def docstring_summary(obj: Any) -> str | None:
    """The first paragraph of the docstring of the class or function the crew comes from."""
    doc = inspect.getdoc(obj)
    return " ".join(doc.split("\n\n", 1)[0].split()) if doc else None


class CrewSource:
    """Makes a fresh crew per task and describes it for the card."""

    def __init__(self, make: Callable[[], Crew], *, label: str, description: str | None = None) -> None:
        self._make = make
        self.label = label
        self.description = description
        self.template = self.new()

    @classmethod
    def of(cls, obj: Any) -> CrewSource:
        if isinstance(obj, Crew):
            return cls(obj.copy, label=obj.name or "crew")
        if isinstance(obj, type) and callable(getattr(obj, "crew", None)):  # a @CrewBase class
            return cls(lambda: obj().crew(), label=obj.__name__, description=docstring_summary(obj))
        if callable(getattr(obj, "crew", None)) and not isinstance(obj, type):  # an instance of one
            return cls(lambda: type(obj)().crew(), label=type(obj).__name__, description=docstring_summary(type(obj)))
        if callable(obj):  # a function returning a Crew
            return cls(obj, label=getattr(obj, "__name__", "crew"), description=docstring_summary(obj))
        raise ConfigurationError(f"cannot make a crew from a {type(obj).__name__}")

    def new(self) -> Crew:
        crew = self._make()
        if not isinstance(crew, Crew):
            raise ConfigurationError(f"{self.label} gave a {type(crew).__name__}, not a crewai.Crew")
        return crew

    def inputs(self) -> list[str]:
        """The ``{placeholders}`` in the tasks' and agents' text, in order of appearance."""
        found: list[str] = []
        texts = [f"{t.description} {t.expected_output}" for t in self.template.tasks]
        texts += [f"{a.role} {a.goal} {a.backstory}" for a in self.template.agents]
        for text in texts:
            for name in _PLACEHOLDER.findall(text or ""):
                if name not in found:
                    found.append(name)
        return found

    def input_schema(self) -> dict[str, Any] | None:
        names = self.inputs()
        if not names:
            return None
        return {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": f"the {name.replace('_', ' ')} the crew's tasks and agents use"}
                for name in names
            },
            "required": names,
        }

    def output_schema(self) -> dict[str, Any] | None:
        last = self.template.tasks[-1] if self.template.tasks else None
        model = (getattr(last, "output_pydantic", None) or getattr(last, "output_json", None)) if last else None
        schema: dict[str, Any] | None = model.model_json_schema() if model is not None else None
        return schema

    def skills(self) -> tuple[Skill, ...]:
        """One skill per task: its agent's role and goal in one short line. Never backstories."""
        skills = []
        for index, task in enumerate(self.template.tasks):
            agent = task.agent
            name = task.name or f"task {index + 1}"
            line = (
                f"{_readable(agent.role, title=True)}: {_readable(agent.goal)}"
                if agent is not None
                else _readable(task.expected_output)
            )
            skills.append(Skill(id=slug(name, default="crew"), name=name, description=shorten(line), tags=("crewai",)))
        return tuple(skills)

    def profile(self) -> AgentProfile:
        name = (
            self.template.name
            if self.template.name and self.template.name != "crew"
            else slug(self.label, default="crew")
        )
        roles = [role for role in (_readable(a.role, title=True) for a in self.template.agents) if role]
        description = self.description or (f"A CrewAI crew of {_listed(roles)}." if roles else "A CrewAI crew.")
        return AgentProfile(
            name=name,
            description=shorten(description),
            skills=self.skills(),
            input_schema=self.input_schema(),
            output_schema=self.output_schema(),
            streaming=True,
        )

    def run(self, turn: Turn) -> Finished:
        """Kick a fresh crew off with the task's inputs; each task's output is an artifact."""
        crew = self.new()
        with contextlib.ExitStack() as scope:
            if not turn.streaming:
                # Nobody reads the tokens one by one: ask for whole answers, which saves CrewAI
                # and the model server per-token work (bench/: CrewAI pass-through).
                for llm in _llms(crew):
                    scope.enter_context(call_stream_override(llm, False))
            output = crew.kickoff(inputs=dict(turn.data or {}))
        if not isinstance(output, CrewOutput):
            raise TypeError("crews served over A2A must not set stream=True; a2a-bridge streams them itself")
        # Usage arrives through event handlers that run on CrewAI's own threads; let them finish.
        crewai_event_bus.flush(timeout=10)
        # Read after kickoff: CrewAI fills the inputs into each task's output_file as it starts.
        files = [task.output_file for task in crew.tasks]
        artifacts = []
        for index, task_output in enumerate(output.tasks_output):
            name = task_output.name or f"task-{index + 1}"
            file = _file(files[index] if index < len(files) else None, task_output)
            artifacts.append(Artifact(name=f"task:{name}", text=task_output.raw, data=_data(task_output), file=file))
        return Finished(artifacts=artifacts, output=_data(output), text=output.raw)
