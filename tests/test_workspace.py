"""Names that become paths: hostile names are refused with a reason; the workspace layout."""

import pytest

from tortoise_studio.errors import UserError
from tortoise_studio.workspace import Workspace, safe_name

HOSTILE = {
    "": "empty",
    "   ": "empty",
    ".": "'.' and '..'",
    "..": "'.' and '..'",
    "../etc": "must not contain /",
    "a/b": "must not contain /",
    "a\\b": "must not contain \\",
    "/etc/passwd": "must not contain /",
    "x..y": "'..'",
    "nul\x00byte": "control character",
    "tab\there": "control character",
    "new\nline": "control character",
    "\u202eevil": "control character",  # right-to-left override hides the real name
    ".hidden": "must not start with '.'",
    "-rf": "must not start with '-'",
    "a" * 101: "longer than 100",
    "c:drive": "must not contain :",
    "what?": "must not contain ?",
    " padded ": "spaces",
}


@pytest.mark.parametrize("name,reason", HOSTILE.items(), ids=[repr(n)[:30] for n in HOSTILE])
def test_hostile_names_are_refused_with_a_reason(name, reason):
    with pytest.raises(UserError) as caught:
        safe_name(name, what="voice")
    assert str(caught.value).startswith("voice")
    assert reason in str(caught.value)


@pytest.mark.parametrize("name", ["alice", "Alice Smith", "voice_01", "día", "声", "a" * 100, "it's"])
def test_ordinary_names_pass_unchanged(name):
    assert safe_name(name) == name


def test_workspace_paths_stay_inside_the_root(tmp_path):
    ws = Workspace.at(tmp_path).ensure()
    assert ws.voice_dir("bob") == tmp_path / "voices" / "bob"
    assert ws.run_dir("bob", "run 1") == tmp_path / "training" / "bob" / "runs" / "run 1"
    with pytest.raises(UserError):
        ws.dataset_dir("../../etc")
    assert ws.contains(ws.voice_dir("bob"))
    assert not ws.contains(tmp_path.parent)


def test_lists_only_datasets_with_train_txt_and_runs_newest_first(tmp_path):
    import os
    ws = Workspace.at(tmp_path).ensure()
    (ws.training / "empty").mkdir()
    for ds in ("a", "b"):
        (ws.training / ds).mkdir()
        (ws.training / ds / "train.txt").write_text("audio/x.wav|hi\n")
    for i, run in enumerate(["old", "new"]):
        folder = ws.run_dir("a", run)
        folder.mkdir(parents=True)
        (folder / "train.yaml").write_text("dataset: a\n")
        os.utime(folder / "train.yaml", (1000 + i, 1000 + i))
    assert ws.list_datasets() == ["a", "b"]
    assert [p.name for p in ws.list_runs()] == ["new", "old"]
