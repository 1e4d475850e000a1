"""The one executor every experiment runs its work on: local processes or a Dask cluster.

`run_tasks(fn, tasks)` calls `fn(*task)` for each task and yields `(index, result)` in completion
order, with a bounded number of tasks in flight (memory stays bounded however many there are).
Locally it uses a process pool (forkserver; serially with one worker); with `scheduler` it
submits to the Dask scheduler at that address. Results must not depend on where a task runs:
tasks carry their own seeds. Work that calls `run_tasks` many times in a row (the generations
of a calibration) can keep one pool open across the calls with `local_pool(workers)`, so that
worker processes start (and import the model) once.

Interruption: local workers ignore SIGINT (the main process handles Ctrl-C) and die with their
parent; if the consumer stops early or an exception (KeyboardInterrupt, a SIGTERM handler's
exception, a failed task) leaves `run_tasks`, a pool it started is killed at once rather than
left to finish its tasks, and Dask tasks still queued are cancelled.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[tuple[Any, ...]],
    *,
    workers: int = 1,
    client: Client | None = None,
    in_flight: int | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield (task index, fn(*task)) as tasks finish.

    workers: local processes (1 = run in this process, in order); client: a connected Dask
    client (see ensemble.connect) to run on instead; in_flight: most tasks submitted at once
    (default: twice the workers or the cluster's threads, at least 8 on Dask); pool: an open
    local pool (`local_pool`) to run on instead of starting one for this call.
    """
    if client is not None:
        yield from _dask(fn, tasks, client, in_flight)
    elif pool is not None:
        yield from _submit_local(pool, fn, tasks, in_flight or 2 * max(workers, getattr(pool, "_max_workers", workers)))
    elif workers <= 1:
        for i, task in enumerate(tasks):
            yield i, fn(*task)
    else:
        with local_pool(workers) as p:
            assert p is not None
            yield from _submit_local(p, fn, tasks, in_flight or 2 * workers)


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A local process pool (forkserver) kept open across `run_tasks` calls; None for one
    worker (tasks then run in this process). Left by an exception, its workers are killed at
    once (not after their tasks)."""
    if workers <= 1:
        yield None
        return
    ctx = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:  # interrupted (Ctrl-C, SIGTERM), failed, or the consumer stopped early
        _kill_pool(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_init(main: int | None = None) -> None:
    """In each worker process: Ctrl-C in a terminal reaches the whole process group, but only
    the main process handles it (it ends the workers); and a worker ends when the main process
    `main` does, however it ends (even SIGKILL): a watchdog thread waits on the main process
    (a pidfd on Linux, else polling) and exits at once. The parent-death signal
    (PR_SET_PDEATHSIG) is set too, but it follows the worker's parent, the forkserver, which
    lives as long as any worker holds its 'alive' pipe: it cannot be relied on alone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
        if os.getppid() != parent:  # the parent died before prctl: go too
            os._exit(1)
    except (OSError, AttributeError):  # not Linux: the watchdog still ends workers
        pass
    if main is not None:
        watch_parent(main)


WATCH_INTERVAL_S = 0.5
"""How often a worker without pidfds looks whether the main process still runs."""


def watch_parent(main: int) -> None:
    """Exit this process (at once, status 1) as soon as process `main` ends (a daemon thread)."""
    try:
        fd = os.pidfd_open(main)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None

    def wait() -> None:
        if fd is not None:
            select.select([fd], [], [])  # readable when the process has ended
            os._exit(1)
        while _alive(main):
            time.sleep(WATCH_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=wait, name="etown-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (ended, not yet reaped) counts as ended
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Kill a process pool's workers at once and wait for them (no process outlives the command)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(timeout=10)


def _submit_local(
    pool: ProcessPoolExecutor, fn: Callable[..., Any], tasks: Sequence[tuple], in_flight: int
) -> Iterator[tuple[int, Any]]:
    pending: dict[Future, int] = {}
    queue = iter(enumerate(tasks))
    try:
        for i, task in islice(queue, in_flight):
            pending[pool.submit(fn, *task)] = i
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                result = fut.result()
                for j, task in islice(queue, 1):
                    pending[pool.submit(fn, *task)] = j
                yield i, result
    finally:  # stopped early (an exception, or the consumer closed us): drop what is queued
        for fut in pending:
            fut.cancel()


def _dask(
    fn: Callable[..., Any], tasks: Sequence[tuple], client: Client, in_flight: int | None
) -> Iterator[tuple[int, Any]]:
    from distributed import as_completed

    limit = in_flight or max(8, 2 * sum(client.nthreads().values()))
    queue = iter(enumerate(tasks))
    pending: dict[Any, int] = {}
    finished = as_completed(loop=client.loop)

    def submit(i: int, task: tuple) -> None:
        fut = client.submit(fn, *task, pure=False)
        pending[fut] = i
        finished.add(fut)

    try:
        for i, task in islice(queue, limit):
            submit(i, task)
        for fut in finished:
            i = pending.pop(fut)
            result = fut.result()
            fut.release()
            for j, task in islice(queue, 1):
                submit(j, task)
            yield i, result
    finally:  # interrupted or failed: nothing of ours stays queued on the cluster
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(list(pending))
