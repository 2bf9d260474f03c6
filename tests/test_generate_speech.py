"""Generation end to end on the tiny model set, with a real voice clip shipped in tortoise-tts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from tortoise_studio.models import ModelFileError
from tortoise_studio.generate.results import save_speech
from tortoise_studio.generate.synthesizer import STAGES, GenerationCancelled, GenerationSettings, Synthesizer

# About a second per generation on a busy CPU: 2 candidates, 3 diffusion steps, 10 codes (0.46 s of audio).
# The random tiny model never samples the stop code, so every sentence is max_mel_tokens codes long.
QUICK = GenerationSettings.from_preset("ultra_fast", candidates=2, diffusion_iterations=3, max_mel_tokens=10)
CODE_SECONDS = 1024 / 22050  # one autoregressive code covers 1024 samples at 22050 Hz


pytestmark = pytest.mark.usefixtures("one_torch_thread")




@pytest.fixture
def voice(workspace, tortoise_voices) -> str:
    folder = workspace.voice_dir("v")
    folder.mkdir()
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", folder / "1.wav")
    return "v"


@pytest.fixture
def synth(workspace) -> Synthesizer:
    return Synthesizer(workspace, device="cpu")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_generate_writes_24khz_wav_and_sidecar(workspace, synth, voice, tiny_models):
    speech = synth.generate(text="Hello there.", voice=voice, models_dir=tiny_models, settings=QUICK)
    path = save_speech(workspace, speech)
    assert path == workspace.results / "v" / "v_0001.wav"
    data, rate = soundfile.read(path)
    assert rate == 24000
    # 10 codes of 1024 samples at 22 kHz, turned into 24 kHz audio by the diffusion model and vocoder
    assert abs(len(data) / rate - 10 * CODE_SECONDS) < 0.02
    assert np.abs(data).max() > 0.01
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["text"] == "Hello there." and sidecar["voice"] == "v"
    assert sidecar["settings"]["seed"] == 0 and sidecar["settings"]["candidates"] == 2
    assert sidecar["settings"]["diffusion_iterations"] == 3 and sidecar["settings"]["preset"] == "ultra_fast"
    for kind, name in [("autoregressive", "autoregressive.pth"), ("diffusion", "diffusion_decoder.pth"),
                       ("clvp", "clvp2.pth"), ("vocoder", "vocoder.pth")]:
        assert sidecar["models"][kind] == {"path": str(tiny_models / name), "sha256": sha256(tiny_models / name)}


def test_same_seed_same_audio_other_seed_other_audio(synth, voice, tiny_models):
    first = synth.generate(text="Same words.", voice=voice, models_dir=tiny_models, settings=QUICK)
    again = synth.generate(text="Same words.", voice=voice, models_dir=tiny_models, settings=QUICK)
    other = synth.generate(text="Same words.", voice=voice, models_dir=tiny_models,
                           settings=GenerationSettings(**{**QUICK.__dict__, "seed": 1}))
    assert np.array_equal(first.audio, again.audio)
    assert not np.allclose(first.audio[:len(other.audio)], other.audio[:len(first.audio)])


def test_other_autoregressive_model_changes_audio_and_only_it_is_swapped(workspace, synth, voice, tiny_models):
    state = torch.load(tiny_models / "autoregressive.pth", weights_only=True)
    generator = torch.Generator().manual_seed(5)
    tuned = {k: v + 0.05 * torch.randn(v.shape, generator=generator) if v.is_floating_point() else v
             for k, v in state.items()}
    workspace.finetunes.mkdir(parents=True)
    torch.save(tuned, workspace.finetunes / "x.pth")

    base = synth.generate(text="Compare us.", voice=voice, models_dir=tiny_models, settings=QUICK)
    tuned_speech = synth.generate(text="Compare us.", voice=voice, models_dir=tiny_models, settings=QUICK,
                                  autoregressive=workspace.finetunes / "x.pth")
    base_again = synth.generate(text="Compare us.", voice=voice, models_dir=tiny_models, settings=QUICK)
    assert tuned_speech.model_files["autoregressive"].sha256 == sha256(workspace.finetunes / "x.pth")
    assert not np.array_equal(base.audio, tuned_speech.audio)
    assert np.array_equal(base.audio, base_again.audio)
    assert synth.loads == {"autoregressive": 3, "diffusion": 1, "clvp": 1, "vocoder": 1}


def test_long_text_is_split_and_joined(synth, voice, tiny_models):
    sentences = ["The first part of this text is a sentence that keeps going for quite a while, "
                 "with clauses and commas, until it is well over one hundred and fifty characters long.",
                 "The second part is another sentence that is also long enough that the two of them "
                 "together pass the two hundred characters at which TorToiSe splits text."]
    whole = synth.generate(text=" ".join(sentences), voice=voice, models_dir=tiny_models, settings=QUICK)
    assert whole.sentences == sentences
    # sentence i is sampled from seed + i, so each piece equals that sentence generated on its own
    pieces = [synth.generate(text=s, voice=voice, models_dir=tiny_models,
                             settings=GenerationSettings(**{**QUICK.__dict__, "seed": QUICK.seed + i})).audio
              for i, s in enumerate(sentences)]
    assert len(whole.audio) == sum(len(p) for p in pieces)
    assert np.array_equal(whole.audio, np.concatenate(pieces))


def test_missing_weights_give_the_loaders_message(workspace, synth, voice, tiny_models, tmp_path):
    broken = tmp_path / "broken-models"
    shutil.copytree(tiny_models, broken)
    (broken / "diffusion_decoder.pth").unlink()
    with pytest.raises(ModelFileError, match="diffusion_decoder.pth: file not found; get TorToiSe's files"):
        synth.generate(text="Hi.", voice=voice, models_dir=broken, settings=QUICK)

    result = subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root), "generate",
                             "--voice", voice, "--text", "Hi.", "--models-dir", str(broken)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"{broken / 'diffusion_decoder.pth'}: file not found" in result.stderr
    assert "download-models" in result.stderr and "Traceback" not in result.stderr


def test_latents_cache_reused_and_recomputed_when_a_clip_changes(workspace, synth, voice, tiny_models,
                                                                   tortoise_voices):
    first = synth.generate(text="Cache me.", voice=voice, models_dir=tiny_models, settings=QUICK)
    synth.generate(text="Cache me.", voice=voice, models_dir=tiny_models, settings=QUICK)
    assert synth.latents.computed == 1

    fresh = Synthesizer(workspace, device="cpu")  # a new process would find the same file on disk
    again = fresh.generate(text="Cache me.", voice=voice, models_dir=tiny_models, settings=QUICK)
    assert fresh.latents.computed == 0 and np.array_equal(first.audio, again.audio)

    shutil.copy(tortoise_voices / "rainbow" / "2.wav", workspace.voice_dir(voice) / "1.wav")
    changed = fresh.generate(text="Cache me.", voice=voice, models_dir=tiny_models, settings=QUICK)
    assert fresh.latents.computed == 1 and not np.array_equal(first.audio, changed.audio)


def test_progress_goes_through_every_stage_and_cancel_stops(workspace, synth, voice, tiny_models):
    seen = []
    synth.generate(text="Progress.", voice=voice, models_dir=tiny_models, settings=QUICK, on_progress=seen.append)
    stages = list(dict.fromkeys(p.stage for p in seen))
    assert stages == list(STAGES)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert "diffusion step 3/3" in [p.detail for p in seen]

    def cancel_in_diffusion(progress):
        if progress.stage == "diffusion":
            synth.cancel()

    with pytest.raises(GenerationCancelled):
        synth.generate(text="Stop me.", voice=voice, models_dir=tiny_models, settings=QUICK,
                       on_progress=cancel_in_diffusion)
    # the next generation is not affected by the earlier Cancel
    assert synth.generate(text="Go on.", voice=voice, models_dir=tiny_models, settings=QUICK).duration > 0.4


def test_dataset_clips_condition_a_voice(workspace, synth, tiny_models, tortoise_voices):
    audio = workspace.dataset_dir("ds") / "audio"
    audio.mkdir(parents=True)
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", audio / "ds_0000.wav")
    speech = synth.generate(text="From a dataset.", voice="dataset:ds", models_dir=tiny_models, settings=QUICK)
    assert speech.voice.name == "ds" and speech.voice.files == (audio / "ds_0000.wav",)
    assert save_speech(workspace, speech) == workspace.results / "ds" / "ds_0001.wav"


@pytest.mark.slow
def test_cli_generate_prints_the_wav_path(workspace, voice, tiny_models):
    out = workspace.root / "cli.wav"
    result = subprocess.run([sys.executable, "-m", "tortoise_studio", "--workspace", str(workspace.root), "generate",
                             "--voice", voice, "--text", "Hi.", "--models-dir", str(tiny_models),
                             "--preset", "ultra_fast", "--seed", "3", "--out", str(out),
                             "--set", "max_mel_tokens=10", "--set", "diffusion_iterations=2", "--set", "kv_cache=false"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    data, rate = soundfile.read(out)
    assert rate == 24000 and len(data) > 0
    settings = json.loads(out.with_suffix(".json").read_text())["settings"]
    assert (settings["seed"], settings["max_mel_tokens"], settings["kv_cache"], settings["candidates"]) == (3, 10, False, 16)
    assert abs(len(data) / rate - 10 * CODE_SECONDS) < 0.02
    assert "vocoder" in result.stderr  # progress by stage goes to stderr
