"""Speech generation from TorToiSe's building blocks: latents -> autoregressive -> CLVP ranking -> diffusion -> vocoder.

`tortoise.api.TextToSpeech` downloads weights and wav2vec in its constructor, so the pipeline of its
`tts()` is rebuilt here from the models loader and the helpers in tortoise.api / tortoise.utils. The
`Synthesizer` is a long-lived service: models stay loaded between generations and only a model whose
file (or device) changed is swapped.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..devices import torch_device
from ..errors import UserError
from ..hashes import file_sha256, file_stamp
from .latents import LatentsCache, VoiceClips, voice_clips
from ..models.files import MODEL_FILES
from ..workspace import Workspace

OUTPUT_SAMPLE_RATE = 24000  # the diffusion model and UnivNet produce 24 kHz audio
STAGES = ("latents", "autoregressive", "ranking", "diffusion", "vocoder")
# Share of one sentence's time each stage takes, roughly, for the progress bar.
_STAGE_SPAN = {"autoregressive": (0.0, 0.55), "ranking": (0.55, 0.6), "diffusion": (0.6, 0.95), "vocoder": (0.95, 1.0)}
_LATENTS_SHARE = 0.05
CALM_TOKEN = 83  # the DVAE code for silence (tortoise.api)
CALM_RUN = 8  # after this many calm codes speech is over; a little is kept so diffusion can end it
MAX_TEXT_TOKENS = 400  # tortoise.api refuses longer token sequences

# TorToiSe's generation defaults and presets: TextToSpeech.tts_with_preset in tortoise/api.py (3.0.0).
PRESETS: dict[str, dict] = {
    "ultra_fast": dict(candidates=16, diffusion_iterations=30, cond_free=False),
    "fast": dict(candidates=96, diffusion_iterations=80, cond_free=True),
    "standard": dict(candidates=256, diffusion_iterations=200, cond_free=True),
    "high_quality": dict(candidates=256, diffusion_iterations=400, cond_free=True),
}


@dataclass(frozen=True)
class GenerationSettings:
    """Every knob of one generation; the sidecar JSON of a result is this, as a dict."""

    preset: str = "fast"
    candidates: int = 96  # autoregressive samples; CLVP keeps the best
    diffusion_iterations: int = 80
    cond_free: bool = True  # conditioning-free guidance in diffusion
    cond_free_k: float = 2.0
    temperature: float = 0.8
    top_p: float = 0.8
    repetition_penalty: float = 2.0
    length_penalty: float = 1.0
    diffusion_temperature: float = 1.0
    seed: int = 0  # sentence i is sampled from seed + i, so editing one sentence leaves the others alone
    max_mel_tokens: int = 500  # longest sentence in codes (20 per second)
    batch_size: int | None = None  # candidates per autoregressive call; None: 1-16 by GPU memory, 16 on CPU
    kv_cache: bool = True
    half: bool = False  # float16 autocast; CUDA only

    @classmethod
    def from_preset(cls, preset: str = "fast", **overrides) -> "GenerationSettings":
        if preset not in PRESETS:
            raise UserError(f"preset: {preset!r} is not one of {', '.join(PRESETS)}")
        return cls(preset=preset, **{**PRESETS[preset], **overrides}).validate()

    def validate(self) -> "GenerationSettings":
        _check(self.preset in PRESETS, "preset", f"{self.preset!r} is not one of {', '.join(PRESETS)}")
        _check_int(self, "candidates", 1, 1024)
        _check_int(self, "diffusion_iterations", 1, 4000)
        _check_int(self, "seed", 0, 2**32 - 1)
        _check_int(self, "max_mel_tokens", 1, 600)
        if self.batch_size is not None:
            _check_int(self, "batch_size", 1, 256)
        _check_range(self, "temperature", 0.0, 10.0, low_open=True)
        _check_range(self, "top_p", 0.0, 1.0, low_open=True)
        _check_range(self, "repetition_penalty", 0.0, 100.0, low_open=True)
        _check_range(self, "length_penalty", -100.0, 100.0)
        _check_range(self, "diffusion_temperature", 0.0, 1.0)
        _check_range(self, "cond_free_k", 0.0, 100.0)
        return self


def demo_settings(**overrides) -> GenerationSettings:
    """Generate's defaults while the models are the demo's tiny random set: quick, and short (demo.py)."""
    from ..demo import DEMO_MAX_MEL_TOKENS, DEMO_PRESET
    return GenerationSettings.from_preset(DEMO_PRESET, **{"max_mel_tokens": DEMO_MAX_MEL_TOKENS, **overrides})


def warm_up() -> None:
    """Do ahead what every first generation in a process waits for and no model file decides: importing
    TorToiSe's generation code (seconds of CPU on a small machine) and building the conditioning mel transform."""
    import tortoise.api  # noqa: F401
    from .latents import _univnet_stft
    _univnet_stft("cpu")


def _check(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise UserError(f"{name}: {problem}")


def _check_int(s: GenerationSettings, name: str, low: int, high: int) -> None:
    value = getattr(s, name)
    _check(isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
           name, f"{value!r} must be a whole number from {low} to {high}")


def _check_range(s: GenerationSettings, name: str, low: float, high: float, *, low_open: bool = False) -> None:
    value = getattr(s, name)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (low < value if low_open else low <= value) and value <= high
    _check(ok, name, f"{value!r} must be in {'(' if low_open else '['}{low}, {high}]")


@dataclass(frozen=True)
class Progress:
    stage: str  # one of STAGES
    fraction: float  # of the whole generation, 0..1
    detail: str


@dataclass(frozen=True)
class ModelFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class Speech:
    """A generated utterance at 24 kHz and everything needed to make it again."""

    audio: np.ndarray
    text: str
    sentences: list[str]
    voice: VoiceClips
    settings: GenerationSettings
    models_dir: str
    model_files: dict[str, ModelFile]
    device: str
    compute_seconds: float
    sample_rate: int = OUTPUT_SAMPLE_RATE
    tokenizer: dict | None = None  # the tokenizer the text went through (name, sha256, language, normaliser)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


class GenerationCancelled(Exception):
    """The user pressed Cancel; raised at the next check between stages, candidates or diffusion steps."""


def split_text(text: str) -> list[str]:
    """TorToiSe's own splitter: sentences recombined into chunks of about 200 characters."""
    from tortoise.utils.text import split_and_recombine_text
    if not isinstance(text, str) or not text.strip():
        raise UserError("text: must not be empty")
    return [s for s in split_and_recombine_text(text.strip()) if s.strip()]


class Synthesizer:
    """Generates speech; keeps one model of each kind loaded, keyed by its file and device."""

    def __init__(self, workspace: Workspace, *, device: str = "auto"):
        self.workspace = workspace
        self.device_name = device
        self.latents = LatentsCache(workspace)
        self.loads: Counter[str] = Counter()  # how often each kind was (re)loaded
        self._models: dict[str, tuple[tuple, object]] = {}
        self._lock = threading.Lock()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop the running generation at its next check (between stages, candidate batches, diffusion steps)."""
        self._cancel.set()

    def generate(self, *, text: str, voice: str, models_dir: str | Path, autoregressive: str | Path | None = None,
                 settings: GenerationSettings | None = None, device: str | None = None,
                 on_progress: Callable[[Progress], None] | None = None, tokenizer: str | None = None) -> Speech:
        """Speak `text` in `voice` with the autoregressive weights `autoregressive` (None: models_dir's base),
        through the tokenizer those weights were trained with (`tokenizer`, if given, must be that one)."""
        settings = (settings or GenerationSettings()).validate()
        sentences = split_text(text)
        clips = voice_clips(self.workspace, voice)
        with self._lock:  # one generation at a time: they share the loaded models
            self._cancel.clear()
            started = time.perf_counter()
            run = _Run(self, settings, torch_device(device or self.device_name), on_progress or (lambda p: None))
            audio, model_files = run.speak(sentences, clips, Path(models_dir), autoregressive, tokenizer)
            return Speech(audio=audio, text=text, sentences=sentences, voice=clips, settings=run.settings,
                          models_dir=str(Path(models_dir).resolve()), model_files=model_files,
                          device=str(run.device), compute_seconds=time.perf_counter() - started,
                          tokenizer=asdict(run.tokenizer.record))

    def _model(self, kind: str, path: Path, models_dir: Path, loader: Callable[[], object], device) -> object:
        """The loaded model for `path` on `device`; loads (replacing the previous one of this kind) if it changed.

        The key holds models_dir too: its models.yaml decides the sizes the weights are loaded into.
        """
        if not path.is_file():
            return loader()  # raises the loader's ModelFileError: which file, and how to get it
        key = (file_stamp(path), str(models_dir.resolve()), str(device))
        held = self._models.get(kind)
        if held is not None and held[0] == key:
            return held[1]
        self._models.pop(kind, None)  # free the old one first so two large models never sit in memory
        model = loader().to(device)
        model.eval()  # not chained: UnivNetGenerator.eval returns None
        self.loads[kind] += 1
        self._models[kind] = (key, model)
        return model

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise GenerationCancelled("generation cancelled")


class _Run:
    """One generation: the models, the settings resolved for the device, and progress reporting."""

    def __init__(self, synth: Synthesizer, settings: GenerationSettings, device, on_progress):
        self.synth, self.device, self.on_progress = synth, device, on_progress
        self.settings = replace(settings, batch_size=settings.batch_size or _default_batch_size(device, settings),
                                half=settings.half and device.type == "cuda")
        self.sentence, self.sentences = 0, 1

    def report(self, stage: str, within: float, detail: str) -> None:
        if stage == "latents":
            fraction = _LATENTS_SHARE * within
        else:
            low, high = _STAGE_SPAN[stage]
            done = (self.sentence + low + (high - low) * within) / self.sentences
            fraction = _LATENTS_SHARE + (1 - _LATENTS_SHARE) * done
        if self.sentences > 1 and stage != "latents":
            detail = f"sentence {self.sentence + 1}/{self.sentences}: {detail}"
        self.on_progress(Progress(stage, min(1.0, fraction), detail))
        self.synth.check_cancelled()

    def speak(self, sentences: list[str], clips: VoiceClips, models_dir: Path, ar_weights,
              tokenizer: str | None = None) -> tuple[np.ndarray, dict]:
        import torch
        from .. import models
        from ..text import check_fits, tokenizer_for_model

        ar_path = Path(ar_weights) if ar_weights else models_dir / MODEL_FILES["autoregressive"]
        if ar_weights and not ar_path.is_file():
            raise UserError(f"model: {ar_path}: no such autoregressive weights file")
        self.tokenizer = tokenizer_for_model(self.synth.workspace, ar_path if ar_weights else None, requested=tokenizer)
        self.report("latents", 0.0, "loading models")
        files = {"autoregressive": ar_path, **{k: models_dir / MODEL_FILES[k] for k in ("diffusion", "clvp", "vocoder")}}
        loaders = {"autoregressive": lambda: models.load_autoregressive(models_dir, ar_path),
                   "diffusion": lambda: models.load_diffusion(models_dir),
                   "clvp": lambda: models.load_clvp(models_dir), "vocoder": lambda: models.load_vocoder(models_dir)}
        ar, diffusion, clvp, vocoder = (self.synth._model(kind, files[kind], models_dir, loaders[kind], self.device)
                                        for kind in files)
        model_files = {k: ModelFile(str(p.resolve()), file_sha256(p)) for k, p in files.items()}
        if not hasattr(ar, "inference_model"):
            ar.post_init_gpt2_config(kv_cache=self.settings.kv_cache)
        ar.inference_model.kv_cache = self.settings.kv_cache  # read at every generation step
        check_fits(self.tokenizer, ar.number_text_tokens, str(ar_path))

        self.report("latents", 0.2, f"conditioning latents from {len(clips.files)} clips")
        latents = self.synth.latents.get(clips, ar, diffusion, autoregressive_sha=model_files["autoregressive"].sha256,
                                         diffusion_sha=model_files["diffusion"].sha256, device=self.device)
        tokens = [self._text_tokens(s, ar, i) for i, s in enumerate(sentences)]
        self.sentences = len(sentences)
        pieces = []
        with torch.no_grad():
            for i, text_tokens in enumerate(tokens):
                self.sentence = i
                _seed_everything(self.settings.seed + i)
                pieces.append(self._speak_one(text_tokens, latents, ar, clvp, diffusion, vocoder))
        return np.concatenate(pieces).astype(np.float32), model_files

    def _text_tokens(self, sentence: str, ar, index: int):
        import torch
        import torch.nn.functional as F
        try:
            ids = self.tokenizer.encode_for_training(sentence)  # [UNK] would be spoken as noise
        except UserError as exc:
            raise UserError(f"text: sentence {index + 1}: {exc}") from exc
        limit = min(MAX_TEXT_TOKENS, ar.max_text_tokens)
        if len(ids) + 1 >= limit:
            raise UserError(f"text: sentence {index + 1} is {len(ids)} tokens long; this model takes fewer than "
                            f"{limit - 1}: split it with a full stop")
        # tortoise.api pads one stop token (0) after the text
        return F.pad(torch.IntTensor(ids).unsqueeze(0), (0, 1)).to(self.device)

    def _autocast(self):
        import torch
        return torch.autocast(device_type="cuda", dtype=torch.float16, enabled=self.settings.half)

    def _speak_one(self, text_tokens, latents, ar, clvp, diffusion, vocoder) -> np.ndarray:
        codes = self._sample_codes(text_tokens, latents, ar)
        best = self._rank(text_tokens, codes, ar, clvp)
        self.report("diffusion", 0.0, "diffusion")
        with self._autocast():
            latent = ar(latents.autoregressive, text_tokens, text_tokens.new_tensor([text_tokens.shape[-1]]),
                        best, text_tokens.new_tensor([best.shape[-1] * ar.mel_length_compression]),
                        return_latent=True, clip_inputs=False)
        latent = _trim_after_silence(best[0], latent)
        mel = self._diffuse(latent, latents.diffusion, diffusion)
        self.report("vocoder", 0.0, "vocoder")
        wav = vocoder.inference(mel)
        self.report("vocoder", 1.0, "done")
        return wav.reshape(-1).float().cpu().numpy()

    def _sample_codes(self, text_tokens, latents, ar):
        import torch
        import torch.nn.functional as F
        s = self.settings
        max_tokens = min(s.max_mel_tokens, ar.max_mel_tokens - 1)
        batches, done = [], 0
        while done < s.candidates:
            self.report("autoregressive", done / s.candidates, f"autoregressive sample {done + 1}/{s.candidates}")
            count = min(s.batch_size, s.candidates - done)
            with self._autocast():
                codes = ar.inference_speech(latents.autoregressive, text_tokens, do_sample=True, top_p=s.top_p,
                                            temperature=s.temperature, num_return_sequences=count,
                                            length_penalty=s.length_penalty,
                                            repetition_penalty=s.repetition_penalty, max_generate_length=max_tokens)
            batches.append(F.pad(codes, (0, max_tokens - codes.shape[1]), value=ar.stop_mel_token))
            done += count
        return torch.cat(batches, dim=0)

    def _rank(self, text_tokens, codes, ar, clvp):
        """CLVP's pick among the candidates (tortoise.api's topk with k=1)."""
        import torch
        from tortoise.api import fix_autoregressive_output
        self.report("ranking", 0.0, f"ranking {codes.shape[0]} candidates with CLVP")
        for i in range(codes.shape[0]):
            codes[i] = fix_autoregressive_output(codes[i], ar.stop_mel_token, complain=False)
        # An untrained model can sample the start code (8192), which CLVP has no embedding for; the real model
        # never does. Only the ranking sees the clamp: the chosen codes go on unchanged.
        speech_tokens = codes.clamp(max=clvp.speech_emb.num_embeddings - 1)
        scores = []
        with self._autocast():
            for start in range(0, codes.shape[0], self.settings.batch_size):
                chunk = speech_tokens[start:start + self.settings.batch_size]
                scores.append(clvp(text_tokens.repeat(chunk.shape[0], 1), chunk, return_loss=False).float())
        best = int(torch.cat(scores).argmax())
        self.report("ranking", 1.0, f"candidate {best + 1} of {codes.shape[0]} chosen")
        return codes[best:best + 1]

    def _diffuse(self, latent, diffusion_latent, diffusion):
        from tortoise.api import do_spectrogram_diffusion, load_discrete_vocoder_diffuser
        s = self.settings
        diffuser = load_discrete_vocoder_diffuser(desired_diffusion_steps=s.diffusion_iterations,
                                                  cond_free=s.cond_free, cond_free_k=s.cond_free_k)
        calls_per_step = 2 if s.cond_free else 1
        total_calls = s.diffusion_iterations * calls_per_step

        def on_call(calls: int) -> None:
            if calls % calls_per_step == 0:
                step = calls // calls_per_step
                self.report("diffusion", step / s.diffusion_iterations, f"diffusion step {step}/{s.diffusion_iterations}")

        stepped = _SteppedModel(diffusion, on_call) if total_calls else diffusion
        return do_spectrogram_diffusion(stepped, diffuser, latent, diffusion_latent,
                                        temperature=s.diffusion_temperature, verbose=False)


class _SteppedModel:
    """The diffusion model as the sampler calls it, counting each call so progress and Cancel reach every step."""

    def __init__(self, model, on_call: Callable[[int], None]):
        self._model, self._on_call, self._calls = model, on_call, 0

    def __call__(self, *args, **kwargs):
        output = self._model(*args, **kwargs)
        self._calls += 1
        self._on_call(self._calls)
        return output

    def __getattr__(self, name):
        return getattr(self._model, name)


def _trim_after_silence(codes, latent):
    """Cut the latent where the codes have been silent for more than CALM_RUN steps (as tortoise.api does)."""
    run = 0
    for k in range(codes.shape[-1]):
        run = run + 1 if int(codes[k]) == CALM_TOKEN else 0
        if run > CALM_RUN:
            return latent[:, :k]
    return latent


def _default_batch_size(device, settings: GenerationSettings) -> int:
    if device.type == "cuda":
        from tortoise.api import pick_best_batch_size_for_gpu
        return min(settings.candidates, pick_best_batch_size_for_gpu())
    # on a CPU a step's cost is mostly per call: 16 candidates in one call take about half the time of two 8s
    return min(settings.candidates, 16)


def _seed_everything(seed: int) -> None:
    import torch
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def autoregressive_choices(workspace: Workspace) -> list[tuple[str, str]]:
    """(label, path) of every autoregressive model: the base ("" = the models folder's), fine-tunes, and the
    complete checkpoints of every run, latest first."""
    from ..runs.checkpoints import list_model_files
    return [("base (models folder)", "")] + [(label, str(path)) for label, path in list_model_files(workspace)]
