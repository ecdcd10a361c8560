"""docs/kubernetes.md against the code: the fleet's cost table comes from the tier table, not from typing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from a2a_bridge import Topology
from a2a_bridge.deploy import chart_values, fleet_cost

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "kubernetes.md").read_text(encoding="utf-8")


def test_the_cost_table_is_the_tier_tables():
    block = re.search(r"<!-- fleet-cost: (\S+) -->\n(.*?)\n<!-- /fleet-cost -->", DOC, re.DOTALL)
    assert block, "the cost table's markers are missing"
    cost = fleet_cost(chart_values(Topology.load(ROOT / block.group(1))))
    assert block.group(2) == cost.markdown()
    saved = cost.on_demand_daily_usd - cost.daily_usd
    assert f"save ${saved:.2f} a day, or {saved / cost.on_demand_daily_usd:.0%}".replace("%", " %") in DOC


def test_the_topology_shown_is_the_demos():
    [snippet] = re.findall(r"```toml\n(.*?)```", DOC, re.DOTALL)
    shown = tomllib.loads(snippet)
    actual = tomllib.loads((ROOT / "demos" / "mesh" / "topology.toml").read_text(encoding="utf-8"))
    assert shown["roles"]["orchestrator"] == actual["roles"]["orchestrator"]
    for name, agent in shown["agents"].items():
        assert agent == actual["agents"][name]
