"""The official A2A TCK (a2aproject/a2a-tck, branch 1.0-dev), found, installed and run against a served agent.

``A2A_TCK_KIT`` names the kit: a folder holding ``a2a-tck-*.tar.gz`` (as
``.ci/run`` finds it, beside the project), or a checkout of the TCK itself.
Its own dependencies go into a virtual environment of their own, made once
from the kit's ``pyproject.toml`` (``~/.cache/a2a-bridge/a2a-tck-venv``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KIT_ENV", "WHERE_TO_GET_IT", "TckRun", "install", "kit_path", "run_tck", "unpack"]

KIT_ENV = "A2A_TCK_KIT"
WHERE_TO_GET_IT = (
    "the A2A TCK is not on PyPI: clone https://github.com/a2aproject/a2a-tck (branch 1.0-dev) "
    f"and point {KIT_ENV} at it, or at a folder holding its a2a-tck-1.0-dev.tar.gz"
)
VENV = Path.home() / ".cache" / "a2a-bridge" / "a2a-tck-venv"
RUN_SECONDS = 300


@dataclass
class TckRun:
    """What one TCK run found: pytest's counts and each requirement's status, by level."""

    passed: int
    failed: int
    skipped: int
    requirements: dict[str, dict[str, object]] = field(default_factory=dict)
    transports: dict[str, dict[str, int]] = field(default_factory=dict)
    output: str = ""

    def failing(self, level: str) -> dict[str, list[str]]:
        """The requirements of ``level`` that failed, each with its errors."""
        return {
            req_id: [str(e) for e in info.get("errors", [])]
            for req_id, info in self.requirements.items()
            if info.get("level") == level and info.get("status") == "FAIL"
        }


def kit_path() -> Path | None:
    """The kit ``A2A_TCK_KIT`` names, or None when it is not set."""
    value = os.environ.get(KIT_ENV, "").strip()
    return Path(value) if value else None


def unpack(kit: Path, into: Path) -> Path:
    """The TCK's sources under ``into``, from the tarball in ``kit`` or from a checkout."""
    if (kit / "run_tck.py").is_file():
        shutil.copytree(kit, into, ignore=shutil.ignore_patterns(".git", "reports", ".venv"))
        return into
    tarballs = sorted(kit.glob("a2a-tck-*.tar.gz"))
    if not tarballs:
        raise FileNotFoundError(f"{kit} holds neither run_tck.py nor a2a-tck-*.tar.gz: {WHERE_TO_GET_IT}")
    into.mkdir(parents=True)
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(into, filter="data")
    return into


def install(sources: Path) -> Path:
    """The TCK's own Python, with the dependencies its pyproject.toml lists."""
    python = VENV / "bin" / "python"
    requirements = tomllib.loads((sources / "pyproject.toml").read_text())["project"]["dependencies"]
    stamp = VENV / "requirements.json"
    if python.exists() and stamp.exists() and json.loads(stamp.read_text()) == requirements:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements], check=True
    )
    stamp.write_text(json.dumps(requirements))
    return python


def run_tck(sources: Path, url: str, *, level: str, transports: str) -> TckRun:
    """Run the TCK in ``sources`` against the agent at ``url``; its reports land in ``sources/reports``."""
    python = install(sources)
    command = [str(python), "run_tck.py", "--sut-host", url, "--level", level, "--transport", transports]
    done = subprocess.run(command, cwd=sources, capture_output=True, text=True, timeout=RUN_SECONDS)
    reports = sources / "reports"
    suite = ET.parse(reports / "junitreport.xml").getroot().find("testsuite")
    assert suite is not None, done.stdout[-2000:]
    compatibility = json.loads((reports / "compatibility.json").read_text())
    return TckRun(
        passed=int(suite.get("tests", 0)) - sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped")),
        failed=int(suite.get("failures", 0)) + int(suite.get("errors", 0)),
        skipped=int(suite.get("skipped", 0)),
        requirements=compatibility["per_requirement"],
        transports=compatibility["per_transport"],
        output=done.stdout[-4000:],
    )
