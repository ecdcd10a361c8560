"""The orchestrator's model picks the facts that answer the question, held to the facts found.

Structured output with the facts' numbers as an enum: whatever the model's
size, each pick is one of the facts the research worker found, word for word,
and the answer is a few tokens long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

KEY_FACTS_PROMPT = "Pick the numbers of the facts that best answer the question, the most important first."
MOST_FACTS = 3
# Room for three numbers in the JSON object, and nothing else.
MAX_TOKENS = 32


@dataclass(frozen=True)
class KeyFacts:
    facts: list[str]  # in the model's order, each one of the facts it was offered
    usage: dict[str, int] | None
    error: str | None = None


def key_facts_schema(count: int) -> dict[str, Any]:
    return {
        "title": "KeyFacts",
        "description": "The numbers of the facts that answer the question.",
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "items": {"type": "integer", "enum": list(range(1, count + 1))},
                "minItems": 1,
                "maxItems": min(MOST_FACTS, count),
            }
        },
        "required": ["facts"],
        "additionalProperties": False,
    }


async def pick_key_facts(chat: BaseChatModel, question: str, facts: list[str]) -> KeyFacts:
    """Ask the model for the facts that answer ``question``; a failure is reported, not raised."""
    structured = chat.with_structured_output(key_facts_schema(len(facts)), method="json_schema", include_raw=True)
    offered = "\n".join(f"{number}. {fact}" for number, fact in enumerate(facts, 1))
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
    # A number outside the facts cannot come from vLLM's guided decoding; another backend may not enforce the schema.
    numbers = [n for i, n in enumerate(picked) if isinstance(n, int) and 1 <= n <= len(facts) and n not in picked[:i]]
    chosen = [facts[number - 1] for number in numbers]
    return KeyFacts(chosen, usage, None if chosen else "the model picked none of the facts")
