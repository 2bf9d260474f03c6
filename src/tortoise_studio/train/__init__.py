"""The trainer, run as its own process: `python -m tortoise_studio.train CONFIG` (also under torchrun).

`run()` is the whole process minus argument parsing, so tests can train in-process.
"""

from __future__ import annotations

import signal
import traceback
from pathlib import Path

from ..errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def run(config_path: str | Path, *, resume: str = "latest", force: bool = False,
        overrides: list[str] | tuple = (), handle_signals: bool = False) -> int:
    """Train from `config_path` (a run's train.yaml); returns the process exit status.

    0: done, or stopped gracefully (SIGTERM/SIGINT) with a checkpoint. 2: invalid input (configuration,
    data, changed settings on resume): an "error" event says which. 1: any other failure, also as an event.
    """
    stop = _StopFlag()
    if handle_signals:  # first thing: a stop during the slow start-up is a graceful stop too
        _install_signal_handlers(stop)
    from .recipe import Trainer, describe_error
    from .reporting import print_error

    config_path = Path(config_path)
    if not config_path.is_file():
        print_error(f"{config_path}: no such configuration file")
        return EXIT_INVALID
    trainer = None
    try:
        trainer = Trainer(config_path, resume=resume, force=force, overrides=overrides)
        stop.attach(trainer)
        trainer.setup()
        trainer.train()
        return EXIT_OK
    except UserError as exc:
        _report_failure(trainer, config_path, str(exc), None)
        return EXIT_INVALID
    except KeyboardInterrupt:  # a second Ctrl-C: no checkpoint, but say so
        _report_failure(trainer, config_path, "interrupted before a checkpoint could be saved; "
                        "the last checkpoint resumes", None)
        return EXIT_INTERRUPTED
    except Exception as exc:
        _report_failure(trainer, config_path, describe_error(exc), traceback.format_exc())
        return EXIT_FAILED
    finally:
        if trainer is not None:
            trainer.cleanup()


def _report_failure(trainer, config_path: Path, message: str, trace: str | None) -> None:
    from .distributed import from_environment
    from .reporting import Report, print_error
    print_error(message)
    if trainer is not None:
        report = trainer.report
    else:  # the trainer could not even be made: still leave the event where the UI looks
        report = Report(config_path.resolve().parent, enabled=from_environment().is_main, tensorboard=False)
    report.event("error", step=getattr(trainer, "step", 0), message=message)
    report.log(f"error: {message}" + (f"\n{trace}" if trace else ""), echo=False)
    if trainer is None:
        report.close()


class _StopFlag:
    """Remembers a stop signal until the trainer exists, then forwards it."""

    def __init__(self):
        self.requested = False
        self.trainer = None

    def attach(self, trainer) -> None:
        self.trainer = trainer
        if self.requested:
            trainer.request_stop()

    def __call__(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C aborts at once
        self.requested = True
        if self.trainer is not None:
            self.trainer.request_stop()  # nothing else here: the handler may interrupt a write in progress


def _install_signal_handlers(handler: _StopFlag) -> None:
    """SIGTERM/SIGINT: finish the current step, checkpoint, exit 0."""
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
