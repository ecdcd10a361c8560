"""``run_worker``: run an agent's queued turns, in a process of its own (queue mode, docs/queue.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from a2a_bridge.errors import ConfigurationError
from a2a_bridge.plugins import resolve
from a2a_bridge.server.cost_options import check_cost_options
from a2a_bridge.server.limits import DEFAULT_KEEP_TASKS, DEFAULT_LEASE_SECONDS, check_store_limits
from a2a_bridge.server.push.webhooks import WebhookPolicy, check_webhook_policy
from a2a_bridge.server.store_url import StoreUrl, check_redis_url, parse_store_url

__all__ = ["DEFAULT_CONCURRENCY", "check_queue", "run_worker"]

# Many turns at once keep a vLLM's continuous batching full; the work is I/O-bound, so not the core count.
DEFAULT_CONCURRENCY = 16


def check_queue(queue: object, store: StoreUrl, *, event_bus: str | None = None) -> str:
    """The queue URL, checked: a Redis URL, beside a database store that front door and workers share."""
    url = check_redis_url(queue, what="queue")
    if not store.durable:
        raise ConfigurationError(
            "queue mode needs a store that the front door and its workers share: give store='postgresql://...' "
            "(or 'sqlite:///PATH' on one host)"
        )
    if event_bus is not None and event_bus != url:
        raise ConfigurationError("in queue mode, live events go through the queue's Redis: leave event_bus out")
    return url


def run_worker(
    obj: object,
    *,
    queue: str,
    store: str,
    name: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    keep_tasks: int = DEFAULT_KEEP_TASKS,
    coalesce_interval: float = 0.02,
    health_port: int | None = None,
    ledger: str | None = None,
    tier: str | None = None,
    capacity: str | None = None,
    push_notifications: bool | WebhookPolicy | Mapping[str, Any] = True,
    **adapter_options: Any,
) -> None:
    """Take turns of ``obj``'s tasks from its work queue and run them, until SIGTERM or SIGINT.

    The front door is ``to_a2a(obj, queue=..., store=...)`` (or ``a2a-bridge
    serve --queue``); any number of workers, on any host, share its queue.

    Args:
        obj: What the front door serves: a runner, a compiled graph, a crew.
        queue: The front door's Redis URL, ``redis://HOST:PORT/DB``.
        store: The front door's task store, ``postgresql://...`` or ``sqlite:///PATH``.
        name: The agent's name, when the front door overrides the one ``obj`` carries; it names the queue.
        concurrency: How many turns this worker runs at once.
        lease_seconds: How long a turn stays this worker's without renewal; a worker that dies
            loses its turns to others this long after its last renewal.
        keep_tasks: How many finished tasks the store keeps.
        coalesce_interval: Seconds between streamed text events.
        health_port: Answer ``GET /healthz`` on this port (all interfaces), for a cluster's probes:
            200 while the worker reads its queue, 503 while it cannot; and ``GET /metrics``.
        ledger: Record each turn this worker ends in this cost ledger (as ``to_a2a``).
        tier: The tier profile its tokens are priced at.
        capacity: ``"spot"`` or ``"on-demand"`` pricing; by default the tier's own.
        push_notifications: Deliver the push notifications of the turns this worker
            runs, to the webhooks callers registered at the front door; as ``to_a2a``'s,
            and given the same as the front door's.
        **adapter_options: Passed to the adapter that handles ``obj`` (a graph's ``checkpointer``).

    Raises:
        ConfigurationError: An argument is not usable; the message says which.
    """
    from a2a_bridge.server.queue.worker import WorkerConfig, work

    store_url = parse_store_url(store)
    queue_url = check_queue(queue, store_url)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be a whole number of at least 1, got {concurrency!r}")
    keep_tasks, lease_seconds = check_store_limits(keep_tasks, lease_seconds)
    if health_port is not None and (isinstance(health_port, bool) or not isinstance(health_port, int)
                                    or not 1 <= health_port <= 65535):  # fmt: skip
        raise ConfigurationError(f"health_port must be a port number from 1 to 65535, got {health_port!r}")
    ledger, pricing = check_cost_options(ledger, tier, capacity)
    adapted = resolve(obj, **adapter_options)
    check_queued_runner(adapted.runner)
    config = WorkerConfig(
        agent=name or adapted.profile.name,
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        keep_tasks=keep_tasks,
        coalesce_interval=coalesce_interval,
        health_port=health_port,
        ledger=ledger,
        pricing=pricing,
        push=check_webhook_policy(push_notifications),
    )
    asyncio.run(
        work(adapted.runner, queue_url=queue_url, store=store_url, config=config, on_shutdown=adapted.on_shutdown)
    )


def check_queued_runner(runner: object) -> None:
    """A queued turn always has a task, so a runner that answers with a bare message cannot be queued."""
    if getattr(runner, "direct_replies", False):
        raise ConfigurationError(
            "this agent may answer with a message instead of a task (direct_replies), and a queued turn always "
            "has a task: serve it without queue="
        )
