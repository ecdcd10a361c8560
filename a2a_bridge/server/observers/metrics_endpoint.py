"""``GET /metrics``: the agent's Prometheus metrics, in the text format ``prometheus_client`` writes.

Each app has its own registry, so two agents in one process never share a
series. Gauges that describe something outside the process (a work queue's
depth in Redis) are read when Prometheus scrapes, not on a timer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from a2a_bridge.server.queue.work_queue import WorkQueue
from a2a_bridge.server.turns.event_bus import RedisEventBus

__all__ = ["METRICS_PATH", "MetricsEndpoint"]

METRICS_PATH = "/metrics"


class MetricsEndpoint:
    """The registry of one served agent, and the route that renders it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def watch_bus(self, bus: RedisEventBus) -> None:
        """Publish whether cancels from other replicas reach this one (1) or not, while Redis is lost (0)."""
        listening = Gauge(
            "a2a_bridge_cancels_listening",
            "1 while this process hears cancels sent to other replicas over the event bus",
            registry=self.registry,
        )
        listening.set_function(lambda: float(bus.listening))

    def watch_queue(self, queue: WorkQueue, agent: str) -> None:
        """Publish the work queue's depth: the autoscaling signal of queue mode (docs/queue.md)."""
        labels = ("agent",)
        waiting = Gauge(
            "a2a_bridge_queue_waiting", "Turns queued and not yet taken by a worker", labels, registry=self.registry
        )
        running = Gauge(
            "a2a_bridge_queue_running", "Turns a worker has taken and not finished", labels, registry=self.registry
        )
        oldest = Gauge(
            "a2a_bridge_queue_oldest_wait_seconds",
            "How long the oldest waiting turn has waited",
            labels,
            registry=self.registry,
        )
        workers = Gauge("a2a_bridge_queue_workers", "Workers reading the queue", labels, registry=self.registry)

        async def refresh() -> None:
            depth = await queue.depth()
            waiting.labels(agent).set(depth.waiting)
            running.labels(agent).set(depth.running)
            oldest.labels(agent).set(depth.oldest_wait_seconds)
            workers.labels(agent).set(depth.workers)

        self._refreshers.append(refresh)

    async def handle(self, request: Request) -> Response:
        for refresh in self._refreshers:
            await refresh()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
