"""Tokenizer section handlers and the proofreading table's "as trained" column, called as the UI calls them."""

from __future__ import annotations

import json

from tortoise_studio.ui import prepare_tab, tokenizer_section
from tortoise_studio.ui.context import AppContext

LINES = ["Кошка сидит на окне.", "Сегодня тёплый день, и дети играют в саду.", "Где станция метро?"]


def _dataset(workspace, name="ru"):
    folder = workspace.dataset_dir(name)
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("".join(f"audio/c{i}.wav|{t}\n" for i, t in enumerate(LINES)), encoding="utf-8")
    (folder / "dataset.json").write_text(json.dumps({"language": "ru"}))
    return folder


def test_train_split_and_count(workspace):
    ctx = AppContext(workspace)
    _dataset(workspace)
    status, dropdown = tokenizer_section.train_handler(ctx, "ru", "", 80, None)
    assert "Trained tokenizer **ru**" in status and dropdown["value"] == "ru" and dropdown["choices"] == ["english", "ru"]

    shown = tokenizer_section.split_handler(ctx, "ru", "Кошка в саду")
    assert "кошка в саду" in shown and "`[SPACE]`" in shown and "[UNK]" not in shown.split("pieces**")[1].split("\n")[0]
    assert "1 [UNK]" in tokenizer_section.split_handler(ctx, "ru", "кошка q")
    assert tokenizer_section.split_handler(ctx, "ru", " ").startswith("**Cannot split:** sentence")

    table, note = tokenizer_section.coverage_handler(ctx, "ru")
    rows = {r["tokenizer"]: r for _, r in table.iterrows()}
    assert rows["ru"]["[UNK]"] == 0 and rows["english"]["note"] == "written as ASCII, not ru"
    assert "(ru), 3 lines" in note

    status, _ = tokenizer_section.train_handler(ctx, "ru", "english", 80, None)
    assert status.startswith("**Not trained:** name: 'english'")
    status, _ = tokenizer_section.train_handler(ctx, None, "", 80, None)
    assert status.startswith("**Not trained:** dataset")


def test_proofreading_table_shows_the_text_as_trained(workspace):
    ctx = AppContext(workspace)
    _dataset(workspace)
    english = prepare_tab.clip_table(ctx, "ru")
    assert list(english.columns)[-1] == "as trained"
    assert english["as trained"].tolist()[0] == "koshka sidit na okne."  # before a tokenizer exists: English
    tokenizer_section.train_handler(ctx, "ru", "", 80, None)
    assert prepare_tab.clip_table(ctx, "ru")["as trained"].tolist()[0] == "кошка сидит на окне."
