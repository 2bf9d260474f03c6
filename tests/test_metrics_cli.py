"""`tortoise-studio metrics PATH`, run as a real subprocess."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from tortoise_studio.metrics.writer import MetricsWriter

DATA = Path(__file__).parent / "data" / "dlas_logs"


def metrics(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tortoise_studio", "metrics", *args],
                          capture_output=True, text=True, timeout=120)


def test_metrics_csv_of_a_run(tmp_path):
    run = tmp_path / "run"
    with MetricsWriter(run / "metrics.jsonl") as writer:
        writer.event("start", step=0, steps_total=4)
        for step in (1, 2):
            writer.train(step=step, epoch=step / 2, samples=step * 2, lr=1e-5, grad_norm=0.5, sec_per_step=0.1,
                         losses={"loss_text_ce": 4.0, "loss_mel_ce": 3.0 / step, "loss_gpt_total": 3.04})
        writer.val(step=2, epoch=1.0, losses={"loss_text_ce": 4.2, "loss_mel_ce": 2.5, "loss_gpt_total": 2.542})
    result = metrics(str(run), "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:3] == ["kind", "step", "epoch"]
    assert "time" not in rows[0] and "loss_mel_ce" in rows[0]
    assert [(r["kind"], r["step"], float(r["loss_mel_ce"])) for r in rows] == [
        ("train", "1", 3.0), ("train", "2", 1.5), ("val", "2", 2.5)]


def test_metrics_json_of_an_old_log():
    result = metrics(str(DATA / "mrq_aivc_commit7f2da0f_training_metrics_line.log"), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    assert rows[0]["kind"] == "train" and rows[0]["step"] == 2
    assert rows[0]["loss_mel_ce"] == 2.1610655784606934


def test_metrics_of_a_missing_path_exits_2(tmp_path):
    result = metrics(str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "missing" in result.stderr and "no such file" in result.stderr
