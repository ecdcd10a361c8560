"""``a2a-bridge serve MODULE:ATTR``: serve a runner, graph or crew."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from a2a_bridge.cli.common import SECRET_HELP, read_secret
from a2a_bridge.errors import ConfigurationError
from a2a_bridge.observability.costs import DEFAULT_LEDGER
from a2a_bridge.observability.telemetry import DEFAULT_PROJECT, SDK_SPANS_SWITCH, enable_tracing
from a2a_bridge.server.limits import DEFAULT_KEEP_TASKS, DEFAULT_LEASE_SECONDS

__all__ = [
    "add_cost_flags",
    "add_framework_flags",
    "add_parser",
    "cost_options",
    "load_object",
    "quiet_frameworks",
    "run",
    "url_arg",
]

# CrewAI reports usage to its vendor's servers unless told not to; self-hosted agents should not phone home.
_CREWAI_TELEMETRY_ENV = ("CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_TRACKING")


def load_object(spec: str) -> Any:
    """Import ``module:attr`` (``attr`` may be dotted), like uvicorn does."""
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise ConfigurationError(f"expected MODULE:ATTR, e.g. my_agents:graph, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigurationError(f"cannot import module {module_name!r}: no such module") from None
        raise
    for attr in attr_path.split("."):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ConfigurationError(f"module {module_name!r} has no attribute {attr_path!r}") from None
    return obj


def parse_secrets(items: list[str]) -> dict[str, list[str]]:
    """``--secret NAME=VALUE`` items, by caller; a caller given twice has two valid secrets.

    ``@FILE`` and ``env:VAR`` stay references: the server reads them, and reads
    the files again on SIGHUP.
    """
    secrets: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigurationError("--secret takes NAME=VALUE, NAME=@FILE or NAME=env:VAR")
        secrets.setdefault(name, []).append(value)
    return secrets


def token_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``--token-*`` flags as ``to_a2a``'s ``tokens``; None when no issuer is given."""
    if not args.token_issuer:
        if args.token_audience or args.token_scope or args.skill_scope or args.token_url or args.token_accept_plain_jwt:
            raise ConfigurationError(
                "--token-audience, --token-scope, --skill-scope, --token-url and --token-accept-plain-jwt "
                "need --token-issuer"
            )
        return None
    if not args.token_audience:
        raise ConfigurationError("--token-issuer needs --token-audience: this agent's name at the provider")
    skill_scopes: dict[str, list[str]] = {}
    for item in args.skill_scope:
        skill, sep, scope = item.partition("=")
        if not sep or not skill or not scope:
            raise ConfigurationError(f"--skill-scope {item!r}: give SKILL=SCOPE")
        skill_scopes.setdefault(skill, []).append(scope)
    return {
        "issuer": args.token_issuer,
        "audience": args.token_audience,
        "scopes": args.token_scope,
        "skill_scopes": skill_scopes,
        "token_url": args.token_url,
        "accept_plain_jwt": args.token_accept_plain_jwt,
    }


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve a runner, graph or crew over A2A")
    serve.add_argument("target", metavar="MODULE:ATTR", help="the object to serve, e.g. my_agents:graph")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default: %(default)s)")
    serve.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=SECRET",
        help=f"a caller's bearer secret, {SECRET_HELP}; give a caller twice for two valid secrets, and a @FILE "
        "may hold several, one a line: the server reads its files again on SIGHUP",
    )
    tokens = serve.add_argument_group("OAuth 2.0 access tokens, beside or instead of secrets (docs/security.md)")
    tokens.add_argument(
        "--token-issuer", metavar="URL", help="accept JWT access tokens from this OpenID Provider (its issuer URL)"
    )
    tokens.add_argument(
        "--token-audience", metavar="AUD", help="what the tokens' aud must hold: this agent's name at the provider"
    )
    tokens.add_argument(
        "--token-scope", action="append", default=[], metavar="SCOPE", help="a scope every call needs; repeatable"
    )
    tokens.add_argument(
        "--skill-scope",
        action="append",
        default=[],
        metavar="SKILL=SCOPE",
        help="a scope a message naming this skill needs too; repeatable",
    )
    tokens.add_argument(
        "--token-url",
        metavar="URL",
        help="the provider's token endpoint, listed on the card (default: its discovery URL)",
    )
    tokens.add_argument(
        "--token-accept-plain-jwt",
        action="store_true",
        help="also take access tokens typed JWT or not typed (Auth0's default profile, Entra ID, Okta); "
        "tokens shaped like ID tokens stay refused",
    )
    serve.add_argument(
        "--card-signing-key",
        metavar="FILE",
        help="sign the Agent Card with this private key (PEM or JWK); callers verify it with the public key",
    )
    serve.add_argument(
        "--card-key-id", metavar="KID", help="the key id in the card's signature (default: its thumbprint)"
    )
    add_push_flags(serve)
    serve.add_argument(
        "--public-url",
        action="append",
        default=[],
        metavar="URL",
        help="the URL callers use, which the card names (needed with --card-signing-key); repeatable, for an "
        "internal and a public URL: a card request gets the one its host names, else the first",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a proxy address or network whose Forwarded / X-Forwarded-Host headers may choose among the "
        "--public-url URLs; repeatable (default: none)",
    )
    serve.add_argument("--name", help="override the card name")
    serve.add_argument("--description", help="override the card description")
    serve.add_argument(
        "--text-field",
        metavar="FIELD",
        help="the input field a plain text message fills (default: the only required string field, or an "
        "optional one: text, query, question, prompt, ... or else the first)",
    )
    serve.add_argument(
        "--keep-tasks",
        type=int,
        default=DEFAULT_KEEP_TASKS,
        metavar="N",
        help="finished tasks kept for GetTask, oldest forgotten first (default: %(default)s)",
    )
    serve.add_argument(
        "--store",
        default="memory",
        metavar="URL",
        help="where tasks live: memory, sqlite:///PATH or postgresql://...; env:VAR or @FILE read the URL "
        "from there, to keep a password off the command line (default: %(default)s)",
    )
    serve.add_argument(
        "--checkpointer",
        metavar="URL",
        help="a LangGraph graph's checkpointer: memory, sqlite:///PATH or postgresql://...; with a durable one, "
        "a task whose server died resumes from its last checkpoint (env:VAR or @FILE read the URL from there)",
    )
    serve.add_argument(
        "--event-bus",
        metavar="URL",
        help="redis://HOST:PORT/DB: replicas sharing a --store send each other live task events and cancels "
        "through it; env:VAR or @FILE read the URL from there",
    )
    serve.add_argument(
        "--queue",
        metavar="URL",
        help="redis://HOST:PORT/DB: queue mode; store and queue each turn for `a2a-bridge worker` processes to run, "
        "instead of running it here (needs a database --store; docs/queue.md); env:VAR or @FILE read the URL",
    )
    serve.add_argument(
        "--lease-seconds",
        type=float,
        default=DEFAULT_LEASE_SECONDS,
        metavar="S",
        help="with a database store, how long a running task stays claimed without renewal (default: %(default)s)",
    )
    serve.add_argument(
        "--grpc-port",
        type=int,
        metavar="PORT",
        help="serve the gRPC binding too, on this port, with the same auth and tasks (needs the grpc extra)",
    )
    serve.add_argument(
        "--no-v03-compat",
        dest="v03_compat",
        action="store_false",
        help="speak A2A 1.0 only: refuse v0.3 requests, and serve a card of v1.0 fields only (docs/conformance.md)",
    )
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_framework_flags(serve)
    add_cost_flags(serve)
    serve.set_defaults(run=run)


def url_arg(value: str, flag: str) -> str:
    """A URL given as is, or as env:VAR or @FILE to keep its password off the command line."""
    return read_secret(value, what=flag) if value.startswith(("env:", "@")) else value


def quiet_frameworks(args: argparse.Namespace) -> None:
    """The SDK's tracing and CrewAI's telemetry stay off unless the flags ask for them."""
    # Said either way, so that enable_tracing's default (off) does not override --sdk-tracing.
    os.environ.setdefault(SDK_SPANS_SWITCH, "true" if args.sdk_tracing else "false")
    if not args.crewai_telemetry:
        for name in _CREWAI_TELEMETRY_ENV:
            os.environ.setdefault(name, "true")


def add_framework_flags(parser: Any) -> None:
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="send traces over OTLP/HTTP to this collector (Phoenix, Langfuse, an OpenTelemetry Collector), "
        "e.g. http://127.0.0.1:6006; off by default",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="send traces over OTLP as the standard OTEL_EXPORTER_OTLP_* variables configure it",
    )
    parser.add_argument(
        "--trace-project",
        default=DEFAULT_PROJECT,
        metavar="NAME",
        help="the project Phoenix files the traces under; one name for every agent of a mesh (default: %(default)s)",
    )
    parser.add_argument(
        "--sdk-tracing",
        action="store_true",
        help="keep the a2a-sdk's OpenTelemetry spans on (they cost about a third of its throughput)",
    )
    parser.add_argument(
        "--crewai-telemetry",
        action="store_true",
        help="let CrewAI send its anonymous telemetry to its vendor (off by default)",
    )


def add_push_flags(parser: Any) -> None:
    push = parser.add_argument_group("push notifications (docs/security.md)")
    push.add_argument(
        "--no-push", dest="push", action="store_false", help="take no push-notification webhooks from callers"
    )
    push.add_argument(
        "--webhook-allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="a network webhooks may reach although it is not public (e.g. 10.20.0.0/16); repeatable",
    )
    push.add_argument(
        "--webhook-retries", type=int, default=5, metavar="N", help="further attempts per failed delivery (default: 5)"
    )
    push.add_argument(
        "--push-encryption-key",
        metavar="KEY",
        help="a Fernet key (env:VAR or @FILE) to keep webhook registrations encrypted in a database --store; "
        "workers need the same key",
    )


def push_options(args: argparse.Namespace) -> dict[str, Any] | bool:
    """The push flags as ``push_notifications``."""
    if not args.push:
        return False
    return {"allow": args.webhook_allow, "retries": args.webhook_retries, "encryption_key": args.push_encryption_key}


def add_cost_flags(parser: Any) -> None:
    parser.add_argument(
        "--ledger",
        nargs="?",
        const=DEFAULT_LEDGER,
        metavar="URL",
        help="record each task's tokens, duration and cost in this ledger: sqlite:///PATH or redis://HOST:PORT/DB "
        f"(env:VAR or @FILE too); alone, {DEFAULT_LEDGER}. `a2a-bridge costs` reads it",
    )
    parser.add_argument(
        "--tier", metavar="NAME", help="the tier profile the tokens are priced at (default: the one serving the model)"
    )
    parser.add_argument(
        "--capacity", choices=["on-demand", "spot"], help="price at on-demand or spot rates (default: the tier's own)"
    )


def cost_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ledger, tier and capacity, for to_a2a and run_worker."""
    ledger = url_arg(args.ledger, "--ledger") if args.ledger else None
    return {"ledger": ledger, "tier": args.tier, "capacity": args.capacity}


def start_tracing(args: argparse.Namespace) -> None:
    """Turn tracing on when --otlp-endpoint or --tracing asks for it; the agent's name names the service."""
    if args.otlp_endpoint or args.tracing:
        if args.otlp_endpoint and not args.otlp_endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"--otlp-endpoint {args.otlp_endpoint!r}: give an http:// or https:// URL")
        service = args.name or args.target.rpartition(":")[2]
        enable_tracing(service, endpoint=args.otlp_endpoint, project=args.trace_project)


def check_card_urls(args: argparse.Namespace) -> None:
    """Refuse, by flag, what ``to_a2a`` would refuse by keyword: a signed card or a proxy with no public URL."""
    if args.card_signing_key and not args.public_url:
        raise ConfigurationError(
            "--card-signing-key needs --public-url: a signed card names only the URLs given there, "
            "never the Host a request names"
        )
    if args.trusted_proxy and not args.public_url:
        raise ConfigurationError(
            "--trusted-proxy needs --public-url: a proxy's forwarded host only chooses among the public URLs"
        )


def run(args: argparse.Namespace) -> int:
    check_card_urls(args)
    quiet_frameworks(args)
    start_tracing(args)
    from a2a_bridge.server.publish import serve

    secrets = parse_secrets(args.secret)
    tokens = token_options(args)
    obj = load_object(args.target)
    # Only a graph takes a checkpointer: passed only when given, any other adapter refuses it by name.
    adapter_options = {"checkpointer": url_arg(args.checkpointer, "--checkpointer")} if args.checkpointer else {}
    serve(
        obj,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        secrets=secrets or None,
        tokens=tokens,
        card_signing_key=args.card_signing_key,
        push_notifications=push_options(args),
        card_key_id=args.card_key_id,
        public_url=args.public_url or None,
        trusted_proxies=args.trusted_proxy or None,
        name=args.name,
        description=args.description,
        text_field=args.text_field,
        keep_tasks=args.keep_tasks,
        store=url_arg(args.store, "--store"),
        lease_seconds=args.lease_seconds,
        event_bus=url_arg(args.event_bus, "--event-bus") if args.event_bus else None,
        queue=url_arg(args.queue, "--queue") if args.queue else None,
        v03_compat=args.v03_compat,
        grpc_port=args.grpc_port,
        **cost_options(args),
        **adapter_options,
    )
    return 0
