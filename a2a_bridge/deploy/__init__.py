"""Deploying a mesh: the Helm chart's values from a topology, and what an agent's pod is given.

``a2a-bridge deploy values`` writes values for ``deploy/helm/a2a-bridge``;
:class:`PodSettings` reads, inside a pod of that chart, the backend and peers
the chart gave it (docs/kubernetes.md).
"""

from a2a_bridge.deploy.fleet_cost import FleetCost, fleet_cost
from a2a_bridge.deploy.pod import PodSettings
from a2a_bridge.deploy.values import chart_values

__all__ = ["FleetCost", "PodSettings", "chart_values", "fleet_cost"]
