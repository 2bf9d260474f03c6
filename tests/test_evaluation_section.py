"""The Run section's checkpoint-score handlers on a run folder as the evaluator leaves it."""

from __future__ import annotations

import numpy as np

from tortoise_studio.dataset.audio import write_wav
from tortoise_studio.evaluate.store import append_row, samples_dir, write_scores
from tortoise_studio.metrics.reader import MetricsReader
from tortoise_studio.ui import evaluation_section as section


def scored_run(workspace):
    run_dir = workspace.run_dir("ds", "r")
    run_dir.mkdir(parents=True)
    (run_dir / "train.yaml").write_text("dataset: ds\n")
    for step, cer, similarity in ((0, 0.6, 0.70), (5, 0.2, 0.80), (10, 0.1, 0.79)):
        folder = samples_dir(run_dir, step)
        folder.mkdir(parents=True)
        write_wav(folder / "0.wav", np.zeros(2400, dtype=np.float32), 24000)
        write_scores(folder, {"step": step, "samples": [{"file": "0.wav", "text": "Good morning.",
                                                        "transcript": f"good morning {step}", "cer": cer,
                                                        "similarity": similarity}]})
        append_row(run_dir, {"kind": "eval", "step": step, "epoch": step / 5, "cer": cer, "similarity": similarity})
    reader = MetricsReader(run_dir)
    reader.refresh()
    return run_dir, reader.eval


def test_choices_plot_and_best_come_from_the_eval_rows(workspace):
    run_dir, scores = scored_run(workspace)
    choices = section.checkpoint_choices(scores)
    assert [step for _, step in choices] == [10, 5]  # latest first, the base is not a checkpoint
    assert choices[0][0].startswith("★ step 10") and "(best)" in choices[0][0]
    frame = section.scores_frame(scores)
    assert sorted(set(frame["series"])) == sorted(section.SERIES.values()) and len(frame) == 6
    best = section.best_markdown(scores)
    assert "Best checkpoint: step 10" in best and "base model: CER 0.600" in best


def test_sample_slots_pair_each_checkpoint_sample_with_the_base_models(workspace):
    run_dir, _ = scored_run(workspace)
    values = section.sample_slots(str(run_dir), 5)
    assert values[0] == str(samples_dir(run_dir, 5) / "0.wav") and "heard: *good morning 5*" in values[1]
    assert values[2] == str(samples_dir(run_dir, 0) / "0.wav") and values[3].startswith("**base model, sentence 1**")
    assert values[4:] == [None, ""] * (2 * section.PLAYERS - 2)  # one sentence: the other slots are empty


def test_the_section_opens_for_a_run_with_scores_or_scoring_and_stays_as_left_otherwise(workspace):
    """Closed, the section's players and plot are not mounted by the page; a run to show opens it."""
    from tortoise_studio.ui.app import build_app
    from tortoise_studio.ui.context import AppContext
    app = build_app(AppContext(workspace))
    show = next(f for f in app.fns.values() if any(getattr(o, "elem_id", None) == "eval-section" for o in f.outputs))
    opened = lambda run_dir: show.fn(str(run_dir), None)[-1]  # noqa: E731 - the section's update, last
    scored, _ = scored_run(workspace)  # scores on disk
    unscored = workspace.run_dir("ds", "plain")
    unscored.mkdir(parents=True)
    (unscored / "train.yaml").write_text("dataset: ds\nevaluation:\n  enabled: false\n")
    scoring = workspace.run_dir("ds", "scoring")  # no scores yet, but its checkpoints will be scored
    scoring.mkdir(parents=True)
    (scoring / "train.yaml").write_text("dataset: ds\n")
    assert opened(scored).get("open") is True and opened(scoring).get("open") is True
    assert "open" not in opened(unscored) and "open" not in opened(None)
