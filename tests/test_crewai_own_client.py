"""CrewAI's own A2A client (``crewai[a2a]``, on a2a-sdk 0.3) delegates to a served graph and a served crew.

That client takes the remote's answer from the text of the status messages and
artifacts it sees, and shows its model only the task's history; a progress line
there would become the answer. The crew runs in its own virtual environment
(see ``crewai_client/environment.py``); the models of both sides are scripted,
over real HTTP.
"""

from __future__ import annotations

import json
import subprocess

import crews
import graphs
import pytest
from crewai_client.environment import SCRIPT, client_python

from a2a_bridge import Backend, to_a2a
from a2a_bridge.testing import ScriptedBackend

pytestmark = pytest.mark.timeout(600)
SECRET = "crewai-client-secret-1"
QUESTION = "hello from crewai"


@pytest.fixture(scope="module")
def crewai_python():
    return client_python()


def delegate(python, endpoint: str, llm: ScriptedBackend, *, mode: str, updates: str) -> dict:
    """Run a one-task crew that delegates ``QUESTION`` to ``endpoint`` with CrewAI's own client."""
    # The delegating agent's model: first ask the remote, then answer from what the history shows.
    llm.rule(
        lambda r: QUESTION in r.last_user and "PREVIOUS_A2A_CONVERSATION>\n    \n</" in r.last_user,
        json.dumps({"a2a_ids": [endpoint], "message": QUESTION, "is_a2a": True}),
    )
    llm.rule(
        lambda r: "PREVIOUS_A2A_CONVERSATION" in r.last_user,
        json.dumps({"a2a_ids": [], "message": "the remote has answered", "is_a2a": False}),
    )
    done = subprocess.run(
        [str(python), str(SCRIPT), endpoint, SECRET, llm.base_url, llm.model, mode, updates],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("updates", ["streaming", "polling"])
def test_the_answer_of_a_served_graph_is_what_crewai_receives(live_server, crewai_python, updates):
    server = live_server(to_a2a(graphs.echo_graph(), secrets={"crew": SECRET}))
    with ScriptedBackend() as llm:
        trusted = delegate(crewai_python, server.url + "/", llm, mode="trusted", updates=updates)
        assert trusted["responses"] == [f"echo: {QUESTION}"]
        assert trusted["output"] == f"echo: {QUESTION}"

        llm.requests.clear()
        reasoned = delegate(crewai_python, server.url + "/", llm, mode="reasoned", updates=updates)
        assert reasoned["output"] == "the remote has answered"
        [_, second] = llm.requests
    shown = second.last_user.split("<PREVIOUS_A2A_CONVERSATION>")[1]
    assert f'"text": "echo: {QUESTION}"' in shown, "the answer is an agent message of the task's history"
    assert "finished" not in shown, "no progress line in the history the model reads"


def test_the_answer_of_a_served_crew_is_what_crewai_receives(live_server, crewai_python):
    with ScriptedBackend() as llm, ScriptedBackend(model="worker-model") as worker_llm:
        crew = crews.crewbase_class(Backend(worker_llm.base_url, model="worker-model").crewai_llm())
        server = live_server(to_a2a(crew, secrets={"crew": SECRET}))
        worker_llm.reply("A100 spot is $0.82/hr.")
        trusted = delegate(crewai_python, server.url + "/", llm, mode="trusted", updates="streaming")
    assert trusted["output"] == "A100 spot is $0.82/hr."
