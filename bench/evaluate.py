"""Seconds for one evaluation of a checkpoint (samples, Whisper CER, voice similarity) on the CPU.

    .venv/bin/python bench/evaluate.py [--sentences N] [--full-sentences N] [--threads N] [--skip-full]

Tiny: the tiny model set, N sentences (default 4). Full: TorToiSe's published sizes with random weights
(made in a temporary folder, about 2.5 GB), --full-sentences sentences (default 1: on 2 shared CPU cores
a full-size sample takes minutes; the per-sentence figure scales linearly). Random models never sample
the stop code, so every sample runs to the evaluation's length cap (twice the sentence's expected length):
the slowest a real checkpoint can be. Real Whisper base (.cache/whisper-base, joined by the test fixture)
and the real speaker encoder. Wall seconds depend on what else runs on the machine; CPU seconds (all the
process's threads) are the cost itself, and equal the wall time on an idle core at --threads 1.
Prints the figures and writes bench/results/evaluate.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SENTENCES = ["Good morning, how are you?", "The cat sat on the mat.", "Please call me back tomorrow.",
             "It is a lovely day for a walk."]


def make_full_size_random(folder: Path) -> Path:
    """autoregressive, diffusion, clvp and vocoder at the published sizes with random weights."""
    from tortoise.models.autoregressive import UnifiedVoice
    from tortoise.models.clvp import CLVP
    from tortoise.models.diffusion_decoder import DiffusionTts
    from tortoise.models.vocoder import UnivNetGenerator
    from tortoise_studio.models.files import MODEL_FILES, PUBLISHED_SIZES
    from tortoise_studio.models.loader import quiet_weight_norm

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for kind, cls in (("autoregressive", UnifiedVoice), ("diffusion", DiffusionTts), ("clvp", CLVP),
                      ("vocoder", UnivNetGenerator)):
        with quiet_weight_norm():
            model = cls(**PUBLISHED_SIZES[kind])
        state = model.state_dict()
        torch.save({"model_g": state} if kind == "vocoder" else state, folder / MODEL_FILES[kind])
        del model, state
    return folder


def make_run(root: Path, models_dir: Path, sentences: list[str], whisper: Path) -> Path:
    """A workspace with a 4-clip dataset of real speech and a run configured to evaluate `sentences`."""
    import tortoise
    from tortoise_studio.config import config_from_dict, save_config
    from tortoise_studio.workspace import Workspace
    workspace = Workspace.at(root).ensure()
    audio = workspace.dataset_dir("bench") / "audio"
    audio.mkdir(parents=True)
    lines = []
    for clip in sorted((Path(tortoise.__file__).parent / "voices" / "train_dotrice").glob("*.wav"))[:4]:
        shutil.copy(clip, audio / clip.name)
        lines.append(f"audio/{clip.name}|A sentence.")
    (audio.parent / "train.txt").write_text("\n".join(lines) + "\n")
    cfg = config_from_dict({"dataset": "bench", "model": {"models_dir": str(models_dir)},
                            "evaluation": {"sentences": sentences, "whisper_model": str(whisper), "device": "cpu"}})
    return save_config(cfg, workspace.run_dir("bench", "r") / "train.yaml").parent


def measure(run_dir: Path) -> dict:
    from tortoise_studio.evaluate.evaluator import Evaluator
    evaluator = Evaluator(run_dir, echo=lambda line: print("  " + line, flush=True))
    started = time.perf_counter()
    sentences = evaluator.setup()[0]
    setup = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    row = evaluator.evaluate(0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"sentences": len(sentences), "setup_seconds": round(setup, 1), "evaluation_seconds": round(seconds, 1),
            "evaluation_cpu_seconds": round(cpu, 1), "cpu_seconds_per_sentence": round(cpu / len(sentences), 1),
            "cer": row["cer"], "similarity": row["similarity"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=4)
    parser.add_argument("--full-sentences", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--whisper", type=Path, default=REPO / ".cache" / "whisper-base")
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    if not (args.whisper / "model.bin").is_file():
        sys.exit(f"{args.whisper}: no Whisper base here; run the tests once (the whisper_base fixture joins it)")
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # also the thread budget CerScorer gives CTranslate2
    torch.set_num_threads(args.threads)
    figures = {"threads": args.threads, "load_average_at_start": round(os.getloadavg()[0], 1),
               "preset": "ultra_fast"}
    from tortoise_studio.models import make_tiny_models
    with tempfile.TemporaryDirectory() as tmp:
        tiny = make_tiny_models(Path(tmp) / "tiny")
        print(f"tiny models, {args.sentences} sentences", flush=True)
        figures["tiny"] = measure(make_run(Path(tmp) / "ws-tiny", tiny, SENTENCES[:args.sentences], args.whisper))
        if not args.skip_full:
            print("full-size random models: making them", flush=True)
            full = make_full_size_random(Path(tmp) / "full")
            print(f"full-size random models, {args.full_sentences} sentence(s)", flush=True)
            figures["full_size_random"] = measure(make_run(Path(tmp) / "ws-full", full,
                                                           SENTENCES[:args.full_sentences], args.whisper))
    figures["load_average_at_end"] = round(os.getloadavg()[0], 1)
    write_result("evaluate", figures)


if __name__ == "__main__":
    main()
