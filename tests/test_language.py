"""Another language through the real path: espeak-ng speaks Russian (Cyrillic) and Spanish, real Whisper base
prepares them, `tortoise-studio tokenizer train` and `config --set tokenizer=NAME` run as the user runs them,
the tiny models train a few steps, and the fine-tune speaks with its own tokenizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from tortoise_studio.dataset import PrepareOptions, prepare_dataset
from tortoise_studio.errors import UserError
from tortoise_studio.results import save_speech
from tortoise_studio.synth import GenerationSettings, Synthesizer
from tortoise_studio.text import UNK, load_tokenizer, read_record
from tortoise_studio.train.recipe import Trainer

# Two files each: Whisper is the slow part on two shared CPU cores.
SENTENCES = {
    "ru": ["Кошка спит на тёплом окне.", "Завтра мы поедем в город."],
    "es": ["El gato duerme en la ventana.", "Mañana vamos a la ciudad."],
}
QUICK = GenerationSettings.from_preset("ultra_fast", candidates=1, diffusion_iterations=2, max_mel_tokens=10)


@pytest.fixture(scope="module")
def whisper(whisper_base):
    """Real Whisper base, loaded once for the module."""
    from tortoise_studio.transcribe import load_transcriber
    return load_transcriber("faster-whisper", str(whisper_base), device="cpu")


def _cli(workspace, *args) -> str:
    done = subprocess.run([sys.executable, "-m", "tortoise_studio.cli", "--workspace", str(workspace.root), *args],
                          capture_output=True, text=True, env={**os.environ, "TORTOISE_STUDIO_HOME": str(workspace.root)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _speak(workspace, voice: str, language: str, sentences: list[str] | None = None) -> None:
    folder = workspace.voice_dir(voice)
    folder.mkdir(parents=True)
    for i, sentence in enumerate(sentences or SENTENCES[language]):
        subprocess.run(["espeak-ng", "-v", language, "-w", str(folder / f"s{i}.wav"), sentence], check=True,
                       capture_output=True)


@pytest.mark.slow
@pytest.mark.parametrize("language", ["ru", "es"])
def test_prepare_tokenizer_train_and_generate_in_another_language(workspace, whisper_base, whisper, tiny_models,
                                                                  language):
    torch.set_num_threads(1)
    voice = f"{language}-voice"
    _speak(workspace, voice, language)
    # The language is given: Whisper base hears espeak-ng's Spanish as Thai and its Russian as Hungarian.
    report = prepare_dataset(workspace, voice, PrepareOptions(model=str(whisper_base), language=language,
                                                              validation_fraction=0.01), transcriber=whisper)
    dataset_dir = workspace.dataset_dir(voice)
    assert report.language == language
    assert json.loads((dataset_dir / "dataset.json").read_text())["language"] == language
    transcripts = [line.split("|", 1)[1] for name in ("train.txt", "validation.txt")
                   for line in (dataset_dir / name).read_text(encoding="utf-8").splitlines()]
    if language == "ru":  # Whisper's Cyrillic reaches the dataset untransliterated
        assert all(any("а" <= c <= "я" for c in t.lower()) for t in transcripts), transcripts

    out = _cli(workspace, "tokenizer", "train", voice, "--name", language, "--vocab-size", "120")
    assert out.strip().splitlines()[-1] == str(workspace.models / "tokenizers" / f"{language}.json")
    shown = _cli(workspace, "tokenizer", "show", language, transcripts[0])
    assert "pieces:" in shown and "[SPACE]" in shown

    config = _cli(workspace, "config", voice, "--run", "r1", "--set", f"tokenizer={language}",
                  "--set", f"model.models_dir={tiny_models}", "--set", "device=cpu", "--set", "batch_size=1",
                  "--set", "epochs=2", "--set", "text_lr_weight=1", "--set", "learning_rate=0.001",
                  "--set", "validation.enabled=false").strip().splitlines()[-1]

    trainer = Trainer(config)
    seen = []
    forward = trainer._forward

    def record_targets(batch):  # the text exactly as it reaches UnifiedVoice's loss
        seen.extend(row[:n].tolist() for row, n in zip(batch.text, batch.text_lengths))
        return forward(batch)

    trainer._forward = record_targets
    try:
        trainer.setup()
        assert trainer.train() == "done"
    finally:
        trainer.cleanup()
    tokenizer = load_tokenizer(workspace, language)
    assert tokenizer.language == report.language and tokenizer.normalise.name == f"unicode:{report.language}"
    trained = {line.split("|", 1)[1] for line in (dataset_dir / "train.txt").read_text(encoding="utf-8").splitlines()}
    assert seen and all(UNK not in ids for ids in seen)
    assert {tuple(ids) for ids in seen} == {tuple(tokenizer.encode(t)) for t in trained}
    finetune = workspace.finetunes / f"{voice}-r1.pth"
    assert read_record(finetune) == tokenizer.record
    assert read_record(next((trainer.run_dir / "checkpoints").glob("*/model.pth"))) == tokenizer.record

    synth = Synthesizer(workspace, device="cpu")
    spoken = sorted(trained)[0]  # text the tokenizer covers: it learnt its symbols from these transcripts
    speech = synth.generate(text=spoken, voice=voice, models_dir=tiny_models,
                            autoregressive=finetune, settings=QUICK)
    sidecar = json.loads(save_speech(workspace, speech).with_suffix(".json").read_text())
    assert sidecar["tokenizer"]["name"] == language and sidecar["tokenizer"]["sha256"] == tokenizer.sha256
    with pytest.raises(UserError, match=f"tokenizer 'english' and model .*{voice}-r1.pth do not belong together"):
        synth.generate(text="Hello.", voice=voice, models_dir=tiny_models, autoregressive=finetune, settings=QUICK,
                       tokenizer="english")


@pytest.mark.slow
def test_prepare_keeps_the_language_whisper_detected(workspace, whisper_base, whisper):
    _speak(workspace, "en-voice", "en", sentences=["The birch canoe slid on the smooth planks."])
    report = prepare_dataset(workspace, "en-voice", PrepareOptions(model=str(whisper_base)), transcriber=whisper)
    stored = json.loads((workspace.dataset_dir("en-voice") / "dataset.json").read_text())
    assert (report.language, stored["language"], stored["languages"]) == ("en", "en", {"en": 1})


def test_trainer_skips_a_line_with_symbols_the_tokenizer_lacks_and_names_them(workspace, tortoise_voices, tiny_models):
    from train_helpers import make_dataset, make_run, rows
    from tortoise_studio.text import train_tokenizer
    from tortoise_studio.train import run

    torch.set_num_threads(1)
    folder = make_dataset(workspace, tortoise_voices)  # its ten sentences have every letter but q
    train_tokenizer(workspace, "ds", name="no-q", language="en", vocab_size=120)
    with open(folder / "train.txt", "a") as lists:
        lists.write("audio/clip_0000.wav|A quiet queen.\n")
    config = make_run(workspace, tiny_models, epochs=1, tokenizer="no-q", text_lr_weight=1.0)

    assert run(config) == 0
    skipped, = rows(config.parent, event="skipped")
    assert skipped["where"] == "train.txt:9"
    assert "'A quiet queen.'" in skipped["reason"] and "lacks: q" in skipped["reason"]
    assert "skipped train.txt:9" in (config.parent / "train.log").read_text()
    assert [r["step"] for r in rows(config.parent, "train")] == [1, 2]  # the 8 other clips train
