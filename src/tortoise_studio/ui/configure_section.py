"""Train tab, Configure section: the training configuration form, its schedule plot, Save and Load.

One widget per configuration key, built from the dataclasses (config.flat_fields), so the form, the
command line and train.yaml cannot drift apart. Handlers take the form's values as a plain list in
KEYS order and return plain values or gr.update(...).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import yaml

from ..config.files import CONFIG_FILENAME, load_config, save_config
from ..config.schema import (ATTENTIONS, OPTIMIZERS, PRECISIONS, SCHEDULERS, EvaluationConfig, ModelConfig,
                             TrainingConfig, default_run_name, flat_fields, from_flat, micro_batch_size, to_flat)
from ..config.stats import count_train_clips, dataset_stats
from ..config.suggestions import suggest_settings
from ..config.validation import EVALUATION_PRESETS, Problem, errors_of, validate_config
from ..devices import DEVICES
from ..demo import is_demo_models
from ..config import memory
from ..dataset.advice import dataset_advice
from ..runs.checkpoints import list_finetunes, list_run_checkpoints
from ..errors import UserError
from ..workspace import safe_name
from ..config.schedule import milestone_steps, steps_per_epoch, total_steps
from ..train.optim import learning_rates
from .context import AppContext
from .lists import kept_choice

GROUPS = [
    ("Dataset and model", ["dataset", "model.source", "model.models_dir", "model.dropout",
                           "model.gradient_checkpointing", "model.attention", "tokenizer"]),
    ("Schedule", ["epochs", "max_steps", "batch_size", "gradient_accumulation", "learning_rate", "text_lr_weight",
                  "mel_lr_weight", "scheduler.type", "scheduler.milestones", "scheduler.gamma", "scheduler.restarts",
                  "scheduler.eta_min", "warmup_steps"]),
    ("Optimizer", ["optimizer.type", "optimizer.betas", "optimizer.weight_decay", "grad_clip"]),
    ("Hardware, checkpoints and validation", ["device", "precision", "gpus", "nodes", "seed",
                                              "save_every_epochs", "keep_last", "validation.enabled",
                                              "validation.every_epochs", "stall_seconds"]),
    ("Checkpoint evaluation (samples, CER, voice similarity)",
     ["evaluation.enabled", "evaluation.every_epochs", "evaluation.preset", "evaluation.seed",
      "evaluation.whisper_model", "evaluation.device", "evaluation.sentences"]),
]
KEYS = [key for _, keys in GROUPS for key in keys]
HINTS = {key: hint for key, hint, _ in flat_fields()}
CHOICES = {"scheduler.type": SCHEDULERS, "optimizer.type": OPTIMIZERS, "precision": PRECISIONS,
           "device": DEVICES, "model.attention": ATTENTIONS, "evaluation.preset": EVALUATION_PRESETS,
           "evaluation.device": ("auto", "cpu", "cuda", "cuda:1")}
# Keys shown as text: optional values (empty = the default behaviour) and lists.
TEXT_KEYS = {"model.dropout", "max_steps", "scheduler.milestones", "optimizer.betas", "model.models_dir",
             "evaluation.every_epochs", "evaluation.whisper_model", "evaluation.sentences"}
STRING_KEYS = {"evaluation.whisper_model"}  # text kept as typed (empty = the default)
SENTENCE_KEYS = {"evaluation.sentences"}  # one sentence per line
LIST_KEYS = {"scheduler.milestones", "optimizer.betas"}
INFO = {
    "dataset": "a folder under training/ with a train.txt",
    "model.source": "base = TorToiSe's autoregressive.pth; or a fine-tune / checkpoint",
    "model.models_dir": "TorToiSe's weights, relative to the workspace",
    "model.dropout": "empty = TorToiSe's own",
    "tokenizer": "english = TorToiSe's; another language: one trained in Prepare > Tokenizer",
    "model.attention": "sdpa: the same attention without storing its matrices (less memory); eager: transformers' own",
    "max_steps": "optional: stop there with a checkpoint (empty = run all epochs)",
    "batch_size": "global batch per optimizer step",
    "gradient_accumulation": "micro-batches per step on each GPU",
    "text_lr_weight": "weight of the text loss (DLAS: 0.01)",
    "mel_lr_weight": "weight of the mel loss (DLAS: 1.0)",
    "scheduler.milestones": "multistep: epochs where the lr is multiplied by gamma (empty = 50%, 75%, 90%)",
    "scheduler.restarts": "cosine: equal cycles over the run",
    "scheduler.eta_min": "cosine: lowest lr",
    "optimizer.betas": "two numbers, e.g. 0.9, 0.96",
    "gpus": "per machine",
    "keep_last": "checkpoints kept (0 = all)",
    "stall_seconds": "warn when no step completes for this long",
    "evaluation.every_epochs": "empty = each checkpoint",
    "evaluation.whisper_model": "empty = the Whisper model in Settings",
    "evaluation.device": "auto = the GPU if any (shared with training); cuda:1 = a second GPU",
    "evaluation.sentences": "one per line; empty = up to 4 validation texts",
}
MAX_PLOT_POINTS = 2000


def elem_id(key: str) -> str:
    return "config-" + key.replace(".", "-").replace("_", "-")


def label(key: str) -> str:
    return key.replace("_", " ").replace(".", ": ").capitalize()


# ---------------------------------------------------------------- form values <-> configuration

def display(key: str, value: Any) -> Any:
    """A configuration value as its widget shows it."""
    if key not in TEXT_KEYS:
        return value
    if value is None:
        return ""
    if key in SENTENCE_KEYS:
        return "\n".join(value)
    if isinstance(value, list):
        return ", ".join(_number_text(v) for v in value)
    return _number_text(value) if isinstance(value, (int, float)) else str(value)


def _number_text(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def parse(key: str, value: Any) -> Any:
    """A widget's value as the configuration value (errors name the key)."""
    if key not in TEXT_KEYS or key == "model.models_dir":
        return value
    text = ("" if value is None else str(value)).strip()
    if not text:
        return None
    if key in STRING_KEYS:
        return text
    if key in SENTENCE_KEYS:
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        if key in LIST_KEYS:
            return yaml.safe_load("[" + text.strip("[]") + "]")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{key}: cannot read {text!r} ({'a list of numbers' if key in LIST_KEYS else 'a number'} expected)") from exc


def form_values(cfg: TrainingConfig) -> list[Any]:
    flat = to_flat(cfg)
    return [display(key, flat[key]) for key in KEYS]


def config_from_form(values: list[Any]) -> TrainingConfig:
    return from_flat({key: parse(key, value) for key, value in zip(KEYS, values)})


# ---------------------------------------------------------------- choices

def source_choices(ctx: AppContext, dataset: str | None) -> list[str]:
    """base, every fine-tune, then the dataset's complete checkpoints (latest step first)."""
    root = ctx.workspace.root
    models = list_finetunes(ctx.workspace)
    if dataset:
        try:
            models += list_run_checkpoints(ctx.workspace, ctx.workspace.dataset_dir(dataset).name)
        except UserError:  # a dataset name that cannot be a folder: the dataset field says so
            pass
    return ["base"] + [str(path.relative_to(root)) for _, path in models]


def latest_dataset(ctx: AppContext) -> str | None:
    """The dataset prepared (or proofread) last: the one whose train.txt changed last."""
    datasets = ctx.workspace.list_datasets()
    return max(datasets, key=lambda d: (ctx.workspace.training / d / "train.txt").stat().st_mtime, default=None)


def lists_update(ctx: AppContext, dataset: str | None, saved: str | None) -> tuple[dict, dict, dict]:
    """The dataset list (the current one kept, else the latest), saved configurations and model sources, as
    the workspace is now."""
    datasets = ctx.workspace.list_datasets()
    shown = dataset if dataset in datasets else latest_dataset(ctx)
    return (kept_choice(datasets, dataset, shown), kept_choice(saved_configs(ctx), saved),
            gr.update(choices=source_choices(ctx, shown)))


def saved_configs(ctx: AppContext) -> list[str]:
    return [str((run / CONFIG_FILENAME).relative_to(ctx.workspace.root)) for run in ctx.workspace.list_runs()]


# ---------------------------------------------------------------- handlers (plain values in and out)

def schedule_preview(ctx: AppContext, run: str, values: list[Any]) -> tuple[pd.DataFrame, str]:
    """The lr over optimizer steps (same code as the trainer), and a summary of steps and the run folder."""
    empty = pd.DataFrame({"step": [], "lr": []})
    if not values[KEYS.index("dataset")]:
        return empty, ("No dataset chosen yet: prepare one in the Prepare tab, then choose it here to see the "
                       "schedule.")
    try:
        cfg = config_from_form(values)
        n_train = count_train_clips(ctx.workspace, cfg.dataset) if cfg.dataset else 0
        folder = ctx.workspace.run_dir(cfg.dataset, run or "<run>") if cfg.dataset else None
    except UserError as exc:
        return empty, f"Cannot show the schedule yet: {exc}"
    per_epoch = steps_per_epoch(n_train, cfg.batch_size)
    steps = total_steps(cfg, n_train)
    lines = [f"**{n_train}** training clips, batch {cfg.batch_size}: **{per_epoch}** steps per epoch x "
             f"{cfg.epochs} epochs = **{steps}** optimizer steps"
             + (f" (max_steps stops at {min(cfg.max_steps, steps)})" if cfg.max_steps else ""),
             f"Micro-batch per process: {micro_batch_size(cfg)}"
             + (" (batch_size is more than the training clips: no full batch; Validate offers a fix)"
                if n_train and per_epoch == 0 else ""),
             f"Run folder: `{folder}`" if folder else "Run folder: choose a dataset"]
    if n_train:  # how much speech, against what a fine-tune needs; far too little is a warning
        lines.insert(0, dataset_advice(ctx.workspace.dataset_dir(cfg.dataset)).message)
    if steps == 0 or cfg.learning_rate <= 0:
        return empty, "\n\n".join(lines)
    try:
        lrs = learning_rates(cfg, per_epoch, steps)
    except ValueError:
        return empty, "\n\n".join(lines)
    index = _plot_steps(cfg, per_epoch, steps)
    return pd.DataFrame({"step": index, "lr": [lrs[i] for i in index]}), "\n\n".join(lines)


def _plot_steps(cfg: TrainingConfig, per_epoch: int, steps: int) -> list[int]:
    """Every step for short runs; for long ones an even subset that keeps each multistep drop sharp."""
    if steps <= MAX_PLOT_POINTS:
        return list(range(steps))
    keep = set(range(0, steps, steps // MAX_PLOT_POINTS + 1)) | {steps - 1}
    if cfg.scheduler.type == "multistep":
        keep |= {i for m in milestone_steps(cfg, per_epoch) for i in (m - 1, m) if 0 <= i < steps}
    return sorted(keep)


def problems_markdown(problems: list[Problem]) -> str:
    if not problems:
        return "No problems found."
    return "\n".join(f"- **{p.severity}**: {p.message}" for p in problems)


def suggestion_rows(problems: list[Problem]) -> pd.DataFrame:
    rows = [(key, _yaml_text(value), p.message) for p in problems if p.suggestion for key, value in p.suggestion.items()]
    return pd.DataFrame(rows, columns=["key", "value", "reason"])


def _yaml_text(value: Any) -> str:
    """A value as one line of YAML (what the table shows and Accept reads back)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def validate_handler(ctx: AppContext, values: list[Any]) -> tuple[str, pd.DataFrame]:
    try:
        cfg = config_from_form(values)
    except UserError as exc:
        return f"- **error**: {exc}", suggestion_rows([])
    problems = validate_config(cfg, ctx.workspace)
    if not errors_of(problems):  # a valid configuration: will it fit, and if not, what would
        problems += memory.memory_problems(cfg, ctx.workspace, memory.device_memory(cfg.device))
    return problems_markdown(problems), suggestion_rows(problems)


def memory_handler(ctx: AppContext, values: list[Any]) -> str:
    """The estimated peak memory of the form's configuration against the device's memory."""
    try:
        cfg = config_from_form(values)
        if not cfg.dataset:
            return "Estimated peak memory: choose a dataset."
        device = memory.device_memory(cfg.device)
        estimate = memory.estimate_for_config(cfg, ctx.workspace, device)
    except (UserError, ValueError) as exc:
        return f"Estimated peak memory: not available ({exc})."
    if estimate is None:
        return f"Estimated peak memory: dataset {cfg.dataset!r} has no readable clips in train.txt yet."
    return memory.summary(estimate, device)


def suggest_handler(ctx: AppContext, values: list[Any]) -> tuple[str, pd.DataFrame]:
    dataset = values[KEYS.index("dataset")]
    device = values[KEYS.index("device")]
    try:
        stats = dataset_stats(ctx.workspace, dataset or "")
    except UserError as exc:
        return f"Choose a dataset first ({exc})", suggestion_rows([])
    if stats.n_train == 0:
        return f"Dataset {dataset!r} has no training clips (train.txt).", suggestion_rows([])
    suggestions = suggest_settings(stats.n_train, stats.train_minutes, device)
    rows = [(s.field, _yaml_text(s.value), s.reason) for s in suggestions]
    note = (f"Suggestions for {stats.n_train} clips ({stats.train_minutes:.1f} min) on {device}: "
            "review them below, then **Accept suggestions** to put them in the form.")
    return note, pd.DataFrame(rows, columns=["key", "value", "reason"])


def accept_handler(values: list[Any], table: pd.DataFrame | None) -> tuple[list[Any], str]:
    """The form with the table's values put in (nothing else changes)."""
    values = list(values)
    accepted = []
    if table is not None:
        for key, value in zip(table["key"], table["value"]):
            if key not in KEYS:
                continue
            values[KEYS.index(key)] = display(key, yaml.safe_load(str(value)) if str(value).strip() else None)
            accepted.append(f"{key} = {value}")
    message = ("Accepted: " + ", ".join(accepted) + ". Save to write them.") if accepted else "No suggestions to accept."
    return values, message


def save_handler(ctx: AppContext, run: str, values: list[Any]) -> tuple[str, str | None]:
    """(message, path written or None). Errors write nothing."""
    try:
        cfg = config_from_form(values)
        run = safe_name((run or "").strip() or default_run_name(), what="run")
        target = ctx.workspace.run_dir(cfg.dataset, run) / CONFIG_FILENAME
    except UserError as exc:
        return f"Not saved.\n\n- **error**: {exc}", None
    problems = validate_config(cfg, ctx.workspace)
    if errors_of(problems):
        return "Not saved: fix these first.\n\n" + problems_markdown(errors_of(problems)), None
    path = save_config(cfg, target)
    warnings = [p for p in problems if p.severity == "warning"]
    note = f"Saved `{path}`. Train with `tortoise-studio train {shlex.quote(str(path))}` or from the Run section."
    return note + ("\n\n" + problems_markdown(warnings) if warnings else ""), str(path)


def load_handler(ctx: AppContext, relative: str | None) -> tuple[list[Any], str, str]:
    """(form values, run name, message) from a saved train.yaml."""
    if not relative:
        raise UserError("Load: choose a saved configuration first")
    path = ctx.workspace.root / relative
    cfg = load_config(path)
    return form_values(cfg), path.parent.name, f"Loaded `{path}`."


# ---------------------------------------------------------------- widgets

def _tokenizer_choices(ctx: AppContext) -> list[str]:
    from ..text import list_tokenizers
    return list_tokenizers(ctx.workspace)


def _widget(ctx: AppContext, key: str, value: Any):
    common = dict(label=label(key), value=value, elem_id=elem_id(key), info=INFO.get(key))
    hint = HINTS[key]
    if key == "dataset":
        datasets = ctx.workspace.list_datasets()
        return gr.Dropdown(choices=datasets, allow_custom_value=True,
                           **{**common, "value": value if value in datasets else latest_dataset(ctx)})
    if key == "model.source":
        return gr.Dropdown(choices=source_choices(ctx, None), allow_custom_value=True, **common)
    if key == "tokenizer":
        return gr.Dropdown(choices=_tokenizer_choices(ctx), allow_custom_value=True, **common)
    if key in CHOICES:
        return gr.Dropdown(choices=list(CHOICES[key]), allow_custom_value=True, **common)
    if key in SENTENCE_KEYS:
        return gr.Textbox(lines=2, **common)
    if key in TEXT_KEYS:
        return gr.Textbox(**common)
    if hint is bool:
        return gr.Checkbox(**common)
    if hint is int:
        return gr.Number(precision=0, **common)
    return gr.Number(**common)


def build(ctx: AppContext) -> dict:
    settings = ctx.settings()
    # the demo's random models on a CPU: scoring each checkpoint would cost minutes; it stays one click away
    scoring = EvaluationConfig(enabled=not is_demo_models(settings.models_path(ctx.workspace)))
    start = TrainingConfig(dataset="", model=ModelConfig(models_dir=settings.models_dir), device=settings.device,
                             evaluation=scoring)
    initial = dict(zip(KEYS, form_values(start)))
    widgets: dict[str, Any] = {}
    with gr.Row():
        load_path = gr.Dropdown(label="Saved configurations", choices=saved_configs(ctx), value=None,
                                elem_id="config-load-path", scale=3)
        load = gr.Button("Load", elem_id="config-load", scale=1)
        refresh = gr.Button("Refresh lists", elem_id="config-refresh", scale=1)
    run = gr.Textbox(label="Run name", value=default_run_name(), elem_id="config-run",
                     info="the folder training/<dataset>/runs/<run>/ that Save writes")
    for title, keys in GROUPS:
        with gr.Group():
            gr.Markdown(f"**{title}**")
            with gr.Row(equal_height=True):
                for key in keys:
                    widgets[key] = _widget(ctx, key, initial[key])
    inputs = [widgets[key] for key in KEYS]
    with gr.Row():
        suggest = gr.Button("Suggest settings", elem_id="config-suggest")
        validate = gr.Button("Validate", elem_id="config-validate")
        save = gr.Button("Save Training Configuration", variant="primary", elem_id="config-save")
    message = gr.Markdown(elem_id="config-message")
    suggestions = gr.Dataframe(headers=["key", "value", "reason"], label="Suggestions (edit or remove rows, then accept)",
                               interactive=True, elem_id="config-suggestions", wrap=True)
    accept = gr.Button("Accept suggestions", elem_id="config-accept")
    summary = gr.Markdown(elem_id="config-summary")
    memory_note = gr.Markdown(elem_id="config-memory")
    plot = gr.LinePlot(pd.DataFrame({"step": [], "lr": []}), x="step", y="lr", title="Learning rate per optimizer step",
                       elem_id="config-lr-plot", height=260)
    saved_path = gr.Textbox(label="Saved configuration", interactive=False, elem_id="config-saved-path")

    def preview(run_name, *values):
        return schedule_preview(ctx, run_name, list(values))

    preview_outputs = [plot, summary]

    def estimate(*values):
        return memory_handler(ctx, list(values))

    # One listener for every field; "always_last" coalesces the burst of changes a Load or Accept makes. The
    # estimate follows the plot (the first estimate of a model size measures it for a few seconds: the plot need
    # not wait) in the same chain: see ui/events.py for why a field's change has this one listener and no other.
    gr.on([w.change for w in inputs], preview, [run, *inputs], preview_outputs,
          trigger_mode="always_last", show_progress="hidden").then(
        estimate, inputs, memory_note, trigger_mode="always_last", show_progress="hidden")
    # The run name changes the schedule's note, not the memory: no estimate. (Its default is given on every page
    # load, and the estimate it started there cost the server its first estimate in a tab not yet opened. Not
    # `input`: the page's client sends that for keys typed, not for text set otherwise.)
    run.change(preview, [run, *inputs], preview_outputs, trigger_mode="always_last", show_progress="hidden")

    def on_validate(*values):
        return validate_handler(ctx, list(values))

    validate.click(on_validate, inputs, [message, suggestions])
    suggest.click(lambda *values: suggest_handler(ctx, list(values)), inputs, [message, suggestions])

    def on_accept(table, *values):
        new_values, note = accept_handler(list(values), table)
        return *new_values, note

    accept.click(on_accept, [suggestions, *inputs], [*inputs, message])

    def on_save(run_name, *values):
        note, path = save_handler(ctx, run_name, list(values))
        if path is None:
            return note, gr.update(), gr.update()
        return note, path, gr.update(choices=saved_configs(ctx), value=str(Path(path).relative_to(ctx.workspace.root)))

    save.click(on_save, [run, *inputs], [message, saved_path, load_path])

    def on_load(relative):
        try:
            values, run_name, note = load_handler(ctx, relative)
        except UserError as exc:
            return *[gr.update() for _ in inputs], gr.update(), f"- **error**: {exc}"
        return *values, run_name, note

    load.click(on_load, load_path, [*inputs, run, message])

    lists = [widgets["dataset"], load_path, widgets["model.source"]]

    def on_refresh(dataset, saved):
        return lists_update(ctx, dataset, saved)

    refresh.click(on_refresh, lists[:2], lists)

    def read_lists_on(triggers):
        # the lists as the workspace is now, then the schedule and the memory estimate: a dataset that did not
        # change fires no change event, and the page must not open without them
        gr.on(triggers, on_refresh, lists[:2], lists, show_progress="hidden").then(
            preview, [run, *inputs], preview_outputs, show_progress="hidden").then(
            estimate, inputs, memory_note, show_progress="hidden")

    widgets["dataset"].focus(lambda: gr.update(choices=ctx.workspace.list_datasets()), None, widgets["dataset"])
    load_path.focus(lambda: gr.update(choices=saved_configs(ctx)), None, load_path)
    widgets["tokenizer"].focus(lambda: gr.update(choices=_tokenizer_choices(ctx)), None, widgets["tokenizer"])
    # the model sources follow the dataset (its own checkpoints are sources too): read when the list is opened,
    # not on every field's change, so a checkpoint written since is there and a change reads no folder
    widgets["model.source"].focus(lambda dataset: gr.update(choices=source_choices(ctx, dataset)),
                                  widgets["dataset"], widgets["model.source"])
    return {"read_lists_on": read_lists_on, "saved_path": saved_path,
            "on_page_load": [(lambda: (default_run_name(),), [run])],  # each page proposes a name of its own time
            "run": run, "widgets": widgets,
            "message": message, "plot": plot, "summary": summary, "memory": memory_note,
            "suggestions": suggestions, "load_path": load_path, "save": save, "load": load}
