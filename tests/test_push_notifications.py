"""Push notifications: webhooks registered by callers get each task event, at least once, and only allowed ones.

The receivers are real HTTP servers on loopback, which the agents under test
allow by configuration (``push_notifications={"allow": ["127.0.0.0/8"]}``);
with the default policy the same addresses are refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from a2a_calls import V1, message
from agents import AskingAgent, EchoAgent
from webhook_receiver import Receiver, kinds, webhook

from a2a_bridge import ConfigurationError, to_a2a
from a2a_bridge.testing import LiveServer

SECRET = "orchestrator-secret-1"
LOOPBACK = {"allow": ["127.0.0.0/8", "::1/128"], "backoff": 0.05}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver.started() as made:
        yield made


def rpc(url: str, method: str, params: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    headers = {**V1, "Authorization": f"Bearer {secret}"}
    reply: dict[str, Any] = httpx.post(url + "/", json=body, headers=headers, timeout=30).json()
    return reply


def agent(runner: Any, **options: Any) -> LiveServer:
    options.setdefault("push_notifications", LOOPBACK)
    return LiveServer(to_a2a(runner, name="research", secrets={"orchestrator": SECRET}, **options)).start()


@pytest.mark.timeout(60)
def test_a_webhook_registered_with_the_message_gets_every_event_in_order_with_its_token(receiver):
    server = agent(EchoAgent())
    try:
        params = {
            "message": message("gpu prices"),
            "configuration": {"taskPushNotificationConfig": webhook(receiver.url)},
        }
        task = rpc(server.url, "SendMessage", params)["result"]["task"]
        events = receiver.events()
    finally:
        server.stop()
    assert kinds(events)[0] == "task"
    assert kinds(events)[-1] == "statusUpdate TASK_STATE_COMPLETED"
    assert "artifactUpdate" in kinds(events)
    assert {e["task"]["id"] if "task" in e else next(iter(e.values()))["taskId"] for e in events} == {task["id"]}
    for item in receiver.received:
        assert item["headers"]["x-a2a-notification-token"] == "task-token-1"
        assert item["headers"]["authorization"] == "Bearer hook-cred"
        assert item["headers"]["content-type"] == "application/json"


@pytest.mark.timeout(60)
def test_a_webhook_registered_later_gets_the_rest_and_the_config_operations_work(receiver):
    server = agent(AskingAgent())
    try:
        task = rpc(server.url, "SendMessage", {"message": message("plan a cluster")})["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
        created = rpc(
            server.url, "CreateTaskPushNotificationConfig", {"taskId": task["id"], **webhook(receiver.url, id="hook-1")}
        )
        assert created["result"]["id"] == "hook-1"
        got = rpc(server.url, "GetTaskPushNotificationConfig", {"taskId": task["id"], "id": "hook-1"})["result"]
        assert (got["url"], got["token"]) == (receiver.url, "task-token-1")
        listed = rpc(server.url, "ListTaskPushNotificationConfigs", {"taskId": task["id"]})["result"]["configs"]
        assert [c["id"] for c in listed] == ["hook-1"]
        other = rpc(server.url, "ListTaskPushNotificationConfigs", {"taskId": task["id"]}, secret="reader-secret-01")
        assert "error" in other  # another caller's task: not found

        answer = {**message("5000"), "taskId": task["id"], "contextId": task["contextId"]}
        rpc(server.url, "SendMessage", {"message": answer})
        events = receiver.events()
        assert kinds(events)[0] == "statusUpdate TASK_STATE_WORKING"  # nothing from before it was registered
        assert kinds(events)[-1] == "statusUpdate TASK_STATE_COMPLETED"

        assert "result" in rpc(server.url, "DeleteTaskPushNotificationConfig", {"taskId": task["id"], "id": "hook-1"})
        assert (
            rpc(server.url, "ListTaskPushNotificationConfigs", {"taskId": task["id"]})["result"].get("configs", [])
            == []
        )
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_a_failing_webhook_is_retried_with_backoff_until_it_answers_and_a_4xx_is_not(receiver):
    receiver.answers = [503, 502, 429]  # three failures, then 200
    server = agent(EchoAgent())
    try:
        params = {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(receiver.url)}}
        rpc(server.url, "SendMessage", params)
        events = receiver.events()
        assert kinds(events)[:5] == ["task"] * 4 + ["statusUpdate TASK_STATE_WORKING"]  # the first event 4 times
        assert kinds(events)[-1] == "statusUpdate TASK_STATE_COMPLETED"  # then each event once, in order
        assert kinds(events).count("task") == 4
    finally:
        server.stop()

    receiver.received.clear()
    receiver.answers = [400]
    server = agent(EchoAgent())
    try:
        params = {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(receiver.url)}}
        rpc(server.url, "SendMessage", params)
        events = receiver.events()
        assert kinds(events).count("task") == 1  # refused with 400: given up, not retried
        assert kinds(events)[-1] == "statusUpdate TASK_STATE_COMPLETED"
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_a_redirect_is_not_followed(receiver):
    elsewhere = Receiver.start()
    receiver.redirect_to = elsewhere.url
    server = agent(EchoAgent())
    try:
        params = {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(receiver.url)}}
        rpc(server.url, "SendMessage", params)
        receiver.events()
        assert elsewhere.received == []
        assert len(receiver.received) == len({id(r) for r in receiver.received})
    finally:
        server.stop()
        elsewhere.server.stop()


@pytest.mark.timeout(60)
def test_a_host_name_is_resolved_checked_and_called_at_the_checked_address(receiver):
    server = agent(EchoAgent())
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    try:
        params = {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(by_name)}}
        rpc(server.url, "SendMessage", params)
        assert kinds(receiver.events())[-1] == "statusUpdate TASK_STATE_COMPLETED"
    finally:
        server.stop()
    assert receiver.received[0]["headers"]["host"] == by_name.split("/")[2]  # the Host header keeps the name


FORBIDDEN = [
    ("http://127.0.0.1:9/hook", "127.0.0.1 is a loopback address"),
    ("http://localhost:9/hook", "is a loopback address"),
    ("http://[::1]:9/hook", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:9/hook", "127.0.0.1 is a loopback address"),
    ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://192.168.1.20/hook", "192.168.1.20 is a private address"),
    ("http://172.16.0.1/hook", "172.16.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata service"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata service"),
    ("http://169.254.10.1/hook", "169.254.10.1 is a link-local address"),
    ("http://100.64.0.1/hook", "100.64.0.1 is not a public address"),
    ("http://0.0.0.0:9/hook", "0.0.0.0 is an unspecified address"),
    ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
    ("ftp://example.com/hook", "must be http or https, not ftp"),
    ("file:///etc/passwd", "must be http or https, not file"),
    ("http://user:pw@example.com/hook", "must not carry a user or password"),
    ("http:///hook", "has no host"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("url", "says"), FORBIDDEN, ids=[case[0] for case in FORBIDDEN])
def test_a_forbidden_webhook_url_is_refused_when_registered(url, says):
    server = agent(AskingAgent(), push_notifications=True)  # the default policy: public addresses only
    try:
        with_message = rpc(
            server.url,
            "SendMessage",
            {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(url)}},
        )
        task = rpc(server.url, "SendMessage", {"message": message("q")})["result"]["task"]
        later = rpc(server.url, "CreateTaskPushNotificationConfig", {"taskId": task["id"], **webhook(url)})
    finally:
        server.stop()
    for reply in (with_message, later):
        error = reply["error"]
        assert error["code"] == -32602
        assert says in error["message"], error
        assert error["message"].startswith("push notification url: ")
    print(f"\n{url}: {error['message']}")


@pytest.mark.timeout(60)
def test_configs_are_kept_with_the_tasks_and_outlive_a_restart(receiver, tmp_path):
    store = f"sqlite:///{tmp_path / 'tasks.db'}"
    first = agent(AskingAgent(), store=store)
    try:
        task = rpc(first.url, "SendMessage", {"message": message("plan a cluster")})["result"]["task"]
        rpc(first.url, "CreateTaskPushNotificationConfig", {"taskId": task["id"], **webhook(receiver.url, id="hook-1")})
    finally:
        first.stop()
    second = agent(AskingAgent(), store=store)
    try:
        kept = rpc(second.url, "GetTaskPushNotificationConfig", {"taskId": task["id"], "id": "hook-1"})["result"]
        assert kept["url"] == receiver.url
        answer = {**message("5000"), "taskId": task["id"], "contextId": task["contextId"]}
        rpc(second.url, "SendMessage", {"message": answer})
        assert kinds(receiver.events())[-1] == "statusUpdate TASK_STATE_COMPLETED"
    finally:
        second.stop()


@pytest.mark.timeout(60)
def test_a_host_that_does_not_resolve_is_taken_at_registration_and_refused_at_delivery(receiver, caplog):
    server = agent(EchoAgent(), push_notifications=True)
    try:
        later = webhook("https://hooks.example.invalid/a2a")
        params = {"message": message("q"), "configuration": {"taskPushNotificationConfig": later}}
        task = rpc(server.url, "SendMessage", params)["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_COMPLETED"
        deadline = time.monotonic() + 10
        while "does not resolve" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    assert f"push for task {task['id']} not sent to webhook" in caplog.text
    assert "the webhook host 'hooks.example.invalid' does not resolve" in caplog.text
    assert "hook-cred" not in caplog.text
    assert "task-token-1" not in caplog.text


def test_push_settings_are_checked_and_the_card_says_whether_push_is_on():
    with (
        LiveServer(to_a2a(EchoAgent(), name="research")) as on,
        LiveServer(to_a2a(EchoAgent(), name="research", push_notifications=False)) as off,
    ):
        assert httpx.get(on.url + "/.well-known/agent-card.json").json()["capabilities"]["pushNotifications"] is True
        assert httpx.get(off.url + "/.well-known/agent-card.json").json()["capabilities"]["pushNotifications"] is False
        refused = httpx.post(
            off.url + "/",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "CreateTaskPushNotificationConfig",
                "params": {"taskId": "t", "url": "https://a.example/h"},
            },
            headers=V1,
        ).json()
        assert refused["error"]["code"] == -32003
    for given, says in [
        ({"allow": ["not-a-network"]}, "'not-a-network' is not a network"),
        ({"retries": -1}, "retries must be a whole number from 0 to 20"),
        ({"timeout": 0}, "timeout must be more than 0"),
        ({"allowed": []}, "unknown field(s) allowed"),
        ("yes", "must be True, False, a WebhookPolicy or a dict"),
    ]:
        with pytest.raises(ConfigurationError) as raised:
            to_a2a(EchoAgent(), push_notifications=given)
        assert says in str(raised.value)


@pytest.mark.timeout(60)
def test_a2a_bridge_serve_delivers_to_the_networks_it_is_told_to_allow(receiver):
    import subprocess
    import sys

    from processes import serve_process

    served = serve_process("agents:brief", secrets={"orchestrator": SECRET}, args=["--webhook-allow", "127.0.0.0/8"])
    try:
        params = {"message": message("q"), "configuration": {"taskPushNotificationConfig": webhook(receiver.url)}}
        assert rpc(served.url, "SendMessage", params)["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
        assert kinds(receiver.events())[-1] == "statusUpdate TASK_STATE_COMPLETED"
    finally:
        served.stop()
    command = [sys.executable, "-m", "a2a_bridge.cli", "serve", "agents:brief", "--webhook-allow", "intranet"]
    done = subprocess.run(command, cwd="tests", capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "push_notifications.allow: 'intranet' is not a network" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_with_a_key_registrations_are_encrypted_at_rest(receiver, tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("PUSH_KEY", Fernet.generate_key().decode())

    def register(folder: str, **push: Any) -> bytes:
        receiver.received.clear()
        (tmp_path / folder).mkdir()
        store = f"sqlite:///{tmp_path / folder / 'tasks.db'}"
        server = agent(AskingAgent(), store=store, push_notifications={**LOOPBACK, **push})
        try:
            task = rpc(server.url, "SendMessage", {"message": message("plan")})["result"]["task"]
            rpc(server.url, "CreateTaskPushNotificationConfig", {"taskId": task["id"], **webhook(receiver.url)})
            answer = {**message("5000"), "taskId": task["id"], "contextId": task["contextId"]}
            rpc(server.url, "SendMessage", {"message": answer})
            assert kinds(receiver.events())[-1] == "statusUpdate TASK_STATE_COMPLETED"
        finally:
            server.stop()
        return b"".join(path.read_bytes() for path in (tmp_path / folder).iterdir())

    at_rest = register("encrypted", encryption_key="env:PUSH_KEY")
    assert receiver.received[-1]["headers"]["x-a2a-notification-token"] == "task-token-1"  # decrypted to deliver
    assert b"task-token-1" not in at_rest
    assert b"hook-cred" not in at_rest
    assert b"task-token-1" in register("plain")  # what the key is for

    with pytest.raises(ConfigurationError, match="encryption_key is not a Fernet key"):
        to_a2a(EchoAgent(), push_notifications={"encryption_key": "not-a-key"})


async def test_events_whose_webhooks_cannot_be_read_wait_for_the_database_and_are_sent(receiver):
    """The registrations live in Postgres; while it is down, a task's events wait, in order, and none is dropped."""
    import asyncio

    from a2a.server.context import ServerCallContext
    from a2a.types import TaskPushNotificationConfig, TaskState, TaskStatus, TaskStatusUpdateEvent

    from a2a_bridge.server.push.delivery import PushDelivery
    from a2a_bridge.server.push.webhooks import check_webhook_policy
    from a2a_bridge.server.store_url import parse_store_url
    from a2a_bridge.server.stores import open_store, push_config_store
    from a2a_bridge.testing import services

    with services.postgres() as postgres:
        url = postgres.create_database("push_lookup")
        opened = open_store(parse_store_url(url), keep_tasks=10, lease_seconds=15)
        configs = push_config_store(opened.engine)
        policy = check_webhook_policy({"allow": ["127.0.0.0/8"]})
        assert policy is not None
        delivery = PushDelivery(configs, policy)
        config = TaskPushNotificationConfig(task_id="t-1", id="hook", url=receiver.url, token="task-token-1")
        await configs.set_info("t-1", config, ServerCallContext())
        try:
            await asyncio.to_thread(postgres.stop)
            for state in (TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_COMPLETED):
                event = TaskStatusUpdateEvent(task_id="t-1", context_id="c", status=TaskStatus(state=state))
                delivery.notify("t-1", event)
            await asyncio.sleep(1.5)  # the lookups fail meanwhile
            assert receiver.received == []
            await asyncio.to_thread(postgres.start)
            events = await asyncio.to_thread(receiver.events, timeout=20)
            assert kinds(events) == ["statusUpdate TASK_STATE_WORKING", "statusUpdate TASK_STATE_COMPLETED"]
        finally:
            await delivery.close()
            await opened.close()
