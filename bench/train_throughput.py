"""Training samples/s of this trainer's data path against the predecessor's, on real clips of 1 to 11 s.

new: the real trainer (`tortoise_studio.train.run`): DVAE codes and mels computed once into the
     cache, length-grouped batches, each cut to its longest clip and text; GPT-2's GELU in PyTorch's
     fused kernel (models.fuse_gelu: the same function, the same weights) and the fused AdamW.
old: DLAS as ai-voice-cloning ran it: every step decodes each clip again, pads it to 255995 samples
     and its text to 200 tokens, computes the mel and the DVAE codes of the padded audio, takes the
     conditioning crops from the audio, and trains on randomly drawn batches.
Both train the same UnifiedVoice with the same optimizer; each (path, size) runs in its own process so
its peak RSS is its own. Sizes: the tiny set, and a mid-size model (6 layers x 512) with the full DVAE.
Two baselines. "old" hands UnifiedVoice the real lengths, so its forward cuts each batch to the longest clip of
a random batch (as DLAS's model code does). "old_padded" is the predecessor as the issue describes it: the model
is told every clip is 11.6 s / 200 tokens long, so it trains on the padding. The target (2x on the mid-size
model) is measured against "old_padded"; the "old" figure is printed beside it as the stricter comparison.

The comparison uses the CPU seconds of the process over whole epochs (every clip once, on both paths,
first step included): on a shared machine other jobs stretch wall time but not the work done;
wall-clock figures are printed beside it. One torch thread.

Attention (issue 17): at mid size the new path also runs with eager and with SDPA attention, in fp32
and bf16: CPU seconds per step and the peak memory of the process from before the trainer's setup
(memory.PeakMeter: resident-set high-water mark, malloc returning freed blocks). And `mid_mfu`, the
trainer's model FLOPs utilisation: the model's FLOPs per step (flops.py: GPT-2, heads, conditioning
encoder; 3x the forward) over the CPU seconds of the step, against the torch.matmul rate measured in
the same process on the same thread count (fp32 1024 x 1024).
The peak memory at full size and batch 4 is estimated (memory.py); measuring it needs about 20 GB of
RAM for minutes, so only --full-peak measures it (and only when `free` shows 20 GB available).

    .venv/bin/python bench/train_throughput.py [--epochs N] [--batch B] [--clips N] [--threads N]
                                               [--sizes tiny,mid] [--device cpu|cuda] [--full-peak]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

MAX_SAMPLES = 255995
MAX_TEXT_TOKENS = 200
SENTENCE = ("the quick brown fox jumps over the lazy dog while the rain falls softly on the old town square and "
            "everyone hurries home before the evening bells ring out across the quiet valley once again ")


def make_models(folder: Path, size: str) -> None:
    """tiny: make_tiny_models. mid: UnifiedVoice 6 x 512 and the full-size DVAE; full: both at the published
    sizes (the other models stay tiny: training does not use them); random weights."""
    import torch
    import yaml
    from tortoise_studio.models import make_tiny_models
    from tortoise_studio.models.files import PUBLISHED_SIZES
    make_tiny_models(folder)
    if size in ("mid", "full"):
        from tortoise.models.autoregressive import UnifiedVoice
        from tortoise_studio.models import DiscreteVAE
        ar = dict(PUBLISHED_SIZES["autoregressive"])
        if size == "mid":
            ar.update(layers=6, model_dim=512, heads=8)
        sizes = yaml.safe_load((folder / "models.yaml").read_text())
        sizes.update(autoregressive=ar, dvae=PUBLISHED_SIZES["dvae"])
        (folder / "models.yaml").write_text(yaml.safe_dump(sizes))
        torch.manual_seed(0)
        torch.save(UnifiedVoice(**ar).state_dict(), folder / "autoregressive.pth")
        torch.save(DiscreteVAE(**PUBLISHED_SIZES["dvae"]).state_dict(), folder / "dvae.pth")


def make_dataset(root: Path, n_clips: int) -> list[tuple[Path, str]]:
    """Real clips of 1 to 11 s: tortoise's shipped voices, plus short cuts of some to reach down to 1 s."""
    import numpy as np
    import tortoise
    from tortoise_studio.dataset.audio import load_audio, write_wav
    voices = sorted((Path(tortoise.__file__).parent / "voices").glob("*/*.wav"))
    audio_dir = root / "audio"
    audio_dir.mkdir(parents=True)
    items = []
    rng = np.random.default_rng(0)
    for source in voices:
        wav = load_audio(source)
        if len(wav) > 11 * 22050:
            wav = wav[:int(rng.uniform(1.0, 11.0) * 22050)]  # long recordings become a cut of 1 to 11 s
        if len(wav) < 22050:
            continue
        name = f"clip_{len(items):04d}.wav"
        write_wav(audio_dir / name, wav)
        seconds = len(wav) / 22050
        items.append((audio_dir / name, SENTENCE[:max(12, min(195, int(seconds * 14)))].strip()))
        if len(items) == n_clips:
            break
    (root / "train.txt").write_text("".join(f"audio/{p.name}|{t}\n" for p, t in items))
    return items


# ---------------------------------------------------------------------- one measurement per process

def measure_new(work: Path, models: Path, steps: int, batch: int, *, attention: str = "sdpa",
                precision: str = "fp32", device: str = "cpu") -> dict:
    """The real trainer (Trainer.setup, then Trainer.next_step): the cache is built in setup, timed apart."""
    import yaml
    from tortoise_studio.models.flops import FlopCounter
    from tortoise_studio.config.memory import PeakMeter
    from tortoise_studio.models.files import model_sizes
    from tortoise_studio.train.recipe import Trainer
    run_dir = work / "training" / "bench" / "runs" / "new"
    run_dir.mkdir(parents=True)
    config = {"dataset": "bench", "model": {"models_dir": str(models), "dropout": 0.0, "attention": attention},
              "epochs": 1000, "batch_size": batch, "learning_rate": 1e-5, "device": device, "precision": precision,
              "validation": {"enabled": False}, "scheduler": {"type": "constant"}}
    (run_dir / "train.yaml").write_text(yaml.safe_dump(config))
    meter = PeakMeter(device)
    meter.start()
    trainer = Trainer(run_dir / "train.yaml", resume="none")
    started = time.perf_counter()
    trainer.setup()  # reads the lists, computes every clip's mel and codes into the cache, builds the model
    setup_seconds = time.perf_counter() - started
    counter = FlopCounter(trainer.model, model_sizes(models)["autoregressive"])
    timings = [_timed(trainer.next_step, device) for _ in range(steps)]  # whole epochs: every length group once
    counter.remove()
    peak = meter.peak()
    trainer.cleanup()
    return {**_summary(timings, batch), "setup_with_cache_build_s": round(setup_seconds, 2),
            "clips": len(trainer.train_samples), "flops_per_step": counter.total / steps, "peak_mb": round(peak / 2**20, 1)}


def _timed(fn, device: str = "cpu") -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call. CPU time is what the comparison uses:
    on a shared machine other people's jobs stretch wall time but not the work this process does."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    if device == "cuda":
        import torch
        torch.cuda.synchronize()
    return time.perf_counter() - wall, time.process_time() - cpu


def _summary(timings: list[tuple[float, float]], batch: int) -> dict:
    wall = sum(t[0] for t in timings) / len(timings)
    cpu = sum(t[1] for t in timings) / len(timings)
    return {"samples_per_cpu_s": batch / cpu, "cpu_s_per_step": cpu, "samples_per_s": batch / wall,
            "sec_per_step": wall}


def measure_old(work: Path, models: Path, steps: int, batch: int, train_on_padding: bool = False,
                device: str = "cpu") -> dict:
    """DLAS's per-step work, reimplemented on the same model and optimizer (on a GPU, the mel is made on
    the CPU and the DVAE and the model run on the GPU)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from tortoise_studio.dataset.audio import load_audio
    from tortoise_studio.models import load_autoregressive, load_dvae, normalized_mel
    from tortoise_studio.dataset.lists import read_list
    from tortoise_studio.text import TextTokenizer
    from tortoise_studio.config import TrainingConfig
    from tortoise_studio.train.optim import build_optimizer
    dataset = work / "training" / "bench"
    entries, _ = read_list(dataset / "train.txt")
    tokenizer = TextTokenizer.english()
    model = load_autoregressive(models, dropout=0.0, attention="eager").train().to(device)  # the predecessor's
    dvae = load_dvae(models).to(device)
    # the default settings are the predecessor's: AdamW, lr 1e-5, betas (0.9, 0.96), weight decay 0.01
    optimizer = build_optimizer(model, TrainingConfig(dataset="bench"))
    rng = np.random.default_rng(0)

    data_cpu = []

    def step(indices) -> None:
        data_started = time.process_time()
        wavs, texts, wav_lengths, text_lengths, conds = [], [], [], [], []
        for i in indices:
            wav = torch.from_numpy(load_audio(dataset / entries[i].audio))  # decoded again at every step
            tokens = torch.tensor(tokenizer.encode(entries[i].text), dtype=torch.long)
            crops = []
            for _ in range(2):  # two 44000-sample conditioning crops of the clip's audio
                start = int(rng.integers(0, max(1, len(wav) - 44000)))
                crops.append(F.pad(wav[start:start + 44000], (0, max(0, 44000 - len(wav[start:start + 44000])))))
            conds.append(torch.stack(crops))
            wav_lengths.append(MAX_SAMPLES if train_on_padding else len(wav))
            text_lengths.append(MAX_TEXT_TOKENS if train_on_padding else len(tokens))
            wavs.append(F.pad(wav, (0, MAX_SAMPLES - len(wav))))
            texts.append(F.pad(tokens, (0, MAX_TEXT_TOKENS - len(tokens))))
        with torch.no_grad():
            mel = normalized_mel(torch.stack(wavs)).to(device)  # every clip padded to 11.6 s, every step
            codes = dvae.codes(mel)
            cond = normalized_mel(torch.cat(conds)).view(len(indices), 2, 80, -1).to(device)
        data_cpu.append(time.process_time() - data_started)
        latent = model.get_conditioning(cond)
        loss_text, loss_mel, _ = model(latent, torch.stack(texts).to(device), torch.tensor(text_lengths, device=device),
                                       codes, torch.tensor(wav_lengths, device=device))
        optimizer.zero_grad(set_to_none=True)
        (0.01 * loss_text + loss_mel).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 4.0)
        optimizer.step()

    order = rng.permutation(len(entries))
    batches = [[int(order[(k * batch + j) % len(order)]) for j in range(batch)] for k in range(steps)]
    timings = [_timed(lambda b=b: step(b), device) for b in batches]
    # the part of each step the new path does once per clip instead (decode, pad, mel, DVAE codes)
    return {**_summary(timings, batch), "data_cpu_s_per_step": sum(data_cpu) / len(data_cpu)}


def child(args) -> None:
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    work, models = Path(args.work), Path(args.models)
    if args.path == "new":
        figures = measure_new(work, models, args.steps, args.batch, attention=args.attention,
                              precision=args.precision, device=args.device)
        if args.device == "cpu":  # the matmul rate on the same threads, in the same process, on the same clock
            from tortoise_studio.models.flops import matmul_rate
            figures["matmul_flops_per_cpu_s"] = matmul_rate(args.precision, clock=time.process_time)
    else:
        figures = measure_old(work, models, args.steps, args.batch, train_on_padding=args.path == "old_padded",
                              device=args.device)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print("RESULT " + json.dumps(figures), flush=True)


def run_child(args, tmp: Path, size: str, path: str, models: Path, *, attention: str = "sdpa",
              precision: str = "fp32", label: str | None = None) -> dict:
    """One measurement in its own process, on its own copy of the dataset."""
    label = label or f"{size}-{path}"
    work = tmp / label
    shutil.copytree(tmp / "data", work / "training" / "bench")
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}  # freed blocks go back: resident memory follows use
    out = subprocess.run([sys.executable, __file__, "--child", "--path", path, "--size", size, "--work", str(work),
                          "--models", str(models), "--steps", str(args.steps), "--batch", str(args.batch),
                          "--threads", str(args.threads), "--attention", attention, "--precision", precision,
                          "--device", args.device], capture_output=True, text=True, env=env)
    result = next((line for line in out.stdout.splitlines() if line.startswith("RESULT ")), None)
    if result is None:
        raise RuntimeError(f"{label} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    figures = {k: round(v, 3) if isinstance(v, float) else v for k, v in json.loads(result[7:]).items()}
    print(f"{label}: {figures}", flush=True)
    return figures


def attention_comparison(args, tmp: Path, models: Path, sdpa_fp32: dict) -> dict:
    """Eager against SDPA attention on the mid-size model, fp32 and bf16: CPU seconds per step, peak memory."""
    out = {}
    for precision in ("fp32", "bf16"):
        runs = {"sdpa": sdpa_fp32} if precision == "fp32" else {}
        for attention in ("eager", "sdpa"):
            if attention not in runs:
                runs[attention] = run_child(args, tmp, "mid", "new", models, attention=attention, precision=precision,
                                            label=f"mid-new-{attention}-{precision}")
        out[precision] = {
            **{f"{a}_{k}": runs[a][k] for a in ("eager", "sdpa") for k in ("cpu_s_per_step", "sec_per_step", "peak_mb")},
            "sdpa_speedup": round(runs["eager"]["cpu_s_per_step"] / runs["sdpa"]["cpu_s_per_step"], 3),
            "sdpa_peak_saving_mb": round(runs["eager"]["peak_mb"] - runs["sdpa"]["peak_mb"], 1)}
    return out


def full_size_peak(args, tmp: Path, items) -> dict:
    """The estimate at full size, batch 4 (this dataset's longest clip and text); measured only with --full-peak."""
    from tortoise_studio.config import memory
    from tortoise_studio.models.files import PUBLISHED_SIZES
    longest = memory.dataset_longest(tmp / "data" / "train.txt")
    estimate = memory.estimate_memory(PUBLISHED_SIZES["autoregressive"], micro_batch=4, longest=longest)
    figures = {"batch_size": 4, "estimate_mb": round(estimate.total / 2**20),
               "estimate_parts_mb": {k: round(v / 2**20) for k, v in estimate.parts().items()}}
    available = _available_bytes()
    if not args.full_peak:
        return {**figures, "measured": False, "reason": "not measured (needs ~20 GB RAM for minutes): pass --full-peak"}
    if available < 20 * 2**30:
        return {**figures, "measured": False, "reason": f"not measured: only {available / 2**30:.1f} GB available"}
    models = tmp / "models-full"
    make_models(models, "full")
    saved = args.steps, args.batch
    args.steps, args.batch = 2, 4
    try:
        result = run_child(args, tmp, "full", "new", models, label="full-new-b4")
    finally:
        args.steps, args.batch = saved
    return {**figures, "measured": True, "peak_mb": result["peak_mb"], "peak_rss_mb": result["peak_rss_mb"],
            "estimate_error": round(estimate.total / 2**20 / result["peak_mb"] - 1, 3),
            "cpu_s_per_step": result["cpu_s_per_step"]}


def _available_bytes() -> int:
    import re
    text = Path("/proc/meminfo").read_text()
    return int(re.search(r"MemAvailable:\s+(\d+) kB", text).group(1)) * 1024


# ---------------------------------------------------------------------- the driver

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="whole epochs timed per measurement")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per measurement (default 1)")
    parser.add_argument("--sizes", default="tiny,mid", help="comma-separated: tiny, mid")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--full-peak", action="store_true",
                        help="also measure the full-size model's peak at batch 4 (~20 GB RAM; needs 20 GB available)")
    parser.add_argument("--results", type=Path, help="folder for train_throughput.json (default bench/results)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", choices=["new", "old", "old_padded"])
    parser.add_argument("--size", choices=["tiny", "mid", "full"])
    parser.add_argument("--attention", default="sdpa")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--work")
    parser.add_argument("--models")
    args = parser.parse_args()
    if args.child:
        return child(args)
    sizes = [s for s in args.sizes.split(",") if s]

    figures: dict = {"batch_size": args.batch, "threads": args.threads, "device": args.device,
                     "speedup_measure": "samples per CPU second over whole epochs"}
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        tmp = Path(tmp)
        items = make_dataset(tmp / "data", args.clips)
        args.steps = figures["timed_steps"] = args.epochs * (len(items) // args.batch)  # every clip once an epoch
        seconds = [round(__import__("soundfile").info(str(p)).duration, 1) for p, _ in items]
        figures["clips"] = {"count": len(items), "min_s": min(seconds), "max_s": max(seconds),
                            "mean_s": round(sum(seconds) / len(seconds), 2)}
        for size in sizes:
            models = tmp / f"models-{size}"
            make_models(models, size)
            for path in ("old_padded", "old", "new"):
                figures[f"{size}_{path}"] = run_child(args, tmp, size, path, models)
            new, old, padded = (figures[f"{size}_{p}"] for p in ("new", "old", "old_padded"))
            figures[f"{size}_speedup"] = round(new["samples_per_cpu_s"] / padded["samples_per_cpu_s"], 2)
            figures[f"{size}_speedup_wall"] = round(new["samples_per_s"] / padded["samples_per_s"], 2)
            figures[f"{size}_speedup_vs_cut_batches"] = round(new["samples_per_cpu_s"] / old["samples_per_cpu_s"], 2)
            if size == "mid":
                figures["mid_attention"] = attention_comparison(args, tmp, models, new)
                if args.device == "cpu":
                    figures["mid_mfu"] = round(new["flops_per_step"] / new["cpu_s_per_step"]
                                               / new["matmul_flops_per_cpu_s"], 3)
                    figures["mid_model_gflops_per_step"] = round(new["flops_per_step"] / 1e9, 2)
                    figures["matmul_fp32_gflops_per_cpu_s"] = round(new["matmul_flops_per_cpu_s"] / 1e9, 1)
        if args.device == "cpu":
            figures["full_b4_peak"] = full_size_peak(args, tmp, items)
    if "mid_speedup" in figures:
        figures["target_mid_speedup"] = 2.0
        figures["mid_meets_target"] = figures["mid_speedup"] >= 2.0
    write_result("train_throughput", figures, args.results)


if __name__ == "__main__":
    main()
