"""The offline demo: a tiny random model set and a `demo` voice, so every step can be tried without weights.

Demo models are random. They train and generate through the real code paths, but what they say is noise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .settings import load_settings, save_settings
from .workspace import Workspace

DEMO_VOICE = "demo"
DEMO_MODELS = "models/tiny"
DEMO_NOTICE = ("Demo mode: the models in use are tiny and random. Everything works through the real code paths, "
               "but generated audio is noise, not speech.")
# Real speech shipped inside the tortoise-tts package: one speaker, several sentences.
DEMO_SOURCE_VOICE = "rainbow"


def shipped_voice_clips(voice: str = DEMO_SOURCE_VOICE) -> list[Path]:
    import tortoise
    return sorted((Path(tortoise.__file__).parent / "voices" / voice).glob("*.wav"))


def set_up_demo(workspace: Workspace) -> str:
    """Make models/tiny (if missing), point Settings at it and create voices/demo. Returns a summary line."""
    from .models import make_tiny_models
    models_dir = workspace.root / DEMO_MODELS
    if not (models_dir / "models.yaml").is_file():
        make_tiny_models(models_dir)
    settings = load_settings(workspace)
    settings.models_dir = DEMO_MODELS
    save_settings(workspace, settings)
    voice_dir = workspace.voice_dir(DEMO_VOICE)
    voice_dir.mkdir(parents=True, exist_ok=True)
    copied = 0
    for clip in shipped_voice_clips():
        target = voice_dir / clip.name
        if not target.exists():  # voices/ is never overwritten
            shutil.copyfile(clip, target)
            copied += 1
    return (f"Demo ready: tiny models in {DEMO_MODELS}, voice '{DEMO_VOICE}' with "
            f"{len(list(voice_dir.iterdir()))} clips ({copied} new). {DEMO_NOTICE}")


def is_demo_models(models_dir: Path) -> bool:
    """True when the models folder holds a tiny random set (its models.yaml says so)."""
    manifest = Path(models_dir) / "models.yaml"
    return manifest.is_file() and "tiny" in manifest.read_text()
