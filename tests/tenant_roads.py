"""Every road by which caller B can name what caller A owns, on every binding of a served agent.

A road is one method (or route) of one binding, aimed at one thing of A's:
its task, its waiting task, its conversation (context id), its push config.
Each road expects the server to refuse (task not found) or to show B nothing
of A's; tests/test_tenant_isolation.py runs each against every served agent,
and checks that every method the server exposes has a road here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
)
from tenant_calls import (
    CUT_OFF,
    NOT_FOUND,
    OK,
    Caller,
    Reply,
    Target,
    grpc_call,
    http,
    jsonrpc,
    v03_message,
    v03_rest_message,
    v1_message,
)

ANY = "any"  # the road may answer as it likes (an unsupported method, a public page): it shows nothing of A's
JSONRPC, JSONRPC_V03, REST, REST_V03, GRPC, TUTORIAL, PUBLIC = (
    "JSON-RPC", "JSON-RPC v0.3", "HTTP+JSON", "HTTP+JSON v0.3", "gRPC", "tutorial", "public",
)  # fmt: skip
# The routes each binding serves its methods on; HTTP+JSON routes are their own method names.
ROUTE_OF_BINDING = {JSONRPC: "POST /", JSONRPC_V03: "POST /"}
# The SDK's v0.3 HTTP+JSON streams raise a refusal after their headers are sent, so the connection closes
# with no event: refused, showing nothing, though not with a clean 404.
CUT_OFF_STREAMS = frozenset(
    {"POST /v1/message:stream", "GET /v1/tasks/{id}:subscribe", "POST /v1/tasks/{id}:subscribe"}
)


@dataclass(frozen=True)
class Owned:
    """What caller A holds on one served agent, and B's own task there.

    Attributes:
        context: A's conversation, with earlier turns in it.
        waiting_context: The context of A's waiting task (``context`` when the agent never asks).
        done_task: A's completed task in ``context``.
        waiting_task: A's input-required task, when the agent asks.
        hook: The id of A's push config on ``done_task``; ``hook_url`` its webhook.
        markers: Every text A wrote (messages, webhook URL and token): B must never see one.
        b_task: B's own completed task.
    """

    a: Caller
    context: str
    waiting_context: str
    done_task: str
    waiting_task: str | None
    hook: str
    hook_url: str
    markers: tuple[str, ...]
    b_task: str

    @property
    def open_task(self) -> str:
        """The task of A's that has not ended, when there is one: the one to cancel or follow."""
        return self.waiting_task or self.done_task

    @property
    def secrets(self) -> list[str]:
        """What B must not see unless it named it: A's words and A's task ids."""
        return [*self.markers, self.done_task, *([self.waiting_task] if self.waiting_task else [])]


Call = Callable[[Target, Caller, Owned, str], Reply]


@dataclass(frozen=True)
class Road:
    """B's call on one method of one binding, aimed at something of A's.

    ``expect`` is ``not-found``, ``ok`` or ``any``. ``answers``: the call
    carries B's own note into a conversation, and B's reply must hold the
    agent's answer to it. ``mutates``: the call could change A's tasks or push configs.
    """

    binding: str
    method: str
    aim: str
    expect: str
    call: Call = field(compare=False)
    asks: bool = False
    answers: bool = False
    mutates: bool = False

    @property
    def label(self) -> str:
        return f"{self.binding} {self.method} [{self.aim}]"

    @property
    def id(self) -> str:
        """The label as a pytest id: no spaces, quotes or brackets."""
        return re.sub(r"[\s,]+", "-", f"{self.binding} {self.method} {self.aim}".replace("'s", ""))

    @property
    def route(self) -> str | None:
        """The HTTP route the road takes, or None on gRPC."""
        if self.binding == GRPC:
            return None
        return ROUTE_OF_BINDING.get(self.binding, self.method)

    def accepts(self, outcome: str) -> bool:
        if self.expect == ANY:
            return True
        return outcome == self.expect or (outcome == CUT_OFF and self.method in CUT_OFF_STREAMS)


# What B aims at.
TASK, WAITING, CONTEXT, WAITING_CONTEXT = "A's task", "A's waiting task", "A's context", "A's waiting context"
LISTED, EVERY, HOOK, HOOK_ID, B_HOOKS, NOTHING = (
    "A's context, listed", "every task", "A's push config", "A's push config id on B's task", "B's task's push configs",
    "nothing of A's",
)  # fmt: skip
FLOW_STATE, FLOW_STATE_KEYED = "A's context as a flow state id", "A's conversation key as a flow state id"

Ids = Callable[[Owned], dict[str, str]]
Getter = Callable[[Owned, str], str]
# The message fields that name A's task, A's waiting task, or A's conversation.
SENDS: list[tuple[str, Ids, dict[str, bool]]] = [
    (TASK, lambda o: {"task_id": o.done_task}, {}),
    (WAITING, lambda o: {"task_id": o.waiting_task or "", "context_id": o.waiting_context}, {"asks": True}),
    (CONTEXT, lambda o: {"context_id": o.context}, {"answers": True}),
]


def _a_task(o: Owned, note: str) -> str:
    return o.done_task


def _b_task(o: Owned, note: str) -> str:
    return o.b_task


def _open_task(o: Owned, note: str) -> str:
    return o.open_task


def _context(o: Owned, note: str) -> str:
    return o.context


def _hook(o: Owned, note: str) -> str:
    return o.hook


def _hook_url(o: Owned, note: str) -> str:
    """A webhook of B's, named after B's note; loopback, which the served agents allow."""
    return f"http://127.0.0.1:9/{note}"


def _naming_flow_state(keyed: bool) -> Callable[[Owned, str], dict[str, object]]:
    """B's input naming A's conversation as a CrewAI Flow state ``id``: the bare context id, or as keyed by A."""

    def params(o: Owned, note: str) -> dict[str, object]:
        state = f"{o.a.name}:{o.context}" if keyed else o.context
        return {"message": {**v1_message(note), "parts": [{"data": {"note": note, "id": state}}]}}

    return params


def _expect_of_send(aim: str) -> str:
    return OK if aim == CONTEXT else NOT_FOUND


# Each JSON-RPC method this module calls, by its v1.0 and its v0.3 name.
_JSONRPC_NAMES = [
    ("SendMessage", "message/send"),
    ("SendStreamingMessage", "message/stream"),
    ("GetTask", "tasks/get"),
    ("CancelTask", "tasks/cancel"),
    ("SubscribeToTask", "tasks/resubscribe"),
    ("CreateTaskPushNotificationConfig", "tasks/pushNotificationConfig/set"),
    ("GetTaskPushNotificationConfig", "tasks/pushNotificationConfig/get"),
    ("ListTaskPushNotificationConfigs", "tasks/pushNotificationConfig/list"),
    ("DeleteTaskPushNotificationConfig", "tasks/pushNotificationConfig/delete"),
    ("GetExtendedAgentCard", "agent/getAuthenticatedExtendedCard"),
]


def _jsonrpc_roads(*, v03: bool) -> list[Road]:
    binding = JSONRPC_V03 if v03 else JSONRPC
    make = v03_message if v03 else v1_message
    send, stream, get, cancel, subscribe, create, get_hook, list_hooks, delete_hook, card = (
        names[1 if v03 else 0] for names in _JSONRPC_NAMES
    )

    def rpc(method: str, params: Callable[[Owned, str], dict[str, object]]) -> Call:
        return lambda t, b, o, note: jsonrpc(t, b, method, params(o, note), v03=v03)

    def hook(task: Getter) -> Callable[[Owned, str], dict[str, object]]:
        if v03:
            return lambda o, n: {"taskId": task(o, n), "pushNotificationConfig": {"id": o.hook, "url": _hook_url(o, n)}}
        return lambda o, n: {"taskId": task(o, n), "id": o.hook, "url": _hook_url(o, n)}

    def hook_id(task: Getter) -> Callable[[Owned, str], dict[str, object]]:
        if v03:
            return lambda o, n: {"id": task(o, n), "pushNotificationConfigId": o.hook}
        return lambda o, n: {"taskId": task(o, n), "id": o.hook}

    def hooks_of(task: Getter) -> Callable[[Owned, str], dict[str, object]]:
        return lambda o, n: {"id" if v03 else "taskId": task(o, n)}

    roads = []
    for method in (send, stream):
        for aim, ids, flags in SENDS:
            params = lambda o, n, ids=ids: {"message": make(n, **ids(o))}  # noqa: E731
            roads.append(Road(binding, method, aim, _expect_of_send(aim), rpc(method, params), mutates=True, **flags))
    roads += [
        Road(binding, get, TASK, NOT_FOUND, rpc(get, lambda o, n: {"id": o.done_task})),
        Road(binding, cancel, TASK, NOT_FOUND, rpc(cancel, lambda o, n: {"id": o.open_task}), mutates=True),
        Road(binding, subscribe, TASK, NOT_FOUND, rpc(subscribe, lambda o, n: {"id": o.open_task})),
        Road(binding, create, HOOK, NOT_FOUND, rpc(create, hook(_a_task)), mutates=True),
        Road(binding, create, HOOK_ID, OK, rpc(create, hook(_b_task)), mutates=True),
        Road(binding, get_hook, HOOK, NOT_FOUND, rpc(get_hook, hook_id(_a_task))),
        Road(binding, get_hook, HOOK_ID, ANY, rpc(get_hook, hook_id(_b_task))),
        Road(binding, list_hooks, HOOK, NOT_FOUND, rpc(list_hooks, hooks_of(_a_task))),
        Road(binding, list_hooks, B_HOOKS, OK, rpc(list_hooks, hooks_of(_b_task))),
        Road(binding, delete_hook, HOOK, NOT_FOUND, rpc(delete_hook, hook_id(_a_task)), mutates=True),
        Road(binding, delete_hook, HOOK_ID, ANY, rpc(delete_hook, hook_id(_b_task)), mutates=True),
        Road(binding, card, NOTHING, ANY, rpc(card, lambda o, n: {})),
    ]
    if not v03:  # v0.3 has no ListTasks; a data part reads the same on every binding
        roads += [
            Road(binding, send, FLOW_STATE, ANY, rpc(send, _naming_flow_state(False)), mutates=True),
            Road(binding, send, FLOW_STATE_KEYED, ANY, rpc(send, _naming_flow_state(True)), mutates=True),
            Road(binding, "ListTasks", LISTED, OK, rpc("ListTasks", lambda o, n: {"contextId": o.context})),
            Road(binding, "ListTasks", EVERY, OK, rpc("ListTasks", lambda o, n: {})),
        ]
    return roads


def _rest_roads(*, prefix: str = "", v03: bool = False) -> list[Road]:
    """The v1.0 routes (under ``prefix``: the SDK's ``/{tenant}`` mount), or the v0.3 ``/v1/...`` ones.

    A path names A's task as ``{id}``, A's task that has not ended as
    ``{open}``, B's own task as ``{b}``, A's push config as ``{push_id}``
    and A as ``{tenant}``.
    """
    binding = REST_V03 if v03 else REST
    root = "/v1" if v03 else prefix
    make = v03_rest_message if v03 else v1_message

    def route(verb: str, path: str, body: Callable[[Owned, str], object] | None = None, *, query: str = "") -> Call:
        def call(t: Target, b: Caller, o: Owned, note: str) -> Reply:
            ids = {"{id}": o.done_task, "{open}": o.open_task, "{b}": o.b_task, "{push_id}": o.hook,
                   "{tenant}": o.a.name, "{ctx}": o.context}  # fmt: skip
            concrete = root + path + query
            for key, value in ids.items():
                concrete = concrete.replace(key, value)
            return http(t, b, verb, concrete, body(o, note) if body else None, v03=v03)

        return call

    def road(verb: str, path: str, aim: str, expect: str, call: Call, **flags: bool) -> Road:
        method = f"{verb} {root}{path}".replace("{open}", "{id}").replace("{b}", "{id}")
        return Road(binding, method, aim, expect, call, **flags)

    def hook(task: Getter) -> Callable[[Owned, str], object]:
        if v03:
            return lambda o, n: {
                "parent": f"tasks/{task(o, n)}",
                "configId": o.hook,
                "config": {"pushNotificationConfig": {"id": o.hook, "url": _hook_url(o, n)}},
            }
        return lambda o, n: {"id": o.hook, "url": _hook_url(o, n)}

    roads = []
    for path in ("/message:send", "/message:stream"):
        for aim, ids, flags in SENDS:
            message = lambda o, n, ids=ids: {"message": make(n, **ids(o))}  # noqa: E731
            roads.append(road("POST", path, aim, _expect_of_send(aim), route("POST", path, message), mutates=True,
                              **flags))  # fmt: skip
    hooks, b_hooks = "/tasks/{id}/pushNotificationConfigs", "/tasks/{b}/pushNotificationConfigs"
    roads += [
        road("GET", "/tasks/{id}", TASK, NOT_FOUND, route("GET", "/tasks/{id}")),
        road("POST", "/tasks/{open}:cancel", TASK, NOT_FOUND, route("POST", "/tasks/{open}:cancel", lambda o, n: {}),
             mutates=True),
        road("GET", "/tasks/{open}:subscribe", TASK, NOT_FOUND, route("GET", "/tasks/{open}:subscribe")),
        road("POST", "/tasks/{open}:subscribe", TASK, NOT_FOUND,
             route("POST", "/tasks/{open}:subscribe", lambda o, n: {})),
        road("POST", hooks, HOOK, NOT_FOUND, route("POST", hooks, hook(_a_task)), mutates=True),
        road("POST", b_hooks, HOOK_ID, OK, route("POST", b_hooks, hook(_b_task)), mutates=True),
        road("GET", hooks + "/{push_id}", HOOK, NOT_FOUND, route("GET", hooks + "/{push_id}")),
        road("GET", b_hooks + "/{push_id}", HOOK_ID, ANY, route("GET", b_hooks + "/{push_id}")),
        road("GET", hooks, HOOK, NOT_FOUND, route("GET", hooks)),
        road("GET", b_hooks, B_HOOKS, OK, route("GET", b_hooks)),
    ]  # fmt: skip
    if v03:  # v0.3 has no ListTasks, and no push config delete over HTTP+JSON
        return [*roads, road("GET", "/card", NOTHING, ANY, route("GET", "/card"))]
    return [
        *roads,
        road("DELETE", hooks + "/{push_id}", HOOK, NOT_FOUND, route("DELETE", hooks + "/{push_id}"), mutates=True),
        road("DELETE", b_hooks + "/{push_id}", HOOK_ID, ANY, route("DELETE", b_hooks + "/{push_id}"), mutates=True),
        road("GET", "/tasks", LISTED, OK, route("GET", "/tasks", query="?contextId={ctx}")),
        road("GET", "/tasks", EVERY, OK, route("GET", "/tasks")),
        road("GET", "/extendedAgentCard", NOTHING, ANY, route("GET", "/extendedAgentCard")),
    ]  # fmt: skip


def _grpc_roads() -> list[Road]:
    """The gRPC methods, each request naming A as its ``tenant`` too."""

    def rpc(method: str, request: type, *, stream: bool = False, **fields: Callable[[Owned, str], str]) -> Call:
        def call(t: Target, b: Caller, o: Owned, note: str) -> Reply:
            made = request(tenant=o.a.name, **{name: value(o, note) for name, value in fields.items()})
            return grpc_call(t, b, method, made, stream=stream)

        return call

    def send(method: str, ids: Ids) -> Call:
        def call(t: Target, b: Caller, o: Owned, note: str) -> Reply:
            message = Message(role=Role.ROLE_USER, message_id=f"m-{note}", parts=[Part(text=note)], **ids(o))
            request = SendMessageRequest(message=message, tenant=o.a.name)
            return grpc_call(t, b, method, request, stream=method == "SendStreamingMessage")

        return call

    roads = [
        Road(GRPC, method, aim, _expect_of_send(aim), send(method, ids), mutates=True, **flags)
        for method in ("SendMessage", "SendStreamingMessage")
        for aim, ids, flags in SENDS
    ]
    create, get, listed, delete = (
        "CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
    )  # fmt: skip
    hooks = TaskPushNotificationConfig
    one_hook, all_hooks, drop = (
        GetTaskPushNotificationConfigRequest, ListTaskPushNotificationConfigsRequest,
        DeleteTaskPushNotificationConfigRequest,
    )  # fmt: skip
    return [
        *roads,
        Road(GRPC, "GetTask", TASK, NOT_FOUND, rpc("GetTask", GetTaskRequest, id=_a_task)),
        Road(GRPC, "ListTasks", LISTED, OK, rpc("ListTasks", ListTasksRequest, context_id=_context)),
        Road(GRPC, "ListTasks", EVERY, OK, rpc("ListTasks", ListTasksRequest)),
        Road(GRPC, "CancelTask", TASK, NOT_FOUND, rpc("CancelTask", CancelTaskRequest, id=_open_task), mutates=True),
        Road(GRPC, "SubscribeToTask", TASK, NOT_FOUND,
             rpc("SubscribeToTask", SubscribeToTaskRequest, stream=True, id=_open_task)),
        Road(GRPC, create, HOOK, NOT_FOUND, rpc(create, hooks, task_id=_a_task, id=_hook, url=_hook_url), mutates=True),
        Road(GRPC, create, HOOK_ID, OK, rpc(create, hooks, task_id=_b_task, id=_hook, url=_hook_url), mutates=True),
        Road(GRPC, get, HOOK, NOT_FOUND, rpc(get, one_hook, task_id=_a_task, id=_hook)),
        Road(GRPC, get, HOOK_ID, ANY, rpc(get, one_hook, task_id=_b_task, id=_hook)),
        Road(GRPC, listed, HOOK, NOT_FOUND, rpc(listed, all_hooks, task_id=_a_task)),
        Road(GRPC, listed, B_HOOKS, OK, rpc(listed, all_hooks, task_id=_b_task)),
        Road(GRPC, delete, HOOK, NOT_FOUND, rpc(delete, drop, task_id=_a_task, id=_hook), mutates=True),
        Road(GRPC, delete, HOOK_ID, ANY, rpc(delete, drop, task_id=_b_task, id=_hook), mutates=True),
        Road(GRPC, "GetExtendedAgentCard", NOTHING, ANY, rpc("GetExtendedAgentCard", GetExtendedAgentCardRequest)),
    ]  # fmt: skip


def _tutorial_input(target: Target, note: str) -> dict[str, str]:
    return {target.data_field or "query": note}


def _tutorial(context: Callable[[Owned], dict[str, str]]) -> Call:
    def call(t: Target, b: Caller, o: Owned, note: str) -> Reply:
        body = {"task_id": f"client-{note}", "input": _tutorial_input(t, note), "context": context(o)}
        return http(t, b, "POST", "/tasks/send", body)

    return call


_SEND = "POST /tasks/send"
TUTORIAL_ROADS = [
    Road(TUTORIAL, _SEND, WAITING, NOT_FOUND, _tutorial(lambda o: {"a2a_task_id": o.waiting_task or ""}), asks=True,
         mutates=True),
    Road(TUTORIAL, _SEND, TASK, NOT_FOUND, _tutorial(lambda o: {"a2a_task_id": o.done_task}), mutates=True),
    Road(TUTORIAL, _SEND, WAITING_CONTEXT, OK, _tutorial(lambda o: {"context_id": o.waiting_context}), answers=True,
         mutates=True),
    Road(TUTORIAL, _SEND, CONTEXT, OK, _tutorial(lambda o: {"context_id": o.context}), answers=True, mutates=True),
]  # fmt: skip
PUBLIC_ROADS = [
    Road(PUBLIC, f"GET {path}", NOTHING, OK, lambda t, b, o, n, path=path: http(t, b, "GET", path))
    for path in ("/.well-known/agent-card.json", "/healthz", "/metrics")
]


def _in_order(roads: list[Road]) -> list[Road]:
    """Roads that write into a conversation last: earlier roads then read B's tasks before any could hold A's words."""
    return sorted(roads, key=lambda road: road.answers)


ROADS = _in_order([
    *_jsonrpc_roads(v03=False),
    *_jsonrpc_roads(v03=True),
    *_rest_roads(),
    *_rest_roads(prefix="/{tenant}"),
    *_rest_roads(v03=True),
    *_grpc_roads(),
    *TUTORIAL_ROADS,
    *PUBLIC_ROADS,
])  # fmt: skip
