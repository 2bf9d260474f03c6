"""Reading the predecessor's logs: real lines from ai-voice-cloning / DL-Art-School users (tests/data/dlas_logs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tortoise_studio.dlas_logs import parse_lines, read_log, read_log_folder
from tortoise_studio.metrics_reader import read_metrics

DATA = Path(__file__).parent / "data" / "dlas_logs"


def bracket_line(epoch: int, step: int, lrs: list[float], logs: dict) -> str:
    """A line exactly as the original DL-Art-School trainer formats it (train.py's logging code)."""
    message = "[epoch:{:3d}, iter:{:8,d}, lr:(".format(epoch, step)
    for v in lrs:
        message += "{:.3e},".format(v)
    message += ")] "
    for k, v in logs.items():
        message += "{:s}: {:.4e} ".format(k, v)
    return message


def test_training_metrics_json_line_from_mrq_fork():
    train, val, events = read_log(DATA / "mrq_aivc_commit7f2da0f_training_metrics_line.log")
    assert len(train) == 1 and val.empty and events == []
    row = train.iloc[0]
    # DLAS `it` is the optimizer step; epoch 1 (0-based) at step 1 of 1 per epoch = 2.0 epochs done
    assert row["step"] == 2
    assert row["epoch"] == 2.0
    assert row["loss_text_ce"] == pytest.approx(4.308311939239502)
    assert row["loss_mel_ce"] == pytest.approx(2.1610655784606934)
    assert row["loss_gpt_total"] == pytest.approx(2.204148769378662)
    assert row["lr"] == pytest.approx(1e-4)
    assert row["sec_per_step"] == pytest.approx(0.10700102965037028)


def test_pretty_printed_metrics_body():
    train, _, _ = read_log(DATA / "aws-samples_finetune-tts_README_metrics.log")
    assert train[["step", "epoch", "loss_mel_ce", "lr"]].to_dict("records") == [
        {"step": 10, "epoch": 5.0, "loss_mel_ce": pytest.approx(2.767702102661133), "lr": pytest.approx(5e-6)}]


def test_aivc_prefix_validation_kept_apart_and_events():
    lines = [
        "[Training] [2024-05-08T15:40:58.305542] 24-05-08 15:40:58.304 - INFO: Total epochs needed: 10 for iters 80",
        "[Training] [2024-05-08T15:41:06.457873] 24-05-08 15:41:06.451 - INFO: Start training from epoch: 0, iter: 0",
        '2024-05-08 15:41:10 | INFO | httpx | HTTP Request: POST http://127.0.0.1:7860/api/predict "HTTP/1.1 200 OK"',
        '[Training] [2024-05-08T15:41:20.000001] 24-05-08 15:41:20.000 - INFO: Training Metrics: {"loss_text_ce": 4.5, '
        '"loss_mel_ce": 3.5, "loss_gpt_total": 3.545, "lr": 1e-05, "it": 8, "step": 8, "steps": 8, "epoch": 0, '
        '"iteration_rate": 1.25}',
        '[Training] [2024-05-08T15:41:21.000001] 24-05-08 15:41:21.000 - INFO: Validation Metrics: {"loss_text_ce": 4.7, '
        '"loss_mel_ce": 3.9, "loss_gpt_total": 3.947, "it": 8, "epoch": 0}',
        '[Training] [2024-05-08T15:41:30.000001] 24-05-08 15:41:30.000 - INFO: Training Metrics: {"loss_text_ce": 4.4, '
        '"loss_mel_ce": 3.1, "loss_gpt_total": 3.144, "lr": 1e-05, "it": 12, "step": 4, "steps": 8, "epoch": 1, '
        '"iteration_rate": 1.5}',
    ]
    rows = parse_lines(lines)
    train = [r for r in rows if r["kind"] == "train"]
    val = [r for r in rows if r["kind"] == "val"]
    events = [r for r in rows if r["kind"] == "event"]
    assert [(r["step"], r["epoch"], r["loss_mel_ce"], r["sec_per_step"]) for r in train] == [
        (8, 1.0, 3.5, 1.25), (12, 1.5, 3.1, 1.5)]
    assert train[0]["time"] == "2024-05-08T15:41:20.000001"
    # validation is its own kind, at the training step it followed, and does not count as a step
    assert [(r["step"], r["loss_mel_ce"]) for r in val] == [(8, 3.9)]
    assert events == [{"kind": "event", "event": "start", "step": 0, "epoch": 0, "steps_total": 80,
                       "time": "2024-05-08T15:41:06.457873"}]


def test_original_dlas_bracket_lines():
    logs = {"step": 1234, "samples": 4936, "megasamples": 0.004936, "iteration_rate": 0.8,
            "loss_text_ce": 4.25, "loss_mel_ce": 2.125, "loss_gpt_total": 2.1675}
    lines = [
        "23-12-19 16:40:00.000 - INFO: " + bracket_line(3, 1234, [1e-5, 1e-5], logs),
        "[Training] [2023-12-19T16:41:00.000000] 23-12-19 16:41:00.000 - INFO: "
        + bracket_line(3, 1240, [5e-6], {**logs, "loss_mel_ce": 2.0}),
    ]
    rows = parse_lines(lines)
    assert [(r["kind"], r["step"], r["epoch"]) for r in rows] == [("train", 1234, 3.0), ("train", 1240, 3.0)]
    first = rows[0]
    assert first["loss_mel_ce"] == pytest.approx(2.125)
    assert first["loss_text_ce"] == pytest.approx(4.25)
    assert first["lr"] == pytest.approx(1e-5)
    assert first["samples"] == 4936
    assert first["sec_per_step"] == pytest.approx(0.8)
    assert "megasamples" not in first
    assert rows[1]["lr"] == pytest.approx(5e-6) and rows[1]["loss_mel_ce"] == pytest.approx(2.0)


def test_config_dumps_and_tracebacks_pass_without_failing():
    train, val, events = read_log(DATA / "jarodmica_aivc_issue60_TheZoroark007.log")
    assert train.empty and val.empty
    assert [(e["event"], e["message"]) for e in events] == [("error", "IndexError: list index out of range")]
    train, val, events = read_log(DATA / "jarodmica_aivc_issue68_Ramdasta.log")
    assert train.empty and val.empty and events == []
    _, _, events = read_log(DATA / "jarodmica_aivc_issue101_ttjensen.log")
    assert [(e["event"], e["step"], e["steps_total"]) for e in events] == [("start", 0, 80)]


def test_folder_of_logs_in_order_deduplicated_by_step(tmp_path):
    def metrics_line(it: int, mel: float) -> str:
        return (f'[Training] [2024-01-01T00:00:{it:02d}] INFO: Training Metrics: {{"loss_text_ce": 4.0, '
                f'"loss_mel_ce": {mel}, "loss_gpt_total": {mel + 0.04}, "lr": 1e-05, "it": {it}, "step": {it}, '
                f'"steps": 100, "epoch": 0, "iteration_rate": 1.0}}')
    folder = tmp_path / "logs"
    folder.mkdir()
    # the first log ran to step 5; the second resumed from step 3 and replaced steps 4 and 5
    (folder / "train_240101-000000.log").write_text("\n".join(metrics_line(i, 3.0) for i in range(1, 6)) + "\n")
    (folder / "train_240101-010000.log").write_text("\n".join(metrics_line(i, 2.0) for i in range(4, 8)) + "\n")
    shutil.copy(DATA / "jarodmica_aivc_issue68_Ramdasta.log", folder / "console.log")  # no metrics: adds nothing
    train, val, _ = read_log_folder(folder)
    assert train["step"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert train["loss_mel_ce"].tolist() == [3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0]
    # read_metrics dispatches a folder without metrics.jsonl to the log reader
    assert read_metrics(folder)[0]["step"].tolist() == [1, 2, 3, 4, 5, 6, 7]
