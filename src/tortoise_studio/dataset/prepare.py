"""prepare: voices/<voice>/ -> whisper.json -> clips in audio/ -> train.txt, validation.txt, dataset.json.

Nothing the user made is lost: voices/ is only read; clips are written to a staging folder, and only
when at least one clip came out is the previous train.txt / validation.txt / audio/ / dataset.json
moved into a timestamped backup folder and the new dataset moved into place. A file that cannot be
used is skipped with its reason; it never stops the rest of the voice. The user's corrections (edited
texts, dropped clips, split choices) are applied again to every clip that still exists (corrections.py).
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .audio import (AUDIO_SUFFIXES, MAX_CLIP_SAMPLES, MIN_CLIP_SECONDS, SAMPLE_RATE, WHISPER_SAMPLE_RATE,
                     load_audio_with_rate, peak_dbfs, resample, speech_regions, trim_silence, write_wav)
from ..errors import UserError
from .transcribe import DEFAULT_BACKEND, Transcriber, Transcript, load_transcriber, model_id
from ..workspace import Workspace
from .cache import TranscriptCache
from .corrections import apply_corrections, previous_assignments, record_corrections
from ..fileio import atomic_write_json as write_json
from ..fileio import backup_move as move_to_backup
from .lists import TRAIN_FILE, VALIDATION_FILE, ListEntry, validate_fraction, write_list
from .slicing import plan_clips

REPORT_FILE = "dataset.json"
AUDIO_DIR = "audio"
STAGING_DIR = ".audio-staging"
SILENCE_PEAK_DB = -50.0
REPLACED_ON_PREPARE = (TRAIN_FILE, VALIDATION_FILE, AUDIO_DIR, REPORT_FILE)


@dataclass(frozen=True)
class PrepareOptions:
    dataset: str | None = None  # default: the voice's name
    backend: str = DEFAULT_BACKEND
    model: str = "base"
    language: str | None = None  # None: Whisper detects it
    validation_fraction: float = 0.05
    seed: int = 0
    trim_silence: bool = False
    redo: bool = False
    device: str = "auto"

    def validated(self) -> "PrepareOptions":
        validate_fraction(self.validation_fraction)
        language = (self.language or "").strip().lower()
        if language in ("", "auto"):
            language = None
        elif not re.fullmatch(r"[a-z]{2,3}|yue|haw", language):
            raise UserError(f"language: {self.language!r} is not a language code such as en, de, ja (or auto)")
        return PrepareOptions(**{**asdict(self), "language": language})


@dataclass(frozen=True)
class PrepareProgress:
    done: int  # files finished
    total: int
    file: str  # the file being worked on ("" when finished)
    elapsed: float

    @property
    def eta_seconds(self) -> float | None:
        if self.done == 0:
            return None
        return self.elapsed / self.done * (self.total - self.done)

    def describe(self) -> str:
        eta = self.eta_seconds
        eta_text = "" if eta is None else f", about {eta:.0f} s left"
        return f"file {min(self.done + 1, self.total)} of {self.total}: {self.file}{eta_text}" if self.file \
            else f"{self.total} of {self.total} files done"


ProgressCallback = Callable[[PrepareProgress], None]


@dataclass
class PrepareReport:
    """What dataset.json holds."""

    voice: str
    dataset: str
    dataset_dir: str
    options: dict
    source_files: int = 0
    files_used: int = 0
    clips: int = 0
    train_clips: int = 0
    validation_clips: int = 0
    total_seconds: float = 0.0
    clip_seconds: dict[str, float] = field(default_factory=dict)
    # clip -> {source, start, end, text (as transcribed), split (as assigned)}: what corrections are keyed on
    clip_spans: dict[str, dict] = field(default_factory=dict)
    corrections: dict = field(default_factory=dict)  # kept and could-not-place counts (corrections.py)
    flagged: dict[str, str] = field(default_factory=dict)  # clip -> why to listen to it first (edge in speech)
    skipped: list[dict] = field(default_factory=list)
    backup: str | None = None
    transcribed: int = 0  # files Whisper ran on this time (the rest came from whisper.json)
    language: str | None = None  # the language given, else the one Whisper detected in most files
    languages: dict[str, int] = field(default_factory=dict)  # files per language Whisper gave or detected
    created: str = ""

    @property
    def total_minutes(self) -> float:
        return self.total_seconds / 60.0

    def to_json(self) -> dict:
        return asdict(self)


def prepare_dataset(workspace: Workspace, voice: str, options: PrepareOptions = PrepareOptions(), *,
                    transcriber: Transcriber | None = None,
                    progress: ProgressCallback | None = None) -> PrepareReport:
    """Prepare voices/<voice>/ into training/<dataset>/; returns the report also written to dataset.json."""
    options = options.validated()
    voice_dir = workspace.voice_dir(voice)
    if not voice_dir.is_dir():
        raise UserError(f"voice {voice!r}: no folder {voice_dir}")
    dataset = options.dataset or voice
    dataset_dir = workspace.dataset_dir(dataset)
    sources, skipped = _source_files(voice_dir)
    if not sources:
        raise UserError(f"voice {voice!r}: no audio files in {voice_dir}")
    dataset_dir.mkdir(parents=True, exist_ok=True)
    report = PrepareReport(voice, dataset, str(dataset_dir), asdict(options), source_files=len(sources), skipped=skipped)
    cache = TranscriptCache.load(dataset_dir)
    loader = _LazyTranscriber(transcriber, options)
    corrections = record_corrections(dataset_dir)  # the user's edits so far, saved before anything moves
    previous = previous_assignments(dataset_dir)

    staging = dataset_dir / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)  # a staging folder is only ever our own leftover
    staging.mkdir()
    try:
        return _prepare_into(staging, sources, voice, voice_dir, dataset_dir, options, cache, loader, report,
                             corrections, previous, progress)
    finally:
        # After success staging has become audio/; after any failure or interruption (Ctrl+C, a cancelled
        # page) it is a half-made leftover of our own.
        shutil.rmtree(staging, ignore_errors=True)


def _prepare_into(staging, sources, voice, voice_dir, dataset_dir, options, cache, loader, report, corrections,
                  previous, progress) -> PrepareReport:
    entries: list[ListEntry] = []
    stems: set[str] = set()
    started = time.monotonic()
    for index, source in enumerate(sources):
        key = source.relative_to(voice_dir).as_posix()
        if progress:
            progress(PrepareProgress(index, len(sources), key, time.monotonic() - started))
        try:
            made = _prepare_file(source, key, options, cache, loader, staging, stems, report)
        except ModelLoadError:
            raise  # no file can be transcribed: the whole prepare stops
        except UserError as exc:
            report.skipped.append({"file": key, "reason": _reason(exc, source)})
            continue
        entries.extend(made)
        report.files_used += bool(made)
    if progress:
        progress(PrepareProgress(len(sources), len(sources), "", time.monotonic() - started))

    if not entries:
        reasons = "; ".join(f"{s['file']}: {s['reason']}" for s in report.skipped[:5])
        raise UserError(f"voice {voice!r}: no usable clips, the previous dataset is unchanged ({reasons})")
    applied = apply_corrections(entries, report.clip_spans, corrections, previous, options.validation_fraction,
                                options.seed)
    train, validation = applied.train, applied.validation
    if not train:
        raise UserError(f"voice {voice!r}: your corrections drop every clip, the previous dataset is unchanged "
                        f"(see {dataset_dir / 'corrections.json'})")
    for clip, split in applied.assigned.items():
        report.clip_spans[clip]["split"] = split
    report.corrections = applied.summary()
    backup = move_to_backup(dataset_dir, REPLACED_ON_PREPARE)
    staging.rename(dataset_dir / AUDIO_DIR)
    write_list(dataset_dir / TRAIN_FILE, train)
    write_list(dataset_dir / VALIDATION_FILE, validation)
    report.backup = str(backup.relative_to(dataset_dir)) if backup else None
    report.clips, report.train_clips, report.validation_clips = len(train) + len(validation), len(train), len(validation)
    report.total_seconds = round(sum(report.clip_seconds[e.audio] for e in train + validation), 3)
    report.language = options.language or max(report.languages, key=report.languages.get, default=None)
    report.created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(dataset_dir / REPORT_FILE, report.to_json())
    return report


def prepare_all_voices(workspace: Workspace, options: PrepareOptions = PrepareOptions(), *,
                       transcriber: Transcriber | None = None,
                       progress: ProgressCallback | None = None) -> dict[str, PrepareReport | str]:
    """Prepare every voice into a dataset of its own name; a voice that fails gives its error text."""
    if options.dataset:
        raise UserError("dataset: 'prepare all voices' names each dataset after its voice; leave dataset empty")
    voices = workspace.list_voices()
    if not voices:
        raise UserError(f"{workspace.voices}: no voice folders")
    loader = _LazyTranscriber(transcriber, options.validated())
    results: dict[str, PrepareReport | str] = {}
    for voice in voices:
        try:
            results[voice] = prepare_dataset(workspace, voice, options, transcriber=loader, progress=progress)
        except UserError as exc:
            results[voice] = str(exc)
    return results


def _source_files(voice_dir: Path) -> tuple[list[Path], list[dict]]:
    files = sorted(p for p in voice_dir.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(voice_dir).parts))
    sources = [p for p in files if p.suffix.lower() in AUDIO_SUFFIXES]
    skipped = [{"file": p.relative_to(voice_dir).as_posix(), "reason": f"not an audio file type ({p.suffix or 'no suffix'})"}
               for p in files if p.suffix.lower() not in AUDIO_SUFFIXES]
    return sources, skipped


class ModelLoadError(UserError):
    """The Whisper model could not be loaded: no file can be transcribed, so the whole prepare stops."""


class _LazyTranscriber:
    """Loads the Whisper model only when a file actually needs transcribing (all cached: no load at all)."""

    def __init__(self, transcriber: Transcriber | None, options: PrepareOptions):
        self._transcriber = transcriber
        self._options = options
        self.model_id = transcriber.model_id if transcriber else model_id(options.backend, options.model)

    def transcribe(self, audio: np.ndarray, *, language: str | None = None) -> Transcript:
        if self._transcriber is None:
            try:
                self._transcriber = load_transcriber(self._options.backend, self._options.model,
                                                     device=self._options.device)
            except UserError as exc:
                raise ModelLoadError(str(exc)) from exc
        return self._transcriber.transcribe(audio, language=language)


def _prepare_file(source: Path, key: str, options: PrepareOptions, cache: TranscriptCache,
                  transcriber: _LazyTranscriber, staging: Path, stems: set[str], report: PrepareReport) -> list[ListEntry]:
    samples, rate = load_audio_with_rate(source)
    duration = len(samples) / rate
    peak = peak_dbfs(samples)
    if peak < SILENCE_PEAK_DB:
        raise UserError(f"{source}: silent (peak {peak:.0f} dBFS)")
    if duration < MIN_CLIP_SECONDS:
        raise UserError(f"{source}: too short ({duration:.2f} s < {MIN_CLIP_SECONDS} s)")
    transcript = None if options.redo else cache.get(key, source, transcriber.model_id, options.language)
    if transcript is None:
        transcript = _transcribe(samples, rate, transcriber, options.language, source)
        cache.put(key, source, transcript, options.language, duration)
        cache.save()  # after every file, so an interrupted run keeps what Whisper already did
        report.transcribed += 1
    if not transcript.text.strip():
        raise UserError(f"{source}: empty transcript (no speech recognised)")
    if transcript.language:
        report.languages[transcript.language] = report.languages.get(transcript.language, 0) + 1
    clip_audio = resample(samples, rate, SAMPLE_RATE)
    del samples
    spans, dropped = plan_clips(transcript.segments, clip_audio, SAMPLE_RATE)
    for span in dropped:
        report.skipped.append({"file": key, "clip": f"{span.start:.2f}-{span.end:.2f} s", "reason": span.reason})
    stem = _unique_stem(source, stems)
    entries = []
    for span in spans:
        clip = clip_audio[int(span.start * SAMPLE_RATE):int(round(span.end * SAMPLE_RATE))][:MAX_CLIP_SAMPLES]
        if options.trim_silence:
            clip = trim_silence(clip, SAMPLE_RATE)
        seconds = len(clip) / SAMPLE_RATE
        where = f"{span.start:.2f}-{span.end:.2f} s"
        if seconds < MIN_CLIP_SECONDS:
            report.skipped.append({"file": key, "clip": where, "reason": f"too short after trimming ({seconds:.2f} s)"})
            continue
        if peak_dbfs(clip) < SILENCE_PEAK_DB:
            report.skipped.append({"file": key, "clip": where, "reason": "silent"})
            continue
        name = f"{stem}_{len(entries):04d}.wav"
        write_wav(staging / name, clip, SAMPLE_RATE)
        entries.append(ListEntry(f"{AUDIO_DIR}/{name}", span.text))
        report.clip_seconds[f"{AUDIO_DIR}/{name}"] = round(seconds, 3)
        report.clip_spans[f"{AUDIO_DIR}/{name}"] = {"source": key, "start": round(span.start, 3),
                                                   "end": round(span.end, 3), "text": span.text}
        if span.flags:
            report.flagged[f"{AUDIO_DIR}/{name}"] = "; ".join(span.flags)
    if not entries and not dropped:
        raise UserError(f"{source}: no clip could be cut from it")
    return entries


def _transcribe(samples: np.ndarray, rate: int, transcriber: _LazyTranscriber, language: str | None,
                source: Path) -> Transcript:
    audio = resample(samples, rate, WHISPER_SAMPLE_RATE)
    segments = []
    detected = None
    # Only the parts with sound go to Whisper: long silences cost nothing (see speech_regions).
    for start, end in speech_regions(audio, WHISPER_SAMPLE_RATE):
        try:
            part = transcriber.transcribe(audio[start:end], language=language)
        except UserError:
            raise  # the model itself could not be loaded: that is not this file's fault
        except Exception as exc:  # noqa: BLE001 - any decoder failure skips this file, not the voice
            raise UserError(f"{source}: transcription failed ({type(exc).__name__}: {exc})") from exc
        offset = start / WHISPER_SAMPLE_RATE
        segments.extend(s.shifted(offset) for s in part.segments)
        detected = detected or part.language
    return Transcript(tuple(segments), language or detected, transcriber.model_id)


def _reason(exc: UserError, source: Path) -> str:
    """The error text without its leading "<path>: " (the report already names the file)."""
    text = str(exc)
    return text[len(f"{source}: "):] if text.startswith(f"{source}: ") else text.replace(str(source), source.name)


def _unique_stem(source: Path, used: set[str]) -> str:
    # Clip names go into `audio/<name>.wav|text` lines: keep them to safe characters and unique
    # (voice/a.wav and voice/a.mp3 both have the stem "a").
    base = re.sub(r"[^\w.-]+", "_", source.stem).strip("._") or "clip"
    stem, n = base, 1
    while stem in used:
        n += 1
        stem = f"{base}-{n}"
    used.add(stem)
    return stem
