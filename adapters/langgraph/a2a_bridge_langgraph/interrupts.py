"""A graph's interrupts as one ``input-required``, and the caller's answer as the resume.

One interrupt asks its question, and the caller's text (or data) resumes it,
as LangGraph's own ``Command(resume=...)`` does. Several at once (parallel
branches, each calling ``interrupt``) are one ``input-required`` listing every
question with its id; the caller answers with a data part
``{"answers": {"<id>": ..., ...}}``, or ``{"answers": [...]}`` in the order asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.types import Command, Interrupt

from a2a_bridge import NeedsAuth, NeedsInput
from a2a_bridge_langgraph.values import jsonable

__all__ = ["ask", "resume_all"]


def _question(value: Any) -> tuple[str, Any]:
    """The prompt an interrupt's value asks, and the value as JSON."""
    if isinstance(value, str):
        return value, value
    data = jsonable(value)
    if isinstance(data, Mapping):
        return str(data.get("question") or data.get("prompt") or data.get("message") or json.dumps(data)), data
    return json.dumps(data), data


def ask(interrupts: Sequence[Interrupt]) -> NeedsInput | NeedsAuth:
    """What the caller is asked: one interrupt's question, or every question of several."""
    if len(interrupts) == 1:
        value = interrupts[0].value
        if isinstance(value, (NeedsInput, NeedsAuth)):
            return value
        prompt, data = _question(value)
        if isinstance(value, str):
            return NeedsInput(prompt)
        return NeedsInput(prompt, data=data if isinstance(data, Mapping) else {"value": data})
    questions = []
    for interrupt in interrupts:
        value = interrupt.value.prompt if isinstance(interrupt.value, (NeedsInput, NeedsAuth)) else interrupt.value
        prompt, data = _question(value)
        questions.append({"id": interrupt.id, "question": prompt, "value": data})
    lines = "\n".join(f"{n}. {q['question']} (id {q['id']})" for n, q in enumerate(questions, 1))
    prompt = (
        f"{len(questions)} questions; answer each with a data part "
        f'{{"answers": {{"<id>": ...}}}}, or {{"answers": [...]}} in this order:\n{lines}'
    )
    return NeedsInput(prompt, data={"questions": questions})


def resume_all(pending: Sequence[Interrupt], data: Mapping[str, Any] | None) -> Command[Any] | str:
    """The resume for several pending interrupts, or what is wrong with the caller's answer."""
    answers = (data or {}).get("answers")
    ids = [interrupt.id for interrupt in pending]
    if isinstance(answers, Sequence) and not isinstance(answers, str):
        if len(answers) != len(ids):
            return f"{len(ids)} questions wait for an answer, and the answers list has {len(answers)}"
        return Command(resume=dict(zip(ids, answers, strict=True)))
    if isinstance(answers, Mapping):
        missing = [i for i in ids if i not in answers]
        unknown = [str(key) for key in answers if key not in ids]
        if missing or unknown:
            said = "; ".join(
                part
                for part in (
                    f"no answer for {', '.join(missing)}" if missing else "",
                    f"no question has the id {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
            return f"the answers do not match the questions: {said}"
        return Command(resume={i: answers[i] for i in ids})
    return f'{len(ids)} questions wait for an answer: send a data part {{"answers": {{"<id>": ...}}}}'
