"""The trainer, run as its own process: `python -m tortoise_studio.train CONFIG` (also under torchrun).

`run()` is the whole process minus argument parsing, so tests can train in-process.
"""

from __future__ import annotations

import signal
import traceback
from pathlib import Path

from ..errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def run(config_path: str | Path, *, resume: str = "latest", force: bool = False,
        overrides: list[str] | tuple = (), handle_signals: bool = False) -> int:
    """Train from `config_path` (a run's train.yaml); returns the process exit status.

    0: done, or stopped gracefully (SIGTERM/SIGINT) with a checkpoint. 2: invalid input (configuration,
    data, changed settings on resume): an "error" event says which. 1: any other failure, also as an event.
    """
    from .recipe import Trainer, describe_error
    from .reporting import Report, print_error

    config_path = Path(config_path)
    if not config_path.is_file():
        print_error(f"{config_path}: no such configuration file")
        return EXIT_INVALID
    trainer = None
    try:
        trainer = Trainer(config_path, resume=resume, force=force, overrides=overrides)
        if handle_signals:
            _install_signal_handlers(trainer)
        trainer.setup()
        trainer.train()
        return EXIT_OK
    except UserError as exc:
        _report_failure(trainer, config_path, str(exc), None)
        return EXIT_INVALID
    except Exception as exc:
        _report_failure(trainer, config_path, describe_error(exc), traceback.format_exc())
        return EXIT_FAILED
    finally:
        if trainer is not None:
            trainer.cleanup()


def _report_failure(trainer, config_path: Path, message: str, trace: str | None) -> None:
    from .reporting import Report, print_error
    print_error(message)
    report = trainer.report if trainer is not None else Report(config_path.resolve().parent)
    report.event("error", step=getattr(trainer, "step", 0), message=message)
    report.log(f"error: {message}" + (f"\n{trace}" if trace else ""), echo=False)


def _install_signal_handlers(trainer) -> None:
    """SIGTERM/SIGINT: finish the current step, checkpoint, exit 0. A second SIGINT aborts at once."""
    def graceful(signum, frame):
        if trainer.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        trainer.request_stop()
        trainer.report.log(f"received {signal.Signals(signum).name}: stopping after the current step")

    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGINT, graceful)
