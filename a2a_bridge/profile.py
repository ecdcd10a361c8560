"""What an agent says about itself, before it becomes an A2A Agent Card.

An adapter derives an :class:`AgentProfile` from the wrapped object; the
keyword arguments of ``to_a2a`` override it field by field. The profile never
holds prompts, instructions or secrets: it is public by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from a2a_bridge.errors import ConfigurationError

__all__ = ["TASK_SCHEMA_EXTENSION", "AgentProfile", "Skill", "text_field_of", "skills_from", "slug"]

# The card extension that carries a profile's input and output schemas (docs/card-extensions.md).
TASK_SCHEMA_EXTENSION = "urn:a2a-bridge:ext:task-schema:v1"
_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, *, default: str = "skill") -> str:
    """``text`` as a lower-case id of letters, digits and dashes; ``default`` when nothing is left."""
    return _SLUG.sub("-", text.lower()).strip("-") or default


@dataclass(frozen=True, slots=True)
class Skill:
    """One thing the agent can do, as listed on its card."""

    id: str
    name: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ConfigurationError("skill id must not be empty")
        if not self.name:
            object.__setattr__(self, "name", self.id)
        if not self.description:
            object.__setattr__(self, "description", self.name)


def _skill_from(item: Skill | str | Mapping[str, Any]) -> Skill:
    if isinstance(item, Skill):
        return item
    if isinstance(item, str):
        return Skill(id=slug(item), name=item)
    if isinstance(item, Mapping):
        unknown = set(item) - {"id", "name", "description", "tags", "examples"}
        if unknown:
            raise ConfigurationError(f"skill has unknown keys: {', '.join(sorted(unknown))}")
        name = str(item.get("name") or item.get("id") or "")
        return Skill(
            id=str(item.get("id") or slug(name)),
            name=name,
            description=str(item.get("description") or ""),
            tags=tuple(item.get("tags") or ()),
            examples=tuple(item.get("examples") or ()),
        )
    raise ConfigurationError(f"a skill must be a Skill, a str or a dict, got {type(item).__name__}")


def skills_from(items: Iterable[Skill | str | Mapping[str, Any]]) -> tuple[Skill, ...]:
    """Normalise user-given skills; ids must be unique."""
    skills = tuple(_skill_from(item) for item in items)
    seen: set[str] = set()
    for skill in skills:
        if skill.id in seen:
            raise ConfigurationError(f"duplicate skill id {skill.id!r}")
        seen.add(skill.id)
    return skills


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """The public description of an agent.

    Attributes:
        name: Card name; also the default skill's id.
        description: One or two sentences for humans and planners.
        version: The agent's own version.
        skills: What it can do; one default skill is derived when empty.
        input_schema: JSON schema of structured input (the tutorial's
            ``task_schema.input``).
        output_schema: JSON schema of structured output.
        streaming: Whether the runner streams; the card advertises it.
        text_field: The input field plain text fills; by default the one
            :func:`text_field_of` chooses.
    """

    name: str = "agent"
    description: str = ""
    version: str = "0.1.0"
    skills: tuple[Skill, ...] = ()
    input_schema: Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None
    streaming: bool = True
    text_field: str | None = None

    def with_overrides(self, **overrides: Any) -> AgentProfile:
        """A copy with every non-None override applied."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if "skills" in given:
            given["skills"] = skills_from(given["skills"])
        return replace(self, **given)

    def plain_text_field(self) -> str | None:
        """The input field plain text fills, given or chosen; None without an input schema."""
        if self.input_schema is None:
            return None
        return self.text_field or text_field_of(self.input_schema)

    def effective_skills(self) -> tuple[Skill, ...]:
        """The listed skills, or one skill named after the agent."""
        if self.skills:
            return self.skills
        return (Skill(id=slug(self.name), name=self.name, description=self.description or self.name),)


# What a caller's plain text most likely means, first choice first, when several optional strings could take it.
TEXT_FIELD_NAMES = ("text", "query", "question", "prompt", "message", "input", "request", "topic", "task")


def _is_string(schema: Any) -> bool:
    """A string property, ``Optional[str]`` as pydantic writes it (``anyOf`` with null) included."""
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    if kind == "string" or (isinstance(kind, list) and "string" in kind):
        return True
    return any(_is_string(option) for option in schema.get("anyOf") or schema.get("oneOf") or ())


def text_field_of(schema: Mapping[str, Any]) -> str | None:
    """The string field plain text fills, or None when text cannot make a valid input.

    The only required field, when it is a string. With no required field: the
    only string, else the first of :data:`TEXT_FIELD_NAMES` present, else the
    first string listed.
    """
    if schema.get("type") != "object":
        return None
    props: Mapping[str, Any] = schema.get("properties") or {}
    required: list[str] = list(schema.get("required") or [])
    strings = [name for name, sub in props.items() if _is_string(sub)]
    if required:
        return required[0] if len(required) == 1 and required[0] in strings else None
    preferred = [name for name in TEXT_FIELD_NAMES if name in strings]
    chosen = preferred or strings
    return chosen[0] if chosen else None
