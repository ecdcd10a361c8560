"""Assembling the ASGI app: card, JSON-RPC, HTTP+JSON, /tasks/send, health.

GET  /.well-known/agent-card.json   the card (public)
GET  /healthz                       liveness (public)
POST /tasks/send                    the tutorial's simplified shape
POST /                              JSON-RPC, v1.0 and v0.3
*    /message:send, /tasks/{id} ... HTTP+JSON (REST), v1.0 and v0.3
GET  /metrics                       Prometheus metrics: calls, turns, tokens, errors (queue mode: the queue's depth)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import inspect
import json
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from ipaddress import IPv4Network, IPv6Network
from typing import TYPE_CHECKING, Any

from a2a.server.routes import create_rest_routes
from a2a.server.tasks import TaskStore
from a2a.types import AgentCard
from a2a.utils import AGENT_CARD_WELL_KNOWN_PATH
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from a2a_bridge.observability import spans
from a2a_bridge.observability.costs import Pricing, open_ledger
from a2a_bridge.profile import AgentProfile
from a2a_bridge.runner import Runner
from a2a_bridge.server.bindings.caller_errors import RestRequestCheck
from a2a_bridge.server.bindings.jsonrpc_endpoint import JsonRpcEndpoint
from a2a_bridge.server.bindings.media_types import RestMediaType
from a2a_bridge.server.bindings.tutorial_endpoint import TutorialEndpoint
from a2a_bridge.server.bindings.tutorial_schema import TUTORIAL_PATH
from a2a_bridge.server.card import build_card, ensure_interfaces, load_card
from a2a_bridge.server.card_urls import CardUrls
from a2a_bridge.server.handling.handler import ValidatingRequestHandler
from a2a_bridge.server.observers.agent_metrics import AgentMetrics
from a2a_bridge.server.observers.cost_recorder import CostRecorder
from a2a_bridge.server.observers.metrics_endpoint import METRICS_PATH, MetricsEndpoint
from a2a_bridge.server.observers.traced_calls import trace_calls
from a2a_bridge.server.push.delivery import PushDelivery
from a2a_bridge.server.queue.front_door import QueueFrontDoor
from a2a_bridge.server.queue.work_queue import WorkQueue
from a2a_bridge.server.stores import OpenedStore, open_store, push_config_store
from a2a_bridge.server.stores.leases import LeaseKeeper
from a2a_bridge.server.turns.event_bus import RedisEventBus
from a2a_bridge.server.turns.executor import RunnerExecutor
from a2a_bridge.wire import sdk_internals
from a2a_bridge.wire.card_signatures import card_signer
from a2a_bridge.wire.cards import card_to_dict
from a2a_bridge.wire.json_body import read_json

if TYPE_CHECKING:
    from a2a_bridge.server.bindings.grpc_binding import GrpcBinding
from a2a_bridge.keys.signing_keys import SigningKey
from a2a_bridge.server.auth.bearer import BearerAuth, CallerSecrets, auth_error_response
from a2a_bridge.server.auth.skill_scopes import SkillScopes
from a2a_bridge.server.auth.tokens import AccessTokens, TokenVerifier
from a2a_bridge.server.bindings.mount_path import PublicPathPrefix, url_path
from a2a_bridge.server.handling.input_schema import InputSchema
from a2a_bridge.server.limits import BodySizeLimit
from a2a_bridge.server.push.webhooks import WebhookPolicy
from a2a_bridge.server.store_url import StoreUrl

__all__ = ["AppConfig", "build_app"]

logger = logging.getLogger("a2a_bridge.server")

HEALTH_PATH = "/healthz"
PUBLIC_PATHS = frozenset({AGENT_CARD_WELL_KNOWN_PATH, HEALTH_PATH})
# Callers may keep the card five minutes: long enough to spare the server, short enough for a redeploy.
CARD_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class AppConfig:
    profile: AgentProfile
    input_model: Any  # the pydantic model the input schema came from, if it did
    secrets: CallerSecrets
    public_urls: tuple[str, ...]  # the first is the default; without any, cards name the server's own address
    card: Any
    task_store: TaskStore | None
    store: StoreUrl
    lease_seconds: float
    event_bus: str | None
    keep_tasks: int
    max_body_bytes: int
    coalesce_interval: float
    on_shutdown: Callable[[], Any] | None
    v03_compat: bool = True
    grpc_port: int | None = None  # None: no gRPC binding; 0: a free port
    grpc_host: str = "127.0.0.1"
    queue: str | None = None  # a Redis URL: queue each turn for workers instead of running it
    ledger: str | None = None  # a cost ledger URL: each ended turn is recorded there, priced
    pricing: Pricing = field(default_factory=Pricing)
    tokens: AccessTokens | None = None  # OAuth 2.0 access tokens accepted beside the secrets
    card_signing_key: SigningKey | None = None  # signs every card served
    push: WebhookPolicy | None = None  # push notifications on, to the webhooks this policy admits
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()  # whose forwarded host may pick a public URL


class CardEndpoint:
    """Serves the card built, and signed, once for each URL :class:`CardUrls` may choose.

    Those URLs come from the configuration and the server's own sockets, never
    from a request's headers, so the cache stays small and a caller naming new
    hosts costs no new card (nor signature).

    With the caching headers of spec §8.6: ``Cache-Control``, an ``ETag`` of the
    card's bytes (``If-None-Match`` gets 304) and ``Last-Modified``, the time
    the server started, since the card cannot change while it runs.
    """

    def __init__(self, make_card: Callable[[str], AgentCard], urls: CardUrls) -> None:
        self._make_card = make_card
        self._urls = urls
        self._cache: dict[str, tuple[bytes, dict[str, str]]] = {}
        self._last_modified = formatdate(usegmt=True)

    async def handle(self, request: Request) -> Response:
        base = self._urls.base_url(request.scope)
        cached = self._cache.get(base)
        if cached is None:
            body = json.dumps(card_to_dict(self._make_card(base)), ensure_ascii=False, separators=(",", ":")).encode()
            etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
            headers = {"Cache-Control": CARD_CACHE_CONTROL, "ETag": etag, "Last-Modified": self._last_modified}
            cached = self._cache[base] = (body, headers)
        body, headers = cached
        if request.headers.get("if-none-match") == headers["ETag"]:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)


def _health(bus: RedisEventBus | None) -> Callable[[Request], Awaitable[JSONResponse]]:
    """``GET /healthz``: 200 while the process serves; with an event bus, whether cancels from other replicas reach it.

    A Redis outage is not a reason to restart a replica, so the answer stays 200; ``cancels`` and the
    ``a2a_bridge_cancels_listening`` gauge say when the bus is lost.
    """

    async def health(request: Request) -> JSONResponse:
        body = {"status": "ok"}
        if bus is not None:
            body["cancels"] = "listening" if bus.listening else "not listening"
        return JSONResponse(body)

    return health


def _on_sighup(reload: Callable[[], object]) -> bool:
    """Run ``reload`` on SIGHUP, the usual signal to read configuration again; False where signals cannot be had."""
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
    except (RuntimeError, ValueError, NotImplementedError):
        return False  # not the main thread (an app served by a test's thread), or no SIGHUP on this platform
    return True


def build_app(runner: Runner, config: AppConfig) -> Starlette:
    profile = config.profile
    input_schema = (
        InputSchema(profile.input_schema, text_field=profile.text_field, model=config.input_model)
        if profile.input_schema is not None
        else None
    )
    secured = bool(config.secrets)
    verifier = TokenVerifier(config.tokens) if config.tokens is not None else None
    auth = (
        BearerAuth(config.secrets, tokens=verifier, public_paths=PUBLIC_PATHS)
        if secured or verifier is not None
        else None
    )

    grpc: GrpcBinding | None = None
    sign = card_signer(config.card_signing_key) if config.card_signing_key is not None else None

    def make_card(base_url: str) -> AgentCard:
        card = unsigned_card(base_url)
        return sign(card) if sign is not None else card

    def unsigned_card(base_url: str) -> AgentCard:
        grpc_port = grpc.port if grpc is not None else None
        if config.card is not None:
            card = AgentCard()
            card.CopyFrom(load_card(config.card))
            return ensure_interfaces(card, base_url, v03=config.v03_compat, grpc_port=grpc_port)
        return build_card(
            profile,
            base_url=base_url,
            secured=secured,
            tokens=config.tokens,
            push=config.push is not None,
            v03=config.v03_compat,
            grpc_port=grpc_port,
        )

    card_urls = CardUrls(config.public_urls, trusted_proxies=config.trusted_proxies)
    static_card = make_card(card_urls.default)
    queued = config.queue is not None
    opened = (
        OpenedStore(config.task_store)
        if config.task_store is not None
        else open_store(
            config.store, keep_tasks=config.keep_tasks, lease_seconds=config.lease_seconds, holds_leases=not queued
        )
    )
    executor = RunnerExecutor(
        runner, agent=profile.name, coalesce_interval=config.coalesce_interval, durable=config.store.durable
    )
    handler_class = QueueFrontDoor if queued else ValidatingRequestHandler
    push = (
        PushDelivery(push_config_store(opened.engine, encryption_key=config.push.encryption_key), config.push)
        if config.push is not None
        else None
    )
    if push is not None:
        opened.forget_push_configs_with_tasks(push.config_store)
    handler = handler_class(
        agent_executor=executor,
        task_store=opened.task_store,
        agent_card=static_card,
        input_schema=input_schema,
        recovers_tasks=bool(getattr(runner, "recovers_tasks", False)),
        push=push,
    )
    executor.watch = handler.watch
    trace_calls(handler, profile.name)
    metrics = MetricsEndpoint()
    agent_metrics = AgentMetrics(metrics.registry, profile.name)
    agent_metrics.meter_calls(handler)
    executor.observers.append(agent_metrics)
    recorder = CostRecorder(open_ledger(config.ledger), config.pricing) if config.ledger else None
    if recorder is not None:
        executor.observers.append(recorder)
    if config.grpc_port is not None:
        from a2a_bridge.server.bindings.grpc_binding import GrpcBinding  # grpcio is an extra

        grpc = GrpcBinding(
            handler,
            host=config.grpc_host,
            port=config.grpc_port,
            secrets=auth,
            max_bytes=config.max_body_bytes,
        )
    bus: RedisEventBus | None = None
    bus_url = config.queue or config.event_bus
    if bus_url is not None:
        bus = RedisEventBus(bus_url, on_cancel=handler.stop_run)
        handler.bus = executor.bus = bus
        metrics.watch_bus(bus)
    work_queue: WorkQueue | None = None
    if isinstance(handler, QueueFrontDoor):
        assert bus is not None
        assert opened.shared is not None
        work_queue = WorkQueue(
            bus.redis, profile.name, consumer=opened.shared.replica_id, lease_seconds=config.lease_seconds
        )
        handler.work_queue = work_queue
        metrics.watch_queue(work_queue, profile.name)
    if handler.recovers_tasks and not config.store.durable and config.task_store is None:
        logger.warning(
            "the agent could resume tasks after a restart, but its tasks are in memory: serve it with "
            "store='sqlite:///...' or store='postgresql://...' too (docs/deploying.md)"
        )
    keeper: LeaseKeeper | None = None
    if opened.shared is not None:
        opened.shared.on_final = handler.stop_run
        # A front door runs nothing, so it takes nothing over: the queue hands a lapsed turn to a worker.
        recover = None if queued else handler.recover
        keeper = LeaseKeeper(
            opened.shared,
            keep_tasks=config.keep_tasks,
            recover=recover,
            running=lambda: sdk_internals.running_task_ids(handler),
        )
    routes: list[BaseRoute] = [
        Route(AGENT_CARD_WELL_KNOWN_PATH, CardEndpoint(make_card, card_urls).handle, methods=["GET"]),
        Route(HEALTH_PATH, _health(bus), methods=["GET"]),
        Route(TUTORIAL_PATH, TutorialEndpoint(handler).handle, methods=["POST"]),
        Route("/", JsonRpcEndpoint(handler, v03=config.v03_compat).handle, methods=["POST"]),
        Route(METRICS_PATH, metrics.handle, methods=["GET"]),
    ]
    routes += create_rest_routes(handler, enable_v0_3_compat=config.v03_compat)
    middleware = [
        Middleware(BodySizeLimit, max_bytes=config.max_body_bytes),
        Middleware(RestMediaType),
        Middleware(RestRequestCheck, exempt=PUBLIC_PATHS | {"/", TUTORIAL_PATH, METRICS_PATH}, v03=config.v03_compat),
    ]
    if auth is not None:
        middleware.insert(0, Middleware(AuthenticationMiddleware, backend=auth, on_error=auth_error_response))
    if config.tokens is not None and config.tokens.skill_scopes:
        middleware.insert(2, Middleware(SkillScopes, skill_scopes=config.tokens.skill_scopes, read_json=read_json))
    # The public URLs share one path, or have none (to_a2a checks): the agent answers under it and without it.
    if prefix := next((path for url in config.public_urls if (path := url_path(url))), ""):
        middleware.insert(0, Middleware(PublicPathPrefix, prefix=prefix))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Everything imported so far (frameworks, SDK, models) lives as long as the server. Left in the
        # collector's oldest generation, it made every full collection stall requests for ~70 ms (bench/).
        gc.freeze()
        if bus is not None:
            await bus.start()
        if work_queue is not None:
            await work_queue.ensure_group()
        if keeper is not None:
            await opened.shared.initialize()
            keeper.start()
        if grpc is not None:
            await grpc.start()
        reloads_secrets = config.secrets.from_files and _on_sighup(config.secrets.reload)
        yield
        if reloads_secrets:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        executor.stopping = True
        if grpc is not None:
            await grpc.stop()
        await handler.stop_all_runs()
        if push is not None:
            await push.close()
        if recorder is not None:
            await recorder.close()
        if keeper is not None:
            await keeper.stop(hand_over=True)
        if bus is not None:
            await bus.close()
        await opened.close()
        if config.on_shutdown is not None:
            result = config.on_shutdown()
            if inspect.isawaitable(result):
                await result
        # uvicorn ends its process by raising SIGTERM again, so exit handlers never run: send the spans now.
        await asyncio.to_thread(spans.flush)

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.request_handler = handler
    app.state.agent_card = static_card
    return app
