"""Run section, checkpoint scores: CER and voice similarity by step, each checkpoint's samples beside the
base model's, the best checkpoint marked with one click to export it. Everything comes from the run
folder (eval rows of metrics.jsonl, samples/<step>/), written by the evaluator process (evaluate/)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import gradio as gr
import pandas as pd

from ..config.files import load_config
from ..errors import UserError
from ..evaluate.best import export_checkpoint
from ..metrics.series import best_step
from ..runs.evaluator import evaluation_status
from ..evaluate.store import Sample, read_samples
from ..metrics.reader import MetricsReader
from ..runs.status import CONFIG_FILE, read_pid_file
from .context import AppContext

TICK_SECONDS = 5.0
PLAYERS = 4  # samples shown per checkpoint (the default evaluation has 4 sentences)
COLORS = {"CER (lower is better)": "#d62728", "voice similarity (higher is better)": "#2ca02c"}
SERIES = {"cer": "CER (lower is better)", "similarity": "voice similarity (higher is better)"}


# ---- plain handlers -------------------------------------------------------------------------------

def scores_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """Long form (step, value, series) of the eval rows for gr.LinePlot; a step scored twice shows its last score."""
    if scores is None or scores.empty or "step" not in scores:
        return pd.DataFrame({"step": pd.Series(dtype="int64"), "value": pd.Series(dtype="float64"),
                             "series": pd.Series(dtype="object")})
    latest = scores.drop_duplicates("step", keep="last").sort_values("step")
    parts = [pd.DataFrame({"step": latest["step"].to_numpy(), "value": latest[key].to_numpy(dtype="float64"),
                           "series": name}) for key, name in SERIES.items() if key in latest]
    return pd.concat(parts, ignore_index=True).dropna()


def checkpoint_choices(scores: pd.DataFrame) -> list[tuple[str, int]]:
    """(label, step) of each scored checkpoint, latest first, the best marked with a star."""
    if scores is None or scores.empty or "step" not in scores:
        return []
    best = best_step(scores)
    latest = scores.drop_duplicates("step", keep="last").sort_values("step", ascending=False)
    return [(f"{'★ ' if int(r.step) == best else ''}step {int(r.step)} · CER {r.cer:.3f} · similarity "
             f"{r.similarity:.3f}" + (" (best)" if int(r.step) == best else ""), int(r.step))
            for r in latest.itertuples() if r.step > 0]


def best_markdown(scores: pd.DataFrame) -> str:
    best = best_step(scores)
    if best is None:
        return ("No checkpoint scored yet. With `evaluation.enabled` the base model is scored first, then each "
                "checkpoint as it is saved; `tortoise-studio evaluate RUN_DIR` scores a run by hand.")
    latest = scores.drop_duplicates("step", keep="last").set_index("step")
    row = latest.loc[best]
    text = f"**★ Best checkpoint: step {best}**: CER {row['cer']:.3f}, voice similarity {row['similarity']:.3f}"
    if 0 in latest.index:
        base = latest.loc[0]
        text += f" (base model: CER {base['cer']:.3f}, similarity {base['similarity']:.3f})"
    return text + ". Best = the lowest CER among checkpoints within 0.02 of the best similarity."


def errors_markdown(status) -> str:
    return f"⚠ **Evaluation**: {status.last_error}" if status.last_error else ""


def sample_slots(run_dir: str | None, step: int | None) -> list:
    """For each player slot: the checkpoint's sample path and its caption, then the base model's."""
    mine = read_samples(run_dir, step) if run_dir and step is not None else []
    base = read_samples(run_dir, 0) if run_dir else []
    values = []
    for n in range(PLAYERS):
        for found, who in ((mine, f"step {step}"), (base, "base model")):
            sample = found[n] if n < len(found) else None
            values += [str(sample.wav) if sample else None, caption(sample, who)]
    return values


def caption(sample: Sample | None, who: str) -> str:
    if sample is None:
        return ""
    return (f"**{who}, sentence {sample.index + 1}**: {sample.text}  \nheard: *{sample.transcript or '(nothing)'}*"
            f"  \nCER {sample.cer:.3f} · similarity {sample.similarity:.3f}")


def export_best(ctx: AppContext, run_dir: str | None, reader: MetricsReader) -> str:
    if not run_dir:
        return "Pick a run first."
    best = best_step(reader.eval)
    if best is None:
        return "No checkpoint scored yet, so there is no best one to export."
    try:
        target = export_checkpoint(ctx.workspace, run_dir, best)
    except UserError as exc:
        return f"**Not exported**: {exc}"
    return f"Exported the checkpoint of step {best} to `{target}`; Generate lists it as a fine-tune."


# ---- widgets and wiring -----------------------------------------------------------------------------

def build(ctx: AppContext, run: gr.Dropdown, reader: Callable[[str], MetricsReader]) -> dict:
    # closed until a run with something to show is chosen: the page mounts a closed section's players and plot
    # only when it opens (measured: the Train tab's first showing 4.1-4.3 -> 2.5-2.9 CPU-s of the browser)
    with gr.Accordion("Checkpoint scores: listen and compare", open=False, elem_id="eval-section") as section:
        errors = gr.Markdown(elem_id="eval-errors")
        plot = gr.LinePlot(None, x="step", y="value", color="series", color_map=COLORS, y_lim=[0, 1],
                           title="CER and voice similarity by step (step 0 = base model)", x_title="optimizer step",
                           y_title="score", height=280, elem_id="eval-plot")
        with gr.Row():
            best = gr.Markdown(elem_id="eval-best")
            export = gr.Button("Export best checkpoint to models/finetunes", elem_id="eval-export", scale=0)
        export_message = gr.Markdown(elem_id="eval-export-message")
        checkpoint = gr.Dropdown(label="Scored checkpoint", choices=[], value=None, elem_id="eval-checkpoint",
                                 info="its samples (left) beside the base model's (right), same sentences and seeds")
        slots = []
        for n in range(PLAYERS):
            with gr.Row():
                for who in ("sample", "base"):
                    with gr.Column():
                        slots.append(gr.Audio(type="filepath", interactive=False, show_label=False,
                                              elem_id=f"eval-{who}-{n}"))
                        slots.append(gr.Markdown(elem_id=f"eval-{who}-{n}-text"))
    timer = gr.Timer(TICK_SECONDS, active=False)

    def view(run_dir, selected) -> tuple[tuple, bool]:
        """The section's outputs, and whether there is anything to show (scores, an evaluator at work or its
        error)."""
        if not run_dir or not Path(run_dir, CONFIG_FILE).is_file():
            return ("", None, best_markdown(pd.DataFrame()), gr.update(choices=[], value=None),
                    *sample_slots(None, None), gr.Timer(active=False)), False
        metrics = reader(run_dir)
        scores = metrics.eval
        choices = checkpoint_choices(scores)
        steps = [step for _, step in choices]
        step = selected if selected in steps else (best_step(scores) if steps else None)
        frame = scores_frame(scores)
        status = evaluation_status(Path(run_dir), metrics)
        alive = status.running or _run_alive(run_dir)
        note = errors_markdown(status)
        return (note, frame if len(frame) else None, best_markdown(scores), gr.update(choices=choices, value=step),
                *sample_slots(run_dir, step), gr.Timer(active=alive)), bool(len(frame) or status.running or note)

    def refresh(run_dir, selected):
        return view(run_dir, selected)[0]

    def show_run(run_dir, selected):
        shown, worth_showing = view(run_dir, selected)
        if worth_showing or _scores_checkpoints(run_dir):
            return *shown, gr.update(open=True)
        return *shown, gr.update()  # as the user left it: never closed under them

    outputs = [errors, plot, best, checkpoint, *slots, timer]

    def show_run_after(event) -> None:
        """Show the run the dropdown changed to, after the event that reacts to that change (the Run section's
        own view): a run's change has one listener (ui/events.py). The section opens for a run with something
        to show."""
        event.then(show_run, [run, checkpoint], [*outputs, section])

    timer.tick(refresh, [run, checkpoint], outputs)
    checkpoint.input(lambda r, s: sample_slots(r, s), [run, checkpoint], slots)
    export.click(lambda r: export_best(ctx, r, reader(r) if r else None), run, export_message)
    return {"show_run_after": show_run_after, "section": section, "plot": plot, "best": best, "export": export, "export_message": export_message,
            "checkpoint": checkpoint, "errors": errors, "slots": slots, "timer": timer}


def _scores_checkpoints(run_dir: str | None) -> bool:
    """Whether the run's configuration has its checkpoints scored (an unreadable one: the Run section says so)."""
    try:
        return bool(run_dir) and load_config(Path(run_dir, CONFIG_FILE)).evaluation.enabled
    except (UserError, OSError):
        return False


def _run_alive(run_dir: str) -> bool:
    """The trainer's processes, from run.pid alone (cheap enough for every tick)."""
    info = read_pid_file(Path(run_dir))
    return info is not None and info.alive()
