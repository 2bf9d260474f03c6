"""Fetches TorToiSe's published weights from the Hugging Face Hub into a models folder."""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from .files import MODEL_FILES


@dataclass(frozen=True)
class Source:
    repo_id: str
    filename: str
    revision: str = "main"

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision}/{self.filename}"


# tortoise/api.py fetches the first four from Manmay/tortoise-tts. The DVAE was removed from jbetker's
# repository later; this commit still holds it (the copy ai-voice-cloning and DLAS fine-tuning use).
SOURCES = {
    "autoregressive": Source("Manmay/tortoise-tts", "autoregressive.pth"),
    "diffusion": Source("Manmay/tortoise-tts", "diffusion_decoder.pth"),
    "clvp": Source("Manmay/tortoise-tts", "clvp2.pth"),
    "vocoder": Source("Manmay/tortoise-tts", "vocoder.pth"),
    "dvae": Source("jbetker/tortoise-tts-v2", ".models/dvae.pth", "3704aea61678e7e468a06d8eea121dba368a798e"),
}


@dataclass(frozen=True)
class Fetched:
    file: str
    status: str  # "fetched" | "kept" (already there) | "failed"
    detail: str = ""


def download_models(folder: str | Path, *, log=print) -> list[Fetched]:
    """Fetch every file not already in `folder`. A file already there is kept as it is, never overwritten.

    Offline (no route to the hub, or HF_HUB_OFFLINE set) nothing is tried and every file is reported failed.
    """
    from huggingface_hub import hf_hub_download

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / ".download"  # same filesystem, so finished files move into place without a copy
    wanted = [kind for kind, name in MODEL_FILES.items() if not (folder / name).exists()]
    offline = hub_unreachable() if wanted else ""
    results: list[Fetched] = []
    for kind, name in MODEL_FILES.items():
        source = SOURCES[kind]
        if kind not in wanted:
            results.append(Fetched(name, "kept", "already there (delete it to fetch it again)"))
        elif offline:
            results.append(Fetched(name, "failed", offline))
        else:
            log(f"fetching {name} from {source.url}", flush=True)
            try:
                path = hf_hub_download(source.repo_id, source.filename, revision=source.revision,
                                       local_dir=staging)
                os.replace(path, folder / name)
                results.append(Fetched(name, "fetched"))
            except Exception as exc:  # the hub client raises many types; each is reported with its file
                results.append(Fetched(name, "failed", _short(exc)))
    shutil.rmtree(staging, ignore_errors=True)  # only our own partial downloads and the hub's metadata
    return results


def hub_unreachable(timeout: float = 5.0) -> str:
    """'' when the hub's host accepts a connection, else why not.

    Checked once up front because the hub client retries each file for about 25 s before giving up.
    """
    from urllib.parse import urlparse

    from huggingface_hub import constants
    if constants.HF_HUB_OFFLINE:
        return "offline: HF_HUB_OFFLINE is set"
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        return f"offline: cannot reach {url.hostname}:{port} ({exc})"
    return ""


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def manual_instructions(folder: str | Path, names: list[str]) -> str:
    by_name = {MODEL_FILES[k]: s for k, s in SOURCES.items()}
    lines = [f"Could not fetch {', '.join(names)}. On a machine with internet access download them and "
             f"put them in {Path(folder).resolve()} under these names:"]
    lines += [f"  {name}  <-  {by_name[name].url}" for name in names]
    return "\n".join(lines)
