"""How cleanly Prepare cuts a long recording into clips, on real speech and on espeak-ng sentences of known text.

    .venv/bin/python bench/cuts.py [--label NAME] [--model DIR]

Two recordings, each prepared through the real `prepare_dataset` with Whisper base (faster-whisper, CPU):
- real: the shortest clip of each of the first 17 voices shipped with tortoise-tts, joined with 0.4 s of
  silence between them (and before the first and after the last, as a recording has);
- espeak: espeak-ng sentences of known text (short, medium and too long for one clip), joined the same way.
Figures: the share of clips with an edge inside speech (the first or last 30 ms has more energy than a quarter
of the clip's median 10 ms frame energy), the share of clip texts that end a sentence, median and shortest clip,
for espeak the share of clips whose audio ends in a pause between sentences and each clip text's word error rate
against the words its audio holds, and Prepare's speed (model loading excluded): wall-clock real-time factor, and
CPU seconds per second of audio, which other jobs on a shared machine do not inflate.

`--label main` writes bench/results/cuts-main.json (run it with main's code on PYTHONPATH, for example from
`git archive main src | tar -x -C /tmp/main`); the default label writes bench/results/cuts.json and includes
cuts-main.json's figures as the baseline when that file exists. The measurement is written here, apart from
the slicer, so the same rule measures both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_result  # noqa: E402
from tortoise_studio.evaluate.cer import edit_distance  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RATE = 22050
PAUSE_SECONDS = 0.4
VOICES = 17
EDGE_SECONDS, FRAME_SECONDS, SPEECH_RATIO = 0.03, 0.01, 0.25

SENTENCES = [  # short, medium, and one too long for a single clip
    "The old lighthouse keeper climbed the stairs every evening.",
    "Yes.",
    "He lit the lamp and watched the ships pass by in the dark.",
    "Nobody in the village remembered a night without its light.",
    "Really?",
    "One winter the storm was so strong that the windows shook, the sea rose over the rocks, the boats in the "
    "harbour broke loose from their ropes, and the keeper stayed awake until morning, holding the lamp steady "
    "with both hands while the wind screamed around the tower.",
    "In the morning the sky was clear again.",
    "The fishermen came up the hill to thank him.",
    "They brought bread, cheese and a bottle of wine.",
    "He smiled and said it was only his job.",
    "Of course it was more than that.",
    "The children of the village wanted to see the lamp.",
    "He showed them how the great lens turned slowly on its base.",
    "Thank you.",
    "Years later, the keeper grew too old to climb the stairs.",
    "The village chose a young woman who had listened to all of his stories.",
    "She kept the light burning for another forty years.",
    "The lighthouse still stands on the hill today.",
    "Visitors walk up the path on summer afternoons.",
    "Some of them leave flowers at the door.",
    "Nobody lives there now.",
    "But on stormy nights, people say, the lamp still seems to glow.",
    "The harbour is quiet in the winter months.",
    "Only a few boats go out when the weather is calm.",
    "Good morning.",
    "The baker opens his shop before the sun comes up.",
    "His bread is the best on the whole coast.",
    "People drive from the city just to buy it.",
    "Is that true?",
    "Ask anyone in the village and they will tell you the same.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="", help="'main' for the baseline run; empty for this branch")
    parser.add_argument("--model", default=str(REPO / ".cache" / "whisper-base"), help="CTranslate2 Whisper base")
    args = parser.parse_args()

    from tortoise_studio.dataset.transcribe import load_transcriber
    from tortoise_studio.workspace import Workspace

    transcriber = load_transcriber("faster-whisper", args.model, device="cpu")
    figures: dict = {"slicer": args.label or "this branch"}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.at(tmp).ensure()
        real = join_real_speech(workspace.voice_dir("real") / "joined.wav")
        espeak, sentence_spans = join_espeak(workspace.voice_dir("espeak") / "joined.wav", Path(tmp))
        for name, source in (("real", real), ("espeak", espeak)):
            clips, speed = prepare(workspace, name, transcriber)
            figures[name] = {**measure(clips, source, sentence_spans if name == "espeak" else None), **speed}
    figures["targets"] = {"edge_in_speech_share": "<= 0.05", "sentence_end_share (real)": ">= 0.80",
                          "clips_under_1s": 0, "espeak clips ending at a sentence end": ">= 0.90",
                          "espeak per-clip WER": "not worse than main", "prepare_real_time_factor": "<= 0.25 (idle machine)"}
    baseline = RESULTS / "cuts-main.json"
    if not args.label and baseline.is_file():
        main_figures = json.loads(baseline.read_text())
        figures["baseline_main"] = {k: main_figures[k] for k in ("real", "espeak") if k in main_figures}
    write_result(f"cuts-{args.label}" if args.label else "cuts", figures)
    return 0


def join_real_speech(path: Path) -> np.ndarray:
    import tortoise

    from tortoise_studio.dataset.audio import load_audio

    folders = sorted(p for p in (Path(tortoise.__file__).parent / "voices").iterdir() if p.is_dir())
    voices = [v for v in folders if any(v.glob("*.wav"))][:VOICES]
    shortest = [min(v.glob("*.wav"), key=lambda c: soundfile.info(str(c)).duration) for v in voices]
    return write_joined(path, [load_audio(c, RATE) for c in shortest])[0]


def join_espeak(path: Path, tmp: Path) -> tuple[np.ndarray, list[dict]]:
    """The sentences spoken and joined; for each, where it is spoken and where each of its comma phrases is."""
    from tortoise_studio.dataset.audio import load_audio

    pieces = []
    for i, sentence in enumerate(SENTENCES):
        wav = tmp / f"sentence{i}.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), sentence], check=True, capture_output=True)
        pieces.append(load_audio(wav, RATE))
    joined, offsets = write_joined(path, pieces)
    return joined, [spoken_parts(piece, at, sentence) for piece, at, sentence in zip(pieces, offsets, SENTENCES)]


def spoken_parts(piece: np.ndarray, offset: int, sentence: str) -> dict:
    """espeak-ng pauses at every comma: those silences place each phrase exactly (the words inside a phrase are
    then placed by their letters)."""
    frame = int(FRAME_SECONDS * RATE)
    loud = np.abs(piece[: len(piece) // frame * frame]).reshape(-1, frame).max(axis=1) > 0.01
    spoken = np.flatnonzero(loud)
    first, last = int(spoken[0]), int(spoken[-1]) + 1
    edges = np.diff(np.concatenate([[0], (~loud[first:last]).astype(np.int8), [0]]))
    pauses = [(first + a, first + b) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
              if b - a >= 8]
    phrases = sentence.split(",")
    if len(pauses) != len(phrases) - 1:
        bounds, phrases = [(first, last)], [sentence]
    else:
        cuts = [first] + [x for pause in pauses for x in pause] + [last]
        bounds = list(zip(cuts[::2], cuts[1::2]))
    seconds = lambda f: (offset + f * frame) / RATE  # noqa: E731
    return {"start": seconds(first), "end": seconds(last), "text": sentence,
            "phrases": [(seconds(a), seconds(b), text) for (a, b), text in zip(bounds, phrases)]}


def write_joined(path: Path, pieces: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    pause = np.zeros(int(PAUSE_SECONDS * RATE), dtype=np.float32)
    parts, offsets, at = [pause], [], len(pause)
    for piece in pieces:
        offsets.append(at)
        parts += [piece, pause]
        at += len(piece) + len(pause)
    joined = np.concatenate(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), joined, RATE, subtype="PCM_16")
    return soundfile.read(str(path), dtype="float32")[0], offsets


def prepare(workspace, voice: str, transcriber) -> tuple[list[dict], dict]:
    """Prepare the voice; returns its clips (wav samples, text) in order and Prepare's speed."""
    from tortoise_studio.dataset import PrepareOptions, prepare_dataset, read_list

    source = workspace.voice_dir(voice) / "joined.wav"
    started, cpu_started = time.perf_counter(), time.process_time()
    prepare_dataset(workspace, voice, PrepareOptions(language="en"), transcriber=transcriber)
    audio_seconds = soundfile.info(str(source)).duration
    rtf = (time.perf_counter() - started) / audio_seconds
    cpu_rtf = (time.process_time() - cpu_started) / audio_seconds  # all threads: unaffected by other jobs' load
    dataset = workspace.dataset_dir(voice)
    entries = read_list(dataset / "train.txt")[0] + read_list(dataset / "validation.txt")[0]
    entries.sort(key=lambda e: e.audio)  # <stem>_<nnnn>.wav: the order they were cut in
    clips = [{"samples": soundfile.read(str(dataset / e.audio), dtype="float32")[0], "text": e.text} for e in entries]
    return clips, {"prepare_real_time_factor": round(rtf, 4), "prepare_cpu_seconds_per_audio_second": round(cpu_rtf, 4),
                   "load_average_1min": round(os.getloadavg()[0], 2)}


def measure(clips: list[dict], source: np.ndarray, sentences: list[dict] | None) -> dict:
    at = 0
    for clip in clips:
        start = locate(clip["samples"], source, at)
        clip["start"], clip["end"] = start / RATE, (start + len(clip["samples"])) / RATE
        at = start + 1  # neighbours may share a sample where rounding met
    seconds = [len(c["samples"]) / RATE for c in clips]
    in_speech = [c for c in clips if any(edges_in_speech(c["samples"]))]
    text_ends = [c for c in clips if re.search(r"[.!?][\"')\]]*$", c["text"].strip())]
    figures = {"clips": len(clips), "clip_seconds_total": round(sum(seconds), 2),
               "edge_in_speech": len(in_speech), "edge_in_speech_share": round(len(in_speech) / len(clips), 3),
               "sentence_end_share": round(len(text_ends) / len(clips), 3),
               "median_clip_seconds": round(statistics.median(seconds), 2),
               "shortest_clip_seconds": round(min(seconds), 2),
               "clips_under_1s": sum(s < 1.0 for s in seconds),
               "edges_in_speech_at": [f"{c['start']:.2f}-{c['end']:.2f} s: {c['text'][:60]}" for c in in_speech]}
    if sentences:
        figures.update(against_sentences(clips, sentences))
    return figures


def against_sentences(clips: list[dict], sentences: list[dict]) -> dict:
    """Clip ends in the pause after a sentence, and each clip text's word errors against the words it holds
    (a clip holding part of a sentence is held to that part: see spoken_parts)."""
    next_starts = [s["start"] for s in sentences[1:]] + [float("inf")]
    ends = [c for c in clips if any(s["end"] - 0.03 <= c["end"] <= after + 0.03
                                    for s, after in zip(sentences, next_starts))]
    timed_words = [word for s in sentences for phrase in s["phrases"] for word in spread_words(*phrase)]
    errors = words = 0
    per_clip = []
    for clip in clips:
        reference = [word for at, word in timed_words if clip["start"] <= at < clip["end"]]
        wrong = edit_distance(reference, words_of(clip["text"]))
        errors, words = errors + wrong, words + len(reference)
        per_clip.append(round(wrong / max(len(reference), 1), 3))
    return {"sentence_end_by_audio_share": round(len(ends) / len(clips), 3),
            "wer_pooled": round(errors / max(words, 1), 4), "wer_per_clip_mean": round(statistics.mean(per_clip), 4),
            "wer_per_clip_median": round(statistics.median(per_clip), 4), "wer_per_clip": per_clip}


def spread_words(start: float, end: float, text: str) -> list[tuple[float, str]]:
    """(time of its middle, word) for each word, spoken time taken as proportional to letters."""
    words = words_of(text)
    total = sum(len(w) + 1 for w in words)
    timed, done = [], 0
    for word in words:
        timed.append((start + (done + (len(word) + 1) / 2) / total * (end - start), word))
        done += len(word) + 1
    return timed


def locate(clip: np.ndarray, source: np.ndarray, not_before: int) -> int:
    """Where the clip's samples lie in the source (PCM16 round trips may differ by one step)."""
    step = 1.5 / 32768
    peak = int(np.argmax(np.abs(clip)))
    candidates = np.flatnonzero(np.abs(source[not_before + peak:] - clip[peak]) <= step) + not_before
    for start in candidates:
        window = source[start:start + len(clip)]
        if len(window) == len(clip) and np.max(np.abs(window - clip)) <= step:
            return int(start)
    raise RuntimeError("a clip's samples were not found in its source")


def edges_in_speech(clip: np.ndarray) -> tuple[bool, bool]:
    """The issue's rule: an edge is in speech when its first/last 30 ms carry more energy than a quarter of the
    clip's median 10 ms frame energy."""
    frame, edge = int(FRAME_SECONDS * RATE), int(EDGE_SECONDS * RATE)
    frames = clip[: len(clip) // frame * frame].reshape(-1, frame)
    limit = SPEECH_RATIO * float(np.median(np.mean(frames * frames, axis=1)))
    return float(np.mean(clip[:edge] ** 2)) > limit, float(np.mean(clip[-edge:] ** 2)) > limit


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", text.lower()).split()


if __name__ == "__main__":
    sys.exit(main())
