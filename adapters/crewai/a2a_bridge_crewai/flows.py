"""Serving a CrewAI Flow: a fresh flow per task, its state model as the card's schemas.

flow class (or instance)  -> a new flow of that class for each A2A task
the state model's fields  -> the input schema (CrewAI gives each a default)
                             and the output schema (the final state)
kickoff(inputs=...)       <- the task's data part, in the adapter's thread pool
method started / finished -> Progress; a router's finish names the route it chose
crews run inside a method -> their own progress, usage and streamed text, scoped to the task
the final state           -> the output data; a string result is the answer text
"""

from __future__ import annotations

import logging
from typing import Any

from crewai.events import crewai_event_bus
from crewai.events.listeners.tracing.utils import set_tui_mode
from crewai.flow import build_flow_structure
from crewai.flow.flow import Flow
from pydantic import BaseModel

from a2a_bridge import AgentProfile, ConfigurationError, Skill
from a2a_bridge.adapter_api import slug
from a2a_bridge_crewai.crews import Finished, docstring_summary, shorten
from a2a_bridge_crewai.events import current_sink

__all__ = ["FlowSource", "is_flow"]

logger = logging.getLogger("a2a_bridge_crewai")
# CrewAI's flows give every state an id; it is the flow's, never a caller's input.
_STATE_ID = "id"


def _tui_mode_reset(token: object) -> None:
    # set_tui_mode returns its ContextVar's token; resetting it puts the thread back as it was.
    token.var.reset(token)  # type: ignore[attr-defined]


def is_flow(obj: object) -> bool:
    return (isinstance(obj, type) and issubclass(obj, Flow)) or isinstance(obj, Flow)


def _structure(flow: Flow[Any]) -> dict[str, Any]:
    # Built for drawing, it warns about routes it cannot resolve without running: not news for a server's log.
    builder_log = logging.getLogger("crewai.flow.visualization.builder")
    level = builder_log.level
    builder_log.setLevel(logging.ERROR)
    try:
        return dict(build_flow_structure(flow))
    finally:
        builder_log.setLevel(level)


class FlowSource:
    """Makes a fresh flow per task and describes it for the card."""

    def __init__(self, flow_class: type[Flow[Any]]) -> None:
        self.flow_class = flow_class
        self.label = flow_class.__name__
        self.template = self.new()
        structure = _structure(self.template)
        self.methods: list[str] = list(structure.get("nodes") or [])
        self.starts: list[str] = list(structure.get("start_methods") or [])
        self.routers: set[str] = set(structure.get("router_methods") or [])

    @classmethod
    def of(cls, obj: Any) -> FlowSource:
        return cls(obj if isinstance(obj, type) else type(obj))

    def new(self) -> Flow[Any]:
        try:
            return self.flow_class()
        except TypeError as exc:
            raise ConfigurationError(
                f"{self.label} must be constructible without arguments, to make a fresh flow for each task ({exc})"
            ) from None

    def state_model(self) -> type[BaseModel] | None:
        state = self.template.state
        return type(state) if isinstance(state, BaseModel) else None

    def _state_schema(self, *, with_required: bool) -> dict[str, Any] | None:
        model = self.state_model()
        if model is None:
            return None
        schema: dict[str, Any] = model.model_json_schema()
        properties = {k: v for k, v in (schema.get("properties") or {}).items() if k != _STATE_ID}
        if not properties:
            return None
        shaped: dict[str, Any] = {"type": "object", "properties": properties}
        required = [name for name in schema.get("required") or [] if name in properties]
        if with_required and required:
            shaped["required"] = required
        if "$defs" in schema:
            shaped["$defs"] = schema["$defs"]
        return shaped

    def profile(self) -> AgentProfile:
        description = docstring_summary(self.flow_class) or (
            f"A CrewAI flow: {', '.join(self.methods)}." if self.methods else "A CrewAI flow."
        )
        skills = tuple(
            Skill(
                id=slug(name, default="flow"), name=name, description=f"starts the flow at `{name}`", tags=("crewai",)
            )
            for name in self.starts
        )
        return AgentProfile(
            name=slug(self.label, default="flow"),
            description=shorten(description),
            skills=skills,
            input_schema=self._state_schema(with_required=True),
            output_schema=self._state_schema(with_required=False),
            streaming=True,
        )

    def run(self, inputs: dict[str, Any], *, streaming: bool) -> Finished:
        """Kick a fresh flow off with the task's inputs; its final state is the output."""
        flow = self.new()
        sink = current_sink.get()
        if sink is not None:
            sink.routers = frozenset(self.routers)
        # CrewAI prints a panel for every flow method unless a terminal UI owns the screen; a server's
        # output is its log, so this thread says one does.
        quiet = set_tui_mode(True)
        try:
            result = flow.kickoff(inputs=inputs)
            # Method events arrive through handlers on CrewAI's own threads; let them finish.
            crewai_event_bus.flush(timeout=10)
        finally:
            _tui_mode_reset(quiet)
        state = flow.state
        output: dict[str, Any] | None
        if isinstance(state, BaseModel):
            output = {k: v for k, v in state.model_dump(mode="json").items() if k != _STATE_ID}
        elif isinstance(state, dict):
            output = {k: v for k, v in state.items() if k != _STATE_ID}
        else:
            output = None
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
        text = result if isinstance(result, str) else None
        if isinstance(result, dict) and output is not None:
            output = {**output, "result": result}
        return Finished(artifacts=[], output=output or None, text=text)
