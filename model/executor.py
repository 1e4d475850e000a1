"""The one executor every experiment runs its work on: local processes or a Dask cluster.

`run_tasks(fn, tasks)` calls `fn(*task)` for each task and yields `(index, result)` in completion
order, with a bounded number of tasks in flight (memory stays bounded however many there are).
Locally it uses a process pool (forkserver; serially with one worker); with `scheduler` it
submits to the Dask scheduler at that address. Results must not depend on where a task runs:
tasks carry their own seeds. Work that calls `run_tasks` many times in a row (the generations
of a calibration) can keep one pool open across the calls with `local_pool(workers)`, so that
worker processes start (and import the model) once.
"""

from __future__ import annotations

import contextlib
import multiprocessing
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
            yield from _submit_local(p, fn, tasks, in_flight or 2 * workers)


@contextlib.contextmanager
def local_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A local process pool (forkserver) kept open across `run_tasks` calls; None for one
    worker (tasks then run in this process)."""
    if workers <= 1:
        yield None
        return
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield pool


def _submit_local(
    pool: ProcessPoolExecutor, fn: Callable[..., Any], tasks: Sequence[tuple], in_flight: int
) -> Iterator[tuple[int, Any]]:
    pending: dict[Future, int] = {}
    queue = iter(enumerate(tasks))
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

    for i, task in islice(queue, limit):
        submit(i, task)
    for fut in finished:
        i = pending.pop(fut)
        result = fut.result()
        fut.release()
        for j, task in islice(queue, 1):
            submit(j, task)
        yield i, result
