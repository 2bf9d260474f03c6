"""Everything a run tells people, from rank 0 only: metrics.jsonl rows, train.log, TensorBoard, stdout.

Other ranks get a `Report` that writes nothing, so the loop never asks "am I rank 0?".
The watchdog thread writes through the same object, hence the lock.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from pathlib import Path

from ..metrics.writer import METRICS_FILE, MetricsWriter
from ..workspace import TENSORBOARD_DIR, TRAIN_LOG



class Report:
    """Writes rows and log lines; `enabled=False` (ranks other than 0) makes every call a no-op."""

    def __init__(self, run_dir: Path, *, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self._lock = threading.Lock()
        self._metrics = MetricsWriter(run_dir / METRICS_FILE) if enabled else None
        self._log = open(run_dir / TRAIN_LOG, "a", encoding="utf-8") if enabled else None
        self._board = None  # created on the first row: importing tensorboard costs a second
        self._board_dir = run_dir / TENSORBOARD_DIR if enabled and tensorboard else None

    def log(self, message: str, *, echo: bool = True) -> None:
        """A train.log line (DLAS-like: time, then the message), echoed to stdout."""
        if not self.enabled:
            return
        line = f"{datetime.now().strftime('%y-%m-%d %H:%M:%S.%f')[:-3]} - INFO: {message}"
        with self._lock:
            self._log.write(line + "\n")
            self._log.flush()
            if echo:
                print(line, flush=True)

    def event(self, event: str, *, step: int, **fields) -> None:
        if self.enabled:
            with self._lock:
                self._metrics.event(event, step=step, **fields)

    def train(self, *, step: int, epoch: float, samples: int, losses: dict, lr: float,
              grad_norm: float | None, sec_per_step: float, steps_total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._metrics.train(step=step, epoch=epoch, samples=samples, losses=losses, lr=lr,
                                grad_norm=grad_norm, sec_per_step=sec_per_step)
        self._scalars(step, {**{f"train/{k}": v for k, v in losses.items()}, "train/lr": lr,
                             "train/grad_norm": grad_norm, "train/sec_per_step": sec_per_step})
        figures = ", ".join(f"{k}: {v:.4e}" for k, v in losses.items())
        self.log(f"<epoch:{epoch:6.2f}, iter:{step:8d}, lr:{lr:.3e}> {figures}, grad_norm: "
                 f"{grad_norm if grad_norm is None else round(grad_norm, 4)}", echo=False)
        self._progress(step, steps_total, epoch, losses, sec_per_step)

    def val(self, *, step: int, epoch: float, losses: dict) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._metrics.val(step=step, epoch=epoch, losses=losses)
        self._scalars(step, {f"val/{k}": v for k, v in losses.items()})
        self.log(f"Validation at epoch {epoch:.2f}, iter {step}: "
                 + ", ".join(f"{k}: {v:.4e}" for k, v in losses.items()))

    def _progress(self, step: int, total: int, epoch: float, losses: dict, sec: float) -> None:
        eta = (total - step) * sec
        print(f"step {step}/{total} epoch {epoch:.2f} mel {losses['loss_mel_ce']:.4f} "
              f"text {losses['loss_text_ce']:.4f} {sec:.2f}s/step eta {eta / 60:.1f} min", flush=True)

    def _scalars(self, step: int, values: dict) -> None:
        board = self._tensorboard()
        if board is None:
            return
        for key, value in values.items():
            if value is not None:
                board.add_scalar(key, float(value), step)
        board.flush()

    def _tensorboard(self):
        if self._board is None and self._board_dir is not None:
            from torch.utils.tensorboard import SummaryWriter
            self._board = SummaryWriter(str(self._board_dir))
        return self._board

    def close(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._metrics.close()
            self._log.close()
            if self._board is not None:
                self._board.close()


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
