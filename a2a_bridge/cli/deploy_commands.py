"""``a2a-bridge deploy values|cost``: the Helm chart's values for a topology, and its GPU bill.

a2a-bridge deploy values --topology mesh.toml --image REPO:TAG [-o values.yaml]
a2a-bridge deploy cost --topology mesh.toml        (or --values values.yaml)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from a2a_bridge.backends.topology import Topology
from a2a_bridge.deploy.fleet_cost import fleet_cost
from a2a_bridge.deploy.values import chart_values
from a2a_bridge.errors import ConfigurationError

__all__ = ["add_parser"]


def add_parser(commands: Any) -> None:
    deploy = commands.add_parser("deploy", help="deploy a topology on Kubernetes with the Helm chart")
    verbs = deploy.add_subparsers(dest="verb", required=True)

    values = verbs.add_parser("values", help="write the chart's values for a topology file")
    values.add_argument("--topology", type=Path, required=True, help="the topology TOML file, with [agents.*]")
    values.add_argument("--image", help="the image holding your agents' code, REPOSITORY:TAG")
    values.add_argument("--postgres-secret", metavar="NAME", help="a Secret whose key `url` holds postgresql://...")
    values.add_argument("--redis-secret", metavar="NAME", help="a Secret whose key `url` holds redis://...")
    values.add_argument("--redis-address", metavar="HOST:PORT", help="the same Redis, for KEDA's scaler")
    values.add_argument(
        "--public-url",
        action="append",
        default=[],
        metavar="AGENT=URL",
        help="the URL outside callers reach a public agent at, e.g. orchestrator=https://agents.example.com",
    )
    values.add_argument("-o", "--output", type=Path, help="write here instead of to standard output")
    values.set_defaults(run=run_values)

    cost = verbs.add_parser("cost", help="what the GPU fleet of a topology or values file costs a day")
    source = cost.add_mutually_exclusive_group(required=True)
    source.add_argument("--topology", type=Path, help="a topology TOML file, with [agents.*]")
    source.add_argument("--values", type=Path, help="a values file of the chart")
    cost.set_defaults(run=run_cost)


def run_values(args: argparse.Namespace) -> int:
    yaml = _yaml()
    values = chart_values(Topology.load(args.topology), image=args.image)
    for item in args.public_url:
        name, sep, url = item.partition("=")
        if not sep or name not in values["agents"] or not values["agents"][name]["public"]:
            public = ", ".join(n for n, a in values["agents"].items() if a["public"])
            raise ConfigurationError(f"--public-url {item!r}: give AGENT=URL for a public agent ({public})")
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"--public-url {item!r}: the URL must start with http:// or https://")
        values["agents"][name]["publicUrl"] = url
    if args.postgres_secret:
        values["postgres"] = {"urlSecret": {"name": args.postgres_secret, "key": "url"}}
    if args.redis_secret or args.redis_address:
        values["redis"] = {"urlSecret": {"name": args.redis_secret or "", "key": "url"}}
        values["redis"]["address"] = args.redis_address or ""
    header = (
        f"# The a2a-bridge chart's values for {args.topology}, written by `a2a-bridge deploy values`.\n"
        "# helm install mesh deploy/helm/a2a-bridge -f THIS_FILE  (docs/kubernetes.md)\n"
    )
    text = header + yaml.safe_dump(values, sort_keys=False, default_flow_style=False)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for warning in _missing(values, image_given=bool(args.image)):
        print(f"a2a-bridge: note: {warning}", file=sys.stderr)
    print(f"a2a-bridge: the GPU fleet costs ${fleet_cost(values).daily_usd:.2f} a day", file=sys.stderr)
    return 0


def run_cost(args: argparse.Namespace) -> int:
    values = chart_values(Topology.load(args.topology)) if args.topology else _load_values(args.values)
    print(fleet_cost(values).markdown())
    return 0


def _missing(values: dict[str, Any], *, image_given: bool) -> list[str]:
    """What the values still need before `helm install` accepts them."""
    notes = [] if image_given else ["set image.repository and image.tag (--image) to the image with your agents"]
    agents = values["agents"].values()
    notes += [
        f"public agent {name} needs agents.{name}.publicUrl, the URL outside callers use (--public-url {name}=URL)"
        for name, agent in values["agents"].items()
        if agent["public"] and "publicUrl" not in agent
    ]
    if any(a["queue"] or a["checkpointer"] or a["replicas"] > 1 for a in agents) and "postgres" not in values:
        notes.append("agents with queue, checkpointer or replicas > 1 need postgres.urlSecret (--postgres-secret)")
    redis = values.get("redis", {})
    if any(a["queue"] or a["replicas"] > 1 for a in agents) and not redis.get("urlSecret", {}).get("name"):
        notes.append("agents with queue or replicas > 1 need redis.urlSecret (--redis-secret)")
    if any(a["queue"] for a in agents) and not redis.get("address"):
        notes.append("queue-mode agents need redis.address for KEDA's scaler (--redis-address)")
    return notes


def _load_values(path: Path) -> dict[str, Any]:
    yaml = _yaml()
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read values file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"{path}: a values file is a YAML mapping")
    return loaded


def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigurationError("`a2a-bridge deploy` writes YAML: pip install 'a2a-bridge-core[deploy]'") from None
    return yaml
