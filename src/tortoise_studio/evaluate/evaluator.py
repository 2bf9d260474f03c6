"""Scoring checkpoints: speak the evaluation sentences, transcribe and compare them, record the scores.

`Evaluator.follow()` is the evaluator process: it scores the model the run starts from once (step 0),
then each checkpoint as it appears, until the trainer has ended and nothing is left. A failure is
written as an evaluator event with what to do; it never touches the trainer.
"""

from __future__ import annotations

import fcntl
import os
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import pandas as pd

from ..dataset.audio import write_wav
from ..runs.checkpoints import list_checkpoints
from ..config import (CONFIG_FILENAME, TrainingConfig, apply_overrides, load_config, resolve_paths,
                      validate_config, workspace_for_config)
from ..errors import UserError
from ..metrics.reader import MetricsReader
from ..runs.status import find_run_dir, read_pid_file
from ..settings import load_settings
from ..metrics.series import best_step
from .best import checkpoint_weights, link_weights, release_weights
from ..runs.evaluator import EVALUATE_LOG
from .store import SAMPLES_DIR, append_row, eval_event, samples_dir, write_scores

POLL_SECONDS = 2.0
EVALUATION_PREFIX = "evaluation."


class EvaluationSetupError(UserError):
    """Nothing can be scored (no Whisper model, no sentences, no speaker encoder): the evaluator stops."""


def evaluation_config(run_dir: Path, overrides: Sequence[str] = ()) -> TrainingConfig:
    """The run's train.yaml with `evaluation.KEY=VALUE` overrides (other keys are the trainer's business)."""
    for item in overrides:
        if not item.strip().startswith(EVALUATION_PREFIX):
            raise UserError(f"--set {item!r}: only evaluation.* keys can be set here (e.g. evaluation.sentences=[Hello.])")
    cfg = apply_overrides(load_config(run_dir / CONFIG_FILENAME), list(overrides))
    workspace = workspace_for_config(run_dir / CONFIG_FILENAME)
    errors = [p.message for p in validate_config(cfg, workspace)
              if p.severity == "error" and p.field.startswith(EVALUATION_PREFIX)]
    if errors:
        raise UserError("; ".join(errors))
    return cfg


class Evaluator:
    def __init__(self, run_dir: str | os.PathLike, *, overrides: Sequence[str] = (),
                 echo: Callable[[str], None] = print):
        self.run_dir = find_run_dir(run_dir)
        self.cfg = evaluation_config(self.run_dir, overrides)
        self.workspace = workspace_for_config(self.run_dir / CONFIG_FILENAME)
        self.models_dir, self.base_weights = resolve_paths(self.cfg, self.workspace)
        self.reader = MetricsReader(self.run_dir)
        self.echo = echo
        self.failed: set[int] = set()  # steps that could not be scored: not tried again by follow()
        self._scorers = None

    # -- what to score ------------------------------------------------------------------------

    def scores(self) -> pd.DataFrame:
        self.reader.refresh()
        return self.reader.eval

    def evaluated_steps(self) -> set[int]:
        frame = self.scores()
        return set(int(s) for s in frame["step"]) if "step" in frame else set()

    def pending(self, *, final: bool, every_epochs: int | None = None) -> list[int]:
        """Steps still to score, oldest first: the base (0), then each eligible checkpoint. With
        every_epochs, a checkpoint at a whole multiple of it, and the last one once training has ended."""
        checkpoints = sorted(list_checkpoints(self.run_dir), key=lambda c: c.step)
        steps = [0] + [c.step for c in checkpoints if c.step > 0 and (
            every_epochs is None or _whole_multiple(c.epoch, every_epochs)
            or (final and c is checkpoints[-1]))]
        done = self.evaluated_steps() | self.failed
        return [s for s in steps if s not in done]

    def trainer_alive(self) -> bool:
        info = read_pid_file(self.run_dir)
        return info is not None and info.alive()

    # -- the process ----------------------------------------------------------------------------

    def follow(self, *, poll: float = POLL_SECONDS) -> int:
        """Score as checkpoints appear until the trainer has ended; 0, or 1 when nothing could be scored."""
        try:
            self.setup()
        except UserError as exc:
            self._report(0, "error", str(exc))
            return 1
        while True:
            alive = self.trainer_alive()  # read before the list, so the trainer's last checkpoint is seen
            todo = self.pending(final=not alive, every_epochs=self.cfg.evaluation.every_epochs)
            if todo:
                self.evaluate_safely(todo[0])
            elif not alive:
                return 0
            else:
                time.sleep(poll)

    def run(self, which: str = "all") -> int:
        """`tortoise-studio evaluate`: 'all' (the base and every checkpoint not yet scored), 'best', or a step."""
        steps = self.select(which)
        self.setup()
        results = [self.evaluate_safely(step) for step in steps]
        return 0 if all(r is not None for r in results) else 1

    def select(self, which: str) -> list[int]:
        which = str(which).strip()
        if which == "all":
            steps = self.pending(final=True)
            if not steps:
                self.echo("every checkpoint of this run is already scored; name a step to score one again")
            return steps
        if which == "best":
            best = best_step(self.scores())
            if best is None:
                raise UserError("--checkpoint best: no checkpoint of this run is scored yet; use --checkpoint all")
            return [best]
        if not which.isdigit():
            raise UserError(f"--checkpoint {which!r}: expected a step number, all or best")
        step = int(which)
        available = {c.step for c in list_checkpoints(self.run_dir)} | self.evaluated_steps()
        if step and (step not in available or checkpoint_weights(self.run_dir, step) is None):
            listed = ", ".join(str(s) for s in sorted(available)) or "none yet"
            raise UserError(f"--checkpoint {step}: the run has no complete checkpoint at that step (it has: {listed})")
        return [step]

    # -- scoring one step -----------------------------------------------------------------------

    def setup(self):
        """Load the scorers once: Whisper first (the likeliest to be missing), the speaker encoder, the sampler."""
        if self._scorers is not None:
            return self._scorers
        from .cer import CerScorer
        from .sampler import Sampler, evaluation_sentences
        from .similarity import VoiceSimilarity
        ev = self.cfg.evaluation
        sentences = evaluation_sentences(self.workspace, self.cfg)
        if not sentences:
            raise EvaluationSetupError(f"evaluation.sentences: none given and dataset {self.cfg.dataset!r} has no "
                                       "texts in validation.txt or train.txt; list a few in evaluation.sentences")
        settings = load_settings(self.workspace)
        device = _device(ev.device)
        try:
            cer = CerScorer.load(settings.whisper_backend, ev.whisper_model or settings.whisper_model, device=device)
            similarity = VoiceSimilarity(device)
            sampler = Sampler(self.workspace, self.cfg, self.models_dir, device=device)
            reference = similarity.reference(sampler.voice.files)
        except UserError as exc:
            raise EvaluationSetupError(str(exc)) from exc
        self._scorers = (sentences, cer, similarity, sampler, reference)
        return self._scorers

    def evaluate_safely(self, step: int) -> dict | None:
        """evaluate(step), with any failure written as an evaluator event saying what to do."""
        try:
            return self.evaluate(step)
        except EvaluationSetupError:
            raise
        except (UserError, Exception) as exc:  # noqa: BLE001 - one bad checkpoint must not end the evaluation
            self.failed.add(step)
            self._report(step, "error", _failure_message(step, exc, self.cfg.evaluation.device))
            with open(self.run_dir / EVALUATE_LOG, "a", encoding="utf-8") as log:
                log.write(traceback.format_exc())
            return None

    def evaluate(self, step: int) -> dict:
        sentences, cer, similarity, sampler, reference = self.setup()
        weights, epoch = self._weights(step)
        started = time.monotonic()
        with _step_lock(self.run_dir):
            folder = samples_dir(self.run_dir, step)
            folder.mkdir(parents=True, exist_ok=True)
            samples = []
            for n, text in enumerate(sentences):
                speech = sampler.speak(text, n, weights)
                name = f"{n}.wav"
                write_wav(folder / name, speech.audio, speech.sample_rate)
                # heard in the language the checkpoint speaks: Whisper guessing it from a young model's babble
                # would transcribe in whatever language the noise resembles (and spend a pass of its encoder)
                language = (speech.tokenizer or {}).get("language") or None
                transcript, error_rate = cer.score(speech.audio, speech.sample_rate, text, language)
                voice = similarity.score(speech.audio, speech.sample_rate, reference)
                samples.append({"file": name, "text": text, "transcript": transcript, "language": language,
                                "cer": round(error_rate, 4),
                                "similarity": round(voice, 4), "seconds": round(speech.duration, 2)})
                self.echo(f"step {step}: sentence {n + 1}/{len(sentences)}: CER {error_rate:.3f}, "
                          f"similarity {voice:.3f}: {transcript!r}")
            mean_cer = sum(s["cer"] for s in samples) / len(samples)
            mean_similarity = sum(s["similarity"] for s in samples) / len(samples)
            seconds = time.monotonic() - started
            write_scores(folder, {
                "step": step, "epoch": epoch, "weights": str(weights), "cer": round(mean_cer, 4),
                "similarity": round(mean_similarity, 4), "seconds": round(seconds, 2), "samples": samples,
                "settings": {"preset": self.cfg.evaluation.preset, "seed": self.cfg.evaluation.seed,
                             "device": str(sampler.synth.device_name), "whisper": cer.transcriber.model_id}})
            row = append_row(self.run_dir, {"kind": "eval", "step": step, "epoch": epoch, "cer": round(mean_cer, 4),
                                            "similarity": round(mean_similarity, 4), "sentences": len(samples),
                                            "seconds": round(seconds, 2)})
        released = release_weights(self.run_dir, self.scores())
        self.echo(f"step {step}: CER {mean_cer:.3f}, similarity {mean_similarity:.3f} in {seconds:.1f} s"
                  + (f"; weights of steps {released} no longer kept" if released else ""))
        return row

    def _weights(self, step: int) -> tuple[Path, float]:
        if step == 0:
            return self.base_weights, 0.0
        found = next((c for c in list_checkpoints(self.run_dir) if c.step == step), None)
        if found is not None:
            # linked first: pruning by keep_last can then no longer take the weights from under us
            return link_weights(self.run_dir, step, found.model_path), found.epoch
        kept = checkpoint_weights(self.run_dir, step)  # pruned since, but kept as a candidate for the best
        if kept is None:
            raise UserError(f"the checkpoint at step {step} was deleted (keep_last) before it could be scored")
        scored = self.scores()
        epoch = scored.loc[scored["step"] == step, "epoch"]
        return kept, float(epoch.iloc[-1]) if len(epoch) else 0.0

    def _report(self, step: int, kind: str, message: str) -> None:
        self.echo(f"evaluation {kind} at step {step}: {message}")
        eval_event(self.run_dir, kind, step=step, message=message)


def _whole_multiple(epoch: float, every: int) -> bool:
    whole = round(epoch)
    return abs(epoch - whole) < 1e-6 and whole % every == 0


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def _failure_message(step: int, exc: BaseException, device: str) -> str:
    what = "the base model" if step == 0 else f"the checkpoint at step {step}"
    text = (str(exc).strip().splitlines() or ["no message"])[0][:300]
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return (f"out of memory while scoring {what} on {device}; set evaluation.device: cpu (or another GPU), "
                "or fewer evaluation.sentences. Training is not affected")
    again = (f"it is skipped and the next checkpoint is scored as usual (training is not affected); score it again "
             f"with `tortoise-studio evaluate RUN_DIR --checkpoint {step}`")
    return f"{what} could not be scored ({text}); {again}"  # the traceback goes to evaluate.log


@contextmanager
def _step_lock(run_dir: Path) -> Iterator[None]:
    """One scoring at a time per run: the evaluator process and a hand-run `evaluate` never write the same samples."""
    folder = run_dir / SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
