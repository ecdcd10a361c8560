"""The request handler: the SDK's fast handler plus input validation and the direct run.

Validation runs before a task is created, so bad input is answered with
HTTP 400 / JSON-RPC -32602 naming the field, and the runner (and so the LLM)
is never called.

A SendMessage reaches :meth:`ValidatingRequestHandler.on_message_send` from
one of three doors (the JSON-RPC short path, the SDK's JSON-RPC dispatcher, or
its REST routes) and then takes one of two roads: a blocking send of a new
task runs directly (:mod:`a2a_bridge.server.turns.direct_run`); everything
else goes through ``LegacyRequestHandler`` and its event queues, which is about
twice as fast as the SDK's default V2 handler on small tasks, with the same
semantics. ``docs/architecture.md`` draws it.

With a database store the handler also answers for other replicas: it takes
over a task whose server died (:meth:`ValidatingRequestHandler.recover`),
follows a task running elsewhere through the event bus, and checks after a
cancel that the task really ended canceled in the shared store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from a2a.server.agent_execution import RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers import LegacyRequestHandler
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    InvalidParamsError,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import InternalError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError

from a2a_bridge.errors import InputValidationError
from a2a_bridge.server.handling.finite import non_finite_field
from a2a_bridge.server.handling.input_schema import InputSchema
from a2a_bridge.server.handling.message_input import read_message
from a2a_bridge.server.handling.request_guard import guard_requests
from a2a_bridge.server.handling.request_state import IncomingTurn, TaskOwner, attach, speaks_v03
from a2a_bridge.server.handling.resent import (
    ReservedIdContextBuilder,
    end_reservation,
    reserved_task_id,
    task_started_before,
)
from a2a_bridge.server.push.delivery import PushDelivery
from a2a_bridge.server.push.webhooks import WebhookRefused, resolve_webhook
from a2a_bridge.server.turns.direct_run import TaskSink, runs_directly
from a2a_bridge.server.turns.event_bus import RedisEventBus
from a2a_bridge.server.turns.task_events import TaskEvents
from a2a_bridge.server.turns.watch import TurnWatch
from a2a_bridge.wire import sdk_internals
from a2a_bridge.wire.ids import new_id
from a2a_bridge.wire.parts import struct_json
from a2a_bridge.wire.required import check_required_fields
from a2a_bridge.wire.states import AWAITING_CALLER_STATES, TERMINAL_STATES

__all__ = ["LOST_TASK_MESSAGE", "ValidatingRequestHandler", "invalid_params"]

logger = logging.getLogger("a2a_bridge.handler")

_STORE_POLL_SECONDS = 0.5  # how often a message sent again reads a task no event bus reports on

LOST_TASK_MESSAGE = (
    "The server running this task stopped before it finished, and this agent cannot resume a task "
    "from where it stopped. Send the task again."
)


def invalid_params(exc: InputValidationError) -> InvalidParamsError:
    """The SDK error that becomes HTTP 400 / JSON-RPC -32602 with field details."""
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return InvalidParamsError(message=f"Invalid input: {exc}", data={"errors": errors})


def _non_finite(params: SendMessageRequest) -> str | None:
    """Where the request carries a NaN or an infinity: its metadata, the message's, or a data part."""
    message = params.message
    found = non_finite_field(params.metadata, "metadata") or non_finite_field(message.metadata, "message.metadata")
    for index, part in enumerate(message.parts):
        if found is None and part.HasField("data"):
            found = non_finite_field(part.data, f"message.parts[{index}].data")
    return found


class ValidatingRequestHandler(LegacyRequestHandler):
    """Validates the input of every new task against the agent's input schema."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        guard_requests(cls)  # a subclass's own request methods (the queue's front door)

    def __init__(
        self,
        *,
        agent_card: AgentCard,
        input_schema: InputSchema | None,
        recovers_tasks: bool = False,
        push: PushDelivery | None = None,
        **kwargs: Any,
    ) -> None:
        if push is not None:
            kwargs.update(push_config_store=push.config_store, push_sender=push)
        kwargs.setdefault("request_context_builder", ReservedIdContextBuilder(task_store=kwargs.get("task_store")))
        super().__init__(agent_card=agent_card, **kwargs)
        sdk_internals.check_handler(self)
        self.push = push
        self.card = agent_card
        self.input_schema = input_schema
        self.recovers_tasks = recovers_tasks
        self.bus: RedisEventBus | None = None
        self.watch = TurnWatch()
        self._direct_runs: dict[str, TaskSink] = {}

    def check_input(self, params: SendMessageRequest, context: ServerCallContext, *, streaming: bool) -> None:
        """Check the envelope, then the content; attach what was read for the executor."""
        check_required_fields(params)
        message = params.message
        if (field := _non_finite(params)) is not None:
            error = {"field": field, "message": "NaN and infinity are not JSON numbers"}
            raise InvalidParamsError(message=f"Invalid input: {field}: not a JSON number", data={"errors": [error]})
        limit = getattr(self.task_store, "context_id_limit", None)
        if limit is not None and len(message.context_id) > limit:
            error = {"field": "message.contextId", "message": f"at most {limit} characters"}
            raise InvalidParamsError(
                message=f"Invalid input: message.contextId: longer than the {limit} characters this agent's task "
                "store holds",
                data={"errors": [error]},
            )
        # A message on an existing task answers the agent; only new tasks carry schema input.
        validate = not message.task_id
        try:
            parsed = read_message(message, self.input_schema, validate=validate)
        except InputValidationError as exc:
            raise invalid_params(exc) from None
        metadata = struct_json(params.metadata) if params.metadata else {}
        legacy = speaks_v03(context)
        attach(context, IncomingTurn(parsed, request_metadata=metadata, streaming=streaming, legacy_caller=legacy))

    async def check_webhook(self, url: str) -> None:
        """Refuse, naming the reason, a push URL this agent will not call (SSRF), before it is stored."""
        assert self.push is not None
        try:
            await resolve_webhook(url, self.push.policy, unresolved_ok=True)
        except WebhookRefused as refused:
            error = {"field": "url", "message": str(refused)}
            raise InvalidParamsError(message=f"push notification url: {refused}", data={"errors": [error]}) from None

    async def _check_message_webhook(self, params: SendMessageRequest) -> None:
        if self.push is not None and params.configuration.HasField("task_push_notification_config"):
            await self.check_webhook(params.configuration.task_push_notification_config.url)

    async def keep_message_webhook(self, task_id: str, params: SendMessageRequest, context: ServerCallContext) -> None:
        """Store the webhook a message registers for its task, where the SDK's own path does not."""
        if self.push is not None and params.configuration.HasField("task_push_notification_config"):
            await self.push.config_store.set_info(task_id, params.configuration.task_push_notification_config, context)

    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        if self.push is not None:
            await self.check_webhook(params.url)
        config: TaskPushNotificationConfig = await super().on_create_task_push_notification_config(params, context)
        return config

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Message | Task:
        sdk_internals.validate_history_length(params.configuration)  # before admit reserves the message id
        if (earlier := await self.admit(params, context, streaming=False)) is not None:
            return await self.answer_again(earlier, params, context)
        try:
            if runs_directly(params):
                return await self._send_directly(params, context)
            result: Message | Task = await super().on_message_send(params, context)
            return result
        finally:
            await end_reservation(self.task_store, context)

    def _sink(self, context: ServerCallContext) -> TaskSink:
        return TaskSink(self.task_store, context, push=self.push.notify if self.push is not None else None)

    def _start_run(self, request: RequestContext, sink: TaskSink) -> asyncio.Task[None]:
        """Run the executor into ``sink``, registered so that CancelTask and SubscribeToTask find it."""
        task_id = request.task_id
        assert task_id is not None
        run = asyncio.create_task(self.agent_executor.execute(request, sink))
        self._direct_runs[task_id] = sink
        sdk_internals.register_run(self, task_id, run)

        def finished(_: asyncio.Task[None]) -> None:
            self._direct_runs.pop(task_id, None)
            sdk_internals.unregister_run(self, task_id)
            sink.close()

        run.add_done_callback(finished)
        return run

    async def _send_directly(self, params: SendMessageRequest, context: ServerCallContext) -> Task | Message:
        """Run a new task for a blocking caller; see :mod:`a2a_bridge.server.turns.direct_run`."""
        sdk_internals.validate_history_length(params.configuration)
        task_id = reserved_task_id(context) or new_id()
        context_id = params.message.context_id or new_id()
        request = RequestContext(call_context=context, request=params, task_id=task_id, context_id=context_id)
        await self.keep_message_webhook(task_id, params, context)
        sink = self._sink(context)
        run = self._start_run(request, sink)
        try:
            # Shielded: a caller that hangs up does not cancel its task; CancelTask does.
            await asyncio.shield(run)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            # CancelTask stopped the run, here or on another replica: the store says how it ended.
            sink.task = await self.task_store.get(task_id, context) or sink.task
        if sink.reply is not None:
            return sink.reply
        if sink.task is None:
            raise InternalError(message="the agent ended without creating a task")
        if sink.save_failed:
            # Answering with the task as it is here would tell the caller of an end the store never kept.
            raise InternalError(
                message=f"Task {task_id}: the task store was out of reach, and how the task ended could not be "
                "saved. GetTask shows how it ended once the store is back."
            )
        return sdk_internals.apply_history_length(sink.task, params.configuration)

    def stop_run(self, task_id: str) -> None:
        """Stop this replica's run of a task that ended elsewhere (canceled on another replica)."""
        if run := sdk_internals.running(self, task_id):
            run.cancel()

    async def stop_all_runs(self) -> None:
        """Stop every run on this replica, as the server shuts down."""
        runs = sdk_internals.all_runs(self)
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)

    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task | None:
        result: Task | None = await super().on_cancel_task(params, context)
        if self.bus is not None:
            await self.bus.publish_cancel(params.id)
        stored = await self.task_store.get(params.id, context)
        # In a shared store the task may have ended on its own replica while this one canceled it.
        if stored is not None and stored.status.state != TaskState.TASK_STATE_CANCELED:
            raise TaskNotCancelableError(
                message=f"Task cannot be canceled - current state: {TaskState.Name(stored.status.state)}"
            )
        return result

    async def recover(self, task_id: str, owner: str) -> None:
        """Take over a task whose replica stopped: resume it if the runner can, else fail it saying why."""
        context = ServerCallContext(user=TaskOwner(owner))
        task = await self.task_store.get(task_id, context)
        if task is None or task.status.state in TERMINAL_STATES:
            return
        sink = self._sink(context)  # a task taken over still reaches its webhooks
        sink.task = task
        message = next((m for m in reversed(task.history) if m.role == Role.ROLE_USER), None)
        if not self.recovers_tasks or message is None:
            queue = self.bus.tee(sink, task.id) if self.bus is not None else sink
            events = TaskEvents(queue, task.id, task.context_id)
            await events.status(
                TaskState.TASK_STATE_FAILED,
                message=events.agent_message([Part(text=LOST_TASK_MESSAGE)]),
            )
            return
        attach(context, IncomingTurn(read_message(message, None, validate=False), recovering=True))
        request = RequestContext(
            call_context=context,
            request=SendMessageRequest(message=message),
            task_id=task.id,
            context_id=task.context_id,
            task=task,
        )
        self._start_run(request, sink)

    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        sink = self._direct_runs.get(params.id)
        if sink is None and self.bus is not None and sdk_internals.running(self, params.id) is None:
            async for event in self._follow_elsewhere(params, context):
                yield event
            return
        if sink is None:
            # Expected before looking, so that a turn starting meanwhile is not missed.
            next_turn = self.watch.expect(params.id)
            try:
                if sdk_internals.running(self, params.id) is None:
                    task = await self._subscribable(params, context)
                    if task.status.state in AWAITING_CALLER_STATES:
                        yield task
                        async for event in self.watch.follow(next_turn):
                            yield event
                        return
            finally:
                self.watch.forget(params.id, next_turn)
            last: Event | None = None
            async for event in super().on_subscribe_to_task(params, context):
                last = event
                yield event
            if last is not None and not _ends_turn(last):
                # The SDK closes a subscriber's queue as the run ends, and may drop the last events with it
                # (a database store saving slower than the run): the stored task says how the turn ended.
                stored = await self.task_store.get(params.id, context)
                if stored is not None and _ends_turn(stored):
                    yield stored
            return
        await self._subscribable(params, context)
        async for event in sink.follow():
            yield event

    async def _subscribable(self, params: SubscribeToTaskRequest, context: ServerCallContext) -> Task:
        """The checks of the SDK's handler, for a task whose events never pass through its queues."""
        check_required_fields(params)
        if not self.card.capabilities.streaming:
            raise UnsupportedOperationError(message="Streaming is not supported by the agent")
        task = await self.task_store.get(params.id, context)
        if task is None:
            raise TaskNotFoundError
        return task

    async def _follow_elsewhere(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        """SubscribeToTask for a task another replica runs: its events, through the bus."""
        task = await self._subscribable(params, context)
        if task.status.state in TERMINAL_STATES:
            raise UnsupportedOperationError(
                message=f"Task {task.id} is in terminal state: {TaskState.Name(task.status.state)}"
            )

        async def finished() -> Task | None:
            stored = await self.task_store.get(params.id, context)
            return stored if stored is not None and stored.status.state in TERMINAL_STATES else None

        assert self.bus is not None
        # A queued task may have no events yet, a parked one none left: the stored task then opens the stream.
        async for event in self.bus.follow(params.id, finished=finished, stored=task):
            yield event

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        if (earlier := await self.admit(params, context, streaming=True)) is not None:
            async for event in self.stream_again(earlier, context):
                yield event
            return
        try:
            async for event in super().on_message_send_stream(params, context):
                yield event
        finally:
            await end_reservation(self.task_store, context)

    async def admit(self, params: SendMessageRequest, context: ServerCallContext, *, streaming: bool) -> Task | None:
        """Check a message and its webhook; the task it started, when the caller sent it before."""
        self.check_input(params, context, streaming=streaming)
        await self._check_message_webhook(params)
        return await task_started_before(self.task_store, params, context)

    async def answer_again(self, task: Task, params: SendMessageRequest, context: ServerCallContext) -> Task:
        """A message sent again: the task it started, once its turn ends unless the caller does not wait."""
        logger.info("message %s was sent again: answered with task %s", params.message.message_id, task.id)
        if not params.configuration.return_immediately:
            async for _ in self.stream_again(task, context):
                pass
            task = await self.task_store.get(task.id, context) or task
        return sdk_internals.apply_history_length(task, params.configuration)

    async def stream_again(self, task: Task, context: ServerCallContext) -> AsyncGenerator[Event]:
        """The task a message sent again started, then its events up to the end of its turn."""
        if task.status.state in TERMINAL_STATES or task.status.state in AWAITING_CALLER_STATES:
            yield task
            return
        try:
            async for event in self.on_subscribe_to_task(SubscribeToTaskRequest(id=task.id), context):
                yield event
                if _ends_turn(event):
                    return
        except (UnsupportedOperationError, TaskNotFoundError):
            # The turn ended between reading the task and following it; or it cannot be followed (an agent
            # without streaming, another replica with no event bus to follow it by): the store has it, and
            # a lease makes sure it ends (a take-over, should its replica die).
            task = await self.task_store.get(task.id, context) or task
            while not _ends_turn(task):
                await asyncio.sleep(_STORE_POLL_SECONDS)
                task = await self.task_store.get(task.id, context) or task
            yield task


def _ends_turn(event: Event) -> bool:
    state = event.status.state if isinstance(event, (Task, TaskStatusUpdateEvent)) else None
    return state in TERMINAL_STATES or state in AWAITING_CALLER_STATES


guard_requests(ValidatingRequestHandler, inherited=True)
