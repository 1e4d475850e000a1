"""Resumable batches of tasks for the experiments (discovery, optimisation): each finished task's
result is saved as a part file under a folder with a manifest of what the batch is; a batch run
again with the same manifest reuses the saved parts and runs only the rest (an interrupted
`etown discover` or `etown optimize` picks up where it stopped). Tasks run on the one executor
(model/executor.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..executor import run_tasks
from ..io import write_atomic, write_json

MANIFEST = "manifest.json"


def task_key(task: tuple[Any, ...]) -> str:
    """A stable name for a task's part file (hash of its description)."""
    text = json.dumps(task, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _save(path: Path, result: dict[str, np.ndarray]) -> None:
    def write(p: Path) -> None:
        with open(p, "wb") as f:
            np.savez(f, **result)

    write_atomic(path, write)


def _load(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError):
        return None


def prepare(folder: Path, manifest: dict[str, Any]) -> None:
    """Keep `folder`'s parts if they were made for `manifest`, else start it afresh."""
    saved = folder / MANIFEST
    expected = json.loads(json.dumps(manifest, default=str))
    if saved.is_file():
        try:
            if json.loads(saved.read_text()) == expected:
                return
        except (OSError, ValueError):
            pass
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_json(saved, expected)


def run_saved(
    fn: Callable[..., dict[str, np.ndarray]],
    tasks: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    folder: Path | None,
    *,
    workers: int = 1,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, np.ndarray]]:
    """fn(*task) for each task, in task order; results whose part `<folder>/<key>.npz` exists
    are read back instead of run (folder None: nothing saved). progress(1) per task done."""
    results: list[dict[str, np.ndarray] | None] = [None] * len(tasks)
    todo = []
    for i, key in enumerate(keys):
        got = _load(folder / f"{key}.npz") if folder is not None and (folder / f"{key}.npz").is_file() else None
        if got is not None:
            results[i] = got
            if progress:
                progress(1)
        else:
            todo.append(i)
    for j, res in run_tasks(fn, [tasks[i] for i in todo], workers=workers, client=client):
        i = todo[j]
        results[i] = res
        if folder is not None:
            _save(folder / f"{keys[i]}.npz", res)
        if progress:
            progress(1)
    return results  # type: ignore[return-value]
