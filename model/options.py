"""The one check of the options every command shares, made before any work and before anything
is read or written: worker processes bounded by the cores, seeds in the documented range, the
memory and the replications a command's settings imply. Scenario, lever and observation files
are checked by their one reader each (model/scenario.py, experiments/discover.py,
nowcast/observations.py, score.py), scheduler addresses by `ensemble.check_scheduler_address`.
Every problem is one `OptionError` line naming the option."""

from __future__ import annotations

import math
import os
from typing import Any

MAX_SEED = 2**63 - 1
"""Largest master seed (numpy's SeedSequence takes any non-negative integer; 63 bits are kept
so that seeds survive every file format and language they are written to)."""
MAX_WORKERS = 256
"""Most worker processes a command may ask for with --scheduler (locally: the cores)."""
MAX_TOTAL_RUNS = 10_000_000
"""Most replications one command may plan (the values an experiment keeps in memory grow with them)."""
BYTES_PER_KEPT_RUN = 2_000
"""Memory an experiment keeps per replication it plans (outcome values, block bookkeeping), with margin."""
MEMORY_SHARE = 0.8
"""Share of the machine's memory a command's settings may plan to use."""


class OptionError(ValueError):
    """An option that cannot be used (one line naming it)."""


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask; all of the machine's otherwise)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def physical_memory() -> int:
    """Bytes of memory of this machine (0 if unknown)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _integer(name: str, value: Any, low: int, high: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name}: must be an integer, got {value!r}"[:200])
    if value < low:
        raise OptionError(f"{name}: must be at least {low:,} (got {value:,})"[:200])
    if value > high:
        raise OptionError(f"{name}: must be at most {high:,}{why} (got {value:,})"[:200])
    return value


def check_workers(workers: int, scheduler: str | None = None) -> int:
    """Local worker processes: 1 to the cores this process may use (with a scheduler, where the
    cluster's workers run the work: 1 to MAX_WORKERS)."""
    cores = usable_cores()
    high, why = (MAX_WORKERS, "") if scheduler else (cores, f" (the cores of this machine: {cores})")
    return _integer("--workers", workers, 1, high, why)


def check_seed(seed: int, name: str = "--seed") -> int:
    return _integer(name, seed, 0, MAX_SEED)


def check_work(
    total_runs: float,
    workers: int,
    run_bytes: int,
    what: str = "replications",
    fix: str = "",
    kept_bytes: int = BYTES_PER_KEPT_RUN,
) -> None:
    """The replications a command plans (`total_runs`, at most) and the memory they imply
    (`run_bytes` per simulation in each of min(workers, runs) processes, plus `kept_bytes` the
    command keeps per replication) must fit: a one-line OptionError naming the fix otherwise."""
    from .ensemble import PROCESS_BYTES

    hint = f"; lower {fix}" if fix else ""
    if not math.isfinite(total_runs) or total_runs > MAX_TOTAL_RUNS:
        raise OptionError(f"the settings ask for up to {total_runs:,.0f} {what}; at most {MAX_TOTAL_RUNS:,}{hint}")
    total = physical_memory()
    processes = max(1, min(workers, int(total_runs)))
    need = processes * (run_bytes + PROCESS_BYTES) + total_runs * kept_bytes
    if total and need > MEMORY_SHARE * total:
        raise OptionError(
            f"the settings need about {need / 2**30:.1f} GB ({total_runs:,.0f} {what}, {processes} process(es)); "
            f"this machine has {total / 2**30:.1f} GB{hint or ': lower --workers or --scale'}"
        )
