"""One command that checks a GPU: training at every precision and optimizer, memory, data path, generation.

On a CUDA machine, each in its own process, with TorToiSe's published shapes and random weights:
- the real trainer for 20 steps (--steps) in fp32, fp16 and bf16, with adamw and adamw8bit: samples/s,
  the peak of torch.cuda.max_memory_allocated, model FLOPs utilisation against this GPU's measured bf16
  matmul rate, and the loss staying finite;
- the memory estimate (tortoise_studio.config.memory) against that measured peak, for each;
- bench/train_throughput.py's data-path comparison, on the GPU;
- generation with the ultra_fast and fast presets, KV cache on and off, half on and off: seconds of
  compute per second of audio.
Without CUDA it runs the same steps at tiny size on the CPU (so CI keeps it working); combinations the
CPU cannot run (fp16, 8-bit AdamW, half-precision generation) are listed with the reason. Any failure
(a CUDA error, a non-finite loss) makes it exit 1 after writing what it measured.

    .venv/bin/python bench/gpu_check.py [--steps N] [--batch B] [--skip-throughput] [--skip-generation]

Writes bench/results/gpu_check.json: `device`, `runs` (precision, optimizer, samples_per_s, peak_bytes,
estimate_bytes, estimate_error, loss_finite, and mfu on a GPU), `generation`, `data_path`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _common import write_result  # noqa: E402
from train_throughput import make_dataset, make_models  # noqa: E402

PRECISIONS = ("fp32", "fp16", "bf16")
OPTIMIZERS = ("adamw", "adamw8bit")
GENERATION_TEXT = "The quick brown fox jumps over the lazy dog."


def device_entry() -> dict:
    import torch
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {"kind": "cuda", "name": props.name, "memory_bytes": props.total_memory,
                "capability": f"{props.major}.{props.minor}", "count": torch.cuda.device_count(),
                "torch": torch.__version__, "cuda": torch.version.cuda}
    from tortoise_studio.config.memory import device_memory
    return {"kind": "cpu", "name": "CPU", "memory_bytes": device_memory("cpu").total, "cpus": os.cpu_count(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def skip_reason(kind: str, precision: str, optimizer: str) -> str | None:
    if kind == "cpu" and precision == "fp16":
        return "fp16 needs a CUDA device (the trainer refuses it on the CPU)"
    if optimizer == "adamw8bit" and kind == "cpu":
        return "adamw8bit (bitsandbytes) needs a CUDA device"
    if optimizer == "adamw8bit" and importlib.util.find_spec("bitsandbytes") is None:
        return "bitsandbytes is not installed (pip install bitsandbytes)"
    return None


def write_config(workspace: Path, models: Path, name: str, *, precision: str, optimizer: str, batch: int,
                 device: str) -> Path:
    config = {"dataset": "check", "model": {"models_dir": str(models)}, "epochs": 1000, "batch_size": batch,
              "learning_rate": 1e-5, "precision": precision, "optimizer": {"type": optimizer}, "device": device,
              "validation": {"enabled": False}, "scheduler": {"type": "constant"}}
    run_dir = workspace / "training" / "check" / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train.yaml").write_text(yaml.safe_dump(config))
    return run_dir / "train.yaml"


def run_training(config: Path, steps: int, timeout: int) -> dict:
    """The real trainer in its own process (tortoise_studio.train.memory_check), with the CPU's peak made exact."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-m", "tortoise_studio.train.memory_check", str(config), "--steps", str(steps)],
                         capture_output=True, text=True, env=env, timeout=timeout)
    result = next((line for line in out.stdout.splitlines() if line.startswith("RESULT ")), None)
    if out.returncode != 0 or result is None:
        return {"error": (out.stderr.strip() or out.stdout.strip()).splitlines()[-1][:500] if (out.stderr or out.stdout)
                else f"exit status {out.returncode}"}
    return json.loads(result[7:])


def training_runs(workspace: Path, models: Path, kind: str, *, steps: int, batch: int, timeout: int,
                  matmul_bf16: float | None) -> list[dict]:
    runs = []
    for precision in PRECISIONS:
        for optimizer in OPTIMIZERS:
            entry = {"precision": precision, "optimizer": optimizer}
            reason = skip_reason(kind, precision, optimizer)
            if reason:
                runs.append({**entry, "skipped": reason})
                print(f"{precision}/{optimizer}: skipped ({reason})", flush=True)
                continue
            config = write_config(workspace, models, f"{precision}-{optimizer}", precision=precision,
                                  optimizer=optimizer, batch=batch, device=kind)
            result = run_training(config, steps, timeout)
            if "error" in result:
                runs.append({**entry, "error": result["error"]})
                print(f"{precision}/{optimizer}: FAILED {result['error']}", flush=True)
                continue
            entry.update(samples_per_s=round(result["samples_per_s"], 3), sec_per_step=round(result["sec_per_step"], 4),
                         peak_bytes=result["peak_bytes"], estimate_bytes=result["estimate_bytes"],
                         estimate_error=round(result["estimate_bytes"] / result["peak_bytes"] - 1, 3),
                         estimate_parts=result["estimate_parts"], loss_finite=result["loss_finite"],
                         losses=[round(x, 4) for x in result["losses"]], steps=steps, batch_size=batch,
                         attention=result["attention"], model_flops_per_s=round(result["flops_per_s"]))
            if matmul_bf16:
                entry["mfu"] = round(result["flops_per_s"] / matmul_bf16, 4)
            runs.append(entry)
            print(f"{precision}/{optimizer}: {entry['samples_per_s']} samples/s, peak {entry['peak_bytes'] / 2**20:.0f} MiB, "
                  f"estimate {entry['estimate_bytes'] / 2**20:.0f} MiB ({entry['estimate_error']:+.0%})"
                  + (f", MFU {entry['mfu']:.1%}" if "mfu" in entry else ""), flush=True)
    return runs


def make_full_models(folder: Path) -> Path:
    """Every model at TorToiSe's published sizes with random weights (what generation on a GPU runs)."""
    import torch
    from tortoise_studio.models import DiscreteVAE
    from tortoise_studio.models.files import MODEL_FILES, PUBLISHED_SIZES
    from tortoise_studio.models.loader import quiet_weight_norm
    from tortoise.models.autoregressive import UnifiedVoice
    from tortoise.models.clvp import CLVP
    from tortoise.models.diffusion_decoder import DiffusionTts
    from tortoise.models.vocoder import UnivNetGenerator
    folder.mkdir(parents=True, exist_ok=True)
    classes = {"autoregressive": UnifiedVoice, "diffusion": DiffusionTts, "clvp": CLVP, "vocoder": UnivNetGenerator,
               "dvae": DiscreteVAE}
    torch.manual_seed(0)
    for kind, cls in classes.items():
        with quiet_weight_norm():
            state = cls(**PUBLISHED_SIZES[kind]).state_dict()
        torch.save({"model_g": state} if kind == "vocoder" else state, folder / MODEL_FILES[kind])
    return folder


def generation(models: Path, kind: str, max_mel_tokens: int) -> list[dict]:
    """Seconds of compute per second of audio for each preset, KV cache and half setting (in this process)."""
    import tortoise
    from tortoise_studio.generate.synthesizer import GenerationSettings, Synthesizer
    from tortoise_studio.workspace import Workspace
    with tempfile.TemporaryDirectory(prefix="gpu-check-voice-") as tmp:
        workspace = Workspace.at(tmp).ensure()
        voice = workspace.voice_dir("check")
        voice.mkdir()
        for clip in sorted((Path(tortoise.__file__).parent / "voices" / "rainbow").glob("*.wav"))[:2]:
            (voice / clip.name).write_bytes(clip.read_bytes())
        synth = Synthesizer(workspace, device=kind)
        rows = []
        for preset in ("ultra_fast", "fast"):
            for kv_cache in (True, False):
                for half in (False, True):
                    row = {"preset": preset, "kv_cache": kv_cache, "half": half}
                    if half and kind != "cuda":
                        rows.append({**row, "skipped": "half precision generation needs a CUDA device"})
                        continue
                    settings = GenerationSettings.from_preset(preset, kv_cache=kv_cache, half=half,
                                                              max_mel_tokens=max_mel_tokens)
                    try:
                        synth.generate(text=GENERATION_TEXT, voice="check", models_dir=models, settings=settings)  # warm
                        started = time.perf_counter()
                        speech = synth.generate(text=GENERATION_TEXT, voice="check", models_dir=models,
                                                settings=settings)
                        seconds = time.perf_counter() - started
                    except Exception as exc:  # recorded, and the check fails at the end (a CUDA error included)
                        rows.append({**row, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"})
                        print(f"generation {preset} kv_cache={kv_cache} half={half}: FAILED {rows[-1]['error']}", flush=True)
                        continue
                    rows.append({**row, "audio_seconds": round(speech.duration, 3), "compute_seconds": round(seconds, 3),
                                 "seconds_per_audio_second": round(seconds / speech.duration, 4)})
                    print(f"generation {preset} kv_cache={kv_cache} half={half}: "
                          f"{rows[-1]['seconds_per_audio_second']} s per second of audio", flush=True)
    return rows


def data_path(kind: str, timeout: int) -> dict:
    if kind != "cuda":
        return {"skipped": "on the CPU bench/train_throughput.py is its own benchmark; run it directly"}
    out = subprocess.run([sys.executable, str(BENCH / "train_throughput.py"), "--device", "cuda", "--sizes", "mid",
                          "--results", tempfile.mkdtemp(prefix="gpu-check-throughput-")],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:500]}
    folder = Path(next(line.split(" ", 2)[2] for line in out.stdout.splitlines() if line.startswith("written to ")))
    figures = json.loads(folder.read_text())
    return {k: v for k, v in figures.items() if k.startswith("mid_") or k in ("batch_size", "clips")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="trainer steps per run (default 20 on a GPU, 3 on the CPU)")
    parser.add_argument("--batch", type=int, help="batch size (default 8 on a GPU, 2 on the CPU)")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per training process")
    parser.add_argument("--max-mel-tokens", type=int, help="codes per generated sentence (default 100 GPU, 20 CPU)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-generation", action="store_true")
    parser.add_argument("--results", type=Path, help="folder for gpu_check.json (default bench/results)")
    args = parser.parse_args()
    device = device_entry()
    kind = device["kind"]
    gpu = kind == "cuda"
    steps, batch = args.steps or (20 if gpu else 3), args.batch or (8 if gpu else 2)
    figures: dict = {"device": device, "size": "full" if gpu else "tiny", "steps": steps, "batch_size": batch}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        tmp = Path(tmp)
        workspace = tmp / "workspace"
        items = make_dataset(workspace / "training" / "check", args.clips)
        figures["clips"] = len(items)
        models = tmp / "models"
        make_models(models, "full" if gpu else "tiny")
        matmul_bf16 = None
        if gpu:
            from tortoise_studio.models.flops import matmul_rate
            matmul_bf16 = matmul_rate("bf16", device="cuda", n=8192)
            figures["matmul_bf16_flops_per_s"] = round(matmul_bf16)
        figures["runs"] = training_runs(workspace, models, kind, steps=steps, batch=batch, timeout=args.timeout,
                                        matmul_bf16=matmul_bf16)
        if not args.skip_generation:
            generation_models = make_full_models(tmp / "full-models") if gpu else models
            figures["generation"] = generation(generation_models, kind, args.max_mel_tokens or (100 if gpu else 20))
    figures["data_path"] = {"skipped": "--skip-throughput"} if args.skip_throughput else data_path(kind, args.timeout)
    failures = [r for r in figures["runs"] + figures.get("generation", []) if "error" in r or r.get("loss_finite") is False]
    if "error" in figures["data_path"]:
        failures.append(figures["data_path"])
    figures["ok"] = not failures
    write_result("gpu_check", figures, args.results)
    if failures:
        print(f"FAILED: {json.dumps(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
