"""Seconds per optimizer step of a 2-process gloo run of the real trainer, for a given source tree.

The trainer now averages gradients with torch's DistributedDataParallel (all-reduce overlapped with the
backward pass); before, it summed them by hand after the whole backward pass. To measure both, run this
once against a checkout of the earlier code and once against this one, each under its own label:

    git worktree add /tmp/before <commit before DDP>
    .venv/bin/python bench/ddp_step.py --src /tmp/before/src --label before
    .venv/bin/python bench/ddp_step.py --label after

Both runs train the same mid-size model (6 layers x 512, full DVAE) on the same real clips, 2 processes
of one thread each, batch 4 (2 clips per process); the first step (warm-up) is left out of the median.
Results accumulate per label in bench/results/ddp_step.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_result  # noqa: E402
from train_throughput import make_dataset, make_models  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _config(root: Path, models: Path, steps: int) -> Path:
    import yaml
    run = root / "training" / "ds" / "runs" / "ddp"
    run.mkdir(parents=True)
    config = {"dataset": "ds", "model": {"models_dir": str(models), "dropout": 0.0}, "epochs": 100,
              "max_steps": steps, "batch_size": 4, "gpus": 2, "device": "cpu", "seed": 1,
              "save_every_epochs": 1000, "keep_last": 1, "validation": {"enabled": False}}
    (run / "train.yaml").write_text(yaml.safe_dump(config))
    return run / "train.yaml"


def measure(src: Path, size: str, steps: int, clips: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        make_models(root / "models", size)
        make_dataset(root / "training" / "ds", clips)
        (root / "training" / "ds" / "validation.txt").write_text("")
        config = _config(root, root / "models", steps)
        env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "TORTOISE_STUDIO_HOME": str(root)}
        argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "tortoise_studio.train", str(config), "--resume", "none"]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            raise SystemExit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        rows = [json.loads(line) for line in (config.parent / "metrics.jsonl").read_text().splitlines()]
        seconds = [r["sec_per_step"] for r in rows if r.get("kind") == "train"][1:]
    return {"size": size, "steps_timed": len(seconds), "median_sec_per_step": round(statistics.median(seconds), 4),
            "min_sec_per_step": round(min(seconds), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the src folder of the code to measure")
    parser.add_argument("--label", default="after")
    parser.add_argument("--size", choices=("tiny", "mid"), default="mid")
    parser.add_argument("--steps", type=int, default=9)
    parser.add_argument("--clips", type=int, default=40)
    args = parser.parse_args()
    previous = RESULTS / "ddp_step.json"
    labels = json.loads(previous.read_text()).get("labels", {}) if previous.is_file() else {}
    labels[args.label] = {"src": str(args.src), **measure(args.src.resolve(), args.size, args.steps, args.clips)}
    figures = {"labels": labels}
    if {"before", "after"} <= labels.keys():
        figures["speedup"] = round(labels["before"]["median_sec_per_step"] / labels["after"]["median_sec_per_step"], 3)
    write_result("ddp_step", figures)


if __name__ == "__main__":
    main()
