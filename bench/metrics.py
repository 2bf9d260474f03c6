"""Benchmark: reading a 1,000,000-row metrics.jsonl, then an incremental refresh after 100 new rows.

Targets (issue 7): full read under 3 s, incremental refresh under 20 ms.
Run: .venv/bin/python bench/metrics.py   (writes bench/results/metrics.json)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROWS = 1_000_000
NEW_ROWS = 100
VAL_EVERY = 1000
RESULTS = Path(__file__).parent / "results" / "metrics.json"


def row(step: int) -> str:
    return json.dumps({"kind": "train", "step": step, "epoch": step / 500, "samples": step * 8,
                       "loss_text_ce": 4.0 - step * 1e-6, "loss_mel_ce": 3.0 - step * 1e-6,
                       "loss_gpt_total": 3.04 - step * 1e-6, "lr": 1e-5, "grad_norm": 1.25,
                       "sec_per_step": 0.5, "time": "2025-01-01T00:00:00.000+00:00"})


def val_row(step: int) -> str:
    return json.dumps({"kind": "val", "step": step, "epoch": step / 500, "loss_text_ce": 4.1,
                       "loss_mel_ce": 3.1, "loss_gpt_total": 3.141, "time": "2025-01-01T00:00:00.000+00:00"})


def write_rows(path: Path, start: int, count: int) -> None:
    with open(path, "a") as f:
        for step in range(start, start + count):
            f.write(row(step) + "\n")
            if step % VAL_EVERY == 0:
                f.write(val_row(step) + "\n")


def main() -> dict:
    from tortoise_studio.metrics_reader import MetricsReader
    from tortoise_studio.metrics_series import downsample
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.jsonl"
        path.write_text(json.dumps({"kind": "event", "event": "start", "step": 0, "steps_total": 2 * ROWS}) + "\n")
        write_rows(path, 1, ROWS)
        size_mb = path.stat().st_size / 1e6

        reader = MetricsReader(path)
        c0, t0 = time.process_time(), time.perf_counter()
        parsed = reader.refresh()
        c1, t1 = time.process_time(), time.perf_counter()
        train = reader.train
        t2 = time.perf_counter()
        assert len(train) == ROWS, len(train)

        write_rows(path, ROWS + 1, NEW_ROWS)
        c3, t3 = time.process_time(), time.perf_counter()
        new = reader.refresh()
        c4, t4 = time.process_time(), time.perf_counter()
        train = reader.train
        progress = reader.progress()
        t5 = time.perf_counter()
        small = downsample(train, columns=["loss_text_ce", "loss_mel_ce"], max_points=2000)
        t6 = time.perf_counter()
        assert new == NEW_ROWS and len(train) == ROWS + NEW_ROWS and progress.step == ROWS + NEW_ROWS

    results = {
        "rows": ROWS, "file_mb": round(size_mb, 1), "rows_parsed": parsed,
        # wall time depends on what else runs on the machine; CPU time of this process much less so
        "load_average_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count(),
        "full_read_s": round(t1 - t0, 3), "full_read_cpu_s": round(c1 - c0, 3), "full_read_with_dataframe_s": round(t2 - t0, 3),
        "full_read_target_s": 3.0,
        "incremental_rows": NEW_ROWS, "incremental_refresh_ms": round((t4 - t3) * 1000, 2),
        "incremental_refresh_cpu_ms": round((c4 - c3) * 1000, 2),
        "incremental_refresh_target_ms": 20.0,
        "dataframe_and_progress_after_refresh_ms": round((t5 - t4) * 1000, 2),
        "downsample_to_2000_ms": round((t6 - t5) * 1000, 2), "downsampled_points": len(small),
    }
    for key, value in results.items():
        print(f"{key:45s} {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
