"""Train tab, Run section: pick a run, train / stop / resume it, and watch its losses live.

Everything shown comes from the run folder (train.yaml, run.pid, metrics.jsonl, the logs,
checkpoints/), so a run started from the command line shows up here, and a reloaded page or a
restarted server loses nothing. A gr.Timer ticks every 2 s while the selected run is alive; each
tick parses only the rows appended since the last one (a MetricsReader per run, kept in a service).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import gradio as gr
import pandas as pd

from ..runs.checkpoints import checkpoints_dir, list_checkpoints
from ..runs.continuation import continue_run, final_weights, why_not_resume
from ..errors import UserError
from ..metrics.series import eval_warning
from ..runs.launch import RunService
from ..metrics.reader import MetricsReader
from ..metrics.series import downsample, ema_smooth, overfitting_warning
from ..runs.status import CONFIG_FILE, RunStatus, log_tail
from . import evaluation_section
from .context import AppContext

TICK_SECONDS = 2.0
# A live run's graphs are redrawn at most this often (its status and log every tick): Gradio draws a plot anew
# from scratch, and redrawing three every tick kept about half a core of the browser busy, beside the trainer.
PLOT_SECONDS = 6.0
MAX_POINTS = 2000
LOG_LINES = 30
SERIES_NAMES = {"loss_mel_ce": "mel", "loss_text_ce": "text", "loss_gpt_total": "total"}
COLORS = {"train mel": "#1f77b4", "val mel": "#ff7f0e", "train text": "#2ca02c", "val text": "#d62728",
          "train total": "#1f77b4", "val total": "#ff7f0e", "lr": "#9467bd"}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
# the series each plot can show: its colours, and all its legend lists
LOSS_SERIES = ("train mel", "val mel", "train text", "val text")
TOTAL_SERIES = ("train total", "val total")
LR_SERIES = ("lr",)
BANNER_STATES = {"failed": "Training failed", "crashed": "Training crashed", "stalled": "Training stalled"}


def runs(ctx: AppContext) -> RunService:
    """The run service of this UI process (the command line uses the same one)."""
    return ctx.service("runs", lambda: RunService(ctx.workspace, host=ctx.host))


# ---- plain handlers: values in, values (or gr.update) out -------------------------------------------

def run_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(label, run folder) of every run, newest first; the label shows dataset/run and its state."""
    choices = []
    for run_dir in ctx.workspace.list_runs():
        try:
            status = runs(ctx).status(run_dir)
        except UserError:
            continue
        choices.append((f"{status.label} — {status.state}", str(run_dir.resolve())))
    return choices


def select_run_handler(ctx: AppContext) -> Callable[[str], dict]:
    """For the Configure section: after it saves a train.yaml, list that run here and select it."""
    def select(saved_path: str):
        if not saved_path:
            return gr.update()
        run_dir = Path(saved_path)
        run_dir = run_dir.parent if run_dir.name == CONFIG_FILE else run_dir
        return gr.update(choices=run_choices(ctx), value=str(run_dir.resolve()))
    return select


def checkpoint_choices(run_dir: str | None) -> list[tuple[str, str]]:
    """The run's checkpoints, latest first, labelled with step, epoch and losses."""
    if not run_dir:
        return []
    choices = []
    for c in list_checkpoints(run_dir):
        losses = " · ".join(f"{SERIES_NAMES.get(k, k)} {v:.4f}" for k, v in c.losses.items()
                            if isinstance(v, (int, float)))
        label = f"step {c.step} · epoch {c.epoch:.2f}" + (f" · {losses}" if losses else "")
        choices.append((label, str(c.path)))
    return choices


def status_line(status: RunStatus) -> str:
    steps = f"{status.step}/{status.steps_total}" if status.steps_total else f"{status.step}"
    parts = [f"**{status.label}**: {status.state}", f"step {steps}", f"epoch {status.epoch:.2f}"]
    if status.sec_per_step:
        parts.append(f"{status.sec_per_step:.2f} s/step")
    if status.eta_seconds is not None:
        parts.append(f"ETA {_duration(status.eta_seconds)}")
    last = status.last_checkpoint
    parts.append(f"last checkpoint: step {last}" if last is not None else "no checkpoint yet")
    return " · ".join(parts)


# Scroll the log box to its last line once the browser has laid it out (run in the page, no server call).
SCROLL_LOG_TO_END = """() => requestAnimationFrame(() => {
    const box = document.querySelector('#run-log textarea');
    if (box) box.scrollTop = box.scrollHeight;
})"""
# How to go on from a run that cannot simply resume: the two buttons under Train, named as they read.
WAYS_ON = ("**Continue with new data** starts a new run from this run's final weights on the dataset as it is "
           "now; **Start over** trains this run again from the start (its history is moved to `previous/`).")


def banner(status: RunStatus) -> str:
    title = BANNER_STATES.get(status.state)
    if title is None:
        return ""
    message = (status.message or "no message").strip()
    first, _, rest = message.partition("\n")
    text = f"### ⚠ {title}\n{first}"
    if rest:
        text += "\n```\n" + rest + "\n```"
    if status.state == "failed" and status.last_checkpoint is not None:
        text += "\n\n" + WAYS_ON
    return text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def axis_limits(xmin, xmax, ymin, ymax) -> tuple[list | None, list | None]:
    """The plots' x (optimizer steps) and y ranges from the four fields, where 0 (or empty) is automatic.
    A bad value raises UserError naming its field: the fields declare no minimum, so that this message,
    not Gradio's nameless toast, reaches the page. The fields are text (a number field shows 0 when empty),
    so each value may also be a string."""
    xmin, xmax, ymin, ymax = (_axis_number(name, value) for name, value in
                              (("x min", xmin), ("x max", xmax), ("y min", ymin), ("y max", ymax)))
    for name, value in (("x min", xmin), ("x max", xmax)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UserError(f"{name}: {value:g} is not allowed; enter a step of 0 or more (0 = automatic)")
    for name, value in (("y min", ymin), ("y max", ymax)):
        if value is not None and not math.isfinite(value):
            raise UserError(f"{name}: {value:g} is not allowed; enter a finite number (0 = automatic)")
    x_lim, y_lim = _limits(xmin, xmax), _limits(ymin, ymax)
    for axis, lim in (("x", x_lim), ("y", y_lim)):
        if lim and None not in lim and lim[0] >= lim[1]:
            raise UserError(f"{axis} max: {lim[1]:g} is not allowed; it must be above {axis} min ({lim[0]:g})")
    return x_lim, y_lim


def _axis_number(name: str, value) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{name}: {text!r} is not a number; enter one, or leave it empty (automatic)") from None


def _limits(low: float | None, high: float | None) -> list[float | None] | None:
    """An axis range from two numbers where 0 (or empty) means automatic."""
    low, high = (low or None), (high or None)
    return None if low is None and high is None else [low, high]


def series_frame(train: pd.DataFrame, val: pd.DataFrame, keys: list[str], *, smoothing: float = 0.0,
                 x_range: list | None = None) -> pd.DataFrame:
    """Long form (step, value, series) for gr.LinePlot: each key as a train and a val series.

    Training curves are smoothed (validation points are few and each one matters) and downsampled
    to MAX_POINTS keeping every bucket's extremes."""
    parts = []
    for kind, frame in (("train", train), ("val", val)):
        frame = _in_range(frame, x_range)
        present = [k for k in keys if k in frame and frame[k].notna().any()]
        if not present:
            continue
        frame = downsample(frame[["step", *present]], columns=present, max_points=MAX_POINTS)
        for key in present:
            values = frame[key].to_numpy(dtype="float64", na_value=float("nan"))
            if kind == "train" and smoothing > 0:
                values = ema_smooth(values, smoothing)
            name = f"{kind} {SERIES_NAMES.get(key, key)}" if key != "lr" else "lr"
            parts.append(pd.DataFrame({"step": frame["step"].to_numpy(), "value": values, "series": name}).dropna())
    if not parts:
        return pd.DataFrame({"step": pd.Series(dtype="int64"), "value": pd.Series(dtype="float64"),
                             "series": pd.Series(dtype="object")})
    return pd.concat(parts, ignore_index=True)


def _in_range(frame: pd.DataFrame, x_range: list | None) -> pd.DataFrame:
    if not x_range or "step" not in frame:
        return frame
    low, high = x_range
    if low is not None:
        frame = frame[frame["step"] >= low]
    if high is not None:
        frame = frame[frame["step"] <= high]
    return frame


def color_map(frame: pd.DataFrame) -> dict[str, str]:
    """Colours of the series in `frame`. Gradio's plot fixes its colour domain when it (re)builds the
    chart, and rebuilds on a new color_map but not on new data: sending the map of the series present
    makes a series that appears later (the first validation, a compared run) visible."""
    names = list(dict.fromkeys(frame["series"])) if "series" in frame else []
    spare = iter(c for c in PALETTE * 4 if c not in {COLORS.get(n) for n in names})
    return {n: COLORS.get(n) or next(spare, "#333333") for n in names}


def _plot_update(frame: pd.DataFrame, series: tuple[str, ...], **limits) -> dict:
    return gr.update(value=_with_all_series(frame, series), **limits)


def _with_all_series(frame: pd.DataFrame, series: tuple[str, ...]) -> pd.DataFrame | None:
    """Gradio's plot fixes its colour domain when it first draws, and does not widen it for new data:
    give every series this plot can show one point from the start (a one-point line draws nothing), so a
    validation series that appears later gets its colour. An empty frame is sent as no value at all:
    a chart first drawn empty would keep an empty colour domain and draw every later line uncoloured."""
    if frame.empty:
        return None
    missing = [n for n in series if n not in set(frame["series"])]
    first = frame.iloc[0]
    filler = pd.DataFrame({"step": [first["step"]] * len(missing), "value": [first["value"]] * len(missing),
                           "series": missing})
    return pd.concat([frame, filler], ignore_index=True)


def plots(reader: MetricsReader, smoothing: float, x_lim: list | None = None,
          y_lim: list | None = None) -> tuple[dict, dict, dict]:
    """gr.update()s for the loss, total-loss and learning-rate plots (limits as axis_limits gives them)."""
    train, val = reader.train, reader.val
    losses = series_frame(train, val, ["loss_mel_ce", "loss_text_ce"], smoothing=smoothing, x_range=x_lim)
    total = series_frame(train, val, ["loss_gpt_total"], smoothing=smoothing, x_range=x_lim)
    lr = series_frame(train, val.iloc[0:0], ["lr"], x_range=x_lim)
    return (_plot_update(losses, LOSS_SERIES, x_lim=x_lim, y_lim=y_lim),
            _plot_update(total, TOTAL_SERIES, x_lim=x_lim, y_lim=y_lim), _plot_update(lr, LR_SERIES, x_lim=x_lim))


def compare_frame(ctx: AppContext, run_dirs: list[str], smoothing: float = 0.0) -> pd.DataFrame:
    """The mel loss of several runs on one plot: a train and a val series per run."""
    parts = []
    for run_dir in run_dirs or []:
        reader = runs(ctx).reader(run_dir)
        frame = series_frame(reader.train, reader.val, ["loss_mel_ce"], smoothing=smoothing)
        name = Path(run_dir).name
        parts.append(frame.assign(series=frame["series"].str.replace("mel", name, regex=False)))
    return pd.concat(parts, ignore_index=True) if parts else series_frame(pd.DataFrame(), pd.DataFrame(), [])


def compare_choices(ctx: AppContext, run_dir: str | None) -> list[tuple[str, str]]:
    """Runs of the same dataset as `run_dir` (the ones whose curves can be compared with it)."""
    if not run_dir:
        return []
    dataset = Path(run_dir).parent.parent.name
    return [(p.name, str(p.resolve())) for p in ctx.workspace.list_runs(dataset)]


def view(ctx: AppContext, run_dir: str | None, smoothing: float, xmin, xmax, ymin, ymax,
         drawn: tuple | list | None = None) -> dict:
    """Everything the section shows about one run, as plain values and gr.update()s by widget name. `drawn`:
    the view's `drawn` when its plots were last drawn, from a tick; the plots are then left as they are while
    plots_current says so (and not built)."""
    if not run_dir or not Path(run_dir, CONFIG_FILE).is_file():
        empty = series_frame(pd.DataFrame(), pd.DataFrame(), [])
        return dict(status="No run selected: save a configuration above, or pick a run.", banner="", warning="",
                    log="", losses=empty, total=empty, lr=empty, alive=False, checkpoint_steps=(), state=None,
                    axis_error="", drawn=(run_dir, 0, 0, time.time()))
    try:
        x_lim, y_lim = axis_limits(xmin, xmax, ymin, ymax)
        axis_error = ""
    except UserError as exc:  # draw with automatic ranges and say which field is wrong
        x_lim = y_lim = None
        axis_error = f"**Axis range not applied**: {exc}"
    reader = runs(ctx).reader(run_dir)
    status = runs(ctx).status(run_dir)
    rows, now = (run_dir, len(reader.train), len(reader.val)), time.time()
    if plots_current(drawn, rows, status.alive, now):
        losses = total = lr = gr.update()
    else:
        losses, total, lr = plots(reader, smoothing, x_lim, y_lim)
        drawn = (*rows, now)
    warning = overfitting_warning(reader.train, reader.val) or eval_warning(reader.eval) or ""
    return dict(status=status_line(status), banner=banner(status), warning=f"⚠ {warning}" if warning else "",
                log=log_tail(status.run_dir, lines=LOG_LINES), losses=losses, total=total, lr=lr,
                alive=status.alive, checkpoint_steps=_checkpoint_signature(run_dir), state=status.state,
                axis_error=axis_error, drawn=tuple(drawn))


def plots_current(drawn: tuple | list | None, rows: tuple, alive: bool, now: float) -> bool:
    """Whether a tick may leave the plots as they are. `drawn`: (run folder, training rows, validation rows,
    time) when they were drawn, `rows`: the first three now. They are current when they show these rows, or
    when the run is alive and they were drawn less than PLOT_SECONDS ago; another run, or a run that ended,
    is drawn at once (the tick that finds the run ended draws its last rows)."""
    if drawn is None or drawn[0] != rows[0]:
        return False
    return tuple(drawn[:3]) == tuple(rows) or (alive and now - drawn[3] < PLOT_SECONDS)


def run_dropdown_update(ctx: AppContext, run_dir: str | None, listed_state: str | None,
                        state: str | None) -> tuple[dict, str | None]:
    """The run list again, the selection kept, when the selected run's state is no longer the one its label
    shows (configured -> running -> stopped); otherwise no change, so a tick costs no re-listing.
    Returns (the dropdown's update, the state its label now shows)."""
    if not run_dir or state == listed_state:
        return gr.update(), listed_state
    return gr.update(choices=run_choices(ctx), value=run_dir), state


def _page_host(request: gr.Request | None) -> str | None:
    """The host name in the address the browser used for this page (no port), if it sent one."""
    host = request.headers.get("host") if request is not None else None
    if not host:
        return None
    return urlsplit(f"//{host}").hostname


def _checkpoint_signature(run_dir: str) -> tuple:
    folder = checkpoints_dir(run_dir)
    return tuple(sorted(p.name for p in folder.iterdir())) if folder.is_dir() else ()


def start_handler(ctx: AppContext, run_dir: str | None, checkpoint: str | None = None, *, resume: bool = False) -> str:
    """Train (continue from the latest checkpoint, if any, as `tortoise-studio train` does) or Resume
    from the chosen checkpoint. Returns a message for the page."""
    if not run_dir:
        return "Pick a run first (or save a configuration above)."
    if resume and not checkpoint:
        return "Pick a checkpoint to resume from (the run has none yet?)."
    try:
        reason = None if resume else why_not_resume(run_dir)
        if reason is not None:
            what, why = reason
            return f"**{Path(run_dir).parent.parent.name}/{Path(run_dir).name} {what}**: {why}. {WAYS_ON}"
        status = runs(ctx).start(Path(run_dir) / CONFIG_FILE, resume=checkpoint if resume else "latest")
    except UserError as exc:
        return f"**Not started**: {exc}"
    where = f" from {Path(checkpoint).name}" if resume else ""
    return f"Started {status.label}{where} (pid {status.pid}, {', '.join(status.devices) or 'cpu'})."


def continue_handler(ctx: AppContext, run_dir: str | None) -> tuple[str, str | None]:
    """Write a new run that continues `run_dir` from its final weights, and start it.
    Returns (message, the new run folder, or None when nothing was started)."""
    if not run_dir:
        return "Pick a run first.", None
    try:
        config = continue_run(run_dir)
    except UserError as exc:
        return f"**Not continued**: {exc}", None
    try:
        status = runs(ctx).start(config)
    except UserError as exc:
        return f"Wrote `{config}`, but **did not start it**: {exc}", str(config.parent)
    step = final_weights(run_dir).parent.name
    return (f"Started {status.label} from the final weights of {Path(run_dir).name} (step {step}) on the dataset "
            f"as it is now (pid {status.pid}).", str(config.parent))


def start_over_handler(ctx: AppContext, run_dir: str | None) -> str:
    """Train the run again from the start; the trainer moves its metrics, logs and checkpoints to previous/."""
    if not run_dir:
        return "Pick a run first."
    try:
        status = runs(ctx).start(Path(run_dir) / CONFIG_FILE, resume="none")
    except UserError as exc:
        return f"**Not started**: {exc}"
    return (f"Started {status.label} over from the start (pid {status.pid}); its earlier history is kept in "
            f"`{Path(run_dir) / 'previous'}/`.")


def stop_handler(ctx: AppContext, run_dir: str | None) -> str:
    if not run_dir:
        return "Pick a run first."
    try:
        status = runs(ctx).stop(run_dir, wait=False)
    except UserError as exc:
        return f"**Not stopped**: {exc}"
    return f"{status.label}: {status.message or status.state}"


def tensorboard_handler(ctx: AppContext, run_dir: str | None, page_host: str | None = None) -> str:
    """Start (once) the run's TensorBoard; the link uses the host name the page was opened by."""
    if not run_dir:
        return "Pick a run first."
    try:
        url = runs(ctx).tensorboard(run_dir, page_host)
    except UserError as exc:
        return f"**TensorBoard not started**: {exc}"
    return f"TensorBoard for {Path(run_dir).name}: [{url}]({url}) (starts in a few seconds)"


# ---- widgets and wiring -------------------------------------------------------------------------------

def _plot(title: str, elem_id: str, y_title: str, series: tuple[str, ...] = ()) -> gr.LinePlot:
    colors = {name: COLORS[name] for name in series} or None
    # no initial value: the chart is first drawn with real data (see _with_all_series)
    return gr.LinePlot(None, x="step", y="value", color="series", color_map=colors, title=title, x_title="optimizer step", y_title=y_title, height=280,
                       elem_id=elem_id)


def build(ctx: AppContext) -> dict:
    with gr.Row():
        run = gr.Dropdown(label="Run", choices=[], value=None, elem_id="run-dropdown", scale=4,
                          info="newest first, with its state")
        refresh = gr.Button("↻ Refresh", elem_id="run-refresh", scale=1)
    with gr.Row():
        train = gr.Button("Train", variant="primary", elem_id="run-train")
        stop = gr.Button("Stop", variant="stop", elem_id="run-stop")
        checkpoint = gr.Dropdown(label="Checkpoint", choices=[], elem_id="run-checkpoint", scale=3,
                                 info="latest first; Resume continues from it")
        resume = gr.Button("Resume", elem_id="run-resume")
    with gr.Row():  # the ways on from a finished run, or one whose data changed (an exact resume refuses it)
        continue_new = gr.Button("Continue with new data", elem_id="run-continue", size="sm")
        start_over = gr.Button("Start over", elem_id="run-start-over", size="sm")
    message = gr.Markdown(elem_id="run-message")
    banner_md = gr.Markdown(elem_id="run-banner")
    status = gr.Markdown(elem_id="run-status")
    warning = gr.Markdown(elem_id="run-overfit")
    with gr.Row():
        losses = _plot("Text and mel loss (train and validation)", "run-loss-plot", "loss", LOSS_SERIES)
        total = _plot("Total loss", "run-total-plot", "loss", TOTAL_SERIES)
    lr = _plot("Learning rate", "run-lr-plot", "lr", LR_SERIES)
    with gr.Row():
        smoothing = gr.Slider(0.0, 0.99, value=0.6, step=0.01, label="Smoothing (EMA, as TensorBoard)",
                              elem_id="run-smoothing", scale=2)
        # text fields, empty until the user sets a limit (empty or 0 = automatic): a number field shows 0 when
        # empty; axis_limits reads the numbers and answers a bad value with a message naming the field
        xmin, xmax, ymin, ymax = (gr.Textbox(label=name, placeholder="auto", max_lines=1, elem_id=f"run-{elem}")
                                  for name, elem in (("x min", "xmin"), ("x max", "xmax"), ("y min", "ymin"),
                                                     ("y max", "ymax")))
    evaluation = evaluation_section.build(ctx, run, reader=lambda run_dir: runs(ctx).reader(run_dir))
    log = gr.Textbox(label="Log (last lines)", lines=10, max_lines=20, interactive=False, autoscroll=True,
                     elem_id="run-log")
    with gr.Row():
        tensorboard = gr.Button("TensorBoard", elem_id="run-tensorboard")
        tensorboard_link = gr.Markdown(elem_id="run-tensorboard-link")
    with gr.Accordion("Compare runs", open=False, elem_id="run-compare-section"):
        compare = gr.Dropdown(label="Runs of the same dataset", multiselect=True, choices=[], elem_id="run-compare")
        compare_plot = _plot("Mel loss by run", "run-compare-plot", "mel loss")
    timer = gr.Timer(TICK_SECONDS, active=False)
    seen_checkpoints = gr.State(())
    listed_state = gr.State(None)  # the selected run's state as its label in the run list shows it
    drawn_state = gr.State(None)  # what the tick last drew, and when (plots_current)

    view_inputs = [run, smoothing, xmin, xmax, ymin, ymax]
    view_outputs = [status, banner_md, warning, log, losses, total, lr, timer]

    def show(run_dir, smoothing, xmin, xmax, ymin, ymax, drawn=None):
        v = view(ctx, run_dir, smoothing, xmin, xmax, ymin, ymax, drawn)
        return (v["status"], v["banner"], v["warning"], v["log"], v["losses"], v["total"], v["lr"],
                gr.Timer(active=v["alive"])), v

    def on_select(*values):
        shown, v = show(*values)
        run_dir = values[0]
        checkpoints = checkpoint_choices(run_dir)
        # the list was made just before a selection (page load, Refresh, a saved run): its label is current
        return (*shown, gr.update(choices=checkpoints, value=checkpoints[0][1] if checkpoints else None),
                v["checkpoint_steps"], gr.update(choices=compare_choices(ctx, run_dir), value=[]), v["state"])

    def on_tick(seen, listed, drawn, *values):
        shown, v = show(*values, drawn=drawn)
        relisted = run_dropdown_update(ctx, values[0], listed, v["state"])
        if v["checkpoint_steps"] == tuple(seen):
            return (*shown, gr.update(), seen, *relisted, v["drawn"])
        checkpoints = checkpoint_choices(values[0])
        return (*shown, gr.update(choices=checkpoints, value=checkpoints[0][1] if checkpoints else None),
                v["checkpoint_steps"], *relisted, v["drawn"])

    select_outputs = [*view_outputs, checkpoint, seen_checkpoints, compare, listed_state]
    # the checkpoint scores follow in the same chain: a run's change has this one listener (ui/events.py)
    evaluation["show_run_after"](run.change(on_select, view_inputs, select_outputs))
    timer.tick(on_tick, [seen_checkpoints, listed_state, drawn_state, *view_inputs],
               [*view_outputs, checkpoint, seen_checkpoints, run, listed_state, drawn_state])

    def on_axes(*values):
        shown, v = show(*values)
        return (*shown, v["axis_error"])

    axes_outputs = [*view_outputs, message]
    gr.on([xmin.submit, xmax.submit, ymin.submit, ymax.submit], on_axes, view_inputs, axes_outputs)

    def compared(runs, smoothing_value):
        return gr.update(value=compare_frame(ctx, runs, smoothing_value))

    def on_smoothing(runs, run_dir, smoothing_value, *axes):
        # smoothing redraws the run's plots and the comparison in one listener (ui/events.py)
        return *on_axes(run_dir, smoothing_value, *axes), compared(runs, smoothing_value)

    smoothing.release(on_smoothing, [compare, *view_inputs], [*axes_outputs, compare_plot])

    def on_refresh(current):
        choices = run_choices(ctx)
        values = [value for _, value in choices]
        return gr.update(choices=choices, value=current if current in values else (values[0] if values else None))

    def read_lists_on(triggers):
        # when the page loads or the tab opens, list the runs again and keep, or pick, the newest one
        gr.on(triggers, on_refresh, run, run, show_progress="hidden")
        # a log that arrived while the tab was hidden had no height to scroll: show its end once it is seen
        gr.on(triggers, None, None, None, js=SCROLL_LOG_TO_END)

    # the box's own autoscroll follows new lines while it is on screen
    log.change(None, None, None, js=SCROLL_LOG_TO_END)

    refresh.click(on_refresh, run, run).then(on_select, view_inputs, select_outputs)

    def after_action(note, listed, *values):
        shown, v = show(*values)
        return (note, *shown, *run_dropdown_update(ctx, values[0], listed, v["state"]))

    action_inputs = [message, listed_state, *view_inputs]
    action_outputs = [message, *view_outputs, run, listed_state]
    train.click(lambda r: start_handler(ctx, r), run, message).then(after_action, action_inputs, action_outputs)
    resume.click(lambda r, c: start_handler(ctx, r, c, resume=True), [run, checkpoint], message).then(
        after_action, action_inputs, action_outputs)
    stop.click(lambda r: stop_handler(ctx, r), run, message).then(after_action, action_inputs, action_outputs)
    start_over.click(lambda r: start_over_handler(ctx, r), run, message).then(
        after_action, action_inputs, action_outputs)

    def on_continue(run_dir):
        note, new_run = continue_handler(ctx, run_dir)
        if new_run is None:
            return note, gr.update()
        return note, gr.update(choices=run_choices(ctx), value=str(Path(new_run).resolve()))

    # selecting the new run shows it (its state, an empty plot, its checkpoints) through run.change
    continue_new.click(on_continue, run, [message, run])

    def on_tensorboard(run_dir, request: gr.Request):
        return tensorboard_handler(ctx, run_dir, _page_host(request))

    tensorboard.click(on_tensorboard, run, tensorboard_link)
    compare.change(compared, [compare, smoothing], compare_plot)
    return {"read_lists_on": read_lists_on, "run_dropdown": run, "checkpoint": checkpoint, "train": train, "stop": stop, "resume": resume,
            "continue": continue_new, "start_over": start_over,
            "status": status, "banner": banner_md, "warning": warning, "log": log, "loss_plot": losses,
            "total_plot": total, "lr_plot": lr, "smoothing": smoothing, "timer": timer, "compare": compare,
            "compare_plot": compare_plot, "message": message, "tensorboard_link": tensorboard_link,
            "evaluation": evaluation}
