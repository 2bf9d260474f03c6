"""bench/gpu_check.py on a machine without CUDA: the same steps at tiny size on the CPU, and its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the check runs at full size (minutes)")
def test_gpu_check_runs_at_tiny_size_on_the_cpu_and_writes_every_figure(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), "--steps", "2", "--clips", "6",
                          "--max-mel-tokens", "8", "--results", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads((tmp_path / "gpu_check.json").read_text())
    assert figures["device"]["kind"] == "cpu" and figures["device"]["memory_bytes"] > 0
    assert figures["size"] == "tiny" and figures["ok"] is True
    runs = {(r["precision"], r["optimizer"]): r for r in figures["runs"]}
    assert set(runs) == {(p, o) for p in ("fp32", "fp16", "bf16") for o in ("adamw", "adamw8bit")}
    for key in (("fp32", "adamw"), ("bf16", "adamw")):
        run = runs[key]
        assert run["samples_per_s"] > 0 and run["loss_finite"] is True and len(run["losses"]) == 2
        assert run["peak_bytes"] > 0 and run["estimate_bytes"] > 0
        assert abs(run["estimate_bytes"] / run["peak_bytes"] - 1) <= 0.25, run
        assert "mfu" not in run  # against a GPU's matmul rate only
    assert runs[("fp16", "adamw")]["skipped"].startswith("fp16 needs a CUDA device")
    assert "needs a CUDA device" in runs[("fp32", "adamw8bit")]["skipped"]
    generated = [g for g in figures["generation"] if "skipped" not in g]
    assert {(g["preset"], g["kv_cache"]) for g in generated} == {(p, k) for p in ("ultra_fast", "fast")
                                                                  for k in (True, False)}
    assert all(g["seconds_per_audio_second"] > 0 and g["audio_seconds"] > 0 for g in generated)
    assert all(g["skipped"] == "half precision generation needs a CUDA device"
               for g in figures["generation"] if g["half"])
    assert "skipped" in figures["data_path"]
