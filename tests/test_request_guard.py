"""Ids a store can hold go in, and no internals come out: a NUL in an id, an unknown state, a store that fails.

Against real stores: a Postgres the test starts (and stops, to fail it), and SQLite.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from a2a_calls import V1
from agents import EchoAgent

from a2a_bridge import to_a2a
from a2a_bridge.testing import LiveServer, services

SECRET = "alice-secret-0001"
HEADERS = {**V1, "Authorization": f"Bearer {SECRET}"}


def rpc(url: str, method: str, params: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply: dict = httpx.post(url + "/", json=body, headers=HEADERS, timeout=30).json()
    return reply


def send(url: str, **fields: str) -> dict:
    message = {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": "hi"}], **fields}
    return rpc(url, "SendMessage", {"message": message})


@pytest.mark.timeout(120)
def test_a_nul_in_an_id_is_refused_by_name_and_a_failed_store_shows_nothing_of_itself():
    with services.postgres() as postgres:
        store = postgres.create_database("tasks")
        with LiveServer(to_a2a(EchoAgent(), name="echo", secrets={"alice": SECRET}, store=store)) as server:
            refused = send(server.url, contextId="c\x00d")
            assert refused["error"]["code"] == -32602
            assert refused["error"]["message"] == "message.contextId: must not contain a NUL character"
            for method, params, field in [
                ("GetTask", {"id": "\x00"}, "id"),
                ("CancelTask", {"id": "t\x00"}, "id"),
                ("ListTasks", {"contextId": "\x00"}, "contextId"),
                ("GetTaskPushNotificationConfig", {"taskId": "\x00", "id": "c"}, "taskId"),
            ]:
                error = rpc(server.url, method, params)["error"]
                assert error["code"] == -32602, (method, error)
                assert error["message"] == f"{field}: must not contain a NUL character"
            rest = httpx.get(server.url + "/tasks/%00", headers=HEADERS)
            assert rest.status_code == 400
            assert rpc(server.url, "ListTasks", {})["result"].get("tasks", []) == [], "nothing half-stored"

            task_id = send(server.url)["result"]["task"]["id"]
            subprocess_stop(postgres)
            failed = rpc(server.url, "GetTask", {"id": task_id})["error"]
            assert failed["code"] == -32603
            assert failed["message"].startswith("The server failed on this request (ref ")
            shown = str(failed).lower()
            for internal in ("select", "sqlalchemy", "asyncpg", "psycopg", "a2a_bridge_tasks", str(postgres.port)):
                assert internal not in shown, f"the error shows {internal!r}: {failed}"


def subprocess_stop(postgres: services.Postgres) -> None:
    """Stop the database under the running server, as a crash would."""
    import subprocess

    from a2a_bridge.testing.services import _as_postgres, _postgres_bin

    stop = [_postgres_bin("pg_ctl"), "-D", str(postgres.data), "-m", "immediate", "-w", "stop"]
    subprocess.run(_as_postgres(stop), check=True, capture_output=True)


def test_a_list_tasks_status_that_names_no_state_is_refused_by_name(tmp_path):
    with LiveServer(to_a2a(EchoAgent(), name="echo", store=f"sqlite:///{tmp_path}/tasks.db")) as server:
        error = rpc(server.url, "ListTasks", {"status": 99})["error"]
        assert error["code"] == -32602
        assert error["message"] == "status: 99 is not a task state"
