"""Checkpoint evaluation end to end on the tiny models: the evaluator process beside a real run, killing
it, and `evaluate` on a run made without evaluation. Real Whisper base, real speaker encoder, real clips."""

from __future__ import annotations

import json
import signal

import pytest

from tortoise_studio.cli import main as cli_main
from tortoise_studio.runs.evaluator import evaluation_status, evaluator_info
from tortoise_studio.evaluate.store import read_samples
from tortoise_studio.runs.launch import run_status, start_run
from tortoise_studio.metrics.reader import MetricsReader
from tortoise_studio.runs import process
from tests.test_launch import make_dataset, tiny_config, wait_for, write_run

SENTENCES = ["Good morning."]


def eval_config(workspace, tortoise_voices, tiny_models, whisper_base, *, enabled: bool = True, epochs: int = 2):
    make_dataset(workspace, tortoise_voices, n_train=4, n_val=2)
    evaluation = {"enabled": enabled, "sentences": SENTENCES, "whisper_model": str(whisper_base), "device": "cpu",
                  "preset": "ultra_fast"}
    return tiny_config("ds", tiny_models, epochs=epochs, save_every_epochs=1, evaluation=evaluation)


def scores_by_step(run_dir) -> dict[int, dict]:
    reader = MetricsReader(run_dir)
    reader.refresh()
    return {int(r["step"]): r for r in reader.eval.to_dict(orient="records")}


@pytest.mark.slow
def test_a_run_with_evaluation_scores_the_base_and_every_checkpoint(workspace, tortoise_voices, tiny_models,
                                                                   whisper_base):
    cfg = eval_config(workspace, tortoise_voices, tiny_models, whisper_base)
    config_path = write_run(workspace, "ds", "r1", cfg)
    run_dir = config_path.parent
    start_run(config_path)
    assert evaluator_info(run_dir) is not None
    wait_for(lambda: run_status(run_dir).state == "done", 120, "the run to finish")
    info = evaluator_info(run_dir)
    wait_for(lambda: not info.alive(), 240, "the evaluator to finish after the run")
    scores = scores_by_step(run_dir)
    assert sorted(scores) == [0, 1, 2], (run_dir / "evaluate.log").read_text()[-3000:]
    for step, row in scores.items():
        assert 0.0 <= row["cer"] <= 1.0 and -1.0 <= row["similarity"] <= 1.0 and row["sentences"] == 1
        samples = read_samples(run_dir, step)
        assert [s.text for s in samples] == SENTENCES
        assert all(s.wav.stat().st_size > 1000 for s in samples)
        record = json.loads((run_dir / "samples" / str(step) / "scores.json").read_text())
        assert record["cer"] == row["cer"] and len(record["samples"]) == 1
        assert record["samples"][0]["language"] == "en"  # heard as the English its tokenizer speaks
    status = evaluation_status(run_dir)
    assert status.evaluated == [0, 1, 2] and status.best in (1, 2) and not status.running


@pytest.mark.slow
def test_killing_the_evaluator_does_not_stop_the_trainer(workspace, tortoise_voices, tiny_models, whisper_base):
    cfg = eval_config(workspace, tortoise_voices, tiny_models, whisper_base, epochs=6)
    config_path = write_run(workspace, "ds", "r2", cfg)
    run_dir = config_path.parent
    start_run(config_path)
    info = evaluator_info(run_dir)
    assert info.alive()
    process.signal_group(info.pgid, signal.SIGKILL)
    wait_for(lambda: not info.alive(), 10, "the evaluator to die")
    wait_for(lambda: run_status(run_dir).state != "running", 180, "the run to end")
    status = run_status(run_dir)
    assert status.state == "done" and status.step == 6


@pytest.mark.slow
def test_evaluate_scores_a_run_made_without_evaluation(evaluated_run, capsys):
    """The shared run (tests/conftest.py: trained without evaluation, its train.yaml stripped of the
    evaluation section as an old one has none, then `evaluate --checkpoint all`) is scored at every step."""
    root = evaluated_run.parents[3]
    assert not (evaluated_run / "evaluate.pid").exists()  # and none left behind by `evaluate`
    assert "evaluation" not in (evaluated_run / "train.yaml").read_text()
    assert "best checkpoint: step" in (root.parent / "evaluate.out").read_text()
    assert sorted(scores_by_step(evaluated_run)) == [0, 1, 2]
    code = cli_main(["--workspace", str(root), "metrics", str(evaluated_run), "--csv"])
    csv = capsys.readouterr().out
    assert code == 0 and "eval,0," in csv and "cer" in csv.splitlines()[0]
    assert cli_main(["--workspace", str(root), "status", str(evaluated_run)]) == 0
    assert "evaluator: not running; scored steps 0, 1, 2; best checkpoint: step" in capsys.readouterr().out


@pytest.mark.slow
def test_an_evaluator_failure_is_shown_with_what_to_do_and_training_goes_on(workspace, tortoise_voices, tiny_models,
                                                                           tmp_path):
    cfg = eval_config(workspace, tortoise_voices, tiny_models, tmp_path / "no-whisper-here")
    config_path = write_run(workspace, "ds", "r3", cfg)
    run_dir = config_path.parent
    start_run(config_path)
    info = evaluator_info(run_dir)
    wait_for(lambda: not info.alive(), 120, "the evaluator to give up")
    wait_for(lambda: run_status(run_dir).state == "done", 120, "the run to finish")
    status = evaluation_status(run_dir)
    assert "evaluation.whisper_model" in status.last_error and "Settings" in status.last_error
    assert status.evaluated == [] and not status.running


@pytest.mark.slow
def test_a_broken_checkpoint_is_an_event_and_the_next_one_is_still_scored(workspace, tortoise_voices, tiny_models,
                                                                         whisper_base):
    from tortoise_studio.evaluate.evaluator import Evaluator
    cfg = eval_config(workspace, tortoise_voices, tiny_models, whisper_base, enabled=False)
    run_dir = write_run(workspace, "ds", "broken", cfg).parent
    folder = run_dir / "checkpoints" / "3"
    folder.mkdir(parents=True)
    (folder / "model.pth").write_bytes(b"not weights")  # e.g. a disk that filled up during a copy
    (folder / "state.pth").write_bytes(b"")
    (folder / "meta.json").write_text(json.dumps({"step": 3, "epoch": 3.0}))
    evaluator = Evaluator(run_dir, echo=lambda line: None)
    assert evaluator.run("3") == 1
    message = evaluation_status(run_dir).last_error
    assert "the checkpoint at step 3 could not be scored" in message and "--checkpoint 3" in message
    assert evaluator.pending(final=True) == [0]  # not retried; the base (never scored here) still is due
