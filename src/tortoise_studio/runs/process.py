"""Process groups on Linux: who is alive in a group, and how to signal it.

A training run lives in its own session, so its process group id equals the launcher's pid and
every torchrun worker shares it. Liveness is read from /proc (state and start time), because
`os.kill(pid, 0)` also succeeds for a zombie and for an unrelated process that reused the pid.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first); None when the process does not exist."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    return text[text.rfind(")") + 2:].split()


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, a unique identity."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(pid: int, ticks: int | None = None) -> bool:
    """True for a running (not zombie) process; with `ticks`, only if it is the same process."""
    if not _PROC.is_dir():  # not Linux: the best we can do
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return ticks is None or int(fields[19]) == ticks


def group_members(pgid: int, *, since_ticks: int | None = None, parent: int | None = None) -> list[int]:
    """Pids of the live (non-zombie) processes in process group `pgid`; with `since_ticks`, only those
    started at or after it (a recycled group id then never counts as the old run); with `parent`,
    only that process's children."""
    if not _PROC.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if (fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid
                and (since_ticks is None or int(fields[19]) >= since_ticks)
                and (parent is None or int(fields[1]) == parent)):
            members.append(int(entry.name))
    return sorted(members)


def signal_group(pgid: int, sig: int = signal.SIGTERM) -> bool:
    """Send `sig` to every process of the group; False when the group is already gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def signal_pids(pids: list[int], sig: int = signal.SIGTERM) -> int:
    """Send `sig` to each pid that still exists; returns how many got it."""
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except ProcessLookupError:
            pass
    return sent


def exit_status(returncode: int) -> int:
    """A shell-style exit status: 128 + N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode
