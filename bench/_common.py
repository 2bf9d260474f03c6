"""What every benchmark shares: where results go and how they are written."""

from __future__ import annotations

import json
import platform
import os
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, figures: dict, folder: Path | None = None) -> Path:
    """Print the figures and write them, with the machine they were measured on, to bench/results/<name>.json
    (or to `folder`, for a test that must not replace the recorded figures)."""
    folder = Path(folder) if folder is not None else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, **figures}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"written to {path}")
    return path
