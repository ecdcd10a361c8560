"""Serving a CrewAI Flow: a fresh flow per task, its state model as the card's schemas.

flow class (or instance)  -> a new flow of that class for each A2A task
the state model's fields  -> the input schema (CrewAI gives each a default)
                             and the output schema (the final state)
kickoff(inputs=...)       <- the task's data part, in the adapter's thread pool
method started / finished -> Progress; a router's finish names the route it chose
crews run inside a method -> their own progress, usage and streamed text, scoped to the task
@human_feedback           -> NeedsInput; the caller's answer resumes the same flow (resume())
@persist                  -> the state's id is the caller's conversation (Turn.conversation)
the final state           -> the output data; a string result is the answer text
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from crewai.events import crewai_event_bus
from crewai.events.listeners.tracing.utils import set_tui_mode
from crewai.flow import HumanFeedbackPending, PendingFeedbackContext, build_flow_structure, flow_config
from crewai.flow.flow import Flow
from crewai.flow.persistence import FlowPersistence, SQLiteFlowPersistence
from crewai.flow.persistence.factory import default_flow_persistence
from pydantic import BaseModel

from a2a_bridge import AgentProfile, ConfigurationError, NeedsInput, Skill, Turn
from a2a_bridge.adapter_api import slug
from a2a_bridge_crewai.crews import Finished, docstring_summary, shorten
from a2a_bridge_crewai.events import current_sink

__all__ = ["FlowSource", "install_feedback", "is_flow", "persistence_of"]

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
    """Makes a fresh flow per task and describes it for the card.

    ``persistence`` keeps the state of a flow waiting for a caller's feedback
    (and, with ``@persist``, each conversation's state): the class's own with
    ``@persist``, else the one given, else CrewAI's default (a SQLite file).
    """

    def __init__(self, flow_class: type[Flow[Any]], *, persistence: FlowPersistence | None = None) -> None:
        self.flow_class = flow_class
        self.label = flow_class.__name__
        # What a class-level @persist stamps on the class (tests/test_crewai_flows.py uses one).
        persisted = getattr(flow_class, "__flow_persistence_config__", None)
        self.persists = persisted is not None
        self.persistence: FlowPersistence = (
            persisted.persistence if persisted is not None else persistence or default_flow_persistence()
        )
        self.template = self.new()
        structure = _structure(self.template)
        self.methods: list[str] = list(structure.get("nodes") or [])
        self.starts: list[str] = list(structure.get("start_methods") or [])
        self.routers: set[str] = set(structure.get("router_methods") or [])

    @classmethod
    def of(cls, obj: Any, *, persistence: FlowPersistence | None = None) -> FlowSource:
        return cls(obj if isinstance(obj, type) else type(obj), persistence=persistence)

    def new(self) -> Flow[Any]:
        try:
            return self.flow_class() if self.persists else self.flow_class(persistence=self.persistence)
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

    def flow_id(self, turn: Turn) -> str:
        """The flow's state id: the caller's conversation with ``@persist``, else the task's."""
        return turn.conversation if self.persists else turn.task_id

    def run(self, turn: Turn) -> Finished:
        """Kick a fresh flow off with the task's inputs, or resume the one waiting for this answer."""
        sink = current_sink.get()
        if sink is not None:
            sink.routers = frozenset(self.routers)
        # CrewAI prints a panel for every flow method unless a terminal UI owns the screen; a server's
        # output is its log, so this thread says one does.
        quiet = set_tui_mode(True)
        try:
            if turn.resuming:
                flow = self.flow_class.from_pending(self.flow_id(turn), self.persistence)
                answer = turn.text if turn.data is None else json.dumps(dict(turn.data))
                result = flow.resume(answer)
            else:
                flow = self.new()
                inputs = dict(turn.data or {})
                # CrewAI restores whatever state an input ``id`` names: the id is the server's to choose.
                inputs.pop(_STATE_ID, None)
                if self.persists:
                    inputs[_STATE_ID] = self.flow_id(turn)  # CrewAI restores the state persisted under this id
                else:
                    _set_state_id(flow, self.flow_id(turn))
                result = flow.kickoff(inputs=inputs)
            # Method events arrive through handlers on CrewAI's own threads; let them finish.
            crewai_event_bus.flush(timeout=10)
        finally:
            _tui_mode_reset(quiet)
        if isinstance(result, HumanFeedbackPending):
            return Finished(artifacts=[], output=None, text=None, question=_question(result.context))
        return _finished(flow.state, result)


def _set_state_id(flow: Flow[Any], flow_id: str) -> None:
    # The state's id names the flow in its persistence: the task's id finds it again when the caller answers.
    if isinstance(flow.state, BaseModel):
        setattr(flow.state, _STATE_ID, flow_id)
    elif isinstance(flow.state, dict):
        flow.state[_STATE_ID] = flow_id


def _question(context: PendingFeedbackContext) -> NeedsInput:
    """A human-feedback step, as the caller's question: its message, and what the method produced."""
    data: dict[str, Any] = {"method": context.method_name, "output": _jsonable(context.method_output)}
    if context.emit:
        data["outcomes"] = list(context.emit)
    return NeedsInput(str(context.message), data=data)


def _finished(state: Any, result: Any) -> Finished:
    """The final state as the output; a string result as the answer text, any other as the output's ``result``."""
    output: dict[str, Any] | None
    if isinstance(state, BaseModel):
        output = {k: v for k, v in state.model_dump(mode="json").items() if k != _STATE_ID}
    elif isinstance(state, dict):
        output = {k: _jsonable(v) for k, v in state.items() if k != _STATE_ID}
    else:
        output = None
    text = result if isinstance(result, str) else None
    if result is not None and text is None and output is not None:
        output = {**output, "result": _jsonable(result)}
    return Finished(artifacts=[], output=output or None, text=text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str))


def persistence_of(value: object) -> FlowPersistence | None:
    """The ``persistence=`` option: None (CrewAI's default), ``"sqlite:///PATH"``, or a ``FlowPersistence``."""
    if value is None or isinstance(value, FlowPersistence):
        return value
    if isinstance(value, str) and value.startswith("sqlite:///") and len(value) > len("sqlite:///"):
        return SQLiteFlowPersistence(db_path=value[len("sqlite:///") :])
    raise ConfigurationError(
        f"persistence must be 'sqlite:///PATH' or a crewai FlowPersistence, not {type(value).__name__}"
        if not isinstance(value, str)
        else f"persistence must be 'sqlite:///PATH' or a crewai FlowPersistence, not a {value.partition(':')[0]!r} URL"
    )


def install_feedback() -> None:
    """Make human-feedback steps of served flows ask their A2A caller (once; other flows keep their provider)."""
    global _previous_provider, _installed
    with _install_lock:
        if not _installed:
            _previous_provider = flow_config.hitl_provider
            flow_config.hitl_provider = _CallerFeedback()
            _installed = True


_install_lock = threading.Lock()
_installed = False
_previous_provider: Any = None


class _CallerFeedback:
    """CrewAI's documented way to collect feedback elsewhere: pause the flow; CrewAI saves it to resume later."""

    def request_feedback(self, context: PendingFeedbackContext, flow: Flow[Any]) -> str:
        if current_sink.get() is None and _previous_provider is not None:
            # Not a served task: a flow this process runs for itself asks as it was set up to.
            answer: str = _previous_provider.request_feedback(context, flow)
            return answer
        raise HumanFeedbackPending(context=context)
