"""MetricsReader: follows a real metrics.jsonl written by MetricsWriter, parsing only what was appended."""

from __future__ import annotations

import json
import os

import pytest

from tortoise_studio.errors import UserError
from tortoise_studio.metrics import MetricsWriter
from tortoise_studio.metrics_reader import MetricsReader, Progress, read_metrics


def write_steps(writer: MetricsWriter, steps, *, sec: float = 0.5, batch: int = 4, mel=lambda s: 3.0 - s * 0.01):
    for s in steps:
        writer.train(step=s, epoch=s / 10, samples=s * batch, lr=1e-5, grad_norm=1.0, sec_per_step=sec,
                     losses={"loss_text_ce": 4.0, "loss_mel_ce": mel(s), "loss_gpt_total": 0.04 + mel(s)})


@pytest.fixture
def run(tmp_path):
    run_dir = tmp_path / "run"
    with MetricsWriter(run_dir / "metrics.jsonl") as writer:
        yield run_dir, writer


def test_refresh_parses_only_appended_rows(run):
    run_dir, writer = run
    writer.event("start", step=0, steps_total=100)
    write_steps(writer, range(1, 6))
    reader = MetricsReader(run_dir)
    assert reader.refresh() == 6
    assert reader.refresh() == 0
    write_steps(writer, range(6, 9))
    writer.val(step=8, epoch=0.8, losses={"loss_text_ce": 4.1, "loss_mel_ce": 3.2, "loss_gpt_total": 3.24})
    assert reader.refresh() == 4
    assert reader.rows_parsed == 10  # the first six rows were not parsed a second time
    assert reader.train["step"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert reader.train["loss_mel_ce"].iloc[-1] == pytest.approx(2.92)
    # validation rows are their own table and never add training steps
    assert reader.val["step"].tolist() == [8]
    assert reader.val["loss_mel_ce"].tolist() == [3.2]
    assert [e["event"] for e in reader.events] == ["start"]


def test_half_written_line_waits_for_its_newline(run):
    run_dir, writer = run
    write_steps(writer, [1])
    path = run_dir / "metrics.jsonl"
    row = json.dumps({"kind": "train", "step": 2, "epoch": 0.2, "loss_mel_ce": 2.5})
    with open(path, "a") as f:
        f.write(row[:17])  # a writer caught mid-line
    reader = MetricsReader(path)
    assert reader.refresh() == 1
    assert reader.train["step"].tolist() == [1]
    with open(path, "a") as f:
        f.write(row[17:] + "\n")
    assert reader.refresh() == 1
    assert reader.train["step"].tolist() == [1, 2]
    assert reader.train["loss_mel_ce"].iloc[-1] == 2.5


def test_replaced_or_truncated_file_is_read_again(run):
    run_dir, writer = run
    write_steps(writer, range(1, 21))
    reader = MetricsReader(run_dir)
    assert reader.refresh() == 20
    path = run_dir / "metrics.jsonl"
    # a new run in the same folder: the file is replaced by a shorter one
    replacement = run_dir / "new.jsonl"
    with MetricsWriter(replacement) as other:
        other.event("start", step=0, steps_total=50)
        write_steps(other, [1, 2], mel=lambda s: 9.0)
    os.replace(replacement, path)
    assert reader.refresh() == 3
    assert reader.train["step"].tolist() == [1, 2]
    assert reader.train["loss_mel_ce"].tolist() == [9.0, 9.0]
    # truncated in place and rewritten longer than before: the first bytes differ, so it starts over
    with open(path, "w") as f:
        for s in range(1, 31):
            f.write(json.dumps({"kind": "train", "step": s, "epoch": 0.0, "loss_mel_ce": 1.0 * s}) + "\n")
    assert reader.refresh() == 30
    assert reader.train["loss_mel_ce"].tolist() == [float(s) for s in range(1, 31)]


def test_resume_replaces_the_abandoned_steps(run):
    run_dir, writer = run
    writer.event("start", step=0, steps_total=30)
    write_steps(writer, range(1, 16), mel=lambda s: 5.0)
    writer.event("checkpoint", step=10, path="checkpoints/10")
    writer.event("error", step=15, message="CUDA out of memory")
    reader = MetricsReader(run_dir)
    reader.refresh()
    assert reader.progress().error == "CUDA out of memory"
    writer.event("resume", step=10, steps_total=30)
    write_steps(writer, range(11, 13), mel=lambda s: 1.0)
    reader.refresh()
    train = reader.train
    assert train["step"].tolist() == list(range(1, 13))
    assert train["loss_mel_ce"].tolist() == [5.0] * 10 + [1.0, 1.0]
    progress = reader.progress()
    assert progress.error is None  # the error belonged to the attempt before the resume
    assert progress.last_event == "resume"
    assert progress.last_checkpoint_step == 10


def test_progress_eta_and_speed_on_a_synthetic_run(run):
    run_dir, writer = run
    writer.event("start", step=0, steps_total=1000)
    write_steps(writer, range(1, 101), sec=2.0, batch=8)
    writer.event("checkpoint", step=100)
    reader = MetricsReader(run_dir)
    reader.refresh()
    progress = reader.progress()
    assert progress == Progress(step=100, steps_total=1000, epoch=10.0, sec_per_step=2.0, samples_per_sec=4.0,
                                eta_seconds=900 * 2.0, last_event="checkpoint", last_checkpoint_step=100,
                                error=None, stalled=False)
    # speed is a recent average: after the run gets faster the ETA follows
    write_steps(writer, range(101, 201), sec=1.0, batch=8)
    reader.refresh()
    assert reader.progress().sec_per_step == pytest.approx(1.0)
    assert reader.progress().eta_seconds == pytest.approx(800.0)


def test_stalled_until_training_moves_on(run):
    run_dir, writer = run
    writer.event("start", step=0, steps_total=10)
    write_steps(writer, [1, 2])
    writer.event("stalled", step=2, seconds=600)
    reader = MetricsReader(run_dir)
    reader.refresh()
    assert reader.progress().stalled
    write_steps(writer, [3])
    reader.refresh()
    assert not reader.progress().stalled


def test_broken_lines_are_skipped_not_fatal(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "train", "step": 1, "epoch": 0.1, "loss_mel_ce": 2.0}\n'
                    '{"kind": "train", "st\n'
                    '\n'
                    '{"kind": "train", "step": 2, "epoch": 0.2, "loss_mel_ce": 1.5}\n')
    reader = MetricsReader(path)
    assert reader.refresh() == 2
    assert reader.bad_lines == 1
    assert reader.train["loss_mel_ce"].tolist() == [2.0, 1.5]


def test_missing_file_reads_as_empty_until_it_appears(tmp_path):
    reader = MetricsReader(tmp_path / "run")
    assert reader.refresh() == 0
    assert reader.train.empty and reader.val.empty
    assert reader.progress() == Progress()


def test_read_metrics_of_a_run_folder_and_a_missing_path(run, tmp_path):
    run_dir, writer = run
    write_steps(writer, [1, 2, 3])
    train, val, events = read_metrics(run_dir)
    assert train["step"].tolist() == [1, 2, 3] and val.empty and events == []
    with pytest.raises(UserError, match="no such file"):
        read_metrics(tmp_path / "nowhere")
