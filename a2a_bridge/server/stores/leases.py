"""Leases on running tasks: renewed by the replica running them, taken over when they lapse.

Every third of a lease, each replica renews the leases of the tasks it runs,
in one statement, stops its runs of tasks that ended elsewhere (a cancel it
did not hear), and takes over tasks whose lease has lapsed (their replica
died, or stopped). Once a lease, apart from that, it trims finished tasks beyond
``keep_tasks``: a slow trim on a busy database must not delay a renewal. A taken-over task is
handed to ``recover(task_id, owner)``, which resumes it or fails it with a message that says why.
In queue mode there is no ``recover``: the work queue hands a lapsed task to another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Collection

from sqlalchemy import delete, func, select, update

from a2a_bridge.server.stores.database import FINAL_STATE_NAMES, RequestRow, SharedTaskStore, TaskRow, utcnow
from a2a_bridge.support.outages import is_outage

__all__ = ["LeaseKeeper"]

logger = logging.getLogger("a2a_bridge.leases")

_TAKEOVERS_PER_ROUND = 16
_REMEMBER_ENDS_SECONDS = 60.0  # how long a run may wind down after writing its end


class LeaseKeeper:
    """The background job that keeps one replica's leases and takes over lapsed ones."""

    def __init__(
        self,
        store: SharedTaskStore,
        *,
        keep_tasks: int,
        recover: Callable[[str, str], Awaitable[None]] | None,
        on_round: Callable[[], Awaitable[None]] | None = None,
        running: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.store = store
        self.keep_tasks = keep_tasks
        self.recover = recover
        self.on_round = on_round
        self.running = running  # the tasks this process runs now, to stop those that ended elsewhere
        self._jobs: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._jobs = [
            asyncio.create_task(self._keep(), name="a2a-bridge-leases"),
            asyncio.create_task(self._trim_now_and_then(), name="a2a-bridge-trim"),
        ]

    async def stop(self, *, hand_over: bool) -> None:
        """Stop renewing; with ``hand_over``, let other replicas take this one's tasks at once."""
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            with contextlib.suppress(asyncio.CancelledError):
                await job
        self._jobs = []
        if hand_over:
            try:
                async with self.store.sessions.begin() as session:
                    await session.execute(
                        update(TaskRow)
                        .where(TaskRow.lease_owner == self.store.replica_id)
                        .values(lease_expires=utcnow())
                    )
            except Exception as exc:
                if not is_outage(exc):
                    raise
                logger.warning("could not hand this replica's leases over (%s); they lapse instead", exc)

    async def _keep(self) -> None:
        interval = self.store.lease.total_seconds() / 3
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.renew()
                await self.stop_finished()
                if self.on_round is not None:
                    # Bounded: Redis retrying through an outage must not hold up the next renewal in the store.
                    async with asyncio.timeout(interval):
                        await self.on_round()
                if self.recover is not None:
                    await self.take_over_lapsed()
            except Exception as exc:
                # A database or Redis blip must not end the job: the next round tries again.
                if is_outage(exc):
                    reason = str(exc) or f"{type(exc).__name__}: no answer within {interval:.1f} s"
                    logger.warning("lease round failed (%s); retrying in %.1f s", reason, interval)
                else:
                    logger.exception("lease round failed; retrying in %.1f s", interval)
            # Rounds start a third of a lease apart however long one took, so a slow round
            # does not push the next past the lease; jitter, so replicas do not sweep in lockstep.
            await asyncio.sleep(max(0.0, started + interval * random.uniform(0.8, 1.0) - loop.time()))

    async def _trim_now_and_then(self) -> None:
        interval = self.store.lease.total_seconds()
        while True:
            await asyncio.sleep(interval * random.uniform(0.8, 1.0))
            try:
                await self.trim()
            except Exception as exc:
                if is_outage(exc):
                    logger.warning("trimming finished tasks failed (%s); retrying in %.1f s", exc, interval)
                else:
                    logger.exception("trimming finished tasks failed; retrying in %.1f s", interval)

    async def stop_finished(self) -> None:
        """Stop each run here whose task ended elsewhere: a cancel this process never heard (Redis was away)."""
        running = list(self.running()) if self.running is not None else []
        ended_here = self.store.ended_here
        forgotten = asyncio.get_running_loop().time() - _REMEMBER_ENDS_SECONDS
        for task_id in [task_id for task_id, at in ended_here.items() if at < forgotten]:
            del ended_here[task_id]  # its run is long over
        elsewhere = [task_id for task_id in running if task_id not in ended_here]
        if elsewhere:
            for task_id in await self.store.finished_among(elsewhere):
                if task_id in ended_here:
                    continue  # its run wrote its end here while the query ran
                logger.warning("task %s ended elsewhere (canceled?) while it ran here; stopping its run", task_id)
                self.store.on_final(task_id)

    async def renew(self) -> None:
        """Extend this process's leases: on the tasks it runs now, when it says which (``running``).

        A task whose run ended here without its last state saved (the database was out of reach for
        too long) is not renewed: its lease lapses, and a take-over resumes it or fails it saying why,
        instead of leaving it working for ever.
        """
        mine = TaskRow.lease_owner == self.store.replica_id
        if self.running is not None:
            running = list(self.running())
            if not running:
                return
            mine = mine & TaskRow.id.in_(running)
        async with self.store.sessions.begin() as session:
            await session.execute(update(TaskRow).where(mine).values(lease_expires=utcnow() + self.store.lease))

    async def take_over_lapsed(self) -> int:
        """Claim each task whose lease lapsed, and hand it to ``recover``. Returns how many."""
        now = utcnow()
        async with self.store.sessions() as session:
            # Only what a claim needs: the rows' JSON (history, artifacts) is read by recover, once claimed.
            lapsed = (
                await session.execute(
                    select(TaskRow.id, TaskRow.version, TaskRow.owner, TaskRow.lease_owner)
                    .where(TaskRow.lease_owner.is_not(None), TaskRow.lease_expires < now)
                    .limit(_TAKEOVERS_PER_ROUND)
                )
            ).all()
        taken = 0
        for row in lapsed:
            if not await self._claim(row.id, row.version):
                continue  # another replica claimed it first
            logger.warning("took over task %s from replica %s, whose lease lapsed", row.id, row.lease_owner)
            taken += 1
            assert self.recover is not None
            try:
                await self.recover(row.id, row.owner or "")
            except Exception:
                logger.exception("could not recover task %s", row.id)
        return taken

    async def _claim(self, task_id: str, version: int) -> bool:
        now = utcnow()
        async with self.store.sessions.begin() as session:
            # The lease is checked again here: a renewal after the lapse was seen keeps the version.
            claimed = await session.execute(
                update(TaskRow)
                .where(TaskRow.id == task_id, TaskRow.version == version, TaskRow.lease_expires < now)
                .values(version=version + 1, lease_owner=self.store.replica_id, lease_expires=now + self.store.lease)
            )
            return bool(claimed.rowcount)  # type: ignore[attr-defined]

    async def trim(self) -> None:
        """Forget the oldest finished tasks beyond ``keep_tasks``, and their webhooks; running, waiting tasks stay."""
        finished = TaskRow.status["state"].as_string().in_(sorted(FINAL_STATE_NAMES))
        pushes = self.store.push_configs
        if pushes is not None:
            await pushes.initialize()
        async with self.store.sessions.begin() as session:
            count = (await session.execute(select(func.count()).where(finished))).scalar_one()
            excess = count - self.keep_tasks
            if excess <= 0:
                return
            oldest = select(TaskRow.id).where(finished).order_by(TaskRow.last_updated.asc()).limit(excess)
            doomed = list((await session.execute(oldest)).scalars())
            if pushes is not None:
                # A task's webhooks go with it: nothing could be sent to them again.
                await session.execute(delete(pushes.table).where(pushes.table.c.task_id.in_(doomed)))
            await session.execute(delete(RequestRow).where(RequestRow.task_id.in_(doomed)))
            await session.execute(delete(TaskRow).where(TaskRow.id.in_(doomed)))
