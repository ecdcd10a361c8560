"""The architecture rules of docs/architecture.md, checked on the source.

- The core never imports a framework.
- Only ``server/``, ``client/`` and ``wire/`` import the a2a-sdk (and protobuf, gRPC), and only
  ``wire/sdk_internals.py`` takes names the SDK does not export or touches its private attributes.
- Each folder imports only the folders below it (``FOLDER_RULES``), at module level, inside a
  function or by name: ``server/`` and ``client/`` never import each other; the contract,
  ``backends/`` and ``observability/`` never reach the SDK.
- No folder holds more than ``MOST_MODULES`` modules directly, and no module imports itself back.
- Adapters talk to the core through ``a2a_bridge`` and ``a2a_bridge.adapter_api``,
  in its own types: they never import the SDK.
- Importing the core does not import the SDK or any framework.
"""

from __future__ import annotations

import ast
import functools
import graphlib
import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import a2a_bridge

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "a2a_bridge"
FRAMEWORKS = {"langgraph", "langchain", "langchain_core", "langchain_openai", "crewai"}
SDK = {"a2a", "google", "grpc"}
SDK_FOLDERS = {"server", "client", "wire"}
CONTRACT = {"runner", "profile", "errors", "plugins", "task_states"}
# What each part of the core may import from the core, at module level or inside a function
# (the contract modules always).
FOLDER_RULES: dict[str, set[str]] = {
    "contract": set(),
    "adapter_api": {"client"},
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
# Classes in the signatures of the SDK's exported API whose modules have no ``__all__``:
# the request context a handler is given, and the caller in it (tests/test_sdk_contract.py).
SDK_NAMES_WITHOUT_ALL = {
    ("a2a.server.context", "ServerCallContext"),
    ("a2a.auth.user", "User"),
    ("a2a.auth.user", "UnauthenticatedUser"),
}
CORE_MODULE_NAME = re.compile(r"a2a_bridge(\.\w+)+")


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def imported_tops(path: Path) -> set[str]:
    tops: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def named_modules(node: ast.AST) -> list[str]:
    """The core modules an import statement, or a string such as ``import_module``'s argument, names."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
            if is_module(f"{node.module}.{alias.name}"):
                names.append(f"{node.module}.{alias.name}")
            elif node.module == "a2a_bridge" and hasattr(a2a_bridge, alias.name):
                # A public name: the module that defines it is what the import really reaches.
                names.append(getattr(a2a_bridge, alias.name).__module__)
            else:
                names.append(node.module)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and CORE_MODULE_NAME.fullmatch(node.value):
        names = [node.value] if is_module(node.value) else []
    return [name.removeprefix("a2a_bridge.") for name in names if name.startswith("a2a_bridge.")]


def logger_names(tree: ast.Module) -> set[int]:
    """The string nodes that name a logger: ``getLogger("a2a_bridge.server")`` imports nothing."""
    return {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger" and node.args
    }


def core_imports(path: Path) -> tuple[set[str], set[str]]:
    """The core modules ``path`` imports outside functions, and those it imports inside them."""
    tree = parsed(path)
    eager: set[str] = set()
    lazy: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(node) for function in functions for node in ast.walk(function)}
    loggers = logger_names(tree)
    for node in ast.walk(tree):
        if id(node) in loggers:
            continue
        for name in named_modules(node):
            (lazy if id(node) in inside else eager).add(name)
    return eager, lazy


def module_level_imports(path: Path) -> tuple[set[str], set[str]]:
    """The top-level packages and the core modules ``path`` imports as it loads (not in functions or TYPE_CHECKING)."""
    tops: set[str] = set()
    core: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                tops.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops.add(node.module.split(".")[0])
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                core.update(named_modules(node))
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, (ast.With, ast.ClassDef)):
                visit(node.body)

    visit(parsed(path).body)
    return tops, core


def part_of(module: str) -> str:
    """The part of the core a dotted module name (below ``a2a_bridge``) belongs to."""
    head = module.split(".")[0]
    return "contract" if head in CONTRACT else head


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def in_sdk_folders(path: Path) -> bool:
    return any(CORE / folder in path.parents for folder in SDK_FOLDERS)


@pytest.mark.parametrize("path", sources(CORE), ids=shown)
def test_core_module_respects_layering(path):
    tops = imported_tops(path)
    assert not tops & FRAMEWORKS, f"{shown(path)} imports a framework"
    if not in_sdk_folders(path):
        assert not tops & SDK, f"{shown(path)} imports the a2a-sdk outside server/, client/ and wire/"


def ruled_sources() -> list[Path]:
    return [p for p in sources(CORE) if module_name(p) and part_of(module_name(p)) in FOLDER_RULES]


@pytest.mark.parametrize("path", ruled_sources(), ids=shown)
def test_each_folder_imports_only_what_it_may(path):
    part = part_of(module_name(path))
    eager, lazy = core_imports(path)
    allowed = FOLDER_RULES[part] | {"contract"}
    wrong = sorted(m for m in eager | lazy if part_of(m) not in allowed)
    assert not wrong, f"{shown(path)}: {part} may not import {', '.join(wrong)} (allowed: {sorted(allowed)})"


def test_the_rules_name_every_folder():
    folders = {part_of(module_name(p)) for p in sources(CORE) if module_name(p)}
    assert folders - set(FOLDER_RULES) == {"cli", "testing"}


@pytest.mark.parametrize("folder", sorted({p.parent for p in sources(CORE)}), ids=shown)
def test_no_folder_is_a_crowd(folder):
    modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MOST_MODULES, f"{shown(folder)} holds {len(modules)} modules"


@pytest.mark.parametrize(
    "path", [p for p in sources(CORE) if in_sdk_folders(p) and p.name != "sdk_internals.py"], ids=shown
)
def test_only_sdk_internals_takes_names_the_sdk_does_not_export(path):
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            sdk = [alias.name for alias in node.names if alias.name.split(".")[0] in SDK - {"grpc"}]
            assert not sdk, f"{shown(path)}: import {', '.join(sdk)}: import exported names with from-imports"
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SDK):
            continue
        for alias in node.names:
            name = alias.name
            assert not name.startswith("_"), f"{shown(path)}: {node.module}.{name} is private"
            if node.module.split(".")[0] != "a2a":
                continue
            exported = getattr(importlib.import_module(node.module), "__all__", None)
            if exported is None:
                assert (node.module, name) in SDK_NAMES_WITHOUT_ALL, (
                    f"{shown(path)}: {node.module} exports nothing; take {name} through sdk_internals"
                )
            else:
                assert name in exported, f"{shown(path)}: {node.module}.{name} is not exported; use sdk_internals"


@functools.cache
def sdk_private_names() -> frozenset[str]:
    """Every ``_name`` the a2a-sdk defines or assigns: its private methods and attributes."""
    spec = importlib.util.find_spec("a2a")
    assert spec is not None
    assert spec.submodule_search_locations
    names: set[str] = set()
    for folder in spec.submodule_search_locations:
        for path in Path(folder).rglob("*.py"):
            for node in ast.walk(parsed(path)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    names.add(node.attr)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.add(node.target.id)
    return frozenset(n for n in names if n.startswith("_") and not n.startswith("__"))


def own_names() -> set[str]:
    own: set[str] = set()
    for path in sources(CORE):
        for node in ast.walk(parsed(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                own.add(node.target.id)
    return own


def test_no_private_sdk_attribute_is_touched_outside_sdk_internals():
    """A ``._name`` the SDK defines is touched only in sdk_internals (unless the bridge's own too, on ``self``)."""
    sdk, own = sdk_private_names(), own_names()
    strangers = set()
    for path in [p for p in sources(CORE) if in_sdk_folders(p) and p.name != "sdk_internals.py"]:
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Attribute) and node.attr in sdk:
                on_self = isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}
                if node.attr not in own or not on_self:
                    strangers.add(f"{shown(path)}:{node.lineno}: .{node.attr}")
            by_name = isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"getattr", "hasattr", "setattr"}
            if by_name and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                name = node.args[1].value
                if isinstance(name, str) and (name in sdk or (name.startswith("_") and name not in own)):
                    strangers.add(f"{shown(path)}:{node.lineno}: {node.func.id}(..., {name!r})")
    assert not strangers, "private SDK names outside wire/sdk_internals.py:\n" + "\n".join(sorted(strangers))


@pytest.mark.parametrize("path", sources(ROOT / "adapters"), ids=shown)
def test_adapters_never_import_the_sdk(path):
    assert not imported_tops(path) & SDK


@pytest.mark.parametrize("path", sources(ROOT / "adapters"), ids=shown)
def test_adapters_import_the_core_only_through_its_adapter_interface(path):
    from_core = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "a2a_bridge":
            from_core.add(node.module)
        elif isinstance(node, ast.Import):
            from_core.update(alias.name for alias in node.names if alias.name.split(".")[0] == "a2a_bridge")
    assert from_core <= {"a2a_bridge", "a2a_bridge.adapter_api"}, f"{shown(path)} imports {sorted(from_core)}"


def test_importing_the_core_loads_no_sdk_and_no_framework():
    loaded = sorted(SDK | FRAMEWORKS)
    code = (
        "import sys, a2a_bridge; "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {loaded!r}); "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_no_top_level_adapters_package():
    assert not (ROOT / "adapters" / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """Each core module and the core modules it imports as it loads or inside a function."""
    graph: dict[str, set[str]] = {}
    for path in sources(CORE):
        _, lazy = core_imports(path)
        _, eager = module_level_imports(path)  # an import only for type checking runs no code
        graph[module_name(path) or "__init__"] = {m for m in eager | lazy if is_module(f"a2a_bridge.{m}")}
    return graph


def test_no_module_imports_itself_back():
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as circle:
        pytest.fail("an import circle: " + " -> ".join(circle.args[1]))


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
