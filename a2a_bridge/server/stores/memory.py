"""The default task store: in memory, keeping the most recent finished tasks.

The SDK's in-memory store keeps every task for the life of the process; a
worker answering ten tasks a second would hold close to a million by the end of
a day. This one forgets the oldest *finished* tasks (completed, failed,
canceled, rejected) beyond ``keep``; a task that is running or waiting for
input is never forgotten. For tasks that must outlive the process, serve with
``store="sqlite:///..."`` or ``store="postgresql://..."`` (``docs/deploying.md``).
"""

from __future__ import annotations

from collections import OrderedDict

from a2a.auth.user import User
from a2a.server.context import ServerCallContext
from a2a.server.tasks import InMemoryTaskStore, PushNotificationConfigStore, TaskStore
from a2a.types import ListTasksRequest, ListTasksResponse, Task

from a2a_bridge.server.limits import DEFAULT_KEEP_TASKS
from a2a_bridge.wire.states import TERMINAL_STATES

__all__ = ["RetainingTaskStore"]


class RetainingTaskStore(TaskStore):
    """An in-memory task store that keeps at most ``keep`` finished tasks."""

    def __init__(self, keep: int = DEFAULT_KEEP_TASKS) -> None:
        self.keep = keep
        self._tasks = InMemoryTaskStore()
        # Finished task ids, oldest first, with the user who owns each (the store is per owner).
        self._finished: OrderedDict[str, User] = OrderedDict()
        self.push_configs: PushNotificationConfigStore | None = None  # forgotten with their tasks
        # Which task each caller's message started (owner, message id), for as long as the task is kept.
        self._started: dict[tuple[str, str], str] = {}
        self._started_key: dict[str, tuple[str, str]] = {}
        self.sending: set[str] = set()  # reserved task ids whose first send is under way

    async def save(self, task: Task, context: ServerCallContext) -> None:
        await self._tasks.save(task, context)
        if task.id not in self._started_key and task.history:
            key = (context.user.user_name, task.history[0].message_id)
            self._started.setdefault(key, task.id)
            self._started_key[task.id] = key
        if task.status.state in TERMINAL_STATES:
            self._finished[task.id] = context.user
            self._finished.move_to_end(task.id)
            while len(self._finished) > self.keep:
                oldest, owner = self._finished.popitem(last=False)
                await self._tasks.delete(oldest, ServerCallContext(user=owner))
                self._forget_start(oldest)
                if self.push_configs is not None:
                    await self.push_configs.delete_info(oldest, ServerCallContext(user=owner))
        else:
            self._finished.pop(task.id, None)

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        task: Task | None = await self._tasks.get(task_id, context)
        return task

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        listed: ListTasksResponse = await self._tasks.list(params, context)
        return listed

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        self._finished.pop(task_id, None)
        self._forget_start(task_id)
        await self._tasks.delete(task_id, context)

    async def reserve(self, message_id: str, task_id: str, context: ServerCallContext, *, instead_of: str = "") -> str:
        """Record that this caller's message starts ``task_id``, unless it started a task already: that task's id."""
        key = (context.user.user_name, message_id)
        if instead_of and self._started.get(key) == instead_of:
            del self._started[key]
            self._started_key.pop(instead_of, None)
        winner = self._started.setdefault(key, task_id)
        self._started_key.setdefault(winner, key)
        return winner

    async def unreserve(self, message_id: str, task_id: str, context: ServerCallContext) -> None:
        """Free a message id whose send ended without saving ``task_id``."""
        if self._started.get((context.user.user_name, message_id)) == task_id:
            self._forget_start(task_id)

    def _forget_start(self, task_id: str) -> None:
        key = self._started_key.pop(task_id, None)
        if key is not None and self._started.get(key) == task_id:
            del self._started[key]
