"""Take the screenshot docs/observability.md shows: the demo's trace in Arize Phoenix's UI.

    .venv/bin/python scripts/screenshot_trace.py            # writes docs/images/demo-trace.png

Starts a Phoenix, runs the demo into it on the embedded vLLM, and photographs
the trace's page with headless Chromium (Debian: apt-get install chromium).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from a2a_bridge.testing.phoenix import phoenix  # noqa: E402

TRACE_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/projects/\S+/traces/[0-9a-f]{32})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "images" / "demo-trace.png")
    parser.add_argument("--size", default="1600,1000", help="the browser window, WIDTH,HEIGHT (default: %(default)s)")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("needs Chromium: apt-get install chromium", file=sys.stderr)
        return 2
    with phoenix() as collector:
        demo = subprocess.run(
            [sys.executable, "demos/mesh/run.py", "--phoenix", collector.url, "--ledger", "sqlite:////tmp/trace-demo.db"],
            cwd=ROOT, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        found = TRACE_LINK.search(demo.stdout)
        if demo.returncode != 0 or found is None:
            print(demo.stdout[-3000:], demo.stderr[-3000:], file=sys.stderr)
            return 1
        # The UI is a single-page app: give it virtual time to fetch the trace and draw its tree.
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={args.size}",
             "--virtual-time-budget=20000", f"--screenshot={args.output}", found.group(1)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    print(f"wrote {args.output}, from {found.group(1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
