"""Data order, micro-batch split, list parsing and the feature cache, on real clips and the tiny DVAE."""

from __future__ import annotations

import shutil

import torch

from train_helpers import make_dataset
from tortoise_studio.train.batching import crop_starts, epoch_batches, micro_batches, rank_share
from tortoise_studio.train.cache import FeatureCache, FeatureEncoder
from tortoise_studio.dataset.lists import read_list
from tortoise_studio.train.data import CROP_FRAMES, Sample, collate, step_widths


def test_epoch_order_is_seeded_length_grouped_and_independent_of_processes():
    lengths = [(i * 37) % 101 + 5 for i in range(40)]
    first = epoch_batches(lengths, 4, seed=1, epoch=0)
    assert first == epoch_batches(lengths, 4, seed=1, epoch=0)
    assert first != epoch_batches(lengths, 4, seed=1, epoch=1)
    assert sorted(i for batch in first for i in batch) == list(range(40))
    # longest first inside every batch
    assert all([lengths[i] for i in b] == sorted((lengths[i] for i in b), reverse=True) for b in first)
    # a batch spans a narrower length range than a random draw would: grouped within windows
    spread = sum(lengths[b[0]] - lengths[b[-1]] for b in first) / len(first)
    assert spread < (max(lengths) - min(lengths)) / 3

    assert len(epoch_batches(list(range(10)), 4, seed=1, epoch=0)) == 2  # the incomplete batch is dropped


def test_micro_batches_cover_the_global_batch_whatever_the_process_count():
    parts = micro_batches([9, 8, 7, 6, 5, 4, 3, 2], 4)
    assert parts == [[9, 8], [7, 6], [5, 4], [3, 2]]
    for world in (1, 2, 4):
        shares = [rank_share(len(parts), rank, world) for rank in range(world)]
        assert sorted(k for share in shares for k in share) == [0, 1, 2, 3]


def test_crops_depend_only_on_seed_epoch_and_sample():
    assert crop_starts(500, CROP_FRAMES, seed=3, epoch=2, index=5) == crop_starts(500, CROP_FRAMES, seed=3, epoch=2, index=5)
    assert crop_starts(500, CROP_FRAMES, seed=3, epoch=2, index=5) != crop_starts(500, CROP_FRAMES, seed=3, epoch=3, index=5)
    assert crop_starts(100, CROP_FRAMES, seed=3, epoch=2, index=5) == (0, 0)


def test_collate_pads_every_micro_batch_to_the_widths_of_its_step():
    def sample(n_codes, n_tokens):
        frames = n_codes * 4 + 1
        return Sample("x", torch.arange(1, n_tokens + 1), torch.arange(n_codes), torch.zeros(80, frames),
                      n_codes * 1024)
    silence = torch.full((80,), -3.0)
    step = [sample(50, 12), sample(20, 30), sample(70, 5)]
    assert step_widths(step) == (30, 70)
    batch = collate(step[:2], [(0, 0), (0, 0)], silence, step_widths(step))
    assert batch.codes.shape == (2, 70) and batch.text.shape == (2, 30)
    assert batch.text_lengths.tolist() == [12, 30] and batch.wav_lengths.tolist() == [51200, 20480]
    assert batch.cond_mels.shape == (2, 2, 80, CROP_FRAMES)
    assert torch.all(batch.cond_mels[1, 0, :, 81:] == -3.0)  # a short clip is padded with silence


def test_read_list_reports_broken_lines(tmp_path):
    (tmp_path / "train.txt").write_text("audio/a.wav|Hello there.\n\nno separator\n|no path\naudio/b.wav|\n"
                                        "../../etc/passwd|escape\n")
    entries, skipped = read_list(tmp_path / "train.txt")
    assert [(e.where, e.audio, e.text) for e in entries] == [("train.txt:1", "audio/a.wav", "Hello there.")]
    assert [s.where for s in skipped] == ["train.txt:3", "train.txt:4", "train.txt:5", "train.txt:6"]
    assert "outside the dataset" in skipped[-1].reason


def test_cache_recomputes_changed_clips_and_corrupt_entries(workspace, tortoise_voices, tiny_models):
    folder = make_dataset(workspace, tortoise_voices, n_train=2, n_val=0)
    clip = folder / "audio" / "clip_0000.wav"
    encoders = []

    def encoder():
        encoders.append(1)
        return FeatureEncoder.from_models(tiny_models, torch.device("cpu"))

    cache = FeatureCache(folder / "cache", tiny_models / "dvae.pth")
    first = cache.get(clip, encoder)
    assert first.codes.numel() == first.n_samples // 1024 + 1 and first.mel.shape == (80, first.n_samples // 256 + 1)
    assert cache.get(clip, encoder).codes.equal(first.codes) and cache.computed == 1

    entry, = cache.folder.glob("*.pt")
    entry.write_bytes(b"not a tensor file")
    again = cache.get(clip, encoder)
    assert cache.computed == 2 and again.codes.equal(first.codes) and again.mel.equal(first.mel)

    shutil.copy(folder / "audio" / "clip_0001.wav", clip)  # the clip changes under the same name
    changed = cache.get(clip, encoder)
    assert cache.computed == 3 and changed.n_samples != first.n_samples
    assert len(list(cache.folder.glob("*.pt"))) == 2

    fresh = FeatureCache(folder / "cache", tiny_models / "dvae.pth")  # a new process: everything cached
    assert fresh.get(clip, encoder).codes.equal(changed.codes) and fresh.computed == 0
