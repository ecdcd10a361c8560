"""AgentRegistry: cards loaded concurrently, routing by skill, tag and name, a down agent marked."""

from __future__ import annotations

from agents import EchoAgent
from processes import free_port
from sdk import SECRET

from a2a_bridge import AgentRegistry, Skill, to_a2a


def worker_app(name: str, skills: list[Skill]):
    return to_a2a(EchoAgent(), name=name, skills=skills, secrets={"orchestrator": SECRET})


async def test_registry_routes_by_skill_tag_and_name_with_one_agent_down(live_server):
    research = live_server(
        worker_app("research", [Skill("web_research", tags=("research", "search")), Skill("summarise")])
    )
    synthesis = live_server(worker_app("synthesis", [Skill("summarise", tags=("writing",))]))
    down = f"http://127.0.0.1:{free_port()}"
    registry = AgentRegistry.from_urls(
        {"research": research.url, "synthesis": synthesis.url, "code": down},
        secrets={"research": SECRET, "synthesis": SECRET, "code": SECRET},
        timeout=5,
    )
    async with registry:
        assert [e.name for e in registry.available] == ["research", "synthesis"]
        assert list(registry.unavailable) == ["code"]
        assert "cannot reach" in registry.unavailable["code"]
        assert [a.name for a in registry.for_skill("summarise")] == ["research", "synthesis"]
        assert [a.name for a in registry.for_skill("web_research")] == ["research"]
        assert registry.for_skill("code_review") == []
        assert [a.name for a in registry.for_tag("writing")] == ["synthesis"]
        assert registry.skills() == {"web_research": ["research"], "summarise": ["research", "synthesis"]}
        result = await registry.get("synthesis").send("merge these")
        assert result.ok
        assert registry.card("research").url == research.url


async def test_refresh_picks_up_an_agent_that_came_back(live_server):
    from a2a_bridge.testing import LiveServer

    port = free_port()
    registry = AgentRegistry.from_urls({"late": f"http://127.0.0.1:{port}"}, timeout=5)
    async with registry:
        assert registry.unavailable
        with LiveServer(to_a2a(EchoAgent(), name="late"), port=port):
            await registry.refresh()
            assert [e.name for e in registry.available] == ["late"]
            assert (await registry.get("late").send("back")).ok


def test_unknown_names_are_clear_errors():
    import pytest

    from a2a_bridge import ConfigurationError

    with pytest.raises(ConfigurationError, match="secrets given for unknown agents: ghost"):
        AgentRegistry.from_urls({"a": "http://127.0.0.1:1"}, secrets={"ghost": "x" * 10})
    registry = AgentRegistry.from_urls({"a": "http://127.0.0.1:1"})
    with pytest.raises(KeyError, match="no agent named 'b' \\(known: a\\)"):
        registry.get("b")
