"""A virtual environment with CrewAI's own A2A client, apart from the project's.

``crewai[a2a]`` pins a2a-sdk 0.3, which cannot be installed beside the 1.x the
bridge uses. The environment is made once, under
``~/.cache/a2a-bridge/crewai-a2a-client``, and reused while its requirement stays
the same (about a minute the first time, from PyPI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

REQUIREMENT = "crewai[a2a]==1.15.30"
HOME = Path(os.path.expanduser("~/.cache/a2a-bridge/crewai-a2a-client"))
SCRIPT = Path(__file__).with_name("delegate.py")


def client_python() -> Path:
    """The Python of the environment, made first if it is missing or holds another requirement."""
    python = HOME / "venv" / "bin" / "python"
    stamp = HOME / "installed.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == REQUIREMENT:
        return python
    HOME.mkdir(parents=True, exist_ok=True)
    print(f"\ninstalling {REQUIREMENT} into {HOME / 'venv'} (once, about a minute) ...", file=sys.stderr, flush=True)
    venv.create(HOME / "venv", with_pip=True, clear=True)
    log = HOME / "install.log"
    with log.open("w") as out:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", REQUIREMENT],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1200,
        )
    if done.returncode != 0:
        raise RuntimeError(f"installing {REQUIREMENT} failed; see {log}")
    stamp.write_text(REQUIREMENT)
    return python
