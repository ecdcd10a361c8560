"""The agents the tenant isolation tests run against, served once per module, and what caller A holds on each.

langgraph  a LangGraph graph (tenant_agents.py), its threads in a SQLite checkpointer
crewai     a CrewAI Flow with ``@persist`` (tenant_flows.py), its state in SQLite
queue      the same graph in queue mode: ``a2a-bridge serve --queue`` and one
           ``a2a-bridge worker``, on Redis and a SQLite task store

Each runs in an ``a2a-bridge serve`` process of its own, with two bearer
secrets (alice, bob) and the access tokens of a real OpenID Provider (clients
client-a and client-b), push notifications to loopback allowed, and the gRPC
binding on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processes import TESTS, AgentProcess, wait_healthy
from tenant_agents import ASK
from tenant_calls import Caller, Target, jsonrpc, v1_message
from tenant_roads import Owned

from a2a_bridge.testing import ScriptedBackend, services
from a2a_bridge.testing.oidc import OidcClient, openid_provider
from a2a_bridge.testing.ports import free_port

AUDIENCE = "http://historian.agents.test"
SECRETS = {"alice": "alice-secret-0001", "bob": "bob-secret-000002"}
CLIENTS = [
    OidcClient("client-a", "client-a-secret-01", scope="a2a"),
    OidcClient("client-b", "client-b-secret-01", scope="a2a"),
]
LOOPBACK = ["127.0.0.0/8"]
# A message holding this word takes the model LONG_RUN_SECONDS to answer.
LONG_RUN, LONG_RUN_SECONDS = "long-run", 1.5
# Caller A, then caller B, of each pair the matrix runs; the conversation tests mix the kinds too.
PAIRS = {"secrets": ("alice", "bob"), "tokens": ("client-a", "client-b")}
CONVERSATION_PAIRS = {**PAIRS, "secret-and-token": ("alice", "client-b")}
# Whether each agent asks (leaves a task input-required) when told to.
ASKS = {"langgraph": True, "crewai": False, "queue": True}
QUEUE_NAME = "historian-queue"


@dataclass
class Served:
    """Every served agent, its callers, the scripted model, and what A holds on each agent for each pair."""

    targets: dict[str, Target]
    callers: dict[str, Caller]
    llm: ScriptedBackend
    issuer: str
    owned: dict[tuple[str, str], Owned] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def pair(self, name: str) -> tuple[Caller, Caller]:
        a, b = CONVERSATION_PAIRS[name]
        return self.callers[a], self.callers[b]

    def holdings(self, target: str, pair: str) -> list[str]:
        """A's tasks and push configs there, as A reads them: a road that changes them changed A's state."""
        owned, where = self.owned[target, pair], self.targets[target]
        reads = [("GetTask", {"id": owned.done_task}), ("ListTaskPushNotificationConfigs", {"taskId": owned.done_task})]
        if owned.waiting_task:
            reads.append(("GetTask", {"id": owned.waiting_task}))
        return [jsonrpc(where, owned.a, method, params).raw for method, params in reads]

    def model_saw(self, text: str) -> list[str]:
        """Every prompt the model was sent for a message holding ``text``."""
        return [r.prompt_text for r in list(self.llm.requests) if text in r.last_user]


def note(caller: Caller, what: str) -> str:
    """A text only this call carries: the caller's name, what it is, and a random part."""
    return f"{caller.name}-{what}-{uuid.uuid4().hex[:10]}"


def send(target: Target, caller: Caller, text: str, **ids: str) -> dict[str, Any]:
    """A blocking SendMessage over JSON-RPC; the task it answered with."""
    reply = jsonrpc(target, caller, "SendMessage", {"message": v1_message(text, **ids)})
    assert reply.outcome == "ok", reply.raw
    task: dict[str, Any] = json.loads(reply.raw)["result"]["task"]
    return task


def hold(served: Served, target_name: str, pair: str) -> None:
    """What A holds on the agent: a conversation, a waiting task (if the agent asks), a push config; B's own task."""
    target = served.targets[target_name]
    a, b = served.pair(pair)
    said, asked = note(a, "said"), note(a, "asked")
    hook_url, token = f"http://127.0.0.1:9/{note(a, 'hook')}", note(a, "hook-token")
    done = send(target, a, said, context_id=f"ctx-{uuid.uuid4().hex}")
    waiting = send(target, a, f"{ASK} {asked}", context_id=f"ctx-{uuid.uuid4().hex}") if target.asks else None
    assert waiting is None or waiting["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", waiting
    hook = f"hook-{uuid.uuid4().hex[:8]}"
    params = {"taskId": done["id"], "id": hook, "url": hook_url, "token": token}
    assert jsonrpc(target, a, "CreateTaskPushNotificationConfig", params).outcome == "ok"
    b_task = send(target, b, note(b, "own"))
    served.owned[target_name, pair] = Owned(
        a=a,
        context=done["contextId"],
        waiting_context=waiting["contextId"] if waiting else done["contextId"],
        done_task=done["id"],
        waiting_task=waiting["id"] if waiting else None,
        hook=hook,
        hook_url=hook_url,
        markers=(said, asked, hook_url, token) if waiting else (said, hook_url, token),
        b_task=b_task["id"],
    )
    served.snapshots[target_name, pair] = served.holdings(target_name, pair)


def _a2a_bridge(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "a2a_bridge.cli", *args, "--log-level", "warning"]
    command += [f"--webhook-allow={network}" for network in LOOPBACK]
    return subprocess.Popen(command, cwd=TESTS, env={**os.environ, **env})


@contextmanager
def serving(data: Path, *, redis_url: str, llm_url: str, issuer: str) -> Iterator[dict[str, Target]]:
    """Every agent in ``a2a-bridge`` processes of its own, all started at once; stopped afterwards."""
    auth = [f"--secret={name}={secret}" for name, secret in SECRETS.items()]
    auth += ["--token-issuer", issuer, "--token-audience", AUDIENCE, "--token-scope", "a2a"]
    store, llm = f"sqlite:///{data}/tasks.db", {"TENANT_LLM_URL": llm_url}
    queue = ["--queue", redis_url, "--store", store, "--name", QUEUE_NAME]
    agents = {
        "langgraph": ("tenant_agents:served_history", ["--checkpointer", f"sqlite:///{data}/threads.db"], llm),
        "crewai": ("tenant_flows:notebook", [], {"TENANT_FLOW_DB": str(data / "flows.db")}),
        "queue": ("tenant_agents:served_history", queue, llm),
    }
    processes: list[AgentProcess] = []
    targets: dict[str, Target] = {}
    try:
        worker_args = [*queue, "--checkpointer", f"sqlite:///{data}/queue-threads.db"]
        processes.append(AgentProcess(_a2a_bridge("worker", "tenant_agents:served_history", *worker_args, env=llm), ""))
        for name, (target, args, env) in agents.items():
            port, grpc_port = free_port(), free_port()
            ports = ["--port", str(port), "--grpc-port", str(grpc_port)]
            processes.append(AgentProcess(_a2a_bridge("serve", target, *ports, *auth, *args, env=env),
                                          f"http://127.0.0.1:{port}"))  # fmt: skip
            llm_agent = name != "crewai"
            targets[name] = Target(
                name, processes[-1].url, f"127.0.0.1:{grpc_port}", asks=ASKS[name],
                data_field=None if llm_agent else "note",
                answer_mark="echo:{note}" if llm_agent else '"note":"{note}"', llm=llm_agent,
            )  # fmt: skip
        for process in processes[1:]:
            wait_healthy(
                process.url + "/healthz", process.process, what=f"a2a-bridge serve on {process.url}", timeout=45
            )
        yield targets
    finally:
        for process in processes:
            process.stop()


@contextmanager
def served_agents(data: Path) -> Iterator[Served]:
    """Every agent, served and holding A's things for each pair; stopped afterwards."""
    with ExitStack() as stack:
        llm = stack.enter_context(ScriptedBackend())
        llm.rule(lambda request: LONG_RUN in request.last_user, "slow answer", latency=LONG_RUN_SECONDS)
        provider = stack.enter_context(openid_provider(clients=CLIENTS, resources={AUDIENCE: "a2a"}))
        redis = stack.enter_context(services.redis())
        targets = stack.enter_context(serving(data, redis_url=redis.url, llm_url=llm.base_url, issuer=provider.issuer))
        callers = {name: Caller(name, secret) for name, secret in SECRETS.items()}
        for client in CLIENTS:
            token = provider.token(client.client_id, resource=AUDIENCE, scope="a2a")
            callers[client.client_id] = Caller(client.client_id, token)
        served = Served(targets, callers, llm, provider.issuer)
        for target in targets:
            for pair in PAIRS:
                hold(served, target, pair)
        yield served
