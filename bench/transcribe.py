"""Real-time factor of faster-whisper base (int8, CPU) over every voice clip shipped with tortoise-tts.

Usage: python bench/transcribe.py [MODEL_DIR]   (default: .cache/whisper-base, made by the test fixture)
Prints the figures and writes bench/results/transcribe.json. Target: real-time factor <= 0.25 on 2 cores.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    import tortoise

    from tortoise_studio.dataset.audio import WHISPER_SAMPLE_RATE, load_audio
    from tortoise_studio.dataset.transcribe import load_transcriber

    model = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / ".cache" / "whisper-base"
    clips = sorted((Path(tortoise.__file__).parent / "voices").glob("*/*.wav"))
    started = time.perf_counter()
    transcriber = load_transcriber("faster-whisper", str(model), device="cpu")
    load_seconds = time.perf_counter() - started
    audio_seconds = compute_seconds = 0.0
    words = 0
    for clip in clips:
        audio = load_audio(clip, WHISPER_SAMPLE_RATE)  # decoding is not Whisper's time
        started = time.perf_counter()
        transcript = transcriber.transcribe(audio, language="en")
        compute_seconds += time.perf_counter() - started
        audio_seconds += len(audio) / WHISPER_SAMPLE_RATE
        words += len(transcript.text.split())
    result = {"backend": "faster-whisper", "model": str(model), "compute_type": "int8", "device": "cpu",
              "clips": len(clips), "audio_seconds": round(audio_seconds, 2),
              "transcribe_seconds": round(compute_seconds, 2), "model_load_seconds": round(load_seconds, 2),
              "real_time_factor": round(compute_seconds / audio_seconds, 4), "words": words, "target_rtf": 0.25}
    for key, value in result.items():
        print(f"{key}: {value}")
    out = REPO / "bench" / "results" / "transcribe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
