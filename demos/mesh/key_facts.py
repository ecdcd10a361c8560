"""The orchestrator's model picks the facts that answer the question, held to the facts found.

Structured output with the facts as an enum: whatever the model's size, each
pick is one of the facts the research worker found, word for word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

KEY_FACTS_PROMPT = "Pick the facts that best answer the question, the most important first."
MOST_FACTS = 3


@dataclass(frozen=True)
class KeyFacts:
    facts: list[str]  # in the model's order, each one of the facts it was offered
    usage: dict[str, int] | None
    error: str | None = None


def key_facts_schema(facts: list[str]) -> dict[str, Any]:
    return {
        "title": "KeyFacts",
        "description": "The facts that answer the question.",
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "items": {"type": "string", "enum": facts},
                "minItems": 1,
                "maxItems": min(MOST_FACTS, len(facts)),
            }
        },
        "required": ["facts"],
        "additionalProperties": False,
    }


async def pick_key_facts(chat: BaseChatModel, question: str, facts: list[str]) -> KeyFacts:
    """Ask the model for the facts that answer ``question``; a failure is reported, not raised."""
    structured = chat.with_structured_output(key_facts_schema(facts), method="json_schema", include_raw=True)
    offered = "\n".join(f"- {fact}" for fact in facts)
    try:
        answer = await structured.ainvoke(
            [SystemMessage(KEY_FACTS_PROMPT), HumanMessage(f"Question: {question}\nFacts:\n{offered}")]
        )
    except Exception as exc:  # a backend without structured output must not sink the demo's answer
        return KeyFacts([], None, f"the model's pick failed ({type(exc).__name__})")
    assert isinstance(answer, dict)  # include_raw gives {"raw", "parsed", "parsing_error"}
    metadata = getattr(answer.get("raw"), "usage_metadata", None) or {}
    usage = None
    if metadata:
        usage = {"prompt_tokens": metadata["input_tokens"], "completion_tokens": metadata["output_tokens"]}
    parsed = answer.get("parsed")
    picked = parsed.get("facts") if isinstance(parsed, dict) else None
    if not isinstance(picked, list):
        return KeyFacts([], usage, "the model's pick could not be read")
    # A pick outside the facts cannot come from vLLM's guided decoding; another backend may not enforce the schema.
    chosen = [fact for index, fact in enumerate(picked) if fact in facts and fact not in picked[:index]]
    return KeyFacts(chosen, usage, None if chosen else "the model picked none of the facts")
