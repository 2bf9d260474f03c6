"""Seconds one demo generation takes: the demo set up as `--demo` does, Generate's demo defaults, on CPU.

    .venv/bin/python bench/demo_generate.py [--threads N] [--repeats N]

The Generate tab warms up in the background as the page opens (imports; synth.warm_up), so that is done first
and timed apart. Then the first generation, as a new user's first click (models loaded, voice latents
computed), and repeats (warm). Prints the figures and writes bench/results/demo_generate.json. Target: the
first click under 30 s on 2 CPU cores. Wall seconds depend on what else the machine runs (the load average
is recorded); CPU seconds do not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from tortoise_studio.demo import DEMO_VOICE, set_up_demo
from tortoise_studio.settings import load_settings
from tortoise_studio.generate.synthesizer import Synthesizer, demo_settings, warm_up
from tortoise_studio.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

TEXT = "Hello, this is my new voice speaking."
TARGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = demo_settings()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.at(tmp).ensure()
        set_up_demo(workspace)
        models_dir = load_settings(workspace).models_path(workspace)
        synth = Synthesizer(workspace, device="cpu")
        started, cpu = time.perf_counter(), time.process_time()
        warm_up()
        warm_up_seconds = {"seconds": round(time.perf_counter() - started, 2),
                           "cpu_seconds": round(time.process_time() - cpu, 2)}
        print(f"warm-up (while the page is open): {warm_up_seconds}", flush=True)
        runs = []
        for _ in range(1 + args.repeats):
            stages = StageClock()
            started, cpu = time.perf_counter(), time.process_time()
            speech = synth.generate(text=TEXT, voice=DEMO_VOICE, models_dir=models_dir, settings=settings,
                                    on_progress=stages)
            runs.append({"seconds": round(time.perf_counter() - started, 2),
                         "cpu_seconds": round(time.process_time() - cpu, 2), "stages": stages.done()})
            print(f"{runs[-1]['seconds']:6.2f} s ({runs[-1]['cpu_seconds']:.1f} s of CPU) for "
                  f"{speech.duration:.2f} s of audio; stages {runs[-1]['stages']}", flush=True)
    first, warm = runs[0]["seconds"], [r["seconds"] for r in runs[1:]]
    write_result("demo_generate", {
        "model_set": "tiny (demo)", "device": "cpu", "threads": args.threads, "text": TEXT,
        "settings": asdict(settings), "audio_seconds": round(speech.duration, 3),
        "warm_up": warm_up_seconds, "first_click_seconds": first,
        "warm_seconds": statistics.median(warm) if warm else None,
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine slows every figure
        "target_seconds": TARGET_SECONDS, "under_target": first < TARGET_SECONDS, "runs": runs,
        "torch": torch.__version__})


class StageClock:
    """Seconds (wall, and CPU of all threads) spent in each stage of a generation, from its progress reports.
    CPU seconds do not depend on what else the machine runs; wall seconds do."""

    def __init__(self):
        self.stages: dict[str, dict] = {}
        self._stage, self._since = "start", (time.perf_counter(), time.process_time())

    def __call__(self, progress) -> None:
        if progress.stage != self._stage:
            self._switch(progress.stage)

    def _switch(self, stage: str) -> None:
        now = (time.perf_counter(), time.process_time())
        spent = self.stages.setdefault(self._stage, {"seconds": 0.0, "cpu_seconds": 0.0})
        spent["seconds"] = round(spent["seconds"] + now[0] - self._since[0], 2)
        spent["cpu_seconds"] = round(spent["cpu_seconds"] + now[1] - self._since[1], 2)
        self._stage, self._since = stage, now

    def done(self) -> dict[str, dict]:
        self._switch("end")
        self.stages.pop("start", None)
        return self.stages


if __name__ == "__main__":
    main()
