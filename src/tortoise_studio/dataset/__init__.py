"""Preparing a voice into a training dataset, and proofreading it afterwards."""

from __future__ import annotations

from .lists import ListEntry, Skipped, read_list, split_entries, write_list
from .prepare import (PrepareOptions, PrepareProgress, PrepareReport, prepare_all_voices, prepare_dataset)
from .proofread import ClipRow, drop_clip, load_clip_table, move_clip, save_clip_table
from .slicing import ClipSpan, plan_clips

__all__ = ["ClipRow", "ClipSpan", "ListEntry", "PrepareOptions", "PrepareProgress", "PrepareReport",
           "drop_clip", "load_clip_table", "move_clip", "plan_clips", "prepare_all_voices", "prepare_dataset",
           "read_list", "Skipped", "save_clip_table", "split_entries", "write_list"]
