"""Data order: which clips form each optimizer step, and which rank computes which part of it.

The order is a function of (seed, epoch) and the clip lengths only, never of the number of processes:
one seeded permutation per epoch, sorted by length inside windows of a few batches (so a batch holds
clips of similar length and little padding), cut into global batches, the batches shuffled again.
A global batch is split into M micro-batches (M = gradient_accumulation x gpus, fixed by the config);
rank r of W processes computes micro-batches r, r+W, ...
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

# Length-sorting windows span this many global batches: wide enough to group similar lengths,
# narrow enough that every epoch still mixes short and long clips differently.
WINDOW_BATCHES = 8


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed mixed from `parts`; the same on every machine and Python process (unlike hash())."""
    digest = hashlib.sha256(repr(tuple(parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def epoch_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int,
                  window_batches: int = WINDOW_BATCHES) -> list[list[int]]:
    """The global batches of one epoch as lists of sample indices, longest clip first in each batch.

    Only full batches are returned (len(lengths) // batch_size of them); which clips fall in the
    dropped remainder changes from epoch to epoch.
    """
    n = len(lengths)
    n_batches = n // batch_size if batch_size > 0 else 0
    if n_batches == 0:
        return []
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, "order", epoch)))
    order = rng.permutation(n)
    window = batch_size * window_batches
    length = np.asarray(lengths)
    grouped = []
    for start in range(0, n, window):
        chunk = order[start:start + window]
        # Stable sort, longest first; ties keep the permutation's random order.
        grouped.extend(chunk[np.argsort(-length[chunk], kind="stable")].tolist())
    batches = [grouped[i * batch_size:(i + 1) * batch_size] for i in range(n_batches)]
    return [batches[i] for i in rng.permutation(n_batches)]


def micro_batches(batch: Sequence[int], count: int) -> list[list[int]]:
    """Split a global batch into `count` contiguous micro-batches (sizes differ by at most one)."""
    return [list(part) for part in np.array_split(np.asarray(batch, dtype=np.int64), count) if len(part)]


def rank_share(n_micro: int, rank: int, world: int) -> list[int]:
    """Indices of the micro-batches that `rank` computes."""
    return list(range(rank, n_micro, world))


def crop_starts(n_frames: int, crop_frames: int, *, seed: int, epoch: int | str, index: int) -> tuple[int, int]:
    """Start frames of the two conditioning crops of sample `index`: a function of (seed, epoch, index)."""
    if n_frames <= crop_frames:
        return 0, 0
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, "crop", epoch, index)))
    a, b = rng.integers(0, n_frames - crop_frames + 1, size=2)
    return int(a), int(b)
