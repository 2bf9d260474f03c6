"""The training configuration: YAML in and out, overrides, shipped configs, validation rules, suggestions."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tortoise_studio.config import (ModelConfig, OptimizerConfig, SchedulerConfig, TrainingConfig,
                                    ValidationConfig, apply_overrides, apply_suggestions, config_from_dict,
                                    config_to_dict, dataset_stats, load_config, resolve_paths, save_config,
                                    suggest_settings, validate_config, workspace_for_config)
from tortoise_studio.errors import UserError
from tortoise_studio.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def make_dataset(workspace: Workspace, clips: list[Path], name: str = "ds", n_train: int = 8,
                 n_validation: int = 1) -> Path:
    """training/<name>/ with n_train + n_validation lines over real clips (hard links past the first copies)."""
    folder = workspace.training / name
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n_train + n_validation):
        target = folder / "audio" / f"clip_{i:04d}.wav"
        source = clips[i % len(clips)]
        if i < len(clips):
            shutil.copy(source, target)
        else:
            os.link(folder / "audio" / f"clip_{i % len(clips):04d}.wav", target)
        lines.append(f"audio/{target.name}|Line number {i} of a real recording.")
    (folder / "train.txt").write_text("\n".join(lines[:n_train]) + "\n")
    (folder / "validation.txt").write_text("\n".join(lines[n_train:]) + ("\n" if n_validation else ""))
    return folder


def make_base_model(workspace: Workspace, models_dir: str = "models/tortoise") -> Path:
    # Validation only checks that the weights file exists; loading it is the trainer's business.
    path = workspace.root / models_dir / "autoregressive.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"placeholder")
    return path


@pytest.fixture
def ready(workspace, real_clips):
    """A workspace with dataset 'ds' (8 train clips, 1 validation) and a base model file."""
    make_dataset(workspace, real_clips)
    make_base_model(workspace)
    return workspace


def cfg(**changes) -> TrainingConfig:
    return dataclasses.replace(TrainingConfig(dataset="ds", batch_size=4), **changes)


# ---------------------------------------------------------------- dict and YAML


def test_defaults_round_trip_through_a_dict():
    c = TrainingConfig(dataset="ds")
    assert config_from_dict(config_to_dict(c)) == c
    assert config_from_dict({"dataset": "ds"}) == c  # every other key has a default


def test_save_writes_header_with_the_train_command_and_loads_back(tmp_path):
    c = cfg(epochs=7, scheduler=SchedulerConfig(type="cosine", restarts=2))
    path = save_config(c, tmp_path / "train.yaml")
    text = path.read_text()
    assert text.splitlines()[1] == f"#   tortoise-studio train {path}"
    assert "learning_rate: 1.0e-05" in text
    assert load_config(path) == c


def test_save_backs_up_an_existing_file(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("# hand-written\ndataset: old\n")
    save_config(cfg(), path)
    backups = list(tmp_path.glob("backups/*/train.yaml"))
    assert len(backups) == 1 and backups[0].read_text() == "# hand-written\ndataset: old\n"
    save_config(cfg(epochs=3), path)
    second = sorted(tmp_path.glob("backups/*/train.yaml"))
    assert len(second) == 2 and backups[0].read_text() == "# hand-written\ndataset: old\n"
    assert load_config(path).epochs == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "train.yaml"]  # no temporary file left


def test_an_old_file_with_the_retired_workers_key_loads_with_a_note(tmp_path, capsys):
    path = tmp_path / "train.yaml"
    path.write_text("dataset: old\nepochs: 4\nworkers: 2\n")
    assert load_config(path) == TrainingConfig(dataset="old", epochs=4)
    note = capsys.readouterr().err
    assert f"{path}: `workers` is no longer used and is ignored" in note
    assert "workers" not in config_to_dict(load_config(path))
    with pytest.raises(UserError, match="workers: unknown key"):
        config_from_dict({"dataset": "old", "workers": 2})  # only old files are forgiven, not new input


def test_hand_written_yaml_with_1e_minus_5_reads_as_a_number(tmp_path):
    # YAML 1.1 reads 1e-5 (no dot) as text; users write it that way.
    path = tmp_path / "train.yaml"
    path.write_text("dataset: ds\nlearning_rate: 1e-5\nscheduler:\n  milestones: [5, 10]\n")
    c = load_config(path)
    assert c.learning_rate == 1e-5 and c.scheduler.milestones == [5.0, 10.0]


@pytest.mark.parametrize("data, message", [
    ({"dataset": "ds", "scheduler": {"gamma": "abc"}}, "scheduler.gamma: expected a number, got 'abc'"),
    ({"dataset": "ds", "epochs": 2.5}, "epochs: expected a whole number, got 2.5"),
    ({"dataset": "ds", "validation": {"enabled": "yes please"}}, "validation.enabled: expected true or false"),
    ({"dataset": "ds", "optimizer": {"betas": 0.9}}, "optimizer.betas: expected a list, got 0.9"),
    ({"dataset": "ds", "optimizer": {"betas": [0.9, "x"]}}, "optimizer.betas[1]: expected a number, got 'x'"),
    ({"dataset": "ds", "learning_rat": 1e-5}, "learning_rat: unknown key"),
    ({"dataset": "ds", "model": {"sorce": "base"}}, "model.sorce: unknown key"),
    ({"dataset": "ds", "model": "base"}, "model: expected a mapping of keys, got 'base'"),
    ({"epochs": 3}, "dataset: missing (required)"),
])
def test_unknown_keys_and_wrong_types_name_the_key(data, message):
    with pytest.raises(UserError, match=None) as info:
        config_from_dict(data)
    assert message in str(info.value)


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("dataset: ds\nepochs: [1, 2\n")
    with pytest.raises(UserError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "not valid YAML" in str(info.value)
    path.write_text("dataset: ds\nepochs: many\n")
    with pytest.raises(UserError, match=r"broken\.yaml: epochs: expected a whole number, got 'many'"):
        load_config(path)


def test_overrides_parse_yaml_values_and_name_bad_keys():
    c = apply_overrides(cfg(), ["scheduler.type=cosine", "max_steps=12", "learning_rate=3e-5",
                                "scheduler.milestones=[2, 4.5]", "model.dropout=", "dataset=2024"])
    assert (c.scheduler.type, c.max_steps, c.learning_rate) == ("cosine", 12, 3e-5)
    assert c.scheduler.milestones == [2.0, 4.5] and c.model.dropout is None and c.dataset == "2024"
    with pytest.raises(UserError, match="scheduler.gama: unknown key"):
        apply_overrides(cfg(), ["scheduler.gama=0.1"])
    with pytest.raises(UserError, match="expected KEY=VALUE"):
        apply_overrides(cfg(), ["epochs"])
    with pytest.raises(UserError, match="sheduler: unknown section"):
        apply_overrides(cfg(), ["sheduler.type=cosine"])


names = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=0x24F,
                                       blacklist_categories=("Cc", "Cs", "Zs")), min_size=1, max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
small_ints = st.integers(min_value=0, max_value=10**6)
configs = st.builds(
    TrainingConfig,
    dataset=names,
    model=st.builds(ModelConfig, source=st.one_of(st.just("base"), names), models_dir=names,
                    dropout=st.one_of(st.none(), finite), gradient_checkpointing=st.booleans()),
    epochs=small_ints, max_steps=st.one_of(st.none(), small_ints), batch_size=small_ints,
    gradient_accumulation=small_ints, learning_rate=finite, text_lr_weight=finite, mel_lr_weight=finite,
    scheduler=st.builds(SchedulerConfig, type=st.sampled_from(["multistep", "cosine", "constant"]),
                        milestones=st.one_of(st.none(), st.lists(finite, max_size=5)), gamma=finite,
                        restarts=small_ints, eta_min=finite),
    warmup_steps=small_ints,
    optimizer=st.builds(OptimizerConfig, type=st.sampled_from(["adamw", "adamw8bit"]),
                        betas=st.lists(finite, min_size=2, max_size=2), weight_decay=finite),
    grad_clip=finite, precision=st.sampled_from(["fp32", "fp16", "bf16"]), seed=small_ints,
    save_every_epochs=small_ints, keep_last=small_ints,
    validation=st.builds(ValidationConfig, enabled=st.booleans(), every_epochs=small_ints),
    gpus=small_ints, nodes=small_ints, device=st.sampled_from(["auto", "cuda", "cpu"]),
    stall_seconds=finite)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(c=configs)
def test_yaml_round_trip_is_the_identity(tmp_path, c):
    path = save_config(c, tmp_path / "train.yaml")
    assert load_config(path) == c
    assert config_from_dict(yaml.safe_load(path.read_text())) == c


# ---------------------------------------------------------------- shipped configs and paths


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads_and_validates(path, workspace, real_clips):
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith("# ") and "tortoise-studio config DATASET --from configs/" + path.name in first_line
    c = dataclasses.replace(load_config(path), dataset="ds")
    make_dataset(workspace, real_clips, n_train=max(8, c.batch_size))
    make_base_model(workspace, c.model.models_dir)
    problems = validate_config(c, workspace)
    assert [p for p in problems if p.severity == "error"] == []


def test_workspace_for_config_finds_the_root_of_a_run(tmp_path, monkeypatch):
    path = tmp_path / "ws" / "training" / "ds" / "runs" / "r1" / "train.yaml"
    assert workspace_for_config(path).root == (tmp_path / "ws").resolve()
    monkeypatch.setenv("TORTOISE_STUDIO_HOME", str(tmp_path / "home"))
    assert workspace_for_config(tmp_path / "elsewhere.yaml").root == (tmp_path / "home").resolve()


def test_resolve_paths_from_the_workspace_root(workspace, tmp_path):
    models_dir, weights = resolve_paths(cfg(), workspace)
    assert models_dir == workspace.root / "models/tortoise" and weights == models_dir / "autoregressive.pth"
    checkpoint = workspace.root / "training/ds/runs/r/checkpoints/120"
    checkpoint.mkdir(parents=True)
    c = cfg(model=ModelConfig(source="training/ds/runs/r/checkpoints/120", models_dir=str(tmp_path / "m")))
    assert resolve_paths(c, workspace) == (tmp_path / "m", checkpoint / "model.pth")


def test_dataset_stats_counts_lines_and_minutes(workspace, real_clips):
    import soundfile
    make_dataset(workspace, real_clips, n_train=3, n_validation=2)
    stats = dataset_stats(workspace, "ds")
    expected = sum(soundfile.info(str(c)).duration for c in real_clips[:3]) / 60
    assert (stats.n_train, stats.n_validation) == (3, 2)
    assert stats.train_minutes == pytest.approx(expected)


# ---------------------------------------------------------------- validation rules


def only(problems, field):
    found = [p for p in problems if p.field == field]
    assert len(found) == 1, problems
    return found[0]


def test_a_good_config_has_no_problems(ready):
    assert validate_config(cfg(), ready) == []


def test_batch_size_over_the_clip_count_suggests_a_valid_multiple(ready):
    p = only(validate_config(cfg(batch_size=32, gradient_accumulation=2), ready), "batch_size")
    assert p.severity == "error"
    assert p.message.startswith("batch_size: 32 is more than the 8 training clips of 'ds'; must be at most 8")
    assert p.suggestion == {"batch_size": 8}
    p = only(validate_config(cfg(batch_size=9, gradient_accumulation=3), ready), "batch_size")
    assert "more than the 8 training clips" in p.message and p.suggestion == {"batch_size": 6}


def test_batch_size_must_split_into_micro_batches(ready):
    p = only(validate_config(cfg(batch_size=6, gradient_accumulation=2, gpus=2), ready), "batch_size")
    assert p.message == ("batch_size: 6 does not split into gradient_accumulation x gpus x nodes = 4 equal "
                         "micro-batches; use a multiple of 4")
    assert p.suggestion == {"batch_size": 4}


def test_milestones_outside_the_epochs_or_not_increasing(ready):
    p = only(validate_config(cfg(epochs=10, scheduler=SchedulerConfig(milestones=[5, 12, -1])), ready),
             "scheduler.milestones")
    assert p.message.startswith("scheduler.milestones: [12, -1] outside 0..10 (epochs)")
    problems = validate_config(cfg(epochs=10, scheduler=SchedulerConfig(milestones=[6, 4, 8])), ready)
    p = only(problems, "scheduler.milestones")
    assert p.message.startswith("scheduler.milestones: [6, 4, 8] are not increasing")
    assert p.suggestion == {"scheduler.milestones": [4, 6, 8]}


def test_early_milestones_are_a_warning_that_offers_the_scaled_default(ready):
    p = only(validate_config(cfg(epochs=100, scheduler=SchedulerConfig(milestones=[2, 4, 9, 18])), ready),
             "scheduler.milestones")
    assert p.severity == "warning" and "[50.0, 75.0, 90.0]" in p.message
    assert p.suggestion == {"scheduler.milestones": None}


@pytest.mark.parametrize("change, field, message", [
    ({"learning_rate": 0.0}, "learning_rate", "learning_rate: 0.0 is not allowed; must be above 0"),
    ({"learning_rate": -1e-5}, "learning_rate", "learning_rate: -1e-05 is not allowed; must be above 0"),
    ({"epochs": 0}, "epochs", "epochs: 0 is not allowed; must be at least 1"),
    ({"gradient_accumulation": 0}, "gradient_accumulation", "gradient_accumulation: 0 is not allowed; must be at least 1"),
    ({"grad_clip": float("nan")}, "grad_clip", "grad_clip: nan is not a finite number; must be above 0"),
    ({"max_steps": 0}, "max_steps", "max_steps: 0 is not allowed; must be at least 1, or empty for no cap"),
    ({"precision": "fp8"}, "precision", "precision: 'fp8' is not one of fp32, fp16, bf16"),
    ({"device": "tpu"}, "device", "device: 'tpu' is not one of auto, cuda, cpu"),
    ({"scheduler": SchedulerConfig(type="linear")}, "scheduler.type",
     "scheduler.type: 'linear' is not one of multistep, cosine, constant"),
    ({"optimizer": OptimizerConfig(type="sgd")}, "optimizer.type", "optimizer.type: 'sgd' is not one of adamw, adamw8bit"),
    ({"optimizer": OptimizerConfig(betas=[0.9])}, "optimizer.betas", "optimizer.betas: [0.9] is not allowed"),
    ({"model": ModelConfig(dropout=1.5)}, "model.dropout", "model.dropout: 1.5 is not allowed"),
    ({"device": "cpu", "precision": "fp16"}, "precision", "precision: 'fp16' is not supported with device 'cpu'"),
])
def test_each_rule_names_the_field_the_value_and_what_is_allowed(ready, change, field, message):
    p = only(validate_config(cfg(**change), ready), field)
    assert p.severity == "error" and p.message.startswith(message)


def test_dataset_without_train_txt(workspace, real_clips):
    make_base_model(workspace)
    p = only(validate_config(cfg(dataset="nothing"), workspace), "dataset")
    assert p.message.startswith("dataset: 'nothing' does not exist in")
    (workspace.training / "half").mkdir()
    p = only(validate_config(cfg(dataset="half"), workspace), "dataset")
    assert p.message.startswith("dataset: 'half' has no train.txt")
    p = only(validate_config(cfg(dataset="../escape"), workspace), "dataset")
    assert "must not contain" in p.message


def test_missing_source_model(ready):
    p = only(validate_config(cfg(model=ModelConfig(models_dir="models/elsewhere")), ready), "model.source")
    assert p.message.startswith("model.source: 'base': base model ") and "elsewhere/autoregressive.pth not found" in p.message
    p = only(validate_config(cfg(model=ModelConfig(source="models/finetunes/gone.pth")), ready), "model.source")
    assert p.message.startswith("model.source: 'models/finetunes/gone.pth': ") and "not found" in p.message


def test_adamw8bit_needs_bitsandbytes(ready):
    import importlib.util
    problems = validate_config(cfg(optimizer=OptimizerConfig(type="adamw8bit")), ready)
    if importlib.util.find_spec("bitsandbytes") is None:
        p = only(problems, "optimizer.type")
        assert p.message.startswith("optimizer.type: 'adamw8bit' needs bitsandbytes, which is not installed")
        assert p.suggestion == {"optimizer.type": "adamw"}
    else:
        assert problems == []


def test_warnings_do_not_block(ready):
    (ready.training / "ds" / "validation.txt").write_text("")
    problems = validate_config(cfg(warmup_steps=100, max_steps=1000, device="cpu", precision="bf16"), ready)
    assert {p.field for p in problems} == {"validation.enabled", "warmup_steps", "max_steps", "precision"}
    assert all(p.severity == "warning" for p in problems)
    assert "max_steps: 1000 is beyond the run's 40 steps (20 epochs)" in only(problems, "max_steps").message


def test_accepting_a_suggestion_fixes_the_problem(ready):
    c = cfg(batch_size=32)
    (problem,) = validate_config(c, ready)
    assert validate_config(apply_suggestions(c, problem.suggestion), ready) == []


# ---------------------------------------------------------------- suggestions


@pytest.mark.parametrize("n_clips, minutes, device", [(8, 1.0, "cpu"), (40, 4.0, "cuda"), (3000, 300.0, "auto"),
                                                      (1, 0.1, "cpu"), (130, 12.0, "cuda")])
def test_suggestions_validate_on_their_dataset(workspace, real_clips, n_clips, minutes, device):
    make_dataset(workspace, real_clips, n_train=n_clips)
    make_base_model(workspace)
    suggestions = suggest_settings(n_clips, minutes, device)
    assert [s.field for s in suggestions] == ["batch_size", "gradient_accumulation", "epochs", "save_every_epochs",
                                              "validation.every_epochs"]
    assert all(s.reason and "\n" not in s.reason for s in suggestions)
    c = apply_suggestions(TrainingConfig(dataset="ds"), {s.field: s.value for s in suggestions})
    assert c.batch_size <= n_clips and c.batch_size % c.gradient_accumulation == 0
    assert 5 <= c.epochs <= 500 and c.save_every_epochs <= c.epochs
    assert [p for p in validate_config(c, workspace) if p.severity == "error"] == []


def test_suggestions_follow_the_device():
    gpu = {s.field: s.value for s in suggest_settings(3000, 300.0, "cuda")}
    cpu = {s.field: s.value for s in suggest_settings(3000, 300.0, "cpu")}
    assert (gpu["batch_size"], gpu["gradient_accumulation"]) == (128, 8)
    assert (cpu["batch_size"], cpu["gradient_accumulation"]) == (16, 8)
