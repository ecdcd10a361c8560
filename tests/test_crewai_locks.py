"""CrewAI's named locks in a served process: one holder at a time, in and across processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

from a2a_bridge_crewai.locks import queued_lock

# Plain CrewAI, with its default file lock, in another process.
OTHER_PROCESS = """
import sys
from crewai_core.lock_store import lock
from portalocker.exceptions import LockException
try:
    with lock(sys.argv[1], timeout=0.5):
        print("acquired")
except LockException:
    print("busy")
"""


def test_threads_of_one_process_hold_a_lock_one_at_a_time():
    name = f"test:{uuid.uuid4()}"
    holders, most = 0, 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal holders, most
        for _ in range(5):
            with queued_lock(name):
                with guard:
                    holders += 1
                    most = max(most, holders)
                time.sleep(0.002)
                with guard:
                    holders -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert most == 1
    assert holders == 0


def _other_process_tries(name: str) -> str:
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, name], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def test_plain_crewai_in_another_process_is_kept_out_while_held():
    name = f"sqlite:/tmp/test-{uuid.uuid4()}.db"

    with queued_lock(name):
        while_held = _other_process_tries(name)
    after = _other_process_tries(name)

    assert while_held == "busy"
    assert after == "acquired"
