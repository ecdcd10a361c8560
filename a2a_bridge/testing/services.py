"""Real Postgres and Redis for tests and benchmarks: temporary data, a free loopback port, stopped afterwards.

``scripts/install-services.sh`` (run by ``make test``) installs them. Postgres
refuses to run as root, so as root its commands run as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from a2a_bridge.testing.ports import free_port


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("Postgres is not installed: run scripts/install-services.sh (make test does)")
    return found[-1]


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Postgres:
    port: int
    data: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        subprocess.run(
            _as_postgres([_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name]),
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def restart(self) -> None:
        """Restart the server as an operator's ``pg_ctl restart`` does: every open connection is cut."""
        self._ctl("-m", "fast", "-w", "restart")

    def stop(self) -> None:
        """Stop the server, cutting every connection; :meth:`start` brings it back on the same port."""
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        self._ctl("-o", _postgres_options(self.port, self.data.parent), "-w", "start")

    def _ctl(self, *args: str) -> None:
        command = [_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent / "log"), *args]
        subprocess.run(_as_postgres(command), check=True, capture_output=True)


def _postgres_options(port: int, root: Path) -> str:
    return f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"


@contextmanager
def postgres() -> Iterator[Postgres]:
    root = Path(tempfile.mkdtemp(prefix="a2a-bridge-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres([_postgres_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    server = Postgres(port, data)
    server.start()
    try:
        yield server
    finally:
        ctl = _postgres_bin("pg_ctl")
        subprocess.run(_as_postgres([ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Redis:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def redis(*, port: int | None = None) -> Iterator[Redis]:
    """A Redis on ``port`` (a free one by default), with no persistence: a restart starts it empty."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("Redis is not installed: run scripts/install-services.sh (make test does)")
    root = Path(tempfile.mkdtemp(prefix="a2a-bridge-redis-"))
    port = port or free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while (
            subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip()
            != "PONG"
        ):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield Redis(port)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
