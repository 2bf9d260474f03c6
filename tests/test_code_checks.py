"""The code's own hygiene, checked with every run: no unused or redefined import and no undefined name
(ruff's pyflakes rules F401, F811, F821) in the package, the tests, the benchmarks and app.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_no_unused_import_and_no_undefined_name():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "F401,F811,F821",
                           "src", "tests", "bench", "app.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
