"""The ledger in Redis, in the tutorial's layout: ``cost:{task_id}``, one hash per task.

Each ended turn adds its tokens, seconds and cost to its task's hash (a task
asked for input and then answered has two turns), and sets the agent, model
and tier. A sorted set, ``a2a-bridge:costs``, holds each task by the time its
last turn ended, so a window of days is read without scanning every key.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from a2a_bridge.observability.costs.ledger import CostLedger
from a2a_bridge.observability.costs.records import CostRecord
from a2a_bridge.support.urls import hide_password

__all__ = ["BY_TIME", "RedisLedger", "cost_key"]

BY_TIME = "a2a-bridge:costs"
_READ_BATCH = 500


def cost_key(task_id: str) -> str:
    return f"cost:{task_id}"


class RedisLedger(CostLedger):
    def __init__(self, url: str) -> None:
        super().__init__(hide_password(url))
        self.redis: Any = aioredis.from_url(url, decode_responses=True)

    async def record(self, record: CostRecord) -> None:
        key = cost_key(record.task_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "task_id": record.task_id,
                    "agent": record.agent,
                    "model": record.model,
                    "tier": record.tier,
                    "finished_at": repr(record.finished_at),
                },
            )
            pipe.hincrby(key, "prompt_tokens", record.prompt_tokens)
            pipe.hincrby(key, "completion_tokens", record.completion_tokens)
            pipe.hincrby(key, "tokens", record.tokens)
            pipe.hincrby(key, "turns", 1)
            pipe.hincrbyfloat(key, "seconds", record.seconds)
            pipe.hincrbyfloat(key, "cost_usd", record.cost_usd)
            pipe.zadd(BY_TIME, {record.task_id: record.finished_at})
            await pipe.execute()

    async def records(self, *, since: float, until: float) -> list[CostRecord]:
        task_ids = await self.redis.zrangebyscore(BY_TIME, since, f"({until}")
        found: list[CostRecord] = []
        for start in range(0, len(task_ids), _READ_BATCH):
            async with self.redis.pipeline(transaction=False) as pipe:
                for task_id in task_ids[start : start + _READ_BATCH]:
                    pipe.hgetall(cost_key(task_id))
                hashes = await pipe.execute()
            found += [_record(fields) for fields in hashes if fields]
        return found

    async def close(self) -> None:
        await self.redis.aclose()


def _record(fields: dict[str, str]) -> CostRecord:
    return CostRecord(
        task_id=fields["task_id"],
        agent=fields.get("agent", ""),
        model=fields.get("model", ""),
        tier=fields.get("tier", ""),
        prompt_tokens=int(fields.get("prompt_tokens", 0)),
        completion_tokens=int(fields.get("completion_tokens", 0)),
        seconds=float(fields.get("seconds", 0)),
        cost_usd=float(fields.get("cost_usd", 0)),
        finished_at=float(fields["finished_at"]),
    )
