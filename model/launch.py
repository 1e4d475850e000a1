"""The `etown` console script. It installs the signal handlers before anything heavy is imported
(model/cli.py pulls in numpy, pandas, pyarrow, matplotlib, Mesa: a second or more), so a Ctrl-C
or SIGTERM at any moment of a command ends it with one line and status 130 / 143, never a
traceback or a silent death."""

from __future__ import annotations

import sys

from .signals import EXIT_STATUS, Terminated, install_sigterm, signal_name


def main() -> None:
    install_sigterm()
    try:
        from .cli import app

        app()
    except (KeyboardInterrupt, Terminated) as exc:  # before the CLI's own handling took over
        name = signal_name(exc)
        sys.stderr.write(f"etown: {'terminated' if name == 'SIGTERM' else 'interrupted'} ({name})\n")
        sys.exit(EXIT_STATUS[name])


if __name__ == "__main__":  # pragma: no cover
    main()
