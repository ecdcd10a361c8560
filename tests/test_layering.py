"""The architecture rules of DESIGN.md, checked on the source.

- The core never imports a framework.
- Only ``a2a_bridge.protocol`` imports the a2a-sdk (and protobuf).
- Adapters talk to the core in its own types: they never import the SDK.
- Importing the core does not import the SDK or any framework.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = {"langgraph", "langchain", "langchain_core", "langchain_openai", "crewai"}
SDK = {"a2a", "google"}


def imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("path", sources(ROOT / "a2a_bridge"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_respects_layering(path):
    tops = imported_tops(path)
    assert not tops & FRAMEWORKS, f"{path.name} imports a framework"
    in_protocol = (ROOT / "a2a_bridge" / "protocol") in path.parents
    if not in_protocol:
        assert not tops & SDK, f"{path.name} imports the a2a-sdk outside a2a_bridge/protocol"


@pytest.mark.parametrize("path", sources(ROOT / "adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_never_import_the_sdk(path):
    assert not imported_tops(path) & SDK


def test_importing_the_core_loads_no_sdk_and_no_framework():
    code = (
        "import sys, a2a_bridge; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'a2a', 'langgraph', 'crewai', 'langchain_core'}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_no_top_level_adapters_package():
    assert not (ROOT / "adapters" / "__init__.py").exists()
