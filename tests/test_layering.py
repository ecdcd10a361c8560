"""The architecture rules of DESIGN.md and docs/architecture.md, checked on the source.

- The core never imports a framework.
- Only ``a2a_bridge.protocol`` imports the a2a-sdk (and protobuf), and only
  ``protocol/sdk_internals.py`` takes names the SDK does not export.
- Each folder imports only the folders below it (``FOLDER_RULES``): serving never
  imports calling, calling never imports serving, backends neither; deploy only backends.
- Adapters talk to the core through ``a2a_bridge`` and ``a2a_bridge.adapter_api``,
  in its own types: they never import the SDK.
- Importing the core does not import the SDK or any framework.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "a2a_bridge"
FRAMEWORKS = {"langgraph", "langchain", "langchain_core", "langchain_openai", "crewai"}
SDK = {"a2a", "google"}
CONTRACT = {
    "runner",
    "profile",
    "errors",
    "plugins",
    "task_states",
    "tracing",
    "spans",
    "telemetry",
    "http_client",
    "json_files",
    "fast_paths",
    "urls",
    "secret_refs",
    "signing_keys",
}
# What each part of the core may import from the core, at module level (the contract modules always).
FOLDER_RULES: dict[str, set[str]] = {
    "contract": set(),
    "serving": {"serving", "costs"},
    "calling": {"calling"},
    "backends": {"backends"},
    "deploy": {"deploy", "backends"},
    "costs": {"costs", "backends"},
    "protocol.wire": {"protocol.wire", "protocol.sdk_internals"},
    "protocol.server": {"protocol.server", "protocol.wire", "protocol.sdk_internals", "serving", "costs"},
    "protocol.client": {"protocol.client", "protocol.wire", "protocol.sdk_internals", "calling"},
    "protocol.sdk_internals": set(),
}
# Imports inside a function, so that the SDK loads only when it is needed.
LAZY_RULES: dict[str, set[str]] = {"serving": {"protocol.server"}, "calling": {"protocol.client", "protocol.wire"}}
# SDK modules without an __all__ whose classes appear in the signatures of the SDK's exported API.
SDK_MODULES_WITHOUT_ALL = {"a2a.server.context", "a2a.auth.user"}


def imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tops: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


def core_imports(path: Path) -> tuple[set[str], set[str]]:
    """The ``a2a_bridge`` modules ``path`` imports at module level, and those it imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    eager: set[str] = set()
    lazy: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(node) for function in functions for node in ast.walk(function)}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from a2a_bridge.protocol import sdk_internals`` imports the module a2a_bridge.protocol.sdk_internals.
            submodules = [f"{node.module}.{a.name}" for a in node.names if is_module(f"{node.module}.{a.name}")]
            names = submodules or [node.module]
        for name in names:
            if name.startswith("a2a_bridge."):
                (lazy if id(node) in inside else eager).add(name.removeprefix("a2a_bridge."))
    return eager, lazy


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def part_of(module: str) -> str:
    """The part of the core a dotted module name (below ``a2a_bridge``) belongs to."""
    head = module.split(".")[0]
    if head in CONTRACT:
        return "contract"
    if head == "protocol":
        second = module.split(".")[1] if "." in module else ""
        return f"protocol.{second}" if second else "protocol"
    return head


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", sources(CORE), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_respects_layering(path):
    tops = imported_tops(path)
    assert not tops & FRAMEWORKS, f"{path.name} imports a framework"
    in_protocol = (CORE / "protocol") in path.parents
    if not in_protocol:
        assert not tops & SDK, f"{path.name} imports the a2a-sdk outside a2a_bridge/protocol"


def ruled_sources() -> list[Path]:
    return [p for p in sources(CORE) if module_name(p) and part_of(module_name(p)) in FOLDER_RULES]


@pytest.mark.parametrize("path", ruled_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_folder_imports_only_what_it_may(path):
    part = part_of(module_name(path))
    eager, lazy = core_imports(path)
    allowed = FOLDER_RULES[part] | {"contract"}
    wrong = sorted(m for m in eager if part_of(m) not in allowed)
    assert not wrong, f"{part} may not import {', '.join(wrong)} (allowed: {sorted(allowed)})"
    wrong_lazy = sorted(m for m in lazy if part_of(m) not in allowed | LAZY_RULES.get(part, set()))
    assert not wrong_lazy, f"{part} may not import {', '.join(wrong_lazy)}, even inside a function"


def test_the_rules_name_every_folder():
    folders = {part_of(module_name(p)) for p in sources(CORE) if module_name(p)}
    assert folders - set(FOLDER_RULES) == {"adapter_api", "cli", "testing", "protocol"}


def sdk_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "a2a"
        for alias in node.names
    ]


@pytest.mark.parametrize(
    "path",
    [p for p in sources(CORE / "protocol") if p.name != "sdk_internals.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_sdk_internals_takes_names_the_sdk_does_not_export(path):
    for module_path, name in sdk_imports(path):
        module = importlib.import_module(module_path)
        exported = getattr(module, "__all__", None)
        if exported is None:
            assert module_path in SDK_MODULES_WITHOUT_ALL, f"{module_path} exports nothing; use sdk_internals"
            assert not name.startswith("_")
        else:
            assert name in exported, f"{module_path}.{name} is not exported; take it through sdk_internals"


def test_protocol_touches_no_private_sdk_attribute_outside_sdk_internals():
    """A ``._name`` in protocol/ must be one of the bridge's own names, never the SDK's."""
    own: set[str] = set()
    for path in sources(CORE):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                own.add(node.target.id)
    strangers = set()
    for path in sources(CORE / "protocol"):
        if path.name == "sdk_internals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            private = isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
            if private and node.attr not in own:
                strangers.add(f"{path.relative_to(ROOT)}: .{node.attr}")
    assert not strangers


@pytest.mark.parametrize("path", sources(ROOT / "adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_never_import_the_sdk(path):
    assert not imported_tops(path) & SDK


@pytest.mark.parametrize("path", sources(ROOT / "adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_import_the_core_only_through_its_adapter_interface(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    from_core = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "a2a_bridge"
    }
    assert from_core <= {"a2a_bridge", "a2a_bridge.adapter_api"}, f"{path.name} imports {sorted(from_core)}"


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
