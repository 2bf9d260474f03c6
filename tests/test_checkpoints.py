"""Listing checkpoints without torch: complete ones only, latest first."""

from __future__ import annotations

import json

from tortoise_studio.runs.checkpoints import latest_checkpoint, list_checkpoints


def _checkpoint(run_dir, step, *, complete=True, name=None):
    folder = run_dir / "checkpoints" / (name or str(step))
    folder.mkdir(parents=True)
    (folder / "model.pth").write_bytes(b"x")
    (folder / "state.pth").write_bytes(b"x")
    if complete:
        (folder / "meta.json").write_text(json.dumps({"step": step, "epoch": step / 10,
                                                      "losses": {"loss_mel_ce": 1.5}, "time": "2026-01-02T03:04:05"}))


def test_lists_complete_checkpoints_latest_first(tmp_path):
    assert list_checkpoints(tmp_path) == [] and latest_checkpoint(tmp_path) is None
    for step in (5, 40, 10):
        _checkpoint(tmp_path, step)
    _checkpoint(tmp_path, 50, complete=False)          # a save killed half-way
    _checkpoint(tmp_path, 60, name=".tmp-60-1234")      # a save still under its temporary name
    (tmp_path / "checkpoints" / "70").mkdir()
    (tmp_path / "checkpoints" / "70" / "meta.json").write_text("{broken")

    found = list_checkpoints(tmp_path)

    assert [c.step for c in found] == [40, 10, 5]
    assert latest_checkpoint(tmp_path).path == tmp_path / "checkpoints" / "40"
    assert found[0].model_path.name == "model.pth"
    assert found[0].label == "step 40 (epoch 4.00, mel loss 1.5000) 2026-01-02 03:04:05"


def test_importing_the_listing_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, tortoise_studio.runs.checkpoints; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
