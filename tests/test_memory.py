"""The memory estimate: saved-bytes counting, the fitted profile, suggestions that fit, and the estimate
against the real trainer's measured peak on the CPU (two model sizes x two batch sizes, within 25%)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from train_helpers import CLIPS, make_run
from tortoise_studio import config as C
from tortoise_studio.config import memory as M
from tortoise_studio.dataset.audio import load_audio, write_wav
from tortoise_studio.models.tiny import TINY_SIZES

SMALL = {**TINY_SIZES["autoregressive"], "layers": 4, "model_dim": 256, "heads": 4}
SECONDS = 3.0
TEXT = "The birch canoe slid on the smooth planks."


def make_even_dataset(workspace, tortoise_voices: Path, n: int = 8, name: str = "even") -> Path:
    """Clips cut to the same length with the same text: every micro-batch is the dataset's longest."""
    folder = workspace.dataset_dir(name)
    (folder / "audio").mkdir(parents=True)
    for i, clip in enumerate(CLIPS[:n]):
        wav = load_audio(tortoise_voices / clip)  # mono, 22050 Hz
        assert len(wav) >= SECONDS * 22050
        write_wav(folder / "audio" / f"c{i}.wav", wav[:int(SECONDS * 22050)])
    (folder / "train.txt").write_text("".join(f"audio/c{i}.wav|{TEXT}\n" for i in range(n)))
    return folder


def make_small_models(tiny_models: Path, target: Path) -> Path:
    """The tiny set with a 4 x 256 autoregressive model (random weights)."""
    from tortoise.models.autoregressive import UnifiedVoice
    shutil.copytree(tiny_models, target)
    sizes = yaml.safe_load((target / "models.yaml").read_text())
    sizes["autoregressive"] = SMALL
    (target / "models.yaml").write_text(yaml.safe_dump(sizes))  # not a tiny set any more: no header
    torch.manual_seed(0)
    torch.save(UnifiedVoice(**SMALL).state_dict(), target / "autoregressive.pth")
    return target


def test_saved_bytes_count_each_activation_once_and_no_parameters():
    layer = torch.nn.Linear(64, 32)
    x = torch.randn(10, 64, requires_grad=True)
    saved, copies = M.count_saved_bytes(layer, lambda: torch.relu(layer(x)).sum())
    # Linear keeps its input (10 x 64) and its weight (a parameter: not counted); ReLU keeps its output (10 x 32)
    assert saved == 4 * (10 * 64 + 10 * 32) and copies == 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        saved, copies = M.count_saved_bytes(layer, lambda: layer(x).float().sum())
    assert copies == 2 * 64 * 32  # the bf16 copy of the weight, apart from the activations
    assert saved == 2 * 10 * 64  # the bf16 copy of the input


def test_profile_separates_attention_matrices_and_scales_with_the_micro_batch():
    key = M._key(TINY_SIZES["autoregressive"])
    eager = M.activation_profile(key, attention="eager", device="cuda")
    fused = M.activation_profile(key, attention="sdpa", device="cuda")
    heads = TINY_SIZES["autoregressive"]["heads"]
    # eager keeps softmax (fp32), its dropout mask and the dropped-out copy per head and position pair
    assert eager.per_layer_quadratic >= heads * 8
    assert fused.per_layer_quadratic == pytest.approx(0, abs=1.0)  # the fused kernel keeps no T x T matrix
    longest = M.Longest(samples=200 * 1024, text_tokens=120)
    one, four = (M.estimate_memory(TINY_SIZES["autoregressive"], micro_batch=b, longest=longest, accumulating=True)
                 for b in (1, 4))
    assert four.activations == pytest.approx(4 * one.activations, rel=1e-6)
    assert four.weights == one.weights and one.optimizer == 8 * one.parameters
    assert M.estimate_memory(TINY_SIZES["autoregressive"], micro_batch=1, longest=longest,
                             optimizer="adamw8bit").optimizer == 2 * one.parameters


def test_dataset_longest_reads_the_clips_and_tokens(workspace, tortoise_voices):
    folder = make_even_dataset(workspace, tortoise_voices, n=3)
    longest = M.dataset_longest(folder / "train.txt")
    from tortoise.utils.tokenizer import VoiceBpeTokenizer
    assert longest.samples == int(SECONDS * 22050)
    assert longest.text_tokens == len(VoiceBpeTokenizer().encode(TEXT))
    assert longest.codes == int(SECONDS * 22050) // 1024 + 1
    assert M.dataset_longest(folder / "missing.txt") is None


def test_a_configuration_that_does_not_fit_gets_settings_that_do(workspace, tortoise_voices, tiny_models):
    make_even_dataset(workspace, tortoise_voices)
    cfg = C.TrainingConfig(dataset="even", model=C.ModelConfig(models_dir=str(tiny_models)), batch_size=8,
                           device="cpu")
    big = M.estimate_for_config(cfg, workspace, M.DeviceMemory("cpu", 1 << 40, "RAM"))
    device = M.DeviceMemory("cpu", int(big.total * 0.6), "RAM")  # a machine too small for micro-batch 8
    problems = M.memory_problems(cfg, workspace, device)
    assert len(problems) == 1 and problems[0].severity == "warning"
    assert problems[0].message.startswith("batch_size: the estimated peak memory of ")
    fix = problems[0].suggestion
    assert fix["gradient_accumulation"] > 1 and "model.gradient_checkpointing" not in fix  # micro-batches suffice
    fitted = M.estimate_for_config(C.apply_suggestions(cfg, fix), workspace, device)
    assert fitted.total <= device.usable < big.total
    assert M.memory_problems(C.apply_suggestions(cfg, fix), workspace, device) == []
    text = M.summary(big, device)
    assert "will not fit" in text and "micro-batch of 8 clips" in text


def test_the_fitted_profile_is_kept_in_the_workspace_and_measured_anew_when_what_it_depends_on_changes(
        workspace, tortoise_voices, tiny_models):
    """A fresh process (the UI after a restart) reads the profile and the parameter counts an earlier one measured
    instead of measuring or building the model again; ones measured with other versions, or a store that cannot
    be read, are measured anew."""
    make_even_dataset(workspace, tortoise_voices)
    cfg = C.TrainingConfig(dataset="even", model=C.ModelConfig(models_dir=str(tiny_models)), batch_size=4, device="cpu")
    device = M.DeviceMemory("cpu", 1 << 40, "RAM")

    def fresh_estimate():  # what a new process starts with: nothing fitted, counted or read yet
        for cached in (M.stored_profile, M.activation_profile, M.stored_counts, M._counts):
            cached.cache_clear()
        estimate = M.estimate_for_config(cfg, workspace, device)
        return estimate.total, M.activation_profile.cache_info().misses, M._counts.cache_info().misses

    store = M.profiles_file(workspace)
    first, measured, counted = fresh_estimate()
    assert measured == counted == 1 and store.is_file()
    entries = json.loads(store.read_text())
    assert len(entries) == 2 and sum(json.loads(key)[0] == "counts" for key in entries) == 1
    assert fresh_estimate() == (first, 0, 0)  # read, not measured or counted

    # measured with another torch: not this process's
    store.write_text(json.dumps({key.replace(torch.__version__, "0.0.1"): value for key, value in entries.items()}))
    assert fresh_estimate() == (first, 1, 1)
    assert len(json.loads(store.read_text())) == 4 and fresh_estimate() == (first, 0, 0)

    store.write_text("{not json")
    assert fresh_estimate() == (first, 1, 1)
    assert json.loads(store.read_text()) == entries  # written again, whole


def test_estimate_is_within_25_percent_of_the_measured_peak_on_cpu(workspace, tortoise_voices, tiny_models, tmp_path):
    make_even_dataset(workspace, tortoise_voices)
    small = make_small_models(tiny_models, tmp_path / "small-models")
    configs = [make_run(workspace, models, dataset="even", run=f"{name}-b{batch}", batch_size=batch, epochs=100,
                        model={"models_dir": str(models), "dropout": None})
               for name, models in (("tiny", tiny_models), ("small", small)) for batch in (2, 4)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "tortoise_studio.train.memory_check", *map(str, configs), "--steps", "2"],
                         capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    results = [json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert [r["batch_size"] for r in results] == [2, 4, 2, 4]
    for r in results:
        assert r["loss_finite"] and r["device"] == "cpu"
        ratio = r["estimate_bytes"] / r["peak_bytes"]
        assert 0.75 <= ratio <= 1.25, (r["config"], r["estimate_bytes"], r["peak_bytes"], r["estimate_parts"])
    assert results[1]["peak_bytes"] > results[0]["peak_bytes"] and results[3]["peak_bytes"] > results[2]["peak_bytes"]
