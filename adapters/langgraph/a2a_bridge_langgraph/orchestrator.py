"""``create_orchestrator``: the tutorial's plan, fan out, synthesise pattern, made robust.

    plan        the planner model splits the task into sub-tasks with structured output
                (a JSON schema whose worker field is an enum of the workers that exist)
    work x N    each sub-task goes to its worker in parallel (LangGraph ``Send``); when a
                worker fails or times out, to another agent with one of the same skills
    synthesise  the synthesiser merges the results, and names the sub-tasks that failed

The final state keeps the plan and every result (worker, text, data, usage,
seconds, attempts), so callers can attribute tokens and cost per agent.
"""

from __future__ import annotations

import contextlib
import json
import operator
import secrets
import time
from collections.abc import Sequence
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Send
from typing_extensions import TypedDict

from a2a_bridge import AgentCardView, AgentRegistry, Backend, BridgeError, ConfigurationError, TraceContext
from a2a_bridge.adapter_api import RemoteSpec
from a2a_bridge_langgraph.remote_calls import stream_remote, trace_from_config

__all__ = ["SubResult", "SubTask", "create_orchestrator"]

PLANNER_PROMPT = (
    "You are a task planner. Split the user's task into at most {max_subtasks} independent sub-tasks "
    "and give each to the most suitable worker. Workers:\n{workers}"
)
SYNTHESIZER_PROMPT = (
    "Merge the workers' results into one answer to the user's task. Use only facts from the results. "
    "If a sub-task failed, say which and why."
)


class SubTask(TypedDict):
    worker: str
    query: str


class SubResult(TypedDict):
    index: int
    worker: str
    query: str
    status: str
    text: str
    data: dict[str, Any] | None
    error: str | None
    usage: dict[str, Any] | None
    seconds: float
    attempts: list[str]
    task_id: str | None  # the worker's task, when one answered


class OrchestratorInput(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class StepUsage(TypedDict):
    step: str
    prompt_tokens: int
    completion_tokens: int


class OrchestratorState(MessagesState):
    task: str
    trace_id: str
    plan: list[SubTask]
    plan_error: str | None
    results: Annotated[list[SubResult], operator.add]
    usage: Annotated[list[StepUsage], operator.add]


class OrchestratorOutput(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    plan: list[SubTask]
    results: list[SubResult]
    usage: list[StepUsage]


class WorkItem(TypedDict):
    subtask: SubTask
    index: int
    trace_id: str
    task_id: str | None


def _model(model: BaseChatModel | Backend) -> BaseChatModel:
    if isinstance(model, Backend):
        chat: BaseChatModel = model.chat_model()
        return chat
    return model


def _describe(name: str, card: AgentCardView) -> str:
    skills = "; ".join(f"{s.id}: {s.description}" for s in card.skills)
    return f"- {name}: {card.description}" + (f" Skills: {skills}" if skills else "")


def _plan_schema(workers: Sequence[str], max_subtasks: int) -> dict[str, Any]:
    return {
        "title": "Plan",
        "description": "The sub-tasks and the worker for each.",
        "type": "object",
        "properties": {
            "subtasks": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_subtasks,
                "items": {
                    "type": "object",
                    "properties": {
                        "worker": {"type": "string", "enum": list(workers)},
                        "query": {"type": "string"},
                    },
                    "required": ["worker", "query"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["subtasks"],
        "additionalProperties": False,
    }


def _step_usage(step: str, message: Any) -> list[StepUsage]:
    metadata = getattr(message, "usage_metadata", None) or {}
    if not metadata:
        return []
    return [StepUsage(step=step, prompt_tokens=metadata["input_tokens"], completion_tokens=metadata["output_tokens"])]


def _write(event: dict[str, Any]) -> None:
    with contextlib.suppress(RuntimeError):  # outside a graph run there is no stream
        get_stream_writer()(event)


class _Orchestrator:
    def __init__(
        self, registry: AgentRegistry, planner: BaseChatModel, synthesizer: BaseChatModel, *, max_subtasks: int
    ) -> None:
        self.registry = registry
        self.planner = planner
        self.synthesizer = synthesizer
        self.max_subtasks = max_subtasks

    def _workers(self) -> dict[str, AgentCardView]:
        return {e.name: e.card for e in self.registry.available if e.card is not None}

    async def plan(self, state: OrchestratorState, config: RunnableConfig) -> dict[str, Any]:
        task = state["messages"][-1].text if state["messages"] else ""
        trace = trace_from_config(config)
        trace_id = trace.trace_id or secrets.token_hex(16)
        if self.registry.unavailable:
            # A served orchestrator's registry is built before its workers are up, and a lost worker may be back.
            await self.registry.load()
        workers = self._workers()
        if not workers:
            return {"task": task, "trace_id": trace_id, "plan": [], "plan_error": "no worker agent is available"}
        structured = self.planner.with_structured_output(
            _plan_schema(list(workers), self.max_subtasks), method="json_schema", include_raw=True
        )
        prompt = PLANNER_PROMPT.format(
            max_subtasks=self.max_subtasks, workers="\n".join(_describe(n, c) for n, c in workers.items())
        )
        usage: list[StepUsage] = []
        try:
            answer = await structured.ainvoke([SystemMessage(prompt), HumanMessage(task)], config)
            assert isinstance(answer, dict)  # include_raw gives {"raw", "parsed", "parsing_error"}
            usage = _step_usage("plan", answer.get("raw"))
            parsed = answer.get("parsed")
            subtasks = parsed["subtasks"] if isinstance(parsed, dict) else []
            plan = [SubTask(worker=str(s["worker"]), query=str(s["query"])) for s in subtasks][: self.max_subtasks]
            error = None if plan else "the planner's answer held no usable sub-tasks"
        except Exception as exc:  # a planner that cannot follow the schema must not sink the run
            plan, error = [], f"the planner's answer could not be used ({type(exc).__name__})"
        _write({"event": "plan", "subtasks": plan, "error": error})
        return {"task": task, "trace_id": trace_id, "plan": plan, "plan_error": error, "usage": usage}

    def dispatch(self, state: OrchestratorState, config: RunnableConfig) -> list[Send] | str:
        if not state["plan"]:
            return "synthesize"
        task_id = trace_from_config(config).parent_task_id
        return [
            Send("work", WorkItem(subtask=subtask, index=index, trace_id=state["trace_id"], task_id=task_id))
            for index, subtask in enumerate(state["plan"])
        ]

    def _candidates(self, worker: str) -> list[str]:
        workers = self._workers()
        if worker in workers:
            names = [worker]
            skills = [s.id for s in workers[worker].skills]
        else:  # a name the planner made up: try it as a skill or a tag
            names, skills = [], [worker]
        for skill in skills:
            names += [a.name for a in self.registry.for_skill(skill) if a.name not in names]
        names += [a.name for a in self.registry.for_tag(worker) if a.name not in names]
        return names

    async def work(self, item: WorkItem, config: RunnableConfig) -> dict[str, Any]:
        subtask, index = item["subtask"], item["index"]
        trace = TraceContext(trace_id=item["trace_id"], parent_task_id=item["task_id"])
        start = time.perf_counter()
        attempts: list[str] = []
        error = f"no worker named {subtask['worker']!r}; workers: {', '.join(self._workers()) or 'none'}"
        for name in self._candidates(subtask["worker"]):
            attempts.append(name)
            card = self.registry.card(name)
            agent = self.registry.get(name)
            spec = RemoteSpec(
                card or agent,
                secret=agent.secret,
                credentials=agent.credentials,
                replicas=agent.urls[1:],
                timeout=agent.timeout,
            )
            _write({"event": "hop_started", "index": index, "worker": name, "query": subtask["query"]})
            hop_start = time.perf_counter()
            try:
                async with spec.open() as remote:
                    result = await stream_remote(remote, subtask["query"], trace=trace, label=name)
            except BridgeError as exc:
                error = f"{name}: {exc}"
                _write({"event": "hop_failed", "index": index, "worker": name, "error": error})
                continue
            seconds = time.perf_counter() - hop_start
            usage = result.usage.as_dict() if result.usage else None
            _write({"event": "hop_finished", "index": index, "worker": name, "state": result.state,
                    "seconds": round(seconds, 3), "usage": usage})  # fmt: skip
            if result.ok:
                done = SubResult(
                    index=index, worker=name, query=subtask["query"], status="completed", text=result.text,
                    data=dict(result.data) if result.data is not None else None, error=None, usage=usage,
                    seconds=round(time.perf_counter() - start, 3), attempts=attempts, task_id=result.task_id,
                )  # fmt: skip
                return {"results": [done]}
            error = f"{name}: task {result.state}: {result.message or 'no reason given'}"
        failed = SubResult(
            index=index, worker=subtask["worker"], query=subtask["query"], status="failed", text="", data=None,
            error=error, usage=None, seconds=round(time.perf_counter() - start, 3), attempts=attempts, task_id=None,
        )  # fmt: skip
        return {"results": [failed]}

    async def synthesize(self, state: OrchestratorState, config: RunnableConfig) -> dict[str, Any]:
        results = sorted(state.get("results") or [], key=lambda r: r["index"])
        lines = [f"User task: {state['task']}", ""]
        if state.get("plan_error"):
            lines.append(f"Planning failed: {state['plan_error']}")
        for result in results:
            if result["status"] == "completed":
                body = result["text"] + (f"\nData: {json.dumps(result['data'])}" if result["data"] else "")
                lines.append(f"[{result['worker']}] ({result['query']}):\n{body}")
            else:
                lines.append(f"[FAILED sub-task {result['index'] + 1}] ({result['query']}): {result['error']}")
        reply = await self.synthesizer.ainvoke([SystemMessage(SYNTHESIZER_PROMPT), HumanMessage("\n".join(lines))])
        failed = [r for r in results if r["status"] != "completed"]
        content = str(reply.text)
        if failed and not all(f"sub-task {r['index'] + 1}" in content for r in failed):
            # The answer must not hide a failure, whatever the model wrote.
            notes = "; ".join(f"sub-task {r['index'] + 1} ({r['query']}) failed: {r['error']}" for r in failed)
            content = f"{content}\n\nNot done: {notes}"
        return {
            "messages": [AIMessage(content=content, usage_metadata=getattr(reply, "usage_metadata", None))],
            "usage": _step_usage("synthesize", reply),
        }


def create_orchestrator(
    registry: AgentRegistry,
    *,
    planner: BaseChatModel | Backend,
    synthesizer: BaseChatModel | Backend | None = None,
    max_subtasks: int = 4,
    name: str = "orchestrator",
) -> Any:
    """A compiled graph that plans, fans out to the registry's agents, and synthesises.

    Args:
        registry: The workers. A registry not loaded yet is loaded by the first plan, and each plan tries
            the agents that were unavailable again, so the graph can be built (and served) before its workers
            are up.
        planner: The model that splits the task (a chat model, or a ``Backend``).
        synthesizer: The model that merges the results; the planner when not given.
        max_subtasks: The most sub-tasks one plan may have.
        name: The graph's name (and card name, when served).
    """
    if max_subtasks < 1:
        raise ConfigurationError("max_subtasks must be at least 1")
    planner_model = _model(planner)
    orchestrator = _Orchestrator(
        registry, planner_model, _model(synthesizer) if synthesizer is not None else planner_model,
        max_subtasks=max_subtasks,
    )  # fmt: skip
    builder = StateGraph(OrchestratorState, input_schema=OrchestratorInput, output_schema=OrchestratorOutput)
    builder.add_node("plan", orchestrator.plan)
    builder.add_node("work", orchestrator.work)  # type: ignore[arg-type]  # Send gives it a WorkItem, not the state
    builder.add_node("synthesize", orchestrator.synthesize)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", orchestrator.dispatch, ["work", "synthesize"])
    builder.add_edge("work", "synthesize")
    builder.add_edge("synthesize", END)
    return builder.compile(name=name)
