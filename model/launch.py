"""The `etown` console script. Its first instructions install the signal handlers, before
anything else is imported (model/cli.py pulls in numpy, pandas, pyarrow, matplotlib, Mesa: a
second or more), so a Ctrl-C or SIGTERM at any moment of a command ends it with one line and
status 130 / 143, never a traceback or a silent death. (The Python interpreter's own start, a
few tens of milliseconds before this file runs, is outside any program's reach.)"""

from __future__ import annotations

import signal
import sys


def _early(signum: int, frame: object) -> None:
    """Until the CLI's handling takes over: one line, and the signal's exit status."""
    name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
    sys.stderr.write(f"etown: {'terminated' if name == 'SIGTERM' else 'interrupted'} ({name})\n")
    raise SystemExit(128 + signum)


signal.signal(signal.SIGINT, _early)
signal.signal(signal.SIGTERM, _early)  # last: once SIGTERM is caught, both are (tests rely on it)

from .signals import EXIT_STATUS, Terminated, install_sigterm, signal_name  # noqa: E402


def main() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    install_sigterm()  # SIGTERM raises Terminated from now on
    signal.signal(signal.SIGINT, signal.default_int_handler)  # and SIGINT KeyboardInterrupt
    try:
        from .cli import app

        app()
    except (KeyboardInterrupt, Terminated) as exc:  # before the CLI's own handling took over
        name = signal_name(exc)
        sys.stderr.write(f"etown: {'terminated' if name == 'SIGTERM' else 'interrupted'} ({name})\n")
        sys.exit(EXIT_STATUS[name])


if __name__ == "__main__":  # pragma: no cover
    main()
