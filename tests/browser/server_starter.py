"""Starts the browser tests' UI servers quickly: one process per test worker imports, once, what every UI server
imports (Gradio, torch, TorToiSe's model classes, the studio's UI), then forks a server for each request, which
runs exactly what `python app.py ARGS` runs: `tortoise_studio.cli.main(["ui", *ARGS])`.

A fresh `python app.py` spends about 6 CPU-s importing before it serves a page, and about 5 more the first time
the Train tab estimates memory (torch and TorToiSe): on two cores shared by two test workers, their browsers,
servers and trainers, that was a tenth of the suite. conftest.UiServer uses this by default; a test that must
see the real command start (the first-day journey) asks for its own process.

Protocol, one JSON line each way on stdin/stdout: {"args", "env", "cwd", "log", "exit"} -> {"pid"}. The child
gets its own session (a process group, as `start_new_session` gives), the log file as stdout and stderr, and
nothing to read; when it ends, its exit code is written to the "exit" file (this process is its parent and
reaps it). The starter ends when its stdin closes.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import sys
import traceback
from pathlib import Path

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def preload() -> None:
    import gradio  # noqa: F401
    import torch  # noqa: F401
    import tortoise.models.autoregressive  # noqa: F401 - the Configure section's memory estimate builds it
    import tortoise_studio.cli  # noqa: F401
    from tortoise_studio.ui.app import TABS
    for _, module in TABS:
        importlib.import_module(module)


def main() -> None:
    preload()
    exit_files: dict[int, str] = {}

    def reap(signum, frame):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            path = exit_files.pop(pid, None)
            if path:
                Path(path + ".tmp").write_text(str(os.waitstatus_to_exitcode(status)))
                os.replace(path + ".tmp", path)  # read whole or not at all

    signal.signal(signal.SIGCHLD, reap)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    while line := sys.stdin.readline():
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        # a child that ends at once must not be reaped before its exit file is known
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        pid = os.fork()
        if pid == 0:
            serve(request)  # never returns
        exit_files[pid] = request["exit"]
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        print(json.dumps({"pid": pid}), flush=True)


def serve(request: dict) -> None:
    """In the child: become what `python app.py ARGS` would be, run it, and exit with its code."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [APP, *request["args"]]
        from tortoise_studio.cli import main as cli_main
        code = cli_main(["ui", *request["args"]])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)


if __name__ == "__main__":
    main()
