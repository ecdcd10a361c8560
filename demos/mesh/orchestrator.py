"""The demo's orchestrator as an agent of its own, for the mesh on Kubernetes.

    a2a-bridge serve demos.mesh.orchestrator:orchestrator      # in a pod of deploy/helm/a2a-bridge

On one machine, demos/mesh/run.py runs the same orchestrator in its own process.
In a cluster, the chart gives this pod its backend (the orchestrator tier's vLLM),
its workers' URLs and a bearer secret for each (a2a_bridge.deploy.PodSettings).
The graph is built before the workers are up; its first plan loads their cards.
"""

from __future__ import annotations

from a2a_bridge_langgraph import create_orchestrator

from a2a_bridge import AgentRegistry
from a2a_bridge.deploy import PodSettings
from demos.mesh.settings import MAX_TOKENS

pod = PodSettings.from_environ()
registry = AgentRegistry.from_urls(pod.peers, secrets=pod.peer_secrets, timeout=600)
orchestrator = create_orchestrator(
    registry,
    planner=pod.backend.chat_model(max_tokens=MAX_TOKENS * 2, temperature=0, frequency_penalty=0.5),
    max_subtasks=3,
    name=pod.agent,
)
