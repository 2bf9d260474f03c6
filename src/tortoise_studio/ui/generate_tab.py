"""Generate tab: speak text with a voice and any autoregressive model; list results; compare two models (A/B).

The Synthesizer is a service created once per app, so models stay loaded between clicks. Handlers take
plain values and return plain values; errors (missing weights, bad settings) become a message in the page.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import gradio as gr

from ..errors import UserError
from ..demo import is_demo_models
from ..generate.latents import voice_choices
from ..generate.results import list_results, read_sidecar, save_speech
from ..generate.synthesizer import (PRESETS, GenerationCancelled, GenerationSettings, Progress, Synthesizer,
                                    autoregressive_choices, demo_settings, warm_up)
from .context import AppContext
from .lists import choice_values, kept_choice

DEFAULT_PRESET = "fast"
# Widgets below the preset, in this order, feed settings_from().
ADVANCED = ("diffusion_iterations", "temperature", "top_p", "repetition_penalty", "length_penalty",
            "diffusion_temperature", "cond_free", "cond_free_k", "max_mel_tokens", "kv_cache", "half")
_INTEGER_FIELDS = {"candidates", "seed", "diffusion_iterations", "max_mel_tokens"}


def synthesizer(ctx: AppContext) -> Synthesizer:
    return ctx.service("synthesizer", lambda: Synthesizer(ctx.workspace, device=ctx.settings().device))


def settings_from(preset: str, candidates, seed, *advanced) -> GenerationSettings:
    """The form's values as validated settings; a blank or fractional number names its field."""
    values = {"preset": preset, "candidates": candidates, "seed": seed, **dict(zip(ADVANCED, advanced))}
    for name in _INTEGER_FIELDS:
        value = values[name]
        if value is None or not math.isfinite(value) or float(value) != int(value):
            raise UserError(f"{name}: enter a whole number")
        values[name] = int(value)
    for name in ("temperature", "top_p", "repetition_penalty", "length_penalty", "diffusion_temperature", "cond_free_k"):
        if values[name] is None or not math.isfinite(values[name]):
            raise UserError(f"{name}: enter a number")
        values[name] = float(values[name])
    return GenerationSettings(**values).validate()


def preset_values(preset: str) -> tuple:
    """What choosing a preset sets: candidates, diffusion iterations, conditioning-free guidance."""
    s = GenerationSettings.from_preset(preset)
    return s.candidates, s.diffusion_iterations, s.cond_free


def result_choices(ctx: AppContext) -> list[tuple[str, str]]:
    choices = []
    for wav in list_results(ctx.workspace):
        info = read_sidecar(wav)
        text = info.get("text", "")
        snippet = text if len(text) <= 40 else text[:39] + "…"
        label = f" [{info['label']}]" if info.get("label") else ""
        choices.append((f"{wav.parent.name}/{wav.name}{label}: {snippet}", str(wav)))
    return choices


def _kept(choices: list, current):
    """The dropdown's update: fresh choices, the current value kept while it is still one of them, else the first."""
    values = choice_values(choices)
    return kept_choice(choices, current, values[0] if values else None)


def lists_update(ctx: AppContext, voice, model, model_a, model_b, result) -> tuple:
    """Voice, model (x3) and result dropdowns as the workspace is now, each keeping its selection if it exists."""
    models = autoregressive_choices(ctx.workspace)
    results = result_choices(ctx)
    return (_kept(voice_choices(ctx.workspace), voice), _kept(models, model), _kept(models, model_a),
            _kept(models, model_b), kept_choice(results, result))


def mode_defaults(ctx: AppContext) -> tuple:
    """Preset, candidates, diffusion iterations, conditioning-free guidance and length limit to start from:
    with the demo's tiny random models a quick, short generation (demo.py), else DEFAULT_PRESET's."""
    try:
        demo = is_demo_models(ctx.models_dir())
    except UserError:  # an unreadable settings.json is the Settings tab's message
        demo = False
    s = demo_settings() if demo else GenerationSettings.from_preset(DEFAULT_PRESET)
    return s.preset, s.candidates, s.diffusion_iterations, s.cond_free, s.max_mel_tokens


# What a result's sidecar shows first: what was said and how; the files it was made from (with their
# hashes) come last, folded (the JSON view collapses levels below the third).
SIDECAR_FIRST = ("text", "voice", "label", "settings", "duration_seconds", "compute_seconds", "device", "created")
SIDECAR_FILES = ("voice_clips", "models_dir", "models")


def readable_sidecar(info: dict) -> dict:
    """The sidecar reordered for reading: settings first, then everything else, the model files last."""
    first = {key: info[key] for key in SIDECAR_FIRST if key in info}
    rest = {key: value for key, value in info.items() if key not in SIDECAR_FIRST and key not in SIDECAR_FILES}
    files = {key: info[key] for key in SIDECAR_FILES if key in info}
    return {**first, **rest, **({"files (with sha256)": files} if files else {})}


def start_warm_up(ctx: AppContext) -> None:
    """With the demo models, get the first generation's fixed costs (imports) out of the way in the background
    once the page is open, so that a newcomer's first click is as quick as the next (bench/demo_generate.py)."""
    try:
        if not is_demo_models(ctx.models_dir()):
            return
    except UserError:
        return
    ctx.service("synth_warm_up", lambda: threading.Thread(target=warm_up, daemon=True, name="warm-up").start())


def _model_label(ctx: AppContext, path: str) -> str:
    return next((label for label, value in autoregressive_choices(ctx.workspace) if value == path), Path(path).name)


def generate_handler(ctx: AppContext, text: str, voice: str, model: str, settings: GenerationSettings,
                     on_progress=None, label: str = "") -> tuple[str, str]:
    """Generate and save; returns (message, wav path)."""
    speech = synthesizer(ctx).generate(text=text, voice=voice, models_dir=ctx.models_dir(),
                                       autoregressive=model or None, settings=settings,
                                       device=ctx.settings().device, on_progress=on_progress)
    path = save_speech(ctx.workspace, speech, label=label)
    note = speech.voice.skipped_note()
    return (f"Saved {path.relative_to(ctx.workspace.root)}: {speech.duration:.2f} s of audio in "
            f"{speech.compute_seconds:.1f} s ({_model_label(ctx, model or '')}, tokenizer {speech.tokenizer['name']}, "
            f"seed {speech.settings.seed})" + (f"\n\n{note}" if note else "")), str(path)


def tokenizer_note(ctx: AppContext, model: str | None) -> str:
    """Which tokenizer generation will use for the chosen model (its own, recorded at training), or why it cannot."""
    from ..text import tokenizer_for_model
    try:
        tokenizer = tokenizer_for_model(ctx.workspace, model or None)
    except UserError as exc:
        return f"**Tokenizer:** {exc}"
    return f"Tokenizer: **{tokenizer.name}** ({tokenizer.language}, normaliser `{tokenizer.normalise.name}`), the model's own"


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, GenerationCancelled):
        return "Cancelled."
    if isinstance(exc, UserError):
        return f"**Error:** {exc}"
    return f"**Generation failed:** {type(exc).__name__}: {exc}"


def _progress_adapter(progress, start: float = 0.0, share: float = 1.0):
    def report(p: Progress) -> None:
        progress(start + share * p.fraction, desc=f"{p.stage}: {p.detail}")
    return report


def build(ctx: AppContext) -> dict:
    ws = ctx.workspace
    text = gr.Textbox(label="Text", lines=4, placeholder="What should the voice say? Long text is split into sentences.",
                      elem_id="gen-text")
    with gr.Row():
        voices = voice_choices(ws)
        voice = gr.Dropdown(label="Voice", choices=voices, value=voices[0][1] if voices else None,
                            elem_id="gen-voice", info="voices/<name> or a prepared dataset's clips")
        model = gr.Dropdown(label="Autoregressive model", choices=autoregressive_choices(ws), value="",
                            elem_id="gen-model", info="base, a fine-tune in models/finetunes, or a run's checkpoint")
        refresh = gr.Button("Refresh lists", elem_id="gen-refresh", scale=0)
    tokenizer = gr.Markdown(tokenizer_note(ctx, ""), elem_id="gen-tokenizer")
    defaults = GenerationSettings.from_preset(DEFAULT_PRESET)
    with gr.Row():
        preset = gr.Dropdown(label="Preset", choices=list(PRESETS), value=DEFAULT_PRESET, elem_id="gen-preset")
        # the numbers declare no minimum/maximum: GenerationSettings.validate() answers a bad value with a
        # message naming the field and what it allows (Gradio's own toast names neither)
        candidates = gr.Number(label="Candidates (ranked by CLVP)", value=defaults.candidates, precision=0,
                               elem_id="gen-candidates")
        seed = gr.Number(label="Seed", value=0, precision=0, elem_id="gen-seed")
    with gr.Accordion("Advanced settings", open=False, elem_id="gen-advanced"):
        with gr.Row():
            diffusion_iterations = gr.Number(label="Diffusion iterations", value=defaults.diffusion_iterations,
                                             precision=0, elem_id="gen-diffusion-iterations")
            max_mel_tokens = gr.Number(label="Max length per sentence (codes, 20 per second)",
                                       value=defaults.max_mel_tokens, precision=0,
                                       elem_id="gen-max-mel-tokens")
        with gr.Row():
            temperature = gr.Slider(0.05, 2.0, value=defaults.temperature, step=0.05, label="Temperature",
                                    elem_id="gen-temperature")
            top_p = gr.Slider(0.05, 1.0, value=defaults.top_p, step=0.05, label="Top p", elem_id="gen-top-p")
            repetition_penalty = gr.Slider(0.5, 10.0, value=defaults.repetition_penalty, step=0.1,
                                           label="Repetition penalty", elem_id="gen-repetition-penalty")
            length_penalty = gr.Slider(-5.0, 5.0, value=defaults.length_penalty, step=0.1, label="Length penalty",
                                       elem_id="gen-length-penalty")
        with gr.Row():
            diffusion_temperature = gr.Slider(0.0, 1.0, value=defaults.diffusion_temperature, step=0.05,
                                              label="Diffusion temperature", elem_id="gen-diffusion-temperature")
            cond_free = gr.Checkbox(label="Conditioning-free guidance", value=defaults.cond_free,
                                    elem_id="gen-cond-free")
            cond_free_k = gr.Slider(0.0, 10.0, value=defaults.cond_free_k, step=0.1, label="Guidance strength (k)",
                                    elem_id="gen-cond-free-k")
            kv_cache = gr.Checkbox(label="KV cache", value=defaults.kv_cache, elem_id="gen-kv-cache")
            half = gr.Checkbox(label="Half precision (CUDA only)", value=defaults.half, elem_id="gen-half")
    with gr.Row():
        generate = gr.Button("Generate", variant="primary", elem_id="gen-generate")
        cancel = gr.Button("Cancel", variant="stop", elem_id="gen-cancel")
    message = gr.Markdown(elem_id="gen-message")
    output = gr.Audio(label="Output", type="filepath", interactive=False, elem_id="gen-output")

    with gr.Accordion("Results", open=True, elem_id="gen-results-section"):
        results = gr.Dropdown(label="Results, newest first", choices=result_choices(ctx), value=None,
                              elem_id="gen-results")
        with gr.Row():
            result_audio = gr.Audio(label="Selected result", type="filepath", interactive=False,
                                    elem_id="gen-result-audio")
            result_info = gr.JSON(label="Settings and model files", elem_id="gen-result-info")

    with gr.Accordion("A/B: the same text and seed with two models", open=False, elem_id="gen-ab-section"):
        with gr.Row():
            model_a = gr.Dropdown(label="Model A", choices=autoregressive_choices(ws), value="", elem_id="gen-model-a")
            model_b = gr.Dropdown(label="Model B", choices=autoregressive_choices(ws), value="", elem_id="gen-model-b")
        compare = gr.Button("Generate A and B", elem_id="gen-ab-generate")
        ab_message = gr.Markdown(elem_id="gen-ab-message")
        with gr.Row():
            audio_a = gr.Audio(label="A", type="filepath", interactive=False, elem_id="gen-audio-a")
            audio_b = gr.Audio(label="B", type="filepath", interactive=False, elem_id="gen-audio-b")

    form = [preset, candidates, seed, diffusion_iterations, temperature, top_p, repetition_penalty, length_penalty,
            diffusion_temperature, cond_free, cond_free_k, max_mel_tokens, kv_cache, half]

    def on_generate(text_value, voice_value, model_value, *values, progress=gr.Progress()):
        try:
            settings = settings_from(*values)
            msg, path = generate_handler(ctx, text_value, voice_value, model_value, settings,
                                         on_progress=_progress_adapter(progress))
        except Exception as exc:  # every failure reaches the page as a message, never a stack trace
            return _error_message(exc), gr.update(), gr.update()
        return msg, path, gr.update(choices=result_choices(ctx), value=path)

    def on_compare(text_value, voice_value, a, b, *values, progress=gr.Progress()):
        paths, notes = [], []
        try:
            settings = settings_from(*values)
            for index, (label, model_value) in enumerate((("A", a), ("B", b))):
                note, path = generate_handler(ctx, text_value, voice_value, model_value, settings,
                                              on_progress=_progress_adapter(progress, index / 2, 0.5), label=label)
                paths.append(path)
                notes.append(f"{label}: {note}")
        except Exception as exc:
            notes.append(_error_message(exc))
        paths += [None] * (2 - len(paths))
        return "\n\n".join(notes), paths[0], paths[1], gr.update(choices=result_choices(ctx))

    def on_select_result(path):
        if not path:
            return None, None
        return path, readable_sidecar(read_sidecar(path))

    lists = [voice, model, model_a, model_b, results]

    def on_refresh(*current):
        return lists_update(ctx, *current)

    generate.click(on_generate, [text, voice, model, *form], [message, output, results])
    cancel.click(lambda: synthesizer(ctx).cancel(), None, None, queue=False)
    compare.click(on_compare, [text, voice, model_a, model_b, *form], [ab_message, audio_a, audio_b, results])
    preset.change(preset_values, preset, [candidates, diffusion_iterations, cond_free])
    results.change(on_select_result, results, [result_audio, result_info])
    refresh.click(on_refresh, lists, lists)
    model.change(lambda m: tokenizer_note(ctx, m), model, tokenizer)

    def on_show(*current):
        start_warm_up(ctx)  # in the background: the lists answer at once
        return on_refresh(*current)

    def read_lists_on(triggers):
        gr.on(triggers, on_show, lists, lists, show_progress="hidden")

    return {"read_lists_on": read_lists_on,
            "follow_settings": (lambda: mode_defaults(ctx),
                                [preset, candidates, diffusion_iterations, cond_free, max_mel_tokens]),
            "text": text, "voice": voice, "model": model, "form": form, "generate": generate, "cancel": cancel,
            "message": message, "output": output, "results": results, "result_audio": result_audio,
            "model_a": model_a, "model_b": model_b, "compare": compare, "audio_a": audio_a, "audio_b": audio_b}
