"""Reading remote Agent Cards: A2A v1.0, v0.3, and the tutorial's simplified shape.

:class:`AgentCardView` is the framework-neutral view of a remote agent that
routing, tools and planners need. It is read from the card's JSON, so it works
the same whichever protocol version the remote speaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from a2a_bridge.errors import CardError
from a2a_bridge.profile import TASK_SCHEMA_EXTENSION, Skill, text_field_of
from a2a_bridge.support.json_files import read_json_object

__all__ = ["CARD_PATH", "AgentCardView", "fetch_card", "read_card_file"]

CARD_PATH = "/.well-known/agent-card.json"

Protocol = Literal["1.0", "0.3", "tutorial"]


@dataclass(frozen=True)
class AgentCardView:
    """What a caller needs to know about a remote agent.

    Attributes:
        name: The card's name.
        description: The card's description.
        url: The base URL the agent is reached at.
        protocol: ``"1.0"``, ``"0.3"`` or ``"tutorial"`` (only ``POST /tasks/send``).
        skills: The skills listed (the tutorial's ``capabilities`` become skills).
        input_schema: JSON schema of structured input, if the card gives one.
        output_schema: JSON schema of structured output, if the card gives one.
        streaming: Whether the agent streams.
        bearer_required: Whether the card asks for a bearer token.
        verified: Whether the card's signature verified against the caller's ``CardKeys``.
        raw: The card's JSON as fetched.
    """

    name: str
    description: str
    url: str
    protocol: Protocol
    version: str = ""
    skills: tuple[Skill, ...] = ()
    input_schema: Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None
    streaming: bool = False
    bearer_required: bool = False
    verified: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(tag for skill in self.skills for tag in skill.tags)

    @classmethod
    def from_dict(cls, card: Mapping[str, Any], *, url: str | None = None) -> AgentCardView:
        """Read a card's JSON. ``url`` is where it was fetched from, if it was."""
        if not isinstance(card, Mapping) or not isinstance(card.get("name"), str) or not card.get("name"):
            raise CardError("not an Agent Card: it has no 'name'")
        if "supportedInterfaces" in card:
            return cls._from_v1(card, url)
        if "protocolVersion" in card or "preferredTransport" in card:
            return cls._from_v03(card, url)
        return cls._from_tutorial(card, url)

    @classmethod
    def _skills(cls, card: Mapping[str, Any]) -> tuple[Skill, ...]:
        skills = []
        for item in card.get("skills") or []:
            if isinstance(item, Mapping) and item.get("id"):
                skills.append(
                    Skill(
                        id=str(item["id"]),
                        name=str(item.get("name") or ""),
                        description=str(item.get("description") or ""),
                        tags=tuple(str(t) for t in item.get("tags") or ()),
                        examples=tuple(str(e) for e in item.get("examples") or ()),
                    )
                )
        return tuple(skills)

    @property
    def text_field(self) -> str | None:
        """The input field plain text fills: as the card states it, else as the bridge would choose it."""
        if self.input_schema is None:
            return None
        stated = self._task_schema(self.raw).get("textField")
        return stated if isinstance(stated, str) and stated else text_field_of(self.input_schema)

    @classmethod
    def _task_schema(cls, card: Mapping[str, Any]) -> Mapping[str, Any]:
        capabilities = card.get("capabilities") or {}
        for extension in capabilities.get("extensions") or [] if isinstance(capabilities, Mapping) else []:
            if isinstance(extension, Mapping) and extension.get("uri") == TASK_SCHEMA_EXTENSION:
                params = extension.get("params") or {}
                return params if isinstance(params, Mapping) else {}
        return {}

    @classmethod
    def _schemas(cls, card: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        params = cls._task_schema(card)
        return params.get("input"), params.get("output")

    @classmethod
    def _bearer(cls, card: Mapping[str, Any]) -> bool:
        for scheme in (card.get("securitySchemes") or {}).values():
            if not isinstance(scheme, Mapping):
                continue
            http = scheme.get("httpAuthSecurityScheme") or scheme
            if str(http.get("scheme", "")).lower() == "bearer":
                return True
            if "oauth2SecurityScheme" in scheme or "openIdConnectSecurityScheme" in scheme:
                return True
        return False

    @classmethod
    def _from_v1(cls, card: Mapping[str, Any], url: str | None) -> AgentCardView:
        interfaces = [i for i in card.get("supportedInterfaces") or [] if isinstance(i, Mapping)]
        v1 = [i for i in interfaces if str(i.get("protocolVersion", "")).startswith("1.")]
        chosen = (v1 or interfaces or [{}])[0]
        protocol: Protocol = "1.0" if v1 or not interfaces else "0.3"
        input_schema, output_schema = cls._schemas(card)
        capabilities = card.get("capabilities") or {}
        return cls(
            name=str(card["name"]),
            description=str(card.get("description") or ""),
            url=str(chosen.get("url") or url or "").rstrip("/"),
            protocol=protocol,
            version=str(card.get("version") or ""),
            skills=cls._skills(card),
            input_schema=input_schema,
            output_schema=output_schema,
            streaming=bool(capabilities.get("streaming")) if isinstance(capabilities, Mapping) else False,
            bearer_required=cls._bearer(card),
            raw=dict(card),
        )

    @classmethod
    def _from_v03(cls, card: Mapping[str, Any], url: str | None) -> AgentCardView:
        capabilities = card.get("capabilities") or {}
        input_schema, output_schema = cls._schemas(card)
        bearer = cls._bearer(card) or any(
            str(s.get("scheme", "")).lower() == "bearer"
            for s in (card.get("securitySchemes") or {}).values()
            if isinstance(s, Mapping)
        )
        return cls(
            name=str(card["name"]),
            description=str(card.get("description") or ""),
            url=str(card.get("url") or url or "").rstrip("/"),
            protocol="0.3",
            version=str(card.get("version") or ""),
            skills=cls._skills(card),
            input_schema=input_schema,
            output_schema=output_schema,
            streaming=bool(capabilities.get("streaming")) if isinstance(capabilities, Mapping) else False,
            bearer_required=bearer,
            raw=dict(card),
        )

    @classmethod
    def _from_tutorial(cls, card: Mapping[str, Any], url: str | None) -> AgentCardView:
        """The tutorial's card: capabilities as a list, task_schema, authentication."""
        capabilities = card.get("capabilities") or []
        skills = tuple(
            Skill(id=str(c), name=str(c), description=str(card.get("description") or c))
            for c in capabilities
            if isinstance(c, str) and c
        )
        schema = card.get("task_schema") or {}
        auth = card.get("authentication") or {}
        schemes = [str(s).lower() for s in auth.get("schemes") or []] if isinstance(auth, Mapping) else []
        endpoint = card.get("endpoint") or url
        if not endpoint:
            raise CardError(f"card {card['name']!r} names no endpoint and was not fetched from a URL")
        return cls(
            name=str(card["name"]),
            description=str(card.get("description") or ""),
            url=str(endpoint).rstrip("/"),
            protocol="tutorial",
            version=str(card.get("version") or ""),
            skills=skills,
            input_schema=schema.get("input") if isinstance(schema, Mapping) else None,
            output_schema=schema.get("output") if isinstance(schema, Mapping) else None,
            streaming=False,
            bearer_required="bearer" in schemes and bool(auth.get("required", True)),
            raw=dict(card),
        )


async def fetch_card(http: httpx.AsyncClient, url: str, *, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
    """GET ``{url}/.well-known/agent-card.json`` and return its JSON."""
    card_url = url.rstrip("/") + CARD_PATH
    try:
        response = await http.get(card_url, timeout=timeout)
    except httpx.TimeoutException:
        raise CardError(f"timed out fetching the card at {card_url}", url=url) from None
    except httpx.TransportError as exc:
        raise CardError(f"cannot reach {card_url}: {exc.__class__.__name__}", url=url) from None
    if response.status_code != 200:
        raise CardError(f"fetching the card at {card_url} gave HTTP {response.status_code}", url=url)
    try:
        body = response.json()
    except ValueError:
        raise CardError(f"the card at {card_url} is not JSON", url=url) from None
    if not isinstance(body, dict):
        raise CardError(f"the card at {card_url} is not a JSON object", url=url)
    return body


def read_card_file(path: str | Path) -> dict[str, Any]:
    """Read a card from a JSON file."""
    return read_json_object(path, what="card file", error=CardError)
