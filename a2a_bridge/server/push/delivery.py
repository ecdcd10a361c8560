"""Push notifications: each task event POSTed to the webhooks its callers registered, at least once.

The a2a-sdk keeps the registrations (its push config store, beside the task
store) and calls :meth:`PushDelivery.send_notification` for each event; the
direct run and queue-mode workers call it too. Delivery happens off the task's
path: each task has its own queue, so its events reach a webhook in order, and
a slow or failing webhook delays no task. A failed attempt is retried with
backoff, and so is a read of the registrations while their database is out
of reach; every attempt goes to the address checked for the URL
(:mod:`a2a_bridge.server.push.webhooks`), follows no redirect, and carries the
token and credentials the caller registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from dataclasses import dataclass, field

import httpx
import orjson
from a2a.server.tasks import PushNotificationConfigStore, PushNotificationEvent, PushNotificationSender
from a2a.types import TaskPushNotificationConfig

from a2a_bridge.server.push.webhooks import ResolvedWebhook, WebhookPolicy, WebhookRefused, resolve_webhook
from a2a_bridge.support.outages import is_outage
from a2a_bridge.wire.protojson import message_to_json
from a2a_bridge.wire.stream_responses import stream_response

__all__ = ["PushDelivery", "payload_of"]

logger = logging.getLogger("a2a_bridge.push")

TOKEN_HEADER = "X-A2A-Notification-Token"
MAX_BACKOFF_SECONDS = 30.0
LOOKUP_RETRY_SECONDS = 0.5
RETRIED_STATUSES = {408, 425, 429}
DRAIN_SECONDS = 5.0


def payload_of(event: PushNotificationEvent) -> bytes:
    """The webhook body: the event as a ``StreamResponse``, in ProtoJSON, as the spec sends it."""
    return orjson.dumps(message_to_json(stream_response(event)))


@dataclass
class _Outbox:
    events: deque[PushNotificationEvent] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


class PushDelivery(PushNotificationSender):
    """Delivers a task's events to its registered webhooks, in order, retrying failures."""

    def __init__(self, config_store: PushNotificationConfigStore, policy: WebhookPolicy) -> None:
        self.config_store = config_store
        self.policy = policy
        self._outboxes: dict[str, _Outbox] = {}
        self._http: httpx.AsyncClient | None = None

    async def send_notification(self, task_id: str, event: PushNotificationEvent) -> None:
        """Queue the event for the task's webhooks; returns at once."""
        self.notify(task_id, event)

    def notify(self, task_id: str, event: PushNotificationEvent) -> None:
        """Queue the event for the task's webhooks, from code that need not await (an event sink)."""
        copy = type(event)()
        copy.CopyFrom(event)  # the task object goes on changing after this returns
        outbox = self._outboxes.setdefault(task_id, _Outbox())
        outbox.events.append(copy)
        if outbox.worker is None or outbox.worker.done():
            outbox.worker = asyncio.create_task(self._drain(task_id, outbox))

    async def _drain(self, task_id: str, outbox: _Outbox) -> None:
        while outbox.events:
            # The events that came in together share one read of the registrations: one query, not one an event.
            batch = list(outbox.events)
            outbox.events.clear()
            configs = await self._configs_of(task_id, len(batch))
            for event in batch if configs else ():
                body = payload_of(event)
                await asyncio.gather(*(self._deliver(task_id, config, body) for config in configs))
        if self._outboxes.get(task_id) is outbox:
            del self._outboxes[task_id]

    async def _configs_of(self, task_id: str, waiting: int) -> list[TaskPushNotificationConfig]:
        """The task's registrations; while their store cannot be read (a database restarting), ask again."""
        delay = LOOKUP_RETRY_SECONDS
        while True:
            try:
                return list(await self.config_store.get_info_for_dispatch(task_id))
            except Exception as exc:
                if not is_outage(exc):
                    logger.exception("cannot read the push configs of task %s; %d event(s) not sent", task_id, waiting)
                    return []
                logger.warning(
                    "cannot read the push configs of task %s (%s); %d event(s) wait, asking again in %.1f s",
                    task_id,
                    type(exc).__name__,
                    waiting,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # No redirects: a 3xx could lead anywhere, past the address check.
            self._http = httpx.AsyncClient(follow_redirects=False, timeout=self.policy.timeout, trust_env=False)
        return self._http

    async def _deliver(self, task_id: str, config: TaskPushNotificationConfig, body: bytes) -> None:
        try:
            target = await resolve_webhook(config.url, self.policy)
        except WebhookRefused as refused:
            logger.warning("push for task %s not sent to webhook %s: %s", task_id, config.id, refused)
            return
        assert target is not None
        request = self._request(target, config, body)
        for attempt in range(self.policy.retries + 1):
            outcome = await self._attempt(request)
            if outcome is None:
                return
            retry, why = outcome
            if not retry or attempt == self.policy.retries:
                logger.warning(
                    "push for task %s to webhook %s given up after %d attempt(s): %s",
                    task_id,
                    config.id,
                    attempt + 1,
                    why,
                )
                return
            delay = min(MAX_BACKOFF_SECONDS, self.policy.backoff * 2**attempt) * random.uniform(0.8, 1.2)
            logger.info(
                "push for task %s to webhook %s failed (%s); retrying in %.1f s", task_id, config.id, why, delay
            )
            await asyncio.sleep(delay)

    def _request(self, target: ResolvedWebhook, config: TaskPushNotificationConfig, body: bytes) -> httpx.Request:
        url = httpx.URL(target.url)
        headers = {"Content-Type": "application/json", "Host": url.netloc.decode("ascii")}
        if config.token:
            headers[TOKEN_HEADER] = config.token
        if config.HasField("authentication") and config.authentication.scheme and config.authentication.credentials:
            headers["Authorization"] = f"{config.authentication.scheme} {config.authentication.credentials}"
        # The connection goes to the checked address; TLS still checks the certificate against the URL's host.
        pinned = url.copy_with(host=target.address)
        return httpx.Request("POST", pinned, headers=headers, content=body, extensions={"sni_hostname": target.host})

    async def _attempt(self, request: httpx.Request) -> tuple[bool, str] | None:
        """None when delivered; else whether to retry, and why it failed."""
        try:
            response = await self._client().send(request)
        except httpx.TimeoutException:
            return True, "timed out"
        except httpx.TransportError as exc:
            return True, f"{type(exc).__name__}"
        if response.is_success:
            return None
        if response.is_redirect:
            return False, f"HTTP {response.status_code}: redirects are not followed"
        return response.status_code >= 500 or response.status_code in RETRIED_STATUSES, f"HTTP {response.status_code}"

    async def close(self) -> None:
        """Give queued deliveries a few seconds to finish, then stop."""
        workers = [outbox.worker for outbox in self._outboxes.values() if outbox.worker is not None]
        if workers:
            _, pending = await asyncio.wait(workers, timeout=DRAIN_SECONDS)
            for worker in pending:
                worker.cancel()
            if pending:
                logger.warning("%d task(s) still had push notifications to send as the agent stopped", len(pending))
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
