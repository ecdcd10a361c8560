"""docs/architecture.md stays true: every file and name it points to exists, and it shows every folder."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
REFERENCE = re.compile(r"`(a2a_bridge/[\w/]+\.py)(?::([\w.]+))?`")
REFERENCES = sorted(set(REFERENCE.findall(DOC)))


def defined_names(path: Path) -> set[str]:
    """``name`` and ``Class.attribute`` for everything a module defines at its top or in its classes."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(f"{node.name}.{item.name}")
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def test_the_document_points_at_code():
    assert len(REFERENCES) > 30


@pytest.mark.parametrize(("path", "name"), REFERENCES, ids=[f"{p}:{n}" for p, n in REFERENCES])
def test_every_reference_exists(path, name):
    file = ROOT / path
    assert file.is_file(), f"{path} does not exist"
    if name:
        assert name in defined_names(file), f"{path} defines no {name}"


def tree_folders() -> set[str]:
    """The folders the tree under ``## Folders`` draws below ``a2a_bridge/``, as paths."""
    block = DOC.split("## Folders", 1)[1].split("```", 2)[1]
    folders: set[str] = set()
    parents: list[str] = []
    for line in block.splitlines():
        drawn = re.match(r"^((?:│   |    )*)[├└]── (\w+)/", line)
        if drawn is None:
            continue
        depth = len(drawn.group(1)) // 4
        parents[depth:] = [drawn.group(2)]
        folders.add("/".join(parents))
    return folders


def test_the_tree_shows_every_folder_of_the_core_and_no_other():
    core = ROOT / "a2a_bridge"
    folders = {str(p.parent.relative_to(core)) for p in core.rglob("__init__.py")} - {"."}
    assert tree_folders() == folders
