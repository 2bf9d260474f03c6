"""Seconds of compute per second of audio on the tiny model set, on CPU, with and without the KV cache.

    .venv/bin/python bench/generate.py [--repeats N] [--threads N]

Prints the figures and writes bench/results/generate.json. The tiny model is random, so it never
samples the stop code: every sentence is max_mel_tokens long and the runs compare like with like.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch

from tortoise_studio.models import make_tiny_models
from tortoise_studio.generate.synthesizer import GenerationSettings, Synthesizer
from tortoise_studio.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

TEXT = "The quick brown fox jumps over the lazy dog."


def measure(synth: Synthesizer, models_dir: Path, settings: GenerationSettings, repeats: int) -> dict:
    synth.generate(text=TEXT, voice="bench", models_dir=models_dir, settings=settings)  # warm: load, latents
    seconds, audio = [], 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        speech = synth.generate(text=TEXT, voice="bench", models_dir=models_dir, settings=settings)
        seconds.append(time.perf_counter() - started)
        audio = speech.duration
    median = statistics.median(seconds)
    return {"kv_cache": settings.kv_cache, "audio_seconds": round(audio, 3), "compute_seconds": round(median, 3),
            "compute_per_audio_second": round(median / audio, 4), "runs": [round(s, 3) for s in seconds]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-mel-tokens", type=int, default=200, help="codes per sentence (20 per second)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import tortoise
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.at(tmp).ensure()
        models_dir = make_tiny_models(Path(tmp) / "tiny")
        voice = workspace.voice_dir("bench")
        voice.mkdir()
        for clip in sorted((Path(tortoise.__file__).parent / "voices" / "rainbow").glob("*.wav"))[:2]:
            (voice / clip.name).write_bytes(clip.read_bytes())
        synth = Synthesizer(workspace, device="cpu")
        rows = []
        for kv_cache in (True, False):
            settings = GenerationSettings.from_preset("ultra_fast", max_mel_tokens=args.max_mel_tokens,
                                                      kv_cache=kv_cache)
            rows.append(measure(synth, models_dir, settings, args.repeats))
            print(f"kv_cache={kv_cache!s:5}  {rows[-1]['compute_seconds']:7.2f} s compute for "
                  f"{rows[-1]['audio_seconds']:.2f} s audio = {rows[-1]['compute_per_audio_second']:.3f} s per second")

    speedup = rows[1]["compute_per_audio_second"] / rows[0]["compute_per_audio_second"]
    write_result("generate", {
        "model_set": "tiny", "device": "cpu", "threads": args.threads, "text": TEXT,
        "settings": {k: v for k, v in asdict(settings).items() if k != "kv_cache"},
        "compute_per_audio_second_kv_cache": rows[0]["compute_per_audio_second"],
        "compute_per_audio_second_no_kv_cache": rows[1]["compute_per_audio_second"],
        "kv_cache_speedup": round(speedup, 2), "runs": rows, "torch": torch.__version__})


if __name__ == "__main__":
    main()
