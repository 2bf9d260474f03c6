"""Minutes the whole test suite takes here, as CI runs it (target: under 8), with what the machine's speed was.

The suite is bound by the CPU (two workers, each driving UI servers, browsers and trainers), so its time moves with
the machine's speed as much as with the tests: the same commit took 11 minutes on one day and 21 on another here.
The figures printed beside it, a fixed pure-Python loop and a cold `import gradio`, tell such days apart.
Extra arguments go to ./test.sh (for example `-k browser`).
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 8 * 60
LOOP = "s = 0\nfor i in range(10_000_000): s += i"
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed).*) in ([\d.]+)s")  # with -q, and without


def python_seconds(code: str) -> float:
    """Seconds `code` takes in a fresh interpreter of the project's environment (the best of three)."""
    timed = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    command = [str(REPO / ".venv" / "bin" / "python"), "-c", timed]
    runs = [float(subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[-1])
            for _ in range(3)]
    return round(min(runs), 2)


def machine_speed() -> dict:
    return {"python_loop_seconds": python_seconds(LOOP), "import_gradio_seconds": python_seconds("import gradio")}


def count(summary: str, word: str) -> int:
    found = re.search(rf"(\d+) {word}", summary)
    return int(found.group(1)) if found else 0


def main() -> None:
    subprocess.run([str(REPO / "test.sh"), "--collect-only", "-q", "-n", "0"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)  # sets up what is missing, outside the figure
    speed = machine_speed()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    finished = subprocess.run([str(REPO / "test.sh"), "-q", "-p", "no:cacheprovider", *sys.argv[1:]], cwd=REPO,
                              capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # of the processes waited for: a trainer started in a session of its own is reaped by init and not counted
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [SUMMARY.search(line) for line in finished.stdout.splitlines()]
    summary = next((m for m in reversed(lines) if m), None)
    if summary is None:
        sys.exit(f"./test.sh printed no summary (exit {finished.returncode}):\n{finished.stdout[-3000:]}"
                 f"{finished.stderr[-3000:]}")
    seconds = float(summary.group(2))
    write_result("test_suite", {
        "suite_seconds": round(seconds), "suite_minutes": round(seconds / 60, 1), "wall_seconds": round(wall),
        "cpu_seconds": round(cpu), "cores_busy": round(cpu / wall, 2),
        "passed": count(summary.group(1), "passed"), "failed": count(summary.group(1), "failed"),
        "target_seconds": TARGET_SECONDS, "meets_target": seconds < TARGET_SECONDS and finished.returncode == 0,
        **speed})


if __name__ == "__main__":
    main()
