"""Text normalisers and tokenizers: the English symbol table, other languages in their own script, trained
tokenizers in TorToiSe's format (checked with TorToiSe's own VoiceBpeTokenizer), model records, validation."""

from __future__ import annotations

import json

import pytest

from tortoise_studio import config as C
from tortoise_studio.errors import UserError
from tortoise_studio.text import (ENGLISH, UNK, TextTokenizer, UnknownSymbols, dataset_coverage, load_tokenizer,
                                  normaliser, read_record, tokenizer_for_model, train_tokenizer, write_record)

RUSSIAN = ["Кошка сидит на окне и смотрит во двор.", "Сегодня тёплый день, и дети играют в саду.",
           "Мы купили 3 книги и 21 тетрадь.", "Где находится ближайшая станция метро?",
           "Он читает газету каждое утро за завтраком.", "Эта история началась очень давно."]


@pytest.fixture(scope="module")
def english():
    return TextTokenizer.english()


# What Whisper writes that TorToiSe's packaged tokenizer has no symbol for, and what it becomes.
SYMBOL_TABLE = [
    ("It is 50% off.", "it is fifty percent off."),
    ("Salt & pepper", "salt and pepper"),
    ("Write to me @ home", "write to me at home"),
    ("Call #5 now", "call five now"),
    ("He said (quietly) [sic] {x} <y> yes", "he said quietly sic x y yes"),
    ('"Quoted," she said.', "quoted, she said."),
    ("«Bonjour» and “hello” and „hallo“", "bonjour and hello and hallo"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("a *bold* _word_ ~ish^ `code` back\\slash", "a bold word ish code back slash"),
    ("It cost $ a lot, €20 or £3.", "it cost dollars a lot, twenty euros or three pounds."),
    ("I paid $5.50 for it.", "i paid five dollars, fifty cents for it."),
    ("Mr. Smith's café — naïve…", "mister smith's cafe -- naive..."),
]


@pytest.mark.parametrize("raw, expected", SYMBOL_TABLE)
def test_english_normaliser_turns_every_symbol_into_words_or_drops_it(english, raw, expected):
    assert english.normalise(raw) == expected
    assert UNK not in english.encode(raw)


def test_no_printable_ascii_symbol_is_left_as_unk(english):
    import string
    for char in string.printable:
        assert UNK not in english.encode(f"a{char}b 7{char}"), char


def test_english_ids_are_tortoises_own_for_plain_text(english):
    from tortoise.utils.tokenizer import VoiceBpeTokenizer
    tortoise = VoiceBpeTokenizer()
    for text in ["Hello there, this is a real clip.", "It's easy to tell the depth of a well!",
                 "Four hours of steady work faced us; 12 of them."]:
        assert english.encode(text) == tortoise.encode(text)


def test_other_languages_keep_their_script_with_numbers_in_their_words():
    assert normaliser("unicode:ru")("Привет,  Мир! У меня 21 кошка (и «пёс»).") == \
        "привет, мир! у меня двадцать один кошка и пёс."
    assert normaliser("unicode:es")("Tengo 2 perros, ¿y tú? ﬁn") == "tengo dos perros, ¿y tú? fin"  # NFKC: ﬁ -> fi
    assert normaliser("unicode:de")("Straße 3,5 km") == "straße drei komma fünf km"
    assert normaliser("unicode:el")("Γειά σου ΚΌΣΜΕ") == "γειά σου κόσμε"
    assert normaliser("unicode:ja")("ねこが３匹") == "ねこが三匹"  # full-width digit by NFKC, then in Japanese
    with pytest.raises(UserError, match="normaliser: 'klingon'"):
        normaliser("klingon")


def test_japanese_can_be_read_as_romaji_on_request(workspace):
    from tortoise.utils.tokenizer import VoiceBpeTokenizer
    lines = ["猫が窓の上で寝ています。", "明日、東京へ３匹で行きます！", "私は本を読むのが好きです。"]
    assert normaliser("romaji:ja")(lines[1]) == "ashita, toukyou he sanbiki de iki masu!"
    _russian_dataset(workspace, name="ja", lines=lines, language="ja")
    assert train_tokenizer(workspace, "ja", vocab_size=60).tokenizer.normalise.name == "unicode:ja"  # the default
    tokenizer = train_tokenizer(workspace, "ja", name="ja-romaji", vocab_size=60, normaliser_name="romaji:ja").tokenizer
    assert (tokenizer.language, tokenizer.normalise.name) == ("ja", "romaji:ja")
    tortoise = VoiceBpeTokenizer(vocab_file=str(tokenizer.path), use_basic_cleaners=True)
    for line in lines:
        assert tokenizer.encode(line) == tortoise.encode(tokenizer.normalise(line))
        assert UNK not in tokenizer.encode(line)


def _russian_dataset(workspace, name="ru", lines=RUSSIAN, language="ru"):
    folder = workspace.dataset_dir(name)
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("".join(f"audio/c{i}.wav|{t}\n" for i, t in enumerate(lines[:-1])), encoding="utf-8")
    (folder / "validation.txt").write_text(f"audio/v.wav|{lines[-1]}\n", encoding="utf-8")
    (folder / "dataset.json").write_text(json.dumps({"language": language}))
    return folder


def test_trained_tokenizer_keeps_tortoises_layout_and_loads_in_tortoise(workspace, tmp_path):
    from tortoise.utils.tokenizer import VoiceBpeTokenizer
    _russian_dataset(workspace)
    extra = tmp_path / "more.txt"
    extra.write_text("Москва — столица России.\nЯ люблю читать книги.\n", encoding="utf-8")
    trained = train_tokenizer(workspace, "ru", vocab_size=120, extra_text=extra)
    tokenizer = trained.tokenizer
    assert trained.lines == len(RUSSIAN) + 2
    assert tokenizer.path == workspace.models / "tokenizers" / "ru.json"
    assert (tokenizer.language, tokenizer.normalise.name, tokenizer.metadata["dataset"]) == ("ru", "unicode:ru", "ru")
    assert tokenizer.size <= 120
    vocab = json.loads(tokenizer.path.read_text(encoding="utf-8"))["model"]["vocab"]
    assert [vocab["[STOP]"], vocab["[UNK]"], vocab["[SPACE]"]] == [0, 1, 2]

    tortoise = VoiceBpeTokenizer(vocab_file=str(tokenizer.path), use_basic_cleaners=True)
    for sentence in RUSSIAN + ["Москва — столица России."]:
        normalised = tokenizer.normalise(sentence)
        ids = tokenizer.encode(sentence)
        assert ids == tortoise.encode(normalised)
        assert UNK not in ids
        assert ids.count(2) == normalised.count(" ")  # every space is [SPACE]
    assert tortoise.decode(tokenizer.encode(RUSSIAN[0])) == tokenizer.normalise(RUSSIAN[0])


def test_a_symbol_the_tokenizer_lacks_is_named_with_the_line(workspace):
    _russian_dataset(workspace)
    tokenizer = train_tokenizer(workspace, "ru", name="ru-small").tokenizer
    with pytest.raises(UnknownSymbols) as caught:
        tokenizer.encode_for_training("Кошка видит xyz.")
    assert "'Кошка видит xyz.'" in str(caught.value) and "x y z" in str(caught.value)
    assert tokenizer.pieces("кошка")[0][1] != "[UNK]"


def test_training_refuses_bad_sizes_names_and_unknown_language(workspace):
    _russian_dataset(workspace)
    with pytest.raises(UserError, match="vocab-size: 300"):
        train_tokenizer(workspace, "ru", vocab_size=300)
    with pytest.raises(UserError, match="name: 'english'"):
        train_tokenizer(workspace, "ru", name="english")
    (workspace.dataset_dir("ru") / "dataset.json").write_text("{}")
    with pytest.raises(UserError, match="language: dataset 'ru'"):
        train_tokenizer(workspace, "ru")
    assert train_tokenizer(workspace, "ru", language="ru").tokenizer.language == "ru"


def test_training_again_keeps_the_previous_file(workspace):
    _russian_dataset(workspace)
    first = train_tokenizer(workspace, "ru", vocab_size=60)
    before = first.tokenizer.path.read_bytes()
    second = train_tokenizer(workspace, "ru", vocab_size=80)
    assert first.backup is None
    assert second.backup.parent.parent.name == "backups" and second.backup.name == "ru.json" and second.backup.read_bytes() == before
    assert second.tokenizer.path.read_bytes() != before and load_tokenizer(workspace, "ru").size > 60


def test_model_record_binds_the_tokenizer_and_refuses_a_mismatch(workspace):
    _russian_dataset(workspace)
    tokenizer = train_tokenizer(workspace, "ru", vocab_size=80).tokenizer
    weights = workspace.finetunes / "ru-r1.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    write_record(weights, tokenizer.record)
    assert read_record(weights) == tokenizer.record
    assert tokenizer_for_model(workspace, weights).sha256 == tokenizer.sha256
    assert tokenizer_for_model(workspace, None).name == ENGLISH  # the base model

    with pytest.raises(UserError, match=r"tokenizer 'english' and model .*ru-r1.pth do not belong together"):
        tokenizer_for_model(workspace, weights, requested=ENGLISH)
    with pytest.raises(UserError, match=r"tokenizer 'ru' and model the base model do not belong together"):
        tokenizer_for_model(workspace, None, requested="ru")
    train_tokenizer(workspace, "ru", vocab_size=70)  # the same name trained again: another vocabulary
    with pytest.raises(UserError, match=r"model .*ru-r1.pth and tokenizer .*ru.json do not belong together"):
        tokenizer_for_model(workspace, weights)


def test_validation_suggests_text_weight_warns_on_unk_and_refuses_too_many_symbols(workspace, tiny_models):
    _russian_dataset(workspace)
    train_tokenizer(workspace, "ru", vocab_size=100)
    base = C.TrainingConfig(dataset="ru", model=C.ModelConfig(models_dir=str(tiny_models)), batch_size=4,
                            device="cpu")

    problems = C.validate_config(base, workspace)  # English on a Russian dataset
    assert any(p.field == "tokenizer" and "'ru'" in p.message and "ASCII" in p.message for p in problems)

    problems = C.validate_config(C.apply_overrides(base, ["tokenizer=ru"]), workspace)
    weight, = [p for p in problems if p.field == "text_lr_weight"]
    assert weight.severity == "warning" and weight.suggestion == {"text_lr_weight": 1.0}
    assert "new language" in weight.message
    assert not C.errors_of(problems)
    assert not C.validate_config(C.apply_overrides(base, ["tokenizer=ru", "text_lr_weight=1"]), workspace)

    tuned = workspace.finetunes / "ru-tuned.pth"  # continuing a Russian fine-tune with English
    tuned.parent.mkdir(parents=True)
    tuned.write_bytes(b"weights")
    write_record(tuned, load_tokenizer(workspace, "ru").record)
    switched = [p for p in C.validate_config(C.apply_overrides(base, [f"model.source={tuned}"]), workspace)
                if "was trained with 'ru'" in p.message]
    assert switched and switched[0].suggestion == {"tokenizer": "ru"}

    missing = C.validate_config(C.apply_overrides(base, ["tokenizer=nope"]), workspace)
    assert [p.field for p in C.errors_of(missing)] == ["tokenizer"]

    # a dataset where a tenth of the text has symbols the tokenizer lacks
    folder = workspace.dataset_dir("ru")
    (folder / "train.txt").write_text((folder / "train.txt").read_text(encoding="utf-8")
                                      + "audio/x.wav|Hello world quick brown fox jumps\n", encoding="utf-8")
    found = dataset_coverage(load_tokenizer(workspace, "ru"), folder)
    assert found.lines_with_unknown == 1 and found.unknown_share > 0.01
    problems = C.validate_config(C.apply_overrides(base, ["tokenizer=ru", "text_lr_weight=1"]), workspace)
    unk, = [p for p in problems if "[UNK]" in p.message]
    assert unk.severity == "warning" and "1 of 7 lines" in unk.message

    # a hand-made tokenizer larger than the model's 255 text symbols
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    big = Tokenizer(models.BPE(unk_token="[UNK]"))
    big.pre_tokenizer = pre_tokenizers.Whitespace()
    big.train_from_iterator([chr(0x4E00 + i) * 2 for i in range(400)],
                            trainers.BpeTrainer(vocab_size=500, special_tokens=["[STOP]", "[UNK]", "[SPACE]"],
                                                show_progress=False))
    data = json.loads(big.to_str())
    data["model"]["tortoise_studio"] = {"language": "zh", "normaliser": "unicode:zh"}
    (workspace.models / "tokenizers" / "big.json").write_text(json.dumps(data), encoding="utf-8")
    errors = C.errors_of(C.validate_config(C.apply_overrides(base, ["tokenizer=big"]), workspace))
    assert len(errors) == 1 and "255 text symbols" in errors[0].message


def test_proofreading_shows_the_text_as_trained(workspace, english):
    from tortoise_studio.dataset import load_clip_table
    folder = _russian_dataset(workspace, name="en", lines=["It is 50% off & more.", "Fine."], language="en")
    rows = load_clip_table(folder, english)
    assert [r.as_trained for r in rows] == ["it is fifty percent off and more.", "fine."]
    ru = train_tokenizer(workspace, "ru-set" if _russian_dataset(workspace, name="ru-set") else "", vocab_size=80)
    rows = load_clip_table(workspace.dataset_dir("ru-set"), ru.tokenizer)
    assert rows[0].as_trained == "кошка сидит на окне и смотрит во двор."
    mixed = folder / "train.txt"
    mixed.write_text("audio/c0.wav|Кошка and a dog\n", encoding="utf-8")
    row, _ = load_clip_table(folder, ru.tokenizer)
    assert row.as_trained.startswith("кошка and a dog  [skipped: no symbol for a n d")
