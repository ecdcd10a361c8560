"""Building our own A2A v1.0 Agent Card from an :class:`AgentProfile`, or loading the one given.

The input and output JSON schemas (the tutorial's ``task_schema``) travel as a
card extension, :data:`TASK_SCHEMA_EXTENSION`; what ``/tasks/send`` accepts and
answers travels as :data:`TASKS_SEND_EXTENSION`. Both are documented in
``docs/card-extensions.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentExtension,
    AgentInterface,
    AgentSkill,
    ClientCredentialsOAuthFlow,
    HTTPAuthSecurityScheme,
    OAuth2SecurityScheme,
    OAuthFlows,
    OpenIdConnectSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from google.protobuf import struct_pb2
from google.protobuf.json_format import ParseDict, ParseError

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.profile import TASK_SCHEMA_EXTENSION, AgentProfile
from a2a_bridge.server.auth.tokens import AccessTokens
from a2a_bridge.server.bindings.tutorial_schema import TASKS_SEND_EXTENSION, TUTORIAL_PATH, tasks_send_schema
from a2a_bridge.support.json_files import read_json_object
from a2a_bridge.wire.ids import IDEMPOTENT_SEND_EXTENSION

__all__ = [
    "BEARER_SCHEME",
    "OAUTH2_SCHEME",
    "OPENID_SCHEME",
    "build_card",
    "ensure_interfaces",
    "load_card",
]

BEARER_SCHEME = "bearer"
OAUTH2_SCHEME = "oauth2"
OPENID_SCHEME = "openid"
TEXT_MODES = ["text/plain", "application/json"]


def _interfaces(base_url: str, *, v03: bool, grpc_port: int | None = None) -> list[AgentInterface]:
    base = base_url.rstrip("/")
    interfaces = [
        AgentInterface(url=f"{base}/", protocol_binding="JSONRPC", protocol_version="1.0"),
        AgentInterface(url=base, protocol_binding="HTTP+JSON", protocol_version="1.0"),
    ]
    if grpc_port is not None:
        # gRPC addresses are host:port, on the host callers reach the HTTP bindings at.
        host = urlsplit(base).hostname or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        interfaces.append(AgentInterface(url=f"{host}:{grpc_port}", protocol_binding="GRPC", protocol_version="1.0"))
    if v03:
        # The same JSON-RPC endpoint answers v0.3 clients (CrewAI's own A2A client is one). Listing it makes
        # the SDK write the card's v0.3 fields too (url, preferredTransport, protocolVersion).
        interfaces.append(AgentInterface(url=f"{base}/", protocol_binding="JSONRPC", protocol_version="0.3"))
    return interfaces


def _extension(uri: str, description: str, params: dict[str, Any]) -> AgentExtension:
    # Not required: a client that ignores an extension can still send text.
    struct = ParseDict(params, struct_pb2.Struct())
    return AgentExtension(uri=uri, description=description, required=False, params=struct)


def _schema_extension(profile: AgentProfile) -> AgentExtension | None:
    params: dict[str, Any] = {}
    if profile.input_schema is not None:
        params["input"] = dict(profile.input_schema)
        if (text_field := profile.plain_text_field()) is not None:
            params["textField"] = text_field
    if profile.output_schema is not None:
        params["output"] = dict(profile.output_schema)
    if not params:
        return None
    description = "JSON schemas of the task's structured input (a data part) and output (the 'output' artifact)."
    return _extension(TASK_SCHEMA_EXTENSION, description, params)


def _tasks_send_extension(profile: AgentProfile, base_url: str) -> AgentExtension:
    params = {"endpoint": f"{base_url.rstrip('/')}{TUTORIAL_PATH}", "task_schema": tasks_send_schema(profile)}
    description = "The tutorial's simplified POST /tasks/send: its endpoint and task_schema."
    return _extension(TASKS_SEND_EXTENSION, description, params)


def _idempotent_send_extension() -> AgentExtension:
    description = (
        "Name this extension in A2A-Extensions and a message sent again (the same messageId, from the same "
        "caller) gets the task its first send started: the work runs once."
    )
    return _extension(IDEMPOTENT_SEND_EXTENSION, description, {"key": "messageId", "scope": "caller"})


def _token_scheme(tokens: AccessTokens) -> SecurityScheme:
    if tokens.token_url:
        flow = ClientCredentialsOAuthFlow(token_url=tokens.token_url, scopes=dict.fromkeys(tokens.all_scopes(), ""))
        return SecurityScheme(
            oauth2_security_scheme=OAuth2SecurityScheme(
                description="OAuth 2.0 access tokens (JWT) by the client-credentials grant.",
                flows=OAuthFlows(client_credentials=flow),
                oauth2_metadata_url=tokens.discovery_url,
            )
        )
    return SecurityScheme(
        open_id_connect_security_scheme=OpenIdConnectSecurityScheme(
            description="OAuth 2.0 access tokens (JWT) from this OpenID Provider, by the client-credentials grant.",
            open_id_connect_url=tokens.discovery_url,
        )
    )


def _requirements(schemes: dict[str, list[str]]) -> list[SecurityRequirement]:
    """One requirement per scheme: any one of them is enough."""
    requirements = []
    for name, scopes in schemes.items():
        requirement = SecurityRequirement()
        requirement.schemes[name].CopyFrom(StringList(list=scopes))
        requirements.append(requirement)
    return requirements


def build_card(
    profile: AgentProfile,
    *,
    base_url: str,
    secured: bool,
    tokens: AccessTokens | None = None,
    push: bool = False,
    v03: bool = True,
    grpc_port: int | None = None,
) -> AgentCard:
    """The public card: no prompts, no secrets, only what callers need."""
    extensions = [ext] if (ext := _schema_extension(profile)) else []
    extensions.append(_tasks_send_extension(profile, base_url))
    extensions.append(_idempotent_send_extension())
    card = AgentCard(
        name=profile.name,
        description=profile.description or profile.name,
        version=profile.version,
        supported_interfaces=_interfaces(base_url, v03=v03, grpc_port=grpc_port),
        capabilities=AgentCapabilities(streaming=profile.streaming, push_notifications=push, extensions=extensions),
        default_input_modes=TEXT_MODES,
        default_output_modes=TEXT_MODES,
        skills=[
            AgentSkill(
                id=s.id, name=s.name, description=s.description, tags=list(s.tags) or [s.id], examples=list(s.examples)
            )
            for s in profile.effective_skills()
        ],
    )
    schemes: dict[str, list[str]] = {}
    if secured:
        card.security_schemes[BEARER_SCHEME].CopyFrom(
            SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer", description="A secret issued to each calling agent, sent as a bearer token."
                )
            )
        )
        schemes[BEARER_SCHEME] = []
    if tokens is not None:
        token_scheme = OAUTH2_SCHEME if tokens.token_url else OPENID_SCHEME
        card.security_schemes[token_scheme].CopyFrom(_token_scheme(tokens))
        schemes[token_scheme] = list(tokens.scopes)
        for skill in card.skills:
            if skill_scopes := tokens.skill_scopes.get(skill.id):
                needed = {**schemes, token_scheme: list(dict.fromkeys([*tokens.scopes, *skill_scopes]))}
                skill.security_requirements.extend(_requirements(needed))
    card.security_requirements.extend(_requirements(schemes))
    return card


def load_card(source: AgentCard | Mapping[str, Any] | str | Path) -> AgentCard:
    """A card given as an object, a ProtoJSON dict or a JSON file."""
    if isinstance(source, AgentCard):
        return source
    if isinstance(source, (str, Path)):
        source = read_json_object(source, what="card file")
    if not isinstance(source, Mapping):
        raise ConfigurationError(f"card must be an AgentCard, a dict or a file path, got {type(source).__name__}")
    try:
        card: AgentCard = ParseDict(dict(source), AgentCard(), ignore_unknown_fields=True)
        return card
    except ParseError as exc:
        raise ConfigurationError(f"card is not a valid A2A v1.0 Agent Card: {exc}") from None


def ensure_interfaces(card: AgentCard, base_url: str, *, v03: bool = True, grpc_port: int | None = None) -> AgentCard:
    """Fill in the interfaces of a user-given card that names none."""
    if not card.supported_interfaces:
        card.supported_interfaces.extend(_interfaces(base_url, v03=v03, grpc_port=grpc_port))
    return card
