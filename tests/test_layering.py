"""The architecture rules of DESIGN.md and docs/architecture.md, checked on the source.

- The core never imports a framework.
- Only ``server/``, ``client/`` and ``wire/`` import the a2a-sdk (and protobuf), and only
  ``wire/sdk_internals.py`` takes names the SDK does not export.
- Each folder imports only the folders below it (``FOLDER_RULES``), even inside a function:
  ``server/`` and ``client/`` never import each other; the contract, ``backends/`` and
  ``observability/`` never reach the SDK.
- No folder holds more than ``MOST_MODULES`` modules directly, and no module imports itself back.
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
SDK_FOLDERS = {"server", "client", "wire"}
CONTRACT = {"runner", "profile", "errors", "plugins", "task_states"}
# What each part of the core may import from the core, at module level or inside a function
# (the contract modules always).
FOLDER_RULES: dict[str, set[str]] = {
    "contract": set(),
    "support": {"support"},
    "keys": {"keys"},
    "backends": {"backends", "support", "keys"},
    "deploy": {"deploy", "backends"},
    "observability": {"observability", "backends", "support"},
    "wire": {"wire", "support", "keys"},
    "server": {"server", "wire", "observability", "support", "keys"},
    "client": {"client", "wire", "observability", "support", "keys"},
}
MOST_MODULES = 12
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
            # ``from a2a_bridge.wire import sdk_internals`` imports the module a2a_bridge.wire.sdk_internals.
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
    return "contract" if head in CONTRACT else head


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", sources(CORE), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_module_respects_layering(path):
    tops = imported_tops(path)
    assert not tops & FRAMEWORKS, f"{path.name} imports a framework"
    if not any(CORE / folder in path.parents for folder in SDK_FOLDERS):
        assert not tops & SDK, f"{path.name} imports the a2a-sdk outside server/, client/ and wire/"


def ruled_sources() -> list[Path]:
    return [p for p in sources(CORE) if module_name(p) and part_of(module_name(p)) in FOLDER_RULES]


@pytest.mark.parametrize("path", ruled_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_folder_imports_only_what_it_may(path):
    part = part_of(module_name(path))
    eager, lazy = core_imports(path)
    allowed = FOLDER_RULES[part] | {"contract"}
    wrong = sorted(m for m in eager | lazy if part_of(m) not in allowed)
    assert not wrong, f"{part} may not import {', '.join(wrong)} (allowed: {sorted(allowed)})"


def test_the_rules_name_every_folder():
    folders = {part_of(module_name(p)) for p in sources(CORE) if module_name(p)}
    assert folders - set(FOLDER_RULES) == {"adapter_api", "cli", "testing"}


@pytest.mark.parametrize("folder", sorted({p.parent for p in sources(CORE)}), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_folder_is_a_crowd(folder):
    modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MOST_MODULES, f"{folder.relative_to(ROOT)} holds {len(modules)} modules"


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
    [p for folder in sorted(SDK_FOLDERS) for p in sources(CORE / folder) if p.name != "sdk_internals.py"],
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


def test_no_private_sdk_attribute_is_touched_outside_sdk_internals():
    """A ``._name`` in server/, client/ or wire/ must be one of the bridge's own names, never the SDK's."""
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
    for path in [p for folder in sorted(SDK_FOLDERS) for p in sources(CORE / folder)]:
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


def import_graph() -> dict[str, set[str]]:
    """Each core module and the core modules it names in an import, at module level or inside a function."""
    graph: dict[str, set[str]] = {}
    for path in sources(CORE):
        _, lazy = core_imports(path)
        _, eager = module_level_imports(path)  # an import only for type checking runs no code
        graph[module_name(path) or "__init__"] = {m for m in eager | lazy if is_module(f"a2a_bridge.{m}")}
    return graph


def test_no_module_imports_itself_back():
    graph = import_graph()
    circles = set()
    for start in graph:
        # Depth-first from each module: a path that comes back to it is a circle.
        stack = [(start, (start,))]
        while stack:
            module, path = stack.pop()
            for imported in graph.get(module, ()):
                if imported == start:
                    circles.add(" -> ".join(sorted(path)))
                elif imported not in path and len(path) < 8:
                    stack.append((imported, (*path, imported)))
    assert not circles, "import circles: " + "; ".join(sorted(circles))


def module_level_imports(path: Path) -> tuple[set[str], set[str]]:
    """The top-level packages and the core modules ``path`` imports as it loads (not in functions or TYPE_CHECKING)."""
    tops: set[str] = set()
    core: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    tops.add(alias.name.split(".")[0])
                    if alias.name.startswith("a2a_bridge."):
                        core.add(alias.name.removeprefix("a2a_bridge."))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops.add(node.module.split(".")[0])
                if node.module.startswith("a2a_bridge"):
                    subs = [f"{node.module}.{a.name}" for a in node.names if is_module(f"{node.module}.{a.name}")]
                    core.update(s.removeprefix("a2a_bridge.") for s in subs or [node.module] if "." in s)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return tops, core


def source_of(module: str) -> Path:
    path = CORE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_what_import_a2a_bridge_loads_never_imports_the_sdk():
    """``server/`` and ``client/`` hold the SDK-free entry points the public surface names; they stay SDK-free."""
    seen: dict[str, str] = {}
    todo = [("__init__", "a2a_bridge")]
    while todo:
        module, via = todo.pop()
        if module in seen:
            continue
        seen[module] = via
        path = CORE / "__init__.py" if module == "__init__" else source_of(module)
        tops, core = module_level_imports(path)
        assert not tops & SDK, f"import a2a_bridge loads {module} (through {via}), which imports the a2a-sdk"
        for imported in core:
            parts = imported.split(".")
            # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
            todo.extend((".".join(parts[:i]), module) for i in range(1, len(parts) + 1))
    assert "server.publish" in seen
    assert "client.remote_agent" in seen
