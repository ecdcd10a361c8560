"""The Helm chart, rendered by Helm's own engine from the demo's topology, checked without a cluster.

Every manifest is validated against the Kubernetes schemas (kubernetes-validate,
strict: an unknown field fails) and KEDA's CRD schema (tests/schemas/keda),
and the properties docs/kubernetes.md promises are checked one by one.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest
import yaml
from rendered_chart import (
    CHART,
    CLUSTER_FLAGS,
    DEMO_TOPOLOGY,
    RELEASE,
    deploy_values,
    env_of,
    of_kind,
    pod_spec,
    render,
    render_text,
)

from a2a_bridge import Topology
from a2a_bridge.backends.tiers import TIERS, vllm_args

TESTS = Path(__file__).resolve().parent
KEDA_SCHEMAS = TESTS / "schemas" / "keda"
SNAPSHOT = TESTS / "snapshots" / "helm-demo-mesh.yaml"
# The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion) and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
SPOT_KEYS = {"karpenter.sh/capacity-type", "cloud.google.com/gke-spot", "kubernetes.azure.com/scalesetpriority"}


@pytest.fixture(scope="module")
def values(tmp_path_factory) -> dict[str, Any]:
    written, _ = deploy_values(DEMO_TOPOLOGY, tmp_path_factory.mktemp("values"), *CLUSTER_FLAGS)
    return written


@pytest.fixture(scope="module")
def manifests(values) -> list[dict[str, Any]]:
    return render(values)


def keda_validator(kind: str) -> jsonschema.Draft7Validator:
    """KEDA's CRD schema for ``kind``, made strict like `kubectl apply --validate=strict`: unknown fields fail."""
    crd = yaml.safe_load((KEDA_SCHEMAS / f"keda.sh_{kind.lower()}s.yaml").read_text(encoding="utf-8"))
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])

    def strict(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
            for child in node.values():
                strict(child)
        elif isinstance(node, list):
            for child in node:
                strict(child)

    strict(schema)
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def validate(manifest: dict[str, Any]) -> None:
    if manifest["apiVersion"].startswith("keda.sh/"):
        keda_validator(manifest["kind"]).validate(manifest)
    else:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


# --- Helm's own checks ---------------------------------------------------------------------


def test_helm_lint_finds_nothing_wrong(values):
    result = helm_python.lint(CHART, values, strict=True)
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] > 1] == []  # 1 is INFO ("icon is recommended")


def test_the_values_schema_refuses_a_misspelt_or_wrong_value(values):
    for path, bad, expected in (
        (("agents", "research-worker", "quue"), True, "additional properties 'quue' not allowed"),
        (("agents", "orchestrator", "replicas"), 0, "/agents/orchestrator/replicas"),
        (("tiers", "worker-a100-14b", "capacity"), "preemptible", "/tiers/worker-a100-14b/capacity"),
        (("keda", "lagCount"), "20", "/keda/lagCount"),
    ):
        broken = copy.deepcopy(values)
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = bad
        with pytest.raises(helm_python.HelmValuesError) as caught:
            render(broken)
        assert expected in str(caught.value)


def test_missing_cluster_settings_are_named(values):
    for drop, expected in (
        (("image", "repository"), "image.repository: the image with your agents' code"),
        (("postgres", "urlSecret", "name"), "postgres.urlSecret.name"),
        (("redis", "address"), "redis.address: host:port of the queue's Redis"),
    ):
        broken = copy.deepcopy(values)
        node = broken
        for key in drop[:-1]:
            node = node[key]
        node[drop[-1]] = ""
        with pytest.raises(helm_python.HelmRenderError) as caught:
            render(broken)
        assert expected in str(caught.value)
    broken = copy.deepcopy(values)
    broken["agents"]["orchestrator"]["calls"].append("ghost")
    with pytest.raises(helm_python.HelmRenderError, match=r'agents\.orchestrator\.calls: no agent "ghost"'):
        render(broken)


# --- schemas ---------------------------------------------------------------------------------


def test_every_manifest_validates_against_the_kubernetes_and_keda_schemas(manifests):
    kinds = sorted({m["kind"] for m in manifests})
    assert kinds == ["Deployment", "NetworkPolicy", "PodDisruptionBudget", "ScaledObject", "Secret", "Service"]
    for manifest in manifests:
        validate(manifest)


def test_the_validators_catch_a_wrong_manifest(manifests):
    """So that the test above could fail: one unknown field in each kind of manifest is refused."""
    deployment = copy.deepcopy(next(m for m in manifests if m["kind"] == "Deployment"))
    pod_spec(deployment)["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    scaled = copy.deepcopy(next(m for m in manifests if m["kind"] == "ScaledObject"))
    scaled["spec"]["cooldownPeriods"] = 300
    with pytest.raises(jsonschema.ValidationError, match="cooldownPeriods"):
        validate(scaled)
    scaled = copy.deepcopy(next(m for m in manifests if m["kind"] == "ScaledObject"))
    del scaled["spec"]["scaleTargetRef"]
    with pytest.raises(jsonschema.ValidationError, match="scaleTargetRef"):
        validate(scaled)


def test_a_redis_password_gives_keda_a_trigger_authentication(values):
    with_password = copy.deepcopy(values)
    with_password["redis"]["passwordSecret"] = {"name": "mesh-redis", "key": "password"}
    manifests = render(with_password)
    [auth] = [m for m in manifests if m["kind"] == "TriggerAuthentication"]
    validate(auth)
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "password", "name": "mesh-redis", "key": "password"}]
    for scaled in of_kind(manifests, "ScaledObject").values():
        assert scaled["spec"]["triggers"][0]["authenticationRef"] == {"name": auth["metadata"]["name"]}


# --- what docs/kubernetes.md promises ---------------------------------------------------------


def test_no_secret_is_inline_in_a_manifest(manifests):
    secrets = of_kind(manifests, "Secret")
    values = {base64.b64decode(s["data"]["secret"]).decode() for s in secrets.values()}
    assert all(len(value) == 43 and value.isalnum() for value in values), "random, created by the chart"
    assert len(values) == len(secrets), "one secret per pair"
    for name, secret in secrets.items():
        assert set(secret["data"]) == {"secret"}, name
        assert "stringData" not in secret, name
    text = json.dumps([m for m in manifests if m["kind"] != "Secret"])
    assert not any(value in text for value in values)
    assert "secretKeyRef" not in text, "secrets reach containers as files, never as environment variables"
    for deployment in of_kind(manifests, "Deployment").values():
        for container in pod_spec(deployment)["containers"]:
            for arg in container.get("args", []):
                for flag in ("--secret=", "--store=", "--queue=", "--event-bus=", "--checkpointer="):
                    if arg.startswith(flag):
                        assert "=@/var/run/a2a-bridge/" in arg, f"{arg}: a secret must come from a mounted file"


def test_each_pair_has_its_own_secret_mounted_on_both_sides(manifests):
    deployments = of_kind(manifests, "Deployment")
    pairs = {
        (s["metadata"]["labels"]["a2a-bridge/caller"], s["metadata"]["labels"]["a2a-bridge/agent"])
        for s in of_kind(manifests, "Secret").values()
    }
    assert pairs == {
        ("orchestrator", "research-worker"),
        ("orchestrator", "synthesis-worker"),
        ("user", "orchestrator"),
    }
    for caller, callee in pairs:
        secret = f"{RELEASE}-pair-{caller}-{callee}"
        callee_pod = pod_spec(deployments[f"{RELEASE}-{callee}"])
        [callers] = [v for v in callee_pod["volumes"] if v["name"] == "callers"]
        assert {"name": secret, "items": [{"key": "secret", "path": f"{caller}/secret"}]} in [
            source["secret"] for source in callers["projected"]["sources"]
        ]
        assert f"--secret={caller}=@/var/run/a2a-bridge/callers/{caller}/secret" in callee_pod["containers"][0]["args"]
        if caller != "user":
            caller_pod = pod_spec(deployments[f"{RELEASE}-{caller}"])
            [peers] = [v for v in caller_pod["volumes"] if v["name"] == "peers"]
            assert {"name": secret, "items": [{"key": "secret", "path": f"{callee}/secret"}]} in [
                source["secret"] for source in peers["projected"]["sources"]
            ]


def test_every_container_is_probed_and_every_agent_is_locked_down(manifests):
    for name, deployment in of_kind(manifests, "Deployment").items():
        spec = pod_spec(deployment)
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            if component == "vllm":
                assert container["livenessProbe"]["httpGet"]["path"] == "/health"
                continue
            assert security["runAsNonRoot"] is True, name
            assert security["readOnlyRootFilesystem"] is True, name
            if container["name"] in ("agent", "worker"):
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert container[probe]["httpGet"]["path"] == "/healthz", (name, probe)
                assert container["resources"]["requests"]
                assert container["resources"]["limits"]["memory"]
        assert {"name": "tmp", "mountPath": "/tmp"} in spec["containers"][0]["volumeMounts"] or "vllm" in name


def test_only_the_orchestrator_is_reachable_from_outside(manifests):
    policies = of_kind(manifests, "NetworkPolicy")
    deny = policies[f"{RELEASE}-deny-ingress"]
    assert deny["spec"] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/instance": RELEASE}},
        "policyTypes": ["Ingress"],
    }, "every pod of the release closed by default"
    open_to_all = [
        name for name, policy in policies.items() for rule in policy["spec"].get("ingress", []) if "from" not in rule
    ]
    assert open_to_all == [f"{RELEASE}-orchestrator"]

    def admitted(policy: dict[str, Any]) -> set[tuple[str, str]]:
        pairs = set()
        for rule in policy["spec"]["ingress"]:
            for peer in rule["from"]:
                expressions = {e["key"]: e["values"] for e in peer["podSelector"]["matchExpressions"]}
                assert expressions["app.kubernetes.io/instance"] == [RELEASE], "only pods of this mesh"
                pairs |= {(key, value) for key, values in expressions.items() for value in values}
        return pairs - {("app.kubernetes.io/instance", RELEASE)}

    for worker in ("research-worker", "synthesis-worker"):
        assert admitted(policies[f"{RELEASE}-{worker}"]) == {("a2a-bridge/agent", "orchestrator")}
    assert admitted(policies[f"{RELEASE}-vllm-orchestrator-h200"]) == {("a2a-bridge/role", "orchestrator")}
    assert admitted(policies[f"{RELEASE}-vllm-worker-a100-14b"]) == {
        ("a2a-bridge/role", "research-worker"),
        ("a2a-bridge/role", "synthesis-worker"),
    }
    services = of_kind(manifests, "Service")
    assert {s["spec"]["type"] for s in services.values()} == {"ClusterIP"}


def test_a_load_balancer_is_only_ever_the_public_agents(values):
    exposed = copy.deepcopy(values)
    exposed["agentDefaults"] = {"publicServiceType": "LoadBalancer"}
    services = of_kind(render(exposed), "Service")
    assert {name for name, s in services.items() if s["spec"]["type"] != "ClusterIP"} == {f"{RELEASE}-orchestrator"}


def test_metrics_from_admits_prometheus_to_every_agent_and_every_workers_health_port(values):
    scraped = copy.deepcopy(values)
    prometheus = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    scraped["networkPolicy"] = {**scraped.get("networkPolicy", {}), "metricsFrom": [prometheus]}
    rendered = render(scraped)
    for manifest in rendered:
        validate(manifest)
    policies = of_kind(rendered, "NetworkPolicy")
    port = scraped.get("agentDefaults", {}).get("port", 8080)
    for agent in ("orchestrator", "research-worker", "synthesis-worker"):
        assert {"ports": [{"port": port, "protocol": "TCP"}], "from": [prometheus]} in policies[f"{RELEASE}-{agent}"][
            "spec"
        ]["ingress"], agent
    queued = sorted(name for name, agent in scraped["agents"].items() if agent.get("queue"))
    assert queued, "the demo's mesh has queue-mode workers"
    for agent in queued:
        worker = policies[f"{RELEASE}-{agent}-worker"]["spec"]
        assert worker["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"
        assert worker["ingress"] == [{"ports": [{"port": 8081, "protocol": "TCP"}], "from": [prometheus]}]
    unscraped = of_kind(render(values), "NetworkPolicy")
    assert not [agent for agent in queued if f"{RELEASE}-{agent}-worker" in unscraped], "closed unless asked"


def test_each_vllm_tier_runs_the_tier_profiles_exact_arguments_on_its_gpus(manifests):
    deployments = of_kind(manifests, "Deployment")
    for tier, replicas in (("orchestrator-h200", 1), ("worker-a100-14b", 2)):
        deployment = deployments[f"{RELEASE}-vllm-{tier}"]
        assert deployment["spec"]["replicas"] == replicas, "one GPU instance per role on the tier"
        spec = pod_spec(deployment)
        [container] = spec["containers"]
        profile = TIERS[tier]
        assert container["args"] == [
            "--model", profile.model, *vllm_args(profile), "--host", "0.0.0.0", "--port", "8000"
        ]  # fmt: skip
        assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert spec["nodeSelector"]["nvidia.com/gpu.product"] == profile.gpu_product
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert "--quantization" in vllm_args(TIERS["orchestrator-h200"])


def test_workers_go_on_spot_and_the_orchestrator_on_demand(manifests):
    deployments = of_kind(manifests, "Deployment")

    def placement(name: str) -> tuple[set[str], set[str], set[str]]:
        """Spot taints tolerated, spot labels preferred, spot labels refused."""
        spec = pod_spec(deployments[f"{RELEASE}-{name}"])
        affinity = spec["affinity"]["nodeAffinity"]
        preferred = affinity.get("preferredDuringSchedulingIgnoredDuringExecution", [])
        required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution", {"nodeSelectorTerms": []})
        return (
            {t["key"] for t in spec.get("tolerations", [])} & SPOT_KEYS,
            {e["key"] for p in preferred for e in p["preference"]["matchExpressions"] if e["operator"] == "In"},
            {
                e["key"]
                for term in required["nodeSelectorTerms"]
                for e in term["matchExpressions"]
                if e["operator"] == "NotIn"
            },
        )

    for name in ("orchestrator", "vllm-orchestrator-h200"):
        tolerated, preferred, refused = placement(name)
        assert not tolerated, name
        assert not preferred, name
        assert refused >= SPOT_KEYS, f"{name} is kept off every kind of spot node"
    for name in ("research-worker", "research-worker-worker", "synthesis-worker-worker", "vllm-worker-a100-14b"):
        tolerated, preferred, refused = placement(name)
        assert tolerated == SPOT_KEYS, name
        assert preferred >= SPOT_KEYS, name
        assert not refused, name


def test_keda_scales_each_queue_mode_worker_on_its_queue(manifests):
    scaled = of_kind(manifests, "ScaledObject")
    assert set(scaled) == {f"{RELEASE}-research-worker-worker", f"{RELEASE}-synthesis-worker-worker"}
    for scaler in scaled.values():
        agent = scaler["metadata"]["labels"]["a2a-bridge/agent"]
        assert scaler["spec"]["scaleTargetRef"] == {"name": f"{RELEASE}-{agent}-worker"}
        assert scaler["spec"]["cooldownPeriod"] == 300
        assert scaler["spec"]["maxReplicaCount"] == 20
        [trigger] = scaler["spec"]["triggers"]
        assert trigger["type"] == "redis-streams"
        assert trigger["metadata"] == {
            "address": "redis.data.svc:6379",
            "stream": f"a2a-bridge:queue:{agent}",
            "consumerGroup": "workers",
            "lagCount": "20",
            "activationLagCount": "0",
        }
    worker = pod_spec(of_kind(manifests, "Deployment")[f"{RELEASE}-research-worker-worker"])
    assert "replicas" not in of_kind(manifests, "Deployment")[f"{RELEASE}-research-worker-worker"]["spec"]
    assert "--name=research-worker" in worker["containers"][0]["args"], "the queue is named by the agent"


def test_the_queue_names_match_the_code():
    from a2a_bridge.server.queue.work_queue import GROUP, queue_key

    assert (queue_key("research-worker"), GROUP) == ("a2a-bridge:queue:research-worker", "workers")


def test_without_keda_workers_run_a_fixed_number(values):
    fixed = copy.deepcopy(values)
    fixed["keda"]["enabled"] = False
    fixed["agents"]["research-worker"]["workers"]["min"] = 3
    manifests = render(fixed)
    assert not of_kind(manifests, "ScaledObject")
    assert of_kind(manifests, "Deployment")[f"{RELEASE}-research-worker-worker"]["spec"]["replicas"] == 3


def test_every_deployment_has_a_disruption_budget_and_the_orchestrator_keeps_one(manifests):
    budgets = of_kind(manifests, "PodDisruptionBudget")
    for name, deployment in of_kind(manifests, "Deployment").items():
        selected = deployment["spec"]["selector"]["matchLabels"]
        [budget] = [b for b in budgets.values() if b["spec"]["selector"]["matchLabels"] == selected]
        if name == f"{RELEASE}-orchestrator":
            assert budget["spec"] == {"minAvailable": 1, "selector": {"matchLabels": selected}}
            assert deployment["spec"]["replicas"] >= 1
        else:
            assert budget["spec"]["maxUnavailable"] == 1, name


# --- the topology, round trip -----------------------------------------------------------------


def topology_of(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The topology a rendered mesh implements, read back from its manifests alone."""
    deployments = of_kind(manifests, "Deployment")
    vllm_models = {
        f"http://{name}:8000/v1": pod_spec(d)["containers"][0]["args"][1]
        for name, d in deployments.items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "vllm"
    }
    roles: dict[str, Any] = {}
    agents: dict[str, Any] = {}
    for name, deployment in deployments.items():
        labels = deployment["metadata"]["labels"]
        if labels["app.kubernetes.io/component"] != "agent":
            continue
        container = pod_spec(deployment)["containers"][0]
        env = env_of(container)
        args = container["args"]
        agent = labels["a2a-bridge/agent"]
        assert vllm_models[env["A2A_BRIDGE_BACKEND_URL"]] == env["A2A_BRIDGE_BACKEND_MODEL"], "the tier serves it"
        roles[env["A2A_BRIDGE_ROLE"]] = {"tier": env["A2A_BRIDGE_BACKEND_TIER"]}
        spec: dict[str, Any] = {"serve": args[1]}
        if labels["a2a-bridge/role"] != agent:
            spec["role"] = labels["a2a-bridge/role"]
        if deployment["spec"]["template"]["metadata"]["labels"]["a2a-bridge/public"] == "true":
            spec["public"] = True
        if "A2A_BRIDGE_PEERS" in env:
            spec["calls"] = [peer.split("=")[0] for peer in env["A2A_BRIDGE_PEERS"].split(",")]
        worker = deployments.get(f"{name}-worker")
        if worker is not None:
            spec["queue"] = True
            scaler = of_kind(manifests, "ScaledObject")[f"{name}-worker"]
            spec["max_workers"] = scaler["spec"]["maxReplicaCount"]
        if any(a.startswith("--checkpointer=") for a in args):
            spec["checkpointer"] = True
        extra = {k: v for k, v in env.items() if not k.startswith("A2A_BRIDGE_") and k != "HOME"}
        if extra:
            spec["env"] = extra
        runs_turns = worker if worker is not None else deployment
        if worker is not None:
            assert len(pod_spec(deployment)["containers"]) == 1, "a queue-mode front door runs no helpers"
        sidecars = {c["name"]: c["command"] for c in pod_spec(runs_turns)["containers"][1:]}
        if sidecars:
            spec["sidecars"] = sidecars
        agents[agent] = spec
    return {"roles": roles, "agents": agents}


def test_deploy_values_round_trips_the_demos_topology(manifests):
    """topology -> values -> manifests -> topology: the cluster runs the mesh the file describes."""
    original = Topology.load(DEMO_TOPOLOGY)
    back = Topology.from_dict(
        {
            "roles": {
                role: {**spec, "base_url": "http://in-cluster/v1"}
                for role, spec in topology_of(manifests)["roles"].items()
            },
            "agents": topology_of(manifests)["agents"],
        }
    )
    assert back.agents == original.agents
    assert {r: (b.tier, b.request_model) for r, b in back.backends.items()} == {
        r: (b.tier, b.request_model) for r, b in original.backends.items()
    }


# --- snapshot ------------------------------------------------------------------------------


def test_the_rendered_demo_mesh_matches_its_snapshot(values):
    """A change to the chart shows up as a diff here; UPDATE_SNAPSHOTS=1 rewrites the file after a review."""
    text = "".join(
        f"# Source: {path}\n{body.strip()}\n" for path, body in sorted(render_text(values).items()) if body.strip()
    )
    # The pair secrets are random on every install; everything else is fixed by the values.
    text = re.sub(r"(\n  secret: )\"[A-Za-z0-9+/=]+\"", r'\1"<random: 43 characters>"', text)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")
