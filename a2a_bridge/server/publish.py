"""``to_a2a`` and ``serve``: publish a runner, or any object an adapter claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.keys.signing_keys import SigningKey, load_signing_key
from a2a_bridge.plugins import resolve
from a2a_bridge.profile import AgentProfile, Skill
from a2a_bridge.server.auth.bearer import check_secrets
from a2a_bridge.server.auth.tokens import AccessTokens, check_tokens
from a2a_bridge.server.cost_options import check_cost_options
from a2a_bridge.server.handling.input_schema import check_schema, schema_model
from a2a_bridge.server.limits import (
    DEFAULT_KEEP_TASKS,
    DEFAULT_LEASE_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    check_store_limits,
)
from a2a_bridge.server.push.webhooks import WebhookPolicy, check_webhook_policy
from a2a_bridge.server.store_url import check_event_bus, parse_store_url
from a2a_bridge.server.worker import check_queue, check_queued_runner

__all__ = ["serve", "to_a2a"]


def to_a2a(
    obj: object,
    *,
    name: str | None = None,
    description: str | None = None,
    version: str | None = None,
    skills: Iterable[Skill | str | Mapping[str, Any]] | None = None,
    input_schema: Mapping[str, Any] | type | None = None,
    output_schema: Mapping[str, Any] | type | None = None,
    text_field: str | None = None,
    secrets: Mapping[str, str | Sequence[str]] | None = None,
    tokens: AccessTokens | Mapping[str, Any] | None = None,
    public_url: str | Sequence[str] | None = None,
    trusted_proxies: str | Sequence[str] | None = None,
    card: Any = None,
    card_signing_key: str | Path | None = None,
    card_key_id: str | None = None,
    push_notifications: bool | WebhookPolicy | Mapping[str, Any] = True,
    store: str = "memory",
    task_store: Any = None,
    keep_tasks: int = DEFAULT_KEEP_TASKS,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    event_bus: str | None = None,
    queue: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    coalesce_interval: float = 0.02,
    v03_compat: bool = True,
    grpc_port: int | None = None,
    grpc_host: str = "127.0.0.1",
    ledger: str | None = None,
    tier: str | None = None,
    capacity: str | None = None,
    **adapter_options: Any,
) -> Any:
    """Publish ``obj`` as an A2A agent and return the ASGI app.

    Args:
        obj: A runner (see :mod:`a2a_bridge.runner`), or an object an installed
            adapter claims, such as a compiled LangGraph graph or a CrewAI crew.
        name: Card name; defaults to what the adapter derives from ``obj``.
        description: Card description.
        version: Card version.
        skills: Skills for the card, as :class:`Skill`, dicts or plain names.
        input_schema: JSON schema, or pydantic model class, that every new
            task's input must match; a model validates with its own rules.
        output_schema: JSON schema, or pydantic model class, of the structured output.
        text_field: The input field that plain text fills when a message has
            no data part; by default its only required string field, or with
            none required, its text field by name (``text``, ``query``, ...)
            or else its first string field.
        secrets: ``{caller_name: secret}``; when given, every route except the
            card and ``/healthz`` needs ``Authorization: Bearer <secret>``. A
            caller may have a list of valid secrets; each may be ``@FILE`` (one
            secret a line, read again on SIGHUP) or ``env:VAR``.
        tokens: Accept OAuth 2.0 access tokens (JWTs) from one OpenID Provider,
            beside or instead of secrets: :class:`AccessTokens` or a dict of its
            fields (``issuer``, ``audience``, ``scopes``, ``skill_scopes``, ...).
            The card lists the scheme; the token's client id owns its tasks.
            Needs the ``oauth`` extra. See ``docs/security.md``.
        public_url: The URL callers reach the agent at, for the card's
            interfaces; or a list of them (an internal and a public one), the
            first the default. A card request gets the card of the one its
            ``Host`` names, else the first; never one of a host it makes up.
            Without it, the card names the address the server listens on.
            Required with ``card_signing_key``. See ``docs/serving.md``.
        trusted_proxies: Addresses or networks (``"10.0.0.0/8"``) of proxies
            whose ``Forwarded`` / ``X-Forwarded-Host`` / ``X-Forwarded-Proto``
            headers may choose among the ``public_url`` URLs. By default none.
        card: A complete card to serve instead of the generated one: an a2a-sdk
            ``AgentCard``, a ProtoJSON dict, or the path of a JSON file.
        card_signing_key: A private key file (PEM, or a JWK) to sign the card
            with, as A2A v1.0 defines: a JWS over the card's canonical JSON.
            Callers verify it with the public key (``RemoteAgent(card_keys=...)``).
            Needs the ``oauth`` extra.
        card_key_id: The key id in the signature; by default the JWK's own, or
            the key's RFC 7638 thumbprint.
        push_notifications: Callers may register webhooks for their tasks
            (A2A push notifications). True (the default) calls public
            addresses only; a :class:`WebhookPolicy` or a dict of its fields
            (``allow``, ``retries``, ``backoff``, ``timeout``, ``encryption_key``)
            allows networks, or encrypts registrations at rest; False turns push
            off. See ``docs/security.md``.
        store: Where tasks live: ``"memory"`` (the default), ``"sqlite:///PATH"``
            (one host, survives restarts) or ``"postgresql://..."`` (shared by
            replicas). See ``docs/deploying.md``.
        task_store: Any a2a-sdk ``TaskStore``, instead of ``store``.
        keep_tasks: How many finished tasks the store keeps; running and
            input-required tasks are always kept.
        lease_seconds: With a database store, how long a running task stays
            claimed by its server without a renewal before another takes it over.
        event_bus: ``"redis://HOST:PORT/DB"``: replicas sharing a store send each
            other live task events and cancels through this Redis.
        queue: ``"redis://HOST:PORT/DB"``: serve as the front door of queue mode.
            Each turn is stored and queued in this Redis instead of run here;
            workers (``run_worker``, ``a2a-bridge worker``) run it. Needs a
            database ``store`` shared with the workers. See ``docs/queue.md``.
        max_body_bytes: Larger request bodies get HTTP 413.
        coalesce_interval: Seconds between streamed text events; text that
            arrives in between is sent together.
        v03_compat: Also answer A2A v0.3 clients (requests without an
            ``A2A-Version`` header; CrewAI's own A2A client is one). The card
            then lists the v0.3 interface and carries the v0.3 fields (``url``,
            ``preferredTransport``, ``protocolVersion``) beside the v1.0 ones.
            False serves A2A 1.0 only, with a card of v1.0 fields only, as the
            A2A TCK's strict card schema wants (``docs/conformance.md``).
        grpc_port: Serve the gRPC binding too, on this port (0: a free one),
            with the same auth, validation, limits and tasks; the card lists it.
            Needs the ``grpc`` extra (``pip install 'a2a-bridge-core[grpc]'``).
        grpc_host: The interface the gRPC binding listens on.
        ledger: Record each ended turn's tokens, duration and cost in this cost
            ledger: ``"sqlite:///PATH"`` or ``"redis://HOST:PORT/DB"`` (the
            tutorial's ``cost:{task_id}`` hashes). ``a2a-bridge costs`` reads it.
        tier: The tier profile the agent's tokens are priced at (``a2a-bridge
            backend tiers``); by default the tier that serves the model, if one does.
        capacity: ``"spot"`` or ``"on-demand"`` pricing; by default the tier's own.
        **adapter_options: Passed to the adapter that handles ``obj``.

    Raises:
        ConfigurationError: An argument is not usable; the message says which.
    """
    # Imported here, so that importing the core loads no SDK.
    from a2a_bridge.server.app import AppConfig, build_app

    adapted = resolve(obj, **adapter_options)
    # The caller's arguments win over what the object carries (e.g. a decorator's secrets).
    given: dict[str, Any] = {
        "name": name,
        "description": description,
        "version": version,
        "skills": skills,
        "input_schema": input_schema,
        "output_schema": output_schema,
        "text_field": text_field,
        "secrets": secrets,
        "public_url": public_url,
    }
    chosen = {key: value if value is not None else adapted.defaults.get(key) for key, value in given.items()}
    secrets, public_url = chosen.pop("secrets"), chosen.pop("public_url")
    profile = adapted.profile.with_overrides(**chosen)
    input_model = schema_model(profile.input_schema)
    profile = replace(
        profile,
        input_schema=check_schema(profile.input_schema, what="input_schema"),
        output_schema=check_schema(profile.output_schema, what="output_schema"),
    )
    if profile.text_field is not None and profile.input_schema is None:
        raise ConfigurationError(
            f"text_field {profile.text_field!r} needs an input schema; without one the agent gets plain text as it is"
        )
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1024:
        raise ConfigurationError("max_body_bytes must be an integer of at least 1024")
    keep_tasks, lease_seconds = check_store_limits(keep_tasks, lease_seconds)
    if task_store is not None and store != "memory":
        raise ConfigurationError("give either store= or task_store=, not both")
    store_url = parse_store_url(store)
    if queue is not None:
        queue = check_queue(queue, store_url, event_bus=event_bus)
        check_queued_runner(adapted.runner)
        if task_store is not None:
            raise ConfigurationError(
                "queue mode needs store='postgresql://...', which its workers share, not task_store"
            )
    elif event_bus is not None:
        check_event_bus(event_bus, store_url)
    if coalesce_interval < 0:
        raise ConfigurationError("coalesce_interval must not be negative")
    if grpc_port is not None:
        _check_grpc(grpc_port)
    if not isinstance(v03_compat, bool):
        raise ConfigurationError(f"v03_compat must be True or False, got {v03_compat!r}")
    public_urls = _check_public_urls(public_url)
    proxies = _check_trusted_proxies(trusted_proxies, public_urls)
    ledger, pricing = check_cost_options(ledger, tier, capacity)
    token_config = _check_token_options(tokens, profile, grpc_port)
    signing_key = _check_signing_key(card_signing_key, card_key_id)
    if signing_key is not None and not public_urls:
        raise ConfigurationError(
            "card_signing_key needs public_url: a signed card names only the URLs given there, "
            "never the Host a request names"
        )
    push = check_webhook_policy(push_notifications)
    config = AppConfig(
        profile=profile,
        input_model=input_model,
        secrets=check_secrets(secrets),
        public_urls=public_urls,
        trusted_proxies=proxies,
        card=card,
        task_store=task_store,
        store=store_url,
        lease_seconds=lease_seconds,
        event_bus=event_bus,
        keep_tasks=keep_tasks,
        max_body_bytes=max_body_bytes,
        coalesce_interval=coalesce_interval,
        on_shutdown=adapted.on_shutdown,
        v03_compat=v03_compat,
        grpc_port=grpc_port,
        grpc_host=grpc_host,
        queue=queue,
        ledger=ledger,
        pricing=pricing,
        tokens=token_config,
        card_signing_key=signing_key,
        push=push,
    )
    return build_app(adapted.runner, config)


def _check_public_urls(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, (list, tuple)) or not given or not all(isinstance(url, str) for url in given):
        raise ConfigurationError(f"public_url must be a URL or a list of URLs, got {value!r}")
    urls: list[str] = []
    for url in given:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"public_url must start with http:// or https:// and name a host, got {url!r}")
        if parts.query or parts.fragment:
            raise ConfigurationError(f"public_url must have no query or fragment, got {url!r}")
        if url.rstrip("/") in urls:
            raise ConfigurationError(f"public_url lists {url.rstrip('/')} twice")
        urls.append(url.rstrip("/"))
    paths = sorted({path for url in urls if (path := urlsplit(url).path.rstrip("/"))})
    if len(paths) > 1:
        # The agent is served under one path prefix (and without it), so two would leave one unreachable.
        raise ConfigurationError(f"public_url's URLs must share one path, or have none; got {' and '.join(paths)}")
    return tuple(urls)


def _check_trusted_proxies(value: object, public_urls: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    if value is None:
        return ()
    given = [value] if isinstance(value, str) else value
    if not isinstance(given, (list, tuple, set, frozenset)) or not all(isinstance(item, str) for item in given):
        raise ConfigurationError(f"trusted_proxies must be an address or network, or a list of them, got {value!r}")
    networks = []
    for item in given:
        try:
            networks.append(ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"trusted_proxies: {item!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    if networks and not public_urls:
        raise ConfigurationError(
            "trusted_proxies needs public_url: a proxy's forwarded host only chooses among the public URLs"
        )
    return tuple(networks)


def _check_signing_key(path: object, kid: str | None) -> SigningKey | None:
    if path is None:
        if kid is not None:
            raise ConfigurationError("card_key_id needs card_signing_key")
        return None
    if not isinstance(path, (str, Path)):
        raise ConfigurationError(f"card_signing_key must be the path of a key file, got {type(path).__name__}")
    try:
        import jwt  # noqa: F401
    except ImportError:
        raise ConfigurationError("signed cards need PyJWT: pip install 'a2a-bridge-core[oauth]'") from None
    return load_signing_key(path, kid=kid)


def _check_token_options(tokens: object, profile: AgentProfile, grpc_port: int | None) -> AccessTokens | None:
    checked = check_tokens(tokens)  # type: ignore[arg-type]
    if checked is None:
        return None
    try:
        import jwt  # noqa: F401
    except ImportError:
        raise ConfigurationError("tokens need PyJWT: pip install 'a2a-bridge-core[oauth]'") from None
    skill_ids = {skill.id for skill in profile.effective_skills()}
    unknown = sorted(set(checked.skill_scopes) - skill_ids)
    if unknown:
        raise ConfigurationError(
            f"tokens.skill_scopes names skill(s) the agent does not have: {', '.join(unknown)}; "
            f"its skills: {', '.join(sorted(skill_ids))}"
        )
    if checked.skill_scopes and grpc_port is not None:
        raise ConfigurationError(
            "per-skill scopes are checked on the HTTP bindings only: serve without grpc_port, or without skill_scopes"
        )
    return checked


def _check_grpc(port: object) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"grpc_port must be a port number (0 for a free one), got {port!r}")
    try:
        import grpc  # noqa: F401
    except ImportError:
        raise ConfigurationError("grpc_port needs gRPC: pip install 'a2a-bridge-core[grpc]'") from None


def serve(
    obj: object,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "info",
    **options: Any,
) -> None:
    """Publish ``obj`` and serve it with uvicorn until interrupted.

    Takes every keyword argument of :func:`to_a2a` as well.
    """
    import uvicorn

    options.setdefault("grpc_host", host)
    app = to_a2a(obj, **options)
    # uvicorn would take X-Forwarded-Proto and -For from 127.0.0.1 by default, rewriting the scheme and the
    # peer before the agent sees them; which proxies to believe is trusted_proxies' alone.
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)
