"""The training recipe: setup, the loop, checkpoints, cleanup (one class, as torchtune's recipes).

A step's result depends only on the configuration and the step number: the global batch comes from
the epoch's seeded order and is split into micro-batches that are spread over however many processes
run. Every micro-batch is padded to the step's longest text and clip, so each clip has the same inputs
and targets wherever it is computed, and each micro-batch's loss (a mean over its positions, as
UnifiedVoice computes it) is weighted by its share of the step's clips: the step's loss is TorToiSe's
mean over every position of the global batch, for any gradient_accumulation and any process count.
Dropout is reseeded from (seed, step, micro-batch). So a resumed run continues the same trajectory, and
with dropout off a run on 1 or 2 processes, or with accumulation 1 or 2, is the same run.
"""


from __future__ import annotations

import contextlib
import hashlib
import math
import shutil
import threading
import time
from datetime import datetime
from pathlib import Path

import torch

from .. import config as configuration
from ..errors import UserError
from ..workspace import SAMPLES_DIR
from ..metrics.writer import METRICS_FILE
from ..models.files import MODEL_FILES
from . import batching, checkpointing, distributed
from .cache import FeatureCache, FeatureEncoder
from ..dataset.audio import MAX_CLIP_SAMPLES
from ..dataset.lists import TRAIN_FILE, Skipped, read_list
from ..hashes import file_sha256
from ..text import UnknownSymbols, load_tokenizer
from .data import CROP_FRAMES, MAX_TEXT_TOKENS, Sample, collate, step_widths
from .optim import apply_settings, build_optimizer, build_scheduler
from .reporting import TENSORBOARD_DIR, TRAIN_LOG, Report


class Trainer:
    """`setup()` then `train()`; `request_stop()` (from a signal handler) ends the loop after the current step."""

    def __init__(self, config_path: str | Path, *, resume: str = "latest", force: bool = False,
                 overrides: list[str] | tuple = (), report: Report | None = None):
        self.config_path = Path(config_path).resolve()
        self.run_dir = self.config_path.parent
        self.resume = resume
        self.force = force
        self.overrides = list(overrides)
        self.dist = distributed.from_environment()
        self.report = report or Report(self.run_dir, enabled=self.dist.is_main)
        self.step = 0
        self.stop_requested = False
        self._last_beat = time.monotonic()
        self._watchdog: threading.Thread | None = None
        self._done = threading.Event()

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        checkpoint = checkpointing.resolve_resume(self.run_dir, self.resume)
        if checkpoint is None and self.dist.is_main:
            self._archive_previous_history()
        # parsed and validated once here; from now on the trainer trusts it
        resolved = configuration.resolve_config(self.config_path, self.overrides)
        for warning in resolved.warnings:
            self.report.log(f"warning: {warning.message}")
        self.cfg = cfg = resolved.cfg
        self.workspace = resolved.workspace
        self.micro_count = cfg.batch_size // configuration.micro_batch_size(cfg)
        if self.micro_count % self.dist.world:
            raise UserError(f"gpus: {self.dist.world} processes cannot share {self.micro_count} micro-batches per step "
                            f"(gradient_accumulation x gpus x nodes); the number of processes must divide it")
        self.device = self._device()
        distributed.start(self.dist, self.device)
        distributed.check_shared_folder(self.dist, self.run_dir, self.device)
        self.dataset_dir, self.models_dir, weights = resolved.dataset_dir, resolved.models_dir, resolved.weights
        self._load_data()
        config_dict = configuration.config_to_dict(cfg)
        self.trajectory = checkpointing.trajectory(config_dict, self.micro_count, self.data_fingerprint)
        state = self._check_resume(checkpoint) if checkpoint else None
        self.model = self._build_model(checkpoint / checkpointing.MODEL_FILE if checkpoint else weights)
        self.forward_module = TrainingForward(self.model)
        self.forward = distributed.parallel(self.forward_module, self.dist, self.device,
                                            static_graph=cfg.model.gradient_checkpointing)
        self._build_optimization()
        if state is not None:
            self._restore(state)
        self.resumed_from = checkpoint

    def _device(self) -> torch.device:
        from ..devices import resolve_device
        if resolve_device(self.cfg.device) == "cpu":
            if self.cfg.precision == "fp16":
                raise UserError("precision: 'fp16' needs a CUDA device and this run is on the CPU; use fp32 (or bf16)")
            return torch.device("cpu")
        torch.cuda.set_device(self.dist.local_rank)
        return torch.device("cuda", self.dist.local_rank)

    def _load_data(self) -> None:
        """Parse the lists, compute or load every clip's features, and report what had to be skipped."""
        self.tokenizer = load_tokenizer(self.workspace, self.cfg.tokenizer)
        self.report.log(f"text: tokenizer {self.tokenizer.record.describe()}")
        cache = FeatureCache(self.dataset_dir / "cache", self.models_dir / MODEL_FILES["dvae"])
        encoder = {}

        def encoder_factory():  # the DVAE is only loaded when some clip is not cached yet
            if "dvae" not in encoder:
                encoder["dvae"] = FeatureEncoder.from_models(self.models_dir, self.device)
            return encoder["dvae"]

        lists = {}
        for name in ("train", "validation"):
            path = self.dataset_dir / f"{name}.txt"
            lists[name] = read_list(path)
        # Each rank fills the cache for its share first; then every rank loads all (hits) after a barrier.
        if self.dist.active:
            everything = lists["train"][0] + lists["validation"][0]
            for entry in everything[self.dist.rank::self.dist.world]:
                with contextlib.suppress(UserError):
                    cache.get(self.dataset_dir / entry.audio, encoder_factory)
            self.dist.barrier()
        started = time.monotonic()
        self.train_samples, train_sha, skipped = self._samples(lists["train"], cache, encoder_factory)
        self.val_samples, _, val_skipped = self._samples(lists["validation"], cache, encoder_factory)
        encoder.clear()  # the DVAE is not needed any more
        self.data_fingerprint = train_sha
        # the list as read, so the UI can tell that the data changed since without computing features
        self.train_list_sha256 = file_sha256(self.dataset_dir / TRAIN_FILE)
        for item in skipped + val_skipped:
            self.report.log(f"skipped {item.where}: {item.reason}")
            self.report.event("skipped", step=0, where=item.where, reason=item.reason)
        self.report.log(f"data: {len(self.train_samples)} training and {len(self.val_samples)} validation clips "
                        f"({cache.computed} features computed, the rest from {cache.folder}, "
                        f"{time.monotonic() - started:.1f} s)")
        self.steps_per_epoch = configuration.steps_per_epoch(len(self.train_samples), self.cfg.batch_size)
        if self.steps_per_epoch == 0:
            raise UserError(f"batch_size: {self.cfg.batch_size} is more than the {len(self.train_samples)} usable "
                            f"training clips of {self.cfg.dataset!r}; lower batch_size or fix the skipped lines")
        self.silence = self._silence_mel()

    def _samples(self, listed: tuple[list, list[Skipped]], cache: FeatureCache, encoder_factory):
        entries, skipped = listed
        skipped = list(skipped)
        samples, fingerprint = [], hashlib.sha256()
        max_codes, max_text = self._model_limits()
        max_seconds = min(MAX_CLIP_SAMPLES, (max_codes - 1) * 1024 + 1023) / 22050
        for entry in entries:
            try:
                features = cache.get(self.dataset_dir / entry.audio, encoder_factory)
            except UserError as exc:
                skipped.append(Skipped(entry.where, str(exc)))
                continue
            try:  # a line with symbols the tokenizer lacks is skipped, as DLAS did: [UNK] targets teach nothing
                tokens = torch.tensor(self.tokenizer.encode_for_training(entry.text), dtype=torch.long)
            except UnknownSymbols as exc:
                skipped.append(Skipped(entry.where, str(exc)))
                continue
            name = Path(entry.audio).name
            if features.n_samples < 1024:
                skipped.append(Skipped(entry.where, f"{name}: shorter than one DVAE code (1024 samples)"))
            elif features.n_samples > MAX_CLIP_SAMPLES or features.codes.numel() > max_codes:
                skipped.append(Skipped(entry.where, f"{name}: {features.n_samples / 22050:.2f} s is longer "
                                                    f"than the {max_seconds:.2f} s a training clip may last"))
            elif len(tokens) == 0 or len(tokens) > max_text:
                skipped.append(Skipped(entry.where, f"text of {len(tokens)} tokens; the model takes 1 to {max_text}"))
            else:
                samples.append(Sample(entry.where, tokens, features.codes, features.mel, features.n_samples))
                fingerprint.update(f"{Path(entry.audio).name}|{entry.text}|{features.n_samples}\n".encode())
                fingerprint.update(features.codes.numpy().tobytes())
                fingerprint.update(tokens.numpy().tobytes())  # a tokenizer trained again changes the run
        return samples, fingerprint.hexdigest()[:16], skipped

    def _model_limits(self) -> tuple[int, int]:
        """(most codes, most text tokens) a clip may have: DLAS's limits, or the model's if smaller."""
        from ..models.files import model_sizes
        sizes = model_sizes(self.models_dir)["autoregressive"]
        # UnifiedVoice adds start and stop tokens to each sequence, and pads the codes by one more.
        return (int(sizes.get("max_mel_tokens", 250)) - 2,
                min(MAX_TEXT_TOKENS, int(sizes.get("max_text_tokens", 120)) - 2))

    def _silence_mel(self) -> torch.Tensor:
        """The normalised mel column of digital silence: what TorToiSe's zero-padded short references give."""
        from ..models import normalized_mel
        return normalized_mel(torch.zeros(1, 4 * 256))[0, :, 2].clone()

    def _check_resume(self, checkpoint: Path) -> dict:
        state = checkpointing.load_state(checkpoint)
        changes = checkpointing.changed_keys(state["trajectory"], self.trajectory)
        if changes and not self.force:
            raise UserError(f"resume from {checkpoint}: the configuration changed in ways that change the training "
                            f"trajectory: {'; '.join(changes)}. Use --force to resume anyway, or --resume none to start over")
        if changes:
            self.report.log(f"resuming with changed settings (--force): {'; '.join(changes)}")
        silent = checkpointing.changed_keys(checkpointing.flatten(state["config"]),
                                            checkpointing.flatten(configuration.config_to_dict(self.cfg)))
        if silent:
            self.report.log(f"settings changed since the checkpoint: {'; '.join(silent)}")
        self.resume_changes = changes
        return state

    def _archive_previous_history(self) -> None:
        """A fresh start in a run folder that already trained: move the old history aside, never delete it."""
        metrics = self.run_dir / METRICS_FILE
        trained = metrics.is_file() and '"kind": "train"' in metrics.read_text(encoding="utf-8", errors="replace")
        old_checkpoints = self.run_dir / "checkpoints"
        if not trained and not (old_checkpoints.is_dir() and any(old_checkpoints.iterdir())):
            return
        target = self.run_dir / "previous" / datetime.now().strftime("%Y%m%d-%H%M%S")
        target.mkdir(parents=True, exist_ok=True)
        self.report.close()  # its files are about to move
        for name in (METRICS_FILE, TRAIN_LOG, TENSORBOARD_DIR, "checkpoints", SAMPLES_DIR):
            if (self.run_dir / name).exists():
                shutil.move(str(self.run_dir / name), str(target / name))
        self.report = Report(self.run_dir, enabled=True)
        self.report.log(f"fresh start: the previous history of this run was moved to {target}")

    def _build_model(self, weights: Path) -> torch.nn.Module:
        from ..models import fuse_gelu, load_autoregressive
        model = fuse_gelu(load_autoregressive(self.models_dir, weights, dropout=self.cfg.model.dropout,
                                              checkpointing=self.cfg.model.gradient_checkpointing,
                                              attention=self.cfg.model.attention))
        self.report.log(f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters from {weights}")
        return model.to(self.device).train()

    def _build_optimization(self) -> None:
        cfg = self.cfg
        self.optimizer = build_optimizer(self.model, cfg)
        self.scheduler = build_scheduler(self.optimizer, cfg, self.steps_per_epoch)
        use_scaler = cfg.precision == "fp16" and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if use_scaler else None
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(cfg.precision)
        self.autocast = (lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype else contextlib.nullcontext
        self.steps_total = configuration.total_steps(cfg, len(self.train_samples))
        self.end_step = min(self.steps_total, cfg.max_steps) if cfg.max_steps else self.steps_total
        self.params = [p for p in self.model.parameters() if p.requires_grad]

    def _restore(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        checkpointing.restore_rng_states(state["rng"])
        self.step = int(state["step"])
        apply_settings(self.optimizer, self.scheduler, self.cfg)

    # ------------------------------------------------------------------ the loop

    def train(self) -> str:
        """Run to the end (epochs or max_steps) or to a requested stop; returns "done" or "stop"."""
        cfg = self.cfg
        common = dict(steps_total=self.steps_total, end_step=self.end_step, steps_per_epoch=self.steps_per_epoch,
                      n_train=len(self.train_samples), n_val=len(self.val_samples), processes=self.dist.world,
                      micro_batches=self.micro_count, device=str(self.device),
                      train_list=self.train_list_sha256)
        if self.resumed_from is not None:
            self.report.event("resume", step=self.step, checkpoint=str(self.resumed_from),
                              changed=getattr(self, "resume_changes", []), **common)
            self.report.log(f"resuming at step {self.step} from {self.resumed_from}")
        else:
            self.report.event("start", step=0, **common)
            self.report.log(f"start: {self.steps_total} steps ({cfg.epochs} epochs of {self.steps_per_epoch}), "
                            f"stopping at {self.end_step}, {self.dist.world} process(es), {self.micro_count} "
                            f"micro-batches per step, on {self.device}")
        self._start_watchdog()
        saved_at = self.step if self.resumed_from is not None else None
        validated_at = None
        while self.step < self.end_step:
            if self.dist.any(self.stop_requested, self.device):
                self.report.log(f"stop requested: stopping at step {self.step}")
                break
            started = time.monotonic()
            losses, lr, grad_norm = self.next_step()
            self.report.train(step=self.step, epoch=self.epoch, samples=self.step * cfg.batch_size, losses=losses,
                              lr=lr, grad_norm=grad_norm, sec_per_step=time.monotonic() - started,
                              steps_total=self.end_step)
            self._beat()
            if self.step % self.steps_per_epoch == 0 and self.step < self.end_step:
                epochs_done = self.step // self.steps_per_epoch
                if self._validation_on() and epochs_done % cfg.validation.every_epochs == 0:
                    self.validate()
                    validated_at = self.step
                if epochs_done % cfg.save_every_epochs == 0:
                    self.save_checkpoint(losses)
                    saved_at = self.step
                self._beat()
        if self.step < self.end_step:  # a requested stop
            if saved_at != self.step and self.step > 0:
                self.save_checkpoint(self._last_losses)
            self.report.event("stop", step=self.step, epoch=self.epoch, reason="signal")
            self.report.log(f"stopped at step {self.step}; resume continues from there")
            return "stop"
        if self._validation_on() and validated_at != self.step:
            self.validate()
        if saved_at != self.step:
            self.save_checkpoint(getattr(self, "_last_losses", {}))
        target = self._export()
        reason = "epochs" if self.step >= self.steps_total else "max_steps"
        self.report.event("done", step=self.step, epoch=self.epoch, reason=reason, model=str(target) if target else None)
        self.report.log(f"done at step {self.step} ({reason}); fine-tune: {target}")
        return "done"

    @property
    def epoch(self) -> float:
        return round(self.step / self.steps_per_epoch, 4)

    def _validation_on(self) -> bool:
        return self.cfg.validation.enabled and bool(self.val_samples)

    def next_step(self) -> tuple[dict, float, float | None]:
        """Take optimizer step number self.step + 1 (the batch is a function of the step); returns
        (mean losses over its M micro-batches, the lr it used, the gradient norm before clipping)."""
        epoch = self.step // self.steps_per_epoch
        if getattr(self, "_order_epoch", None) != epoch:
            lengths = [s.codes.numel() for s in self.train_samples]
            self._order = batching.epoch_batches(lengths, self.cfg.batch_size, seed=self.cfg.seed, epoch=epoch)
            self._order_epoch = epoch
        result = self._step(self._order[self.step % self.steps_per_epoch], epoch)
        self.step += 1
        return result

    def _step(self, batch: list[int], epoch: int) -> tuple[dict, float, float | None]:
        cfg = self.cfg
        parts = batching.micro_batches(batch, self.micro_count)
        widths = step_widths([self.train_samples[i] for i in batch])
        self.optimizer.zero_grad(set_to_none=True)
        totals = torch.zeros(2, dtype=torch.float64, device=self.device)
        mine = batching.rank_share(len(parts), self.dist.rank, self.dist.world)
        for k in mine:
            # Dropout masks of micro-batch k of this step are the same whoever computes it, whenever.
            torch.manual_seed(batching.derive_seed(cfg.seed, "dropout", self.step, k))
            samples = [self.train_samples[i] for i in parts[k]]
            crops = [batching.crop_starts(s.mel.shape[1], CROP_FRAMES, seed=cfg.seed, epoch=epoch, index=i)
                     for s, i in zip(samples, parts[k])]
            # DDP all-reduces (averages over processes) on the last backward of the step only.
            sync = k == mine[-1] or not self.dist.active
            with contextlib.nullcontext() if sync else self.forward.no_sync():
                loss_text, loss_mel = self._forward(collate(samples, crops, self.silence, widths).to(self.device))
                share = len(samples) / len(batch)  # every clip of the step has the same number of positions
                loss = (cfg.text_lr_weight * loss_text + cfg.mel_lr_weight * loss_mel) * share
                scaled = loss * self.dist.world  # undo DDP's average over processes: the step's loss is a sum
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            totals += torch.stack([loss_text.detach(), loss_mel.detach()]).double() * share
        self.dist.sum_(totals)
        text, mel = totals.tolist()
        if not (math.isfinite(text) and math.isfinite(mel)):
            raise FloatingPointError(f"the loss became {text if not math.isfinite(text) else mel} at step "
                                     f"{self.step + 1}; training diverged (lower learning_rate, or use fp32/bf16)")
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip))
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self._last_losses = self._losses(text, mel)
        return self._last_losses, lr, grad_norm if math.isfinite(grad_norm) else None

    def _forward(self, batch, module: torch.nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        with self.autocast():
            loss_text, loss_mel = (module or self.forward)(batch.cond_mels, batch.text, batch.text_lengths,
                                                           batch.codes, batch.wav_lengths)
        return loss_text.float(), loss_mel.float()

    def _losses(self, text: float, mel: float) -> dict:
        total = self.cfg.text_lr_weight * text + self.cfg.mel_lr_weight * mel
        return {"loss_text_ce": text, "loss_mel_ce": mel, "loss_gpt_total": total}

    @torch.no_grad()
    def validate(self) -> dict:
        """Mean losses over validation.txt (eval mode, fixed crops); a "val" row, never a step."""
        self.model.eval()
        size = max(1, configuration.micro_batch_size(self.cfg))
        order = sorted(range(len(self.val_samples)), key=lambda i: -self.val_samples[i].codes.numel())
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        widths = step_widths(self.val_samples)  # one width for all: the same losses for any chunking
        totals = torch.zeros(3, dtype=torch.float64, device=self.device)
        for k in batching.rank_share(len(chunks), self.dist.rank, self.dist.world):
            samples = [self.val_samples[i] for i in chunks[k]]
            crops = [batching.crop_starts(s.mel.shape[1], CROP_FRAMES, seed=self.cfg.seed, epoch="val", index=i)
                     for s, i in zip(samples, chunks[k])]
            # The unwrapped module: ranks may validate different numbers of chunks, and DDP is for training steps.
            loss_text, loss_mel = self._forward(collate(samples, crops, self.silence, widths).to(self.device),
                                                self.forward_module)
            totals += torch.tensor([loss_text.item() * len(samples), loss_mel.item() * len(samples), len(samples)],
                                   dtype=torch.float64, device=self.device)
        self.dist.sum_(totals)
        self.model.train()
        losses = self._losses(totals[0].item() / totals[2].item(), totals[1].item() / totals[2].item())
        self.report.val(step=self.step, epoch=self.epoch, losses=losses)
        return losses

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, losses: dict) -> None:
        """Rank 0 writes checkpoints/<step>/; the other ranks wait so nobody runs ahead of a save."""
        if self.dist.is_main:
            state = {
                "format": checkpointing.STATE_FORMAT, "step": self.step,
                "epoch": self.step // self.steps_per_epoch, "batch_in_epoch": self.step % self.steps_per_epoch,
                "samples": self.step * self.cfg.batch_size, "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler else None,
                "rng": checkpointing.rng_states(), "trajectory": self.trajectory,
                "trajectory_hash": checkpointing.trajectory_hash(self.trajectory),
                "config": configuration.config_to_dict(self.cfg), "processes": self.dist.world,
            }
            folder = checkpointing.save_checkpoint(
                self.run_dir, step=self.step, model_state=self.model_state(), state=state,
                meta={"epoch": self.epoch, "losses": losses, "steps_total": self.steps_total},
                keep_last=self.cfg.keep_last, tokenizer=self.tokenizer.record)
            self.report.event("checkpoint", step=self.step, epoch=self.epoch, path=str(folder))
            self.report.log(f"saved checkpoint {folder}")
        self.dist.barrier()

    def model_state(self) -> dict:
        """A plain UnifiedVoice state dict on the CPU (what TorToiSe loads with strict=True)."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def _export(self) -> Path | None:
        if not self.dist.is_main:
            return None
        target = self.workspace.finetunes / f"{self.cfg.dataset}-{self.run_dir.name}.pth"
        return checkpointing.export_model(self.model_state(), target, tokenizer=self.tokenizer.record)

    # ------------------------------------------------------------------ stalls, stops, cleanup

    def request_stop(self) -> None:
        self.stop_requested = True

    def _beat(self) -> None:
        self._last_beat = time.monotonic()

    def _start_watchdog(self) -> None:
        if not self.dist.is_main or self._watchdog is not None:
            return
        self._beat()
        limit = float(self.cfg.stall_seconds)
        self._watchdog = threading.Thread(target=self._watch, args=(limit,), name="stall-watchdog", daemon=True)
        self._watchdog.start()

    def _watch(self, limit: float) -> None:
        reported_beat = None
        while not self._done.wait(min(5.0, max(0.05, limit / 4))):
            beat = self._last_beat
            if time.monotonic() - beat > limit and reported_beat != beat:
                reported_beat = beat
                self.report.event("stalled", step=self.step, seconds=limit,
                                  message=f"no training step completed in {limit:g} s (after step {self.step})")
                self.report.log(f"warning: no training step completed in {limit:g} s")

    def cleanup(self) -> None:
        self._done.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=10)
        self.report.close()
        distributed.stop()


class TrainingForward(torch.nn.Module):
    """Conditioning and UnifiedVoice's forward pass as one module call, which is what DDP wraps: every
    parameter that gets a gradient is then used inside its forward.

    clip_inputs=False: the batch comes padded to its step's widths, and UnifiedVoice's own clipping would
    cut the longest clip's last target (position n // 1024) that it keeps for every other clip.
    """

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, cond_mels, text, text_lengths, codes, wav_lengths) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.model.get_conditioning(cond_mels)
        loss_text, loss_mel, _ = self.model(latent, text, text_lengths, codes, wav_lengths, clip_inputs=False)
        return loss_text, loss_mel


def describe_error(exc: BaseException) -> str:
    """One line for the "error" event: what went wrong and, where known, what to do."""
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return (f"out of memory ({str(exc).splitlines()[0][:200]}); lower batch_size, raise gradient_accumulation, "
                "or set model.gradient_checkpointing: true")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

