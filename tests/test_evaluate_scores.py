"""The evaluation's scorers on real speech (espeak-ng, tortoise's shipped voices, real Whisper base and the
real speaker encoder), and the rules built on their scores: best checkpoint, warning, eval rows."""

from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pytest

from tortoise_studio.dataset.audio import load_audio
from tortoise_studio.config import TrainingConfig, validate_config, config_from_dict
from tortoise_studio.errors import UserError
from tortoise_studio.evaluate.best import export_checkpoint, link_weights, release_weights
from tortoise_studio.metrics.series import best_step, candidate_steps, eval_warning
from tortoise_studio.evaluate.cer import CerScorer, character_error_rate, normalize_text
from tortoise_studio.evaluate.similarity import VoiceSimilarity
from tortoise_studio.evaluate.store import append_row, eval_event
from tortoise_studio.metrics.reader import MetricsReader
from tortoise_studio.metrics.writer import MetricsWriter

SENTENCES = ["The weather is lovely today, so we will walk to the river.",
             "Please bring three apples and a loaf of bread.",
             "My phone number changed last week."]


# ---- intelligibility ------------------------------------------------------------------------------

def test_character_error_rate_counts_edits_per_reference_character():
    assert normalize_text("Hello, World!  It's me.") == "hello world it s me"
    assert character_error_rate("Hello world.", "hello world") == 0.0
    assert character_error_rate("abcd", "abxd") == 0.25
    assert character_error_rate("abcd", "") == 1.0
    assert character_error_rate("ab", "a long babble of words") == 1.0  # capped


@pytest.mark.slow
def test_cer_of_espeak_sentences_is_low_against_their_text_and_high_against_others(whisper_base, tmp_path):
    scorer = CerScorer.load("faster-whisper", str(whisper_base), device="cpu", language="en")
    heard = []
    for i, sentence in enumerate(SENTENCES):
        path = tmp_path / f"{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), sentence], check=True, capture_output=True)
        audio = load_audio(path, None)
        heard.append(scorer.transcribe(audio, 22050))
    own = [character_error_rate(text, transcript) for text, transcript in zip(SENTENCES, heard)]
    shuffled = [character_error_rate(text, transcript) for text, transcript in zip(SENTENCES[1:] + SENTENCES[:1], heard)]
    assert max(own) < 0.15, list(zip(SENTENCES, heard, own))
    assert min(shuffled) > 0.5, shuffled


def test_a_missing_whisper_model_says_what_to_do(tmp_path):
    with pytest.raises(UserError, match=r"evaluation\.whisper_model: .*no such file.*Settings"):
        CerScorer.load("faster-whisper", str(tmp_path / "nowhere" / "model"), device="cpu")


# ---- voice similarity ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_similarity_ranks_the_same_speaker_above_different_speakers(tortoise_voices):
    encoder = VoiceSimilarity("cpu")
    voices = ["train_dotrice", "tom", "emma"]
    clips = {v: sorted((tortoise_voices / v).glob("*.wav")) for v in voices}
    for voice in voices:
        reference = encoder.reference(clips[voice][1:3])  # the held-out first clip is the "sample"
        own = encoder.score(load_audio(clips[voice][0], None), 22050, reference)
        others = [encoder.score(load_audio(clips[o][0], None), 22050, reference) for o in voices if o != voice]
        assert own > max(others) + 0.1, (voice, own, others)
        assert own > 0.75


# ---- the best checkpoint and the warning -------------------------------------------------------------

def frame(rows):
    return pd.DataFrame([{"step": s, "cer": c, "similarity": v} for s, c, v in rows])


def test_best_is_the_lowest_cer_within_the_similarity_band():
    scores = frame([(0, 0.05, 0.60), (10, 0.30, 0.80), (20, 0.10, 0.79), (30, 0.05, 0.70), (40, 0.20, 0.81)])
    # band: similarity >= 0.81 - 0.02 -> steps 10, 20, 40; lowest CER there is step 20 (step 30's is lower but
    # its voice is far off; the base model, step 0, is never a candidate)
    assert best_step(scores) == 20
    assert best_step(frame([(0, 0.1, 0.5)])) is None
    # a step scored again counts with its latest scores
    assert best_step(pd.concat([scores, frame([(20, 0.9, 0.79)])])) == 40
    # 10 is beaten on both scores by 40 (and 20 on CER) so can never be best again; 20, 30, 40 can
    assert candidate_steps(scores) == {20, 30, 40}


def test_the_warning_names_the_best_step_when_later_checkpoints_get_worse():
    assert eval_warning(frame([(0, 0.5, 0.6), (10, 0.1, 0.8), (20, 0.12, 0.8)])) is None
    warning = eval_warning(frame([(0, 0.5, 0.6), (10, 0.1, 0.8), (20, 0.2, 0.8), (30, 0.3, 0.8)]))
    assert "step 10" in warning and "0.30 at step 30" in warning


def test_kept_weights_outlive_pruning_until_they_cannot_be_best_and_export_copies_them(workspace):
    run_dir = workspace.run_dir("ds", "r")
    for step in (10, 20):
        folder = run_dir / "checkpoints" / str(step)
        folder.mkdir(parents=True)
        (folder / "model.pth").write_bytes(bytes([step]) * 100)
        link_weights(run_dir, step, folder / "model.pth")
        os.unlink(folder / "model.pth")  # keep_last pruned it
    exported = export_checkpoint(workspace, run_dir, 10)
    assert exported == workspace.finetunes / "ds-r-step10.pth" and exported.read_bytes() == bytes([10]) * 100
    again = export_checkpoint(workspace, run_dir, 10)  # an existing file is kept as a backup
    assert again.exists() and len(list(workspace.finetunes.glob("backups/*/ds-r-step10.pth"))) == 1
    assert release_weights(run_dir, frame([(10, 0.3, 0.7), (20, 0.1, 0.8)])) == [10]
    with pytest.raises(UserError, match="step 10: the checkpoint's weights are gone"):
        export_checkpoint(workspace, run_dir, 10)


# ---- eval rows beside the trainer's -------------------------------------------------------------------

def test_eval_rows_and_events_interleave_with_the_trainers_and_never_change_its_state(tmp_path):
    writer = MetricsWriter(tmp_path / "metrics.jsonl")
    writer.event("start", step=0, steps_total=4)
    append_row(tmp_path, {"kind": "eval", "step": 0, "epoch": 0.0, "cer": 0.4, "similarity": 0.7})
    for step in (1, 2):
        writer.train(step=step, epoch=step / 2, samples=step, losses={"loss_mel_ce": 3.0}, lr=1e-5,
                     grad_norm=1.0, sec_per_step=0.1)
        eval_event(tmp_path, "error", step=step, message="out of memory")
    writer.event("checkpoint", step=2)
    append_row(tmp_path, {"kind": "eval", "step": 2, "epoch": 1.0, "cer": 0.2, "similarity": 0.8})
    reader = MetricsReader(tmp_path)
    reader.refresh()
    assert reader.eval["step"].tolist() == [0, 2] and reader.eval["cer"].tolist() == [0.4, 0.2]
    assert reader.train["step"].tolist() == [1, 2]
    assert [e["event"] for e in reader.events] == ["start", "checkpoint"]
    assert [e["event"] for e in reader.eval_events] == ["eval_error", "eval_error"]
    assert reader.progress().last_event == "checkpoint"
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines) and len(lines) == 8
    writer.close()


def test_evaluation_settings_are_validated_by_name(workspace):
    cfg = config_from_dict({"dataset": "ds", "evaluation": {"every_epochs": 0, "preset": "slow", "device": "gpu",
                                                            "sentences": ["  "], "seed": -1}})
    problems = {p.field: p.message for p in validate_config(cfg, workspace) if p.field.startswith("evaluation.")}
    assert set(problems) == {"evaluation.every_epochs", "evaluation.preset", "evaluation.device",
                             "evaluation.sentences", "evaluation.seed"}
    assert problems["evaluation.device"].startswith("evaluation.device: 'gpu' is not one of")
    assert TrainingConfig(dataset="ds").evaluation.preset == "ultra_fast"
