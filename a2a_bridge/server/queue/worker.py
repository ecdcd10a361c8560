"""A queue-mode worker: takes turns from an agent's work queue and runs them.

Each turn runs through the same executor a replica uses, into the shared task
store and the event bus, so the front door (any replica of it) sees the task
as the worker writes it. Guarantees:

- **At least once.** A turn is acknowledged only once its task ended or asked
  its caller a question. A worker that dies (SIGKILL, a reclaimed spot
  instance) stops renewing its leases; a lease later, another worker takes the
  turn over and runs it again: from its last checkpoint for a runner that
  recovers tasks (a LangGraph graph with a durable checkpointer), from the
  turn's start otherwise (the partial run's artifacts are dropped).
- **Completed once.** Before running a turn the worker claims the task's lease
  in the store, and a finished task is never written again (the store's "final
  is final"). A worker that stalled past its lease and lost a turn gives the
  task's lease up; the worker that took the turn over keeps it while it waits
  for that lease, up to a lease and a half, so the wait is not counted as a run.
- **Run once through a Redis outage.** A worker that kept its task's lease in
  the store while Redis was away takes back the queue entry another worker
  took over meanwhile; that worker, still waiting for the lease, lets it go.
- **A turn that kills every worker is not a loop.** After ``MAX_RUNS`` runs the
  task fails with a message saying so.
- **SIGTERM hands over at once.** A stopping worker releases its leases and
  queues its turns again, so another worker starts them without waiting a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from a2a.server.agent_execution import RequestContext
from a2a.server.context import ServerCallContext
from a2a.types import Part, Role, Task, TaskState, TaskStatus
from prometheus_client import CollectorRegistry
from redis.exceptions import RedisError

from a2a_bridge.observability import spans
from a2a_bridge.observability.costs import Pricing, open_ledger
from a2a_bridge.runner import Runner
from a2a_bridge.server.handling.message_input import read_message
from a2a_bridge.server.handling.request_state import IncomingTurn, TaskOwner, attach
from a2a_bridge.server.observers.agent_metrics import AgentMetrics
from a2a_bridge.server.observers.cost_recorder import CostRecorder
from a2a_bridge.server.push.delivery import PushDelivery
from a2a_bridge.server.push.webhooks import WebhookPolicy
from a2a_bridge.server.queue.health import HealthEndpoint
from a2a_bridge.server.queue.work_queue import Job, WorkQueue
from a2a_bridge.server.store_url import StoreUrl
from a2a_bridge.server.stores import open_store, push_config_store
from a2a_bridge.server.stores.database import SharedTaskStore
from a2a_bridge.server.stores.leases import LeaseKeeper
from a2a_bridge.server.stores.push_configs import SharedPushConfigStore
from a2a_bridge.server.turns.direct_run import TaskSink
from a2a_bridge.server.turns.event_bus import RedisEventBus
from a2a_bridge.server.turns.executor import RunnerExecutor
from a2a_bridge.server.turns.task_events import TaskEvents
from a2a_bridge.support.outages import is_outage
from a2a_bridge.wire.parts import struct_json
from a2a_bridge.wire.states import AWAITING_CALLER_STATES, TERMINAL_STATES

__all__ = ["MAX_RUNS", "QueueWorker", "WorkerConfig", "work"]

logger = logging.getLogger("a2a_bridge.worker")

MAX_RUNS = 5
_READ_BLOCK_MS = 1000
_RETRY_SECONDS = 2.0
# A worker whose last read failed, or that has not read its queue for this long (a read that hangs), is not healthy.
_HEALTHY_WITHIN = 10.0


@dataclass(frozen=True)
class WorkerConfig:
    """What :func:`a2a_bridge.run_worker` checked: the agent's name (it names the queue) and the limits."""

    agent: str
    concurrency: int
    lease_seconds: float
    keep_tasks: int
    coalesce_interval: float
    health_port: int | None = None
    ledger: str | None = None
    pricing: Pricing = field(default_factory=Pricing)
    push: WebhookPolicy | None = None  # send the push notifications of the turns this worker runs


class QueueWorker:
    """Runs turns from one agent's queue, ``concurrency`` at a time; see the module docstring."""

    def __init__(self, runner: Runner, *, store: SharedTaskStore, bus: RedisEventBus, config: WorkerConfig) -> None:
        self.store = store
        self.bus = bus
        self.config = config
        self.executor = RunnerExecutor(
            runner, agent=config.agent, coalesce_interval=config.coalesce_interval, durable=True
        )
        self.executor.bus = bus
        self.metrics = AgentMetrics(CollectorRegistry(), config.agent)
        self.executor.observers.append(self.metrics)
        self.recorder = CostRecorder(open_ledger(config.ledger), config.pricing) if config.ledger else None
        if self.recorder is not None:
            self.executor.observers.append(self.recorder)
        self.recovers_tasks = bool(getattr(runner, "recovers_tasks", False))
        self.push = (
            PushDelivery(push_config_store(store.engine, encryption_key=config.push.encryption_key), config.push)
            if config.push is not None
            else None
        )
        if self.push is not None and isinstance(self.push.config_store, SharedPushConfigStore):
            store.push_configs = self.push.config_store  # trimmed with the tasks this worker's keeper trims
        self.queue = WorkQueue(bus.redis, config.agent, consumer=store.replica_id, lease_seconds=config.lease_seconds)
        self.keeper = LeaseKeeper(
            store,
            keep_tasks=config.keep_tasks,
            recover=None,
            on_round=self._renew_and_take_over,
            running=lambda: list(self._runs),
        )
        self._runs: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        self._claiming: dict[str, Job] = {}  # turns taken whose task's lease another worker still holds
        self._turns: dict[str, tuple[Job, asyncio.Task[Any]]] = {}  # the turn of each task this worker handles
        self._handling: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._stop = asyncio.Event()
        self._last_read: float | None = None
        store.on_final = self.stop_run
        bus.on_cancel = self.stop_run

    def stop(self) -> None:
        """Ask the worker to stop; :meth:`run` then hands its turns over and returns."""
        self._stop.set()

    def healthy(self) -> bool:
        """Whether the worker read its queue lately and is not stopping."""
        last = self._last_read
        return not self._stop.is_set() and last is not None and time.monotonic() - last < _HEALTHY_WITHIN

    async def run(self) -> None:
        """Take and run turns until :meth:`stop`."""
        await self.bus.start()
        await self.store.initialize()
        await self.queue.ensure_group()
        self.keeper.start()
        logger.info(
            "worker %s takes turns from %s, %d at a time",
            self.store.replica_id,
            self.queue.key,
            self.config.concurrency,
        )
        try:
            while not self._stop.is_set():
                free = self.config.concurrency - len(self._handling)
                if free <= 0:
                    self._slot_freed.clear()
                    await _first(self._slot_freed.wait(), self._stop.wait())
                    continue
                try:
                    jobs = await self.queue.take(free, block_ms=_READ_BLOCK_MS)
                    self._last_read = time.monotonic()
                except (OSError, RedisError) as exc:
                    # Redis restarting or out of reach: the leases this worker holds lapse to others meanwhile.
                    self._last_read = None
                    logger.warning("cannot read %s (%s); trying again in %.0f s", self.queue.key, exc, _RETRY_SECONDS)
                    await _first(asyncio.sleep(_RETRY_SECONDS), self._stop.wait())
                    with contextlib.suppress(OSError, RedisError):
                        # A Redis that restarted empty has lost the group too.
                        await self.queue.ensure_group()
                    continue
                for job in jobs:
                    self._handle(job)
        finally:
            await self._hand_over()

    def _handle(self, job: Job) -> None:
        handling = asyncio.create_task(self._run_turn(job), name=f"a2a-bridge-turn-{job.task_id}")
        self._handling.add(handling)

        def finished(done: asyncio.Task[None]) -> None:
            self._handling.discard(done)
            self._slot_freed.set()

        handling.add_done_callback(finished)

    async def _renew_and_take_over(self) -> None:
        """Each lease round: renew this worker's turns, stop those it lost, take over lapsed ones."""
        runs = list(self._runs.values())
        claiming = list(self._claiming.values())
        kept = await self.queue.renew([job.entry_id for job, _ in runs] + [job.entry_id for job in claiming])
        for job in claiming:
            if job.entry_id not in kept:
                self._claiming.pop(job.task_id, None)
        lost = [(job, run) for job, run in runs if job.entry_id not in kept]
        # The store's lease says who runs a task: an entry that lapsed only because Redis was away comes back.
        held = await self.store.held_here([job.task_id for job, _ in lost]) if lost else set()
        for job, run in lost:
            if job.task_id in held and await self.queue.take_back(job):
                logger.warning("task %s: its queue entry lapsed while this worker ran it; taken back", job.task_id)
                continue
            logger.warning("task %s: this worker stalled past its lease; another worker took it over", job.task_id)
            self.executor.abandoned.add(job.task_id)
            run.cancel()
        free = self.config.concurrency - len(self._handling)
        if free > 0 and not self._stop.is_set():
            for job in await self.queue.take_over(free):
                logger.warning(
                    "task %s: taking it over, run %d; the worker that had it stopped renewing it",
                    job.task_id,
                    job.runs,
                )
                self._handle(job)

    async def _run_turn(self, job: Job) -> None:
        # Registered before the first await, so that a second entry of this turn taken in the same
        # read sees it: the store's claim cannot tell the two apart, the task's lease being this worker's.
        earlier = self._turns.get(job.task_id)
        this = asyncio.current_task()
        assert this is not None
        self._turns[job.task_id] = (job, this)
        try:
            if earlier is not None:
                earlier_job, handling = earlier
                copy = earlier_job.entry_id != job.entry_id  # the same entry again is a redelivery, to run
                if copy and earlier_job.request.message.message_id == job.request.message.message_id:
                    logger.warning("task %s: a second queue entry of a turn taken here already; dropped", job.task_id)
                    await self.queue.done(job.entry_id)
                    return
                await asyncio.wait({handling})  # the task's next turn, queued as the turn before it ends here
            if await self._start_turn(job):
                await self.queue.done(job.entry_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Left unacknowledged: another worker takes the turn over after a lease.
            if is_outage(exc):
                logger.warning("task %s: out of reach (%s); the turn will be taken over", job.task_id, exc)
            else:
                logger.exception("task %s: could not run its turn; it will be taken over", job.task_id)
        finally:
            if self._turns.get(job.task_id, (None, None))[1] is this:
                del self._turns[job.task_id]

    async def _start_turn(self, job: Job) -> bool:
        """Run one turn; True when it is done with (ran, or had nothing to run), False to leave it to lapse."""
        context = ServerCallContext(user=TaskOwner(job.owner), state={"headers": job.headers})
        task = await self.store.get(job.task_id, context)
        if _turn_over(task, job):
            return True
        if not await self._claim(job):
            await self.queue.not_a_run(job)
            return False  # left to lapse: another worker still holds it
        # Read again under the lease: while this worker waited for it, another may have run this very turn
        # (a second entry of it) to its end or to a question.
        task = await self.store.get(job.task_id, context)
        if task is None or _turn_over(task, job):
            await self.store.release(job.task_id)
            return True
        sink = TaskSink(self.store, context, push=self.push.notify if self.push is not None else None)
        sink.task = task
        rerun = job.runs > 1
        if job.runs > MAX_RUNS:
            events = TaskEvents(self.bus.tee(sink, task.id), task.id, task.context_id)
            message = (
                f"This task was started {MAX_RUNS} times and each time the worker running it stopped "
                "before it finished; it was not started again."
            )
            await events.status(TaskState.TASK_STATE_FAILED, message=events.agent_message([Part(text=message)]))
            logger.error("task %s failed: its worker stopped on each of %d runs", task.id, MAX_RUNS)
            return True
        if rerun and not self.recovers_tasks:
            # Run again from the turn's start: what the lost run wrote is dropped.
            del task.artifacts[job.artifacts_before :]
            del task.history[job.history_before :]
            task.status.CopyFrom(TaskStatus(state=TaskState.TASK_STATE_SUBMITTED, timestamp=task.status.timestamp))
        request = job.request
        metadata = struct_json(request.metadata) if request.metadata.fields else {}
        parsed = read_message(request.message, None, validate=False)
        if job.text_input is not None:
            parsed = dataclasses.replace(parsed, data=job.text_input)
        attach(
            context,
            IncomingTurn(
                parsed,
                request_metadata=metadata,
                streaming=job.streaming,
                legacy_caller=job.legacy_caller,
                recovering=rerun and self.recovers_tasks,
                resuming=job.resuming,
            ),
        )
        run_context = RequestContext(
            call_context=context, request=request, task_id=task.id, context_id=task.context_id, task=task
        )
        run = asyncio.create_task(self.executor.execute(run_context, sink))
        self._runs[task.id] = (job, run)
        try:
            await run
        except asyncio.CancelledError:
            if self._stop.is_set() or task.id in self.executor.abandoned:
                return False
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            # CancelTask stopped it: the executor wrote canceled.
        finally:
            self._runs.pop(task.id, None)
            sink.close()
            if task.id in self.executor.abandoned:
                self.executor.abandoned.discard(task.id)
                await sink.saved()
                # Renewed with this worker's other leases otherwise: the worker that took the turn could never claim it.
                await self.store.release(task.id)
        return True

    async def _claim(self, job: Job) -> bool:
        """Claim the task's lease, waiting while a worker that just lost the turn gives it up."""
        deadline = time.monotonic() + 1.5 * self.config.lease_seconds
        self._claiming[job.task_id] = job
        try:
            while not await self.store.claim(job.task_id):
                lost = self._claiming.get(job.task_id) is not job
                if lost or self._stop.is_set() or time.monotonic() > deadline:
                    return False
                await asyncio.sleep(self.config.lease_seconds / 6)
            return True
        finally:
            if self._claiming.get(job.task_id) is job:
                del self._claiming[job.task_id]

    def stop_run(self, task_id: str) -> None:
        """Stop the run of a task that was canceled, or ended elsewhere."""
        if (entry := self._runs.get(task_id)) is not None:
            entry[1].cancel()

    async def _hand_over(self) -> None:
        """Stop: release the leases of unfinished turns and queue them again, for another worker at once.

        Every entry this worker holds goes back, not only the turns it runs: one it read and had not
        started, or left to lapse, would otherwise leave the group with this worker and never run.
        """
        self.executor.stopping = True
        started = {job.entry_id for job, _ in self._runs.values()}
        for handling in self._handling:
            handling.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)
        await self.keeper.stop(hand_over=True)
        try:
            held = await self.queue.held()
            for job in held:
                await self.queue.hand_back(job, ran=job.entry_id in started)
            # Only once nothing is held: leaving the group drops the entries a worker still holds.
            await self.queue.leave()
        except Exception as exc:
            logger.warning("could not hand this worker's turns back (%s); they go to others after a lease", exc)
        else:
            if held:
                logger.info("worker %s handed %d turns back to the queue", self.store.replica_id, len(held))
        if self.recorder is not None:
            await self.recorder.close()
        await self.bus.close()


def _turn_over(task: Task | None, job: Job) -> bool:
    """Whether the job's turn has nothing left to run: the task is gone, ended, asked, or moved on to a later turn."""
    if task is None or task.status.state in TERMINAL_STATES:
        return True  # canceled while it waited, or finished by a worker that died before acknowledging
    if task.status.state in AWAITING_CALLER_STATES:
        return True  # queued turns leave the task submitted: a question to the caller means this turn ended
    asked = [message.message_id for message in task.history if message.role == Role.ROLE_USER]
    return bool(asked) and asked[-1] != job.request.message.message_id  # a later answer queued the next turn


async def _first(*waits: object) -> None:
    """Wait until the first of several awaitables finishes; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def work(
    runner: Runner,
    *,
    queue_url: str,
    store: StoreUrl,
    config: WorkerConfig,
    on_shutdown: Callable[[], Any] | None = None,
) -> None:
    """Run a worker until SIGTERM or SIGINT, then hand its turns over and close everything it opened."""
    opened = open_store(store, keep_tasks=config.keep_tasks, lease_seconds=config.lease_seconds)
    bus = RedisEventBus(queue_url, on_cancel=lambda task_id: None)
    worker = QueueWorker(runner, store=opened.shared, bus=bus, config=config)
    health = (
        HealthEndpoint(worker.healthy, registry=worker.metrics.registry, port=config.health_port)
        if config.health_port
        else None
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    try:
        if health is not None:
            await health.start()
        await worker.run()
    finally:
        if worker.push is not None:
            await worker.push.close()
        if health is not None:
            await health.close()
        await asyncio.to_thread(spans.flush)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await opened.close()
        if on_shutdown is not None:
            result = on_shutdown()
            if inspect.isawaitable(result):
                await result
