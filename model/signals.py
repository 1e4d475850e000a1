"""Signals, from the first instruction of `etown` (light: imports nothing heavy, so that the
console script installs its handlers before numpy, pandas, Mesa or matplotlib load).

SIGINT raises KeyboardInterrupt (Python's default) and SIGTERM raises `Terminated` in the main
thread, wherever the command is (importing, reading, running, writing); the CLI turns either into
one line and exit status 130 / 143. `signals_deferred` holds both back while a command commits
its results, so a commit is never cut in half by them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143}
"""Exit status of a command ended by the signal (128 + its number)."""


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler (a BaseException, like
    KeyboardInterrupt, so that no `except Exception` swallows it)."""


class Interrupted(Exception):
    """A command stopped by SIGINT or SIGTERM after `done` of `total` units (runs, design
    points ...) of work; `kept`: the folder where the finished ones are kept for a rerun to
    resume from (None: the command keeps nothing, a rerun starts over)."""

    def __init__(
        self, signame: str, done: int, total: int, folder: object, kept: object = None, unit: str = "run"
    ) -> None:
        of = f" of {total:,}" if total and total >= done else ""
        super().__init__(f"interrupted ({signame}) after {done:,}{of} {unit}s")
        self.signame, self.done, self.total, self.folder, self.kept, self.unit = (
            signame,
            done,
            total,
            folder,
            kept,
            unit,
        )


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def install_sigterm() -> object:
    """SIGTERM ends the command like Ctrl-C (raises Terminated in the main thread); returns the
    previous handler (None when nothing was installed: not the main thread, or the caller set
    its own handler)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, _terminate):
        return None
    return signal.signal(signal.SIGTERM, _terminate)


def restore_sigterm(previous: object) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def signal_name(exc: BaseException) -> str:
    """SIGINT or SIGTERM: which signal an interruption came from."""
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM held back (delivered at the end) while the block runs, in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
