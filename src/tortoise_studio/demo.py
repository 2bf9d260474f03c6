"""The offline demo: a tiny random model set and a `demo` voice, so every step can be tried without weights.

Demo models are random. They train and generate through the real code paths, but what they say is noise.
This module stays light (no torch at import): the UI asks `is_demo_models` on every page load.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import UserError
from .models.files import MODEL_FILES
from .settings import load_settings, save_settings
from .workspace import Workspace

DEMO_VOICE = "demo"
DEMO_MODELS = "models/tiny"
DEMO_WHISPER = "models/whisper-base"  # real Whisper base, joined from the packages ./start.sh --demo installs
DEMO_NOTICE = ("**Demo mode: the models in use are tiny and random, so generated audio is noise, not speech.** "
               "Every step (prepare, train, watch, generate) runs through the real code paths. "
               "For real voices put TorToiSe's weights in a folder and choose it in Settings.")
# Generate's defaults in demo mode: the quickest preset, and sentences cut at 2 s (40 codes, 20 per second): the
# random models never sample the stop code, so every sentence runs to this limit.
DEMO_PRESET = "ultra_fast"
DEMO_MAX_MEL_TOKENS = 40
# Real speech shipped inside the tortoise-tts package: one speaker, five sentences of about 6 s.
DEMO_SOURCE_VOICE = "rainbow"
# The first line `tortoise-studio make-tiny-models` writes into models.yaml (models/tiny.py HEADER).
_TINY_MARK = "# Tiny random TorToiSe model set"


def shipped_voice_clips(voice: str = DEMO_SOURCE_VOICE) -> list[Path]:
    """The wav files of one voice folder shipped inside the tortoise-tts package."""
    import importlib.util
    spec = importlib.util.find_spec("tortoise")  # its folder, without importing tortoise (and torch)
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted((Path(list(spec.submodule_search_locations)[0]) / "voices" / voice).glob("*.wav"))


def is_demo_models(models_dir: str | Path) -> bool:
    """True when the models folder holds a tiny random set (made by make-tiny-models)."""
    manifest = Path(models_dir) / "models.yaml"
    try:
        with manifest.open() as f:
            return f.readline().startswith(_TINY_MARK)
    except OSError:
        return False


def set_up_demo(workspace: Workspace) -> str:
    """Make models/tiny (unless a complete tiny set is there), point Settings at it, and add the shipped
    clips to voices/demo (existing files are kept). Returns a summary line for the page or the terminal."""
    workspace.ensure()
    models_dir = workspace.root / DEMO_MODELS
    if not (is_demo_models(models_dir) and all((models_dir / name).is_file() for name in MODEL_FILES.values())):
        from .models import make_tiny_models  # torch: only when the set has to be made
        make_tiny_models(models_dir)  # refuses to overwrite real weights with a UserError
    settings = load_settings(workspace)
    settings.models_dir = DEMO_MODELS
    whisper_note = _set_up_whisper(workspace, settings)
    save_settings(workspace, settings)
    copied = _copy_demo_voice(workspace.voice_dir(DEMO_VOICE))
    clips = len([p for p in workspace.voice_dir(DEMO_VOICE).iterdir() if p.is_file()])
    return (f"Demo ready: tiny random models in {DEMO_MODELS} (now the models folder in Settings), voice "
            f"'{DEMO_VOICE}' with {clips} recordings ({copied} new). Generated audio will be noise. {whisper_note}")


def _set_up_whisper(workspace: Workspace, settings) -> str:
    """Join the packaged Whisper base into models/whisper-base so Prepare works offline, and choose it in
    Settings when the setting is still the default model name (a model the user chose is kept)."""
    from .settings import Settings
    from .dataset.transcribe.bundled import INSTALL_HINT, assemble_whisper_base, bundled_whisper_installed
    if not bundled_whisper_installed():
        return (f"Whisper: the packaged Whisper base is not installed, so Prepare needs the internet or a local "
                f"model; {INSTALL_HINT}.")
    assemble_whisper_base(workspace.root / DEMO_WHISPER)
    default = Settings()
    if (settings.whisper_backend, settings.whisper_model) == (default.whisper_backend, default.whisper_model):
        settings.whisper_model = DEMO_WHISPER
        return f"Whisper: base, installed in {DEMO_WHISPER} (now the Whisper model in Settings)."
    return (f"Whisper: base is installed in {DEMO_WHISPER}; Settings keep your choice "
            f"({settings.whisper_backend} {settings.whisper_model}).")


def _copy_demo_voice(voice_dir: Path) -> int:
    clips = shipped_voice_clips()
    if not clips:
        raise UserError(f"demo: no clips found in the tortoise-tts package's voices/{DEMO_SOURCE_VOICE}/")
    voice_dir.mkdir(parents=True, exist_ok=True)
    copied = 0
    for clip in clips:
        target = voice_dir / clip.name
        if not target.exists():  # voices/ is never overwritten
            shutil.copyfile(clip, target)
            copied += 1
    return copied
