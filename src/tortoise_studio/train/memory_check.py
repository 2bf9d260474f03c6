"""What a training configuration really takes: the real trainer for a few steps, measured beside its estimate.

    MALLOC_MMAP_THRESHOLD_=65536 python -m tortoise_studio.train.memory_check CONFIG [CONFIG ...] [--steps N] [--set K=V]

For each configuration (a run's train.yaml; nothing is trained beyond the steps asked, no checkpoint is
written) it prints one line `RESULT {json}`: the measured peak memory (memory.PeakMeter, from before the
trainer's setup to the last step), memory.estimate_for_config's estimate and its parts, samples/s and
seconds per step after the first step, the model FLOPs per second, and the losses (all finite, or it
fails). The first configuration is run once unmeasured first, so the measured runs start in a process
that has loaded its libraries and filled the dataset's feature cache. bench/gpu_check.py runs it on a
GPU; tests/test_memory.py checks the estimate with it on the CPU.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path


def check(config_path: str | Path, *, steps: int = 3, overrides: list[str] = ()) -> dict:
    """Run `steps` optimizer steps of the real trainer and return the figures (see the module docstring)."""
    import torch
    from .. import config as configuration
    from ..config import memory
    from ..models.flops import FlopCounter
    from ..models.files import model_sizes
    from .data import CROP_FRAMES
    from .recipe import Trainer
    kind = "cuda" if torch.cuda.is_available() else "cpu"
    meter = memory.PeakMeter(kind)
    meter.start()
    trainer = Trainer(config_path, resume="none", overrides=list(overrides))
    try:
        trainer.setup()
        cfg = trainer.cfg
        if trainer.device.type != kind:
            raise RuntimeError(f"{config_path}: device {trainer.device} is not the {kind} device this check measures")
        sizes = model_sizes(trainer.models_dir)["autoregressive"]
        counter = FlopCounter(trainer.model, sizes, CROP_FRAMES)
        times, losses = [], []
        for _ in range(steps):
            started = time.perf_counter()
            step_losses, _, _ = trainer.next_step()
            if kind == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
            losses.append(step_losses["loss_gpt_total"])
        counter.remove()
        peak = meter.peak()
        device = memory.device_memory(kind)
        estimate = memory.estimate_for_config(cfg, trainer.workspace, device)
    finally:
        trainer.cleanup()
    timed = times[1:] or times  # the first step allocates the optimizer state and warms kernels up
    sec_per_step = sum(timed) / len(timed)
    return {
        "config": str(config_path), "device": kind, "precision": cfg.precision, "optimizer": cfg.optimizer.type,
        "attention": cfg.model.attention, "gradient_checkpointing": cfg.model.gradient_checkpointing,
        "batch_size": cfg.batch_size, "micro_batch": configuration.micro_batch_size(cfg), "steps": steps,
        "sec_per_step": sec_per_step, "samples_per_s": cfg.batch_size / sec_per_step,
        "flops_per_step": counter.total / steps, "flops_per_s": counter.total / steps / sec_per_step,
        "peak_bytes": int(peak), "estimate_bytes": estimate.total if estimate else None,
        "estimate_parts": estimate.parts() if estimate else None, "losses": losses,
        "loss_finite": all(math.isfinite(x) for x in losses), "device_memory": device.total,
        "device_name": device.name,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tortoise_studio.train.memory_check", description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", metavar="CONFIG")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    check(args.configs[0], steps=1, overrides=args.overrides)  # warm-up, unmeasured
    gc.collect()
    for config in args.configs:
        print("RESULT " + json.dumps(check(config, steps=args.steps, overrides=args.overrides)), flush=True)
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
