"""Monte Carlo ensembles: seeds, executors, result parts.

Replication i of an ensemble with master seed S uses `SeedSequence(S).spawn(N)[i]`, so a run's
result does not depend on which worker ran it or in which order: the same seed gives the same
ensemble with any number of workers, locally or on a Dask cluster. Replications are grouped in
chunks of fixed size; each finished chunk is written as Parquet parts under `<out>/parts/`, so
an interrupted ensemble resumes where it stopped (`resume=True`) and memory stays bounded.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .calibration.store import ParamSample, draw_from_sample
from .cluster_model import ZONE_METRICS, ClusterModel, RunRecord
from .io import write_atomic, write_json
from .params import Params
from .scenario import Scenario
from .sectors import SECTOR_IDS

CHUNK_RUNS = 10
"""Replications per persisted part (fixed, so parts are the same whatever the workers)."""
PARTS_DIR = "parts"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RunSettings:
    """How each replication is built (not policy: that is the scenario)."""

    scale: float = 1.0
    persons_per_agent: float = 500.0
    params: dict[str, float] | None = None  # fixed parameter values; None = defaults/calibrated
    # calibrated parameter draws (calibration.store.calibrated_sample()); when set and `params` is
    # None, each replication uses one draw chosen from its own seed (same for any worker count)
    param_sample: ParamSample | None = None


@dataclass(frozen=True)
class EnsembleSpec:
    """Everything that determines an ensemble's numbers."""

    scenario: Scenario
    runs: int
    seed: int
    settings: RunSettings = field(default_factory=RunSettings)

    def run_seeds(self) -> list[np.random.SeedSequence]:
        return np.random.SeedSequence(self.seed).spawn(self.runs)

    def chunks(self) -> list[list[int]]:
        return [list(range(s, min(s + CHUNK_RUNS, self.runs))) for s in range(0, self.runs, CHUNK_RUNS)]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "runs": self.runs,
            "seed": self.seed,
            "settings": asdict(self.settings),
            "chunk_runs": CHUNK_RUNS,
        }


def record_tables(run: int, rec: RunRecord) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy tables of one run: (run, year, sector) rows and (run, year) zone rows."""
    ny, ns = rec.sector_output.shape
    sectors = pd.DataFrame({
        "run": np.full(ny * ns, run, dtype=np.int32),
        "year": np.repeat(np.asarray(rec.years, dtype=np.int16), ns),
        "sector": pd.Categorical(np.tile(SECTOR_IDS, ny), categories=SECTOR_IDS),
        "output_yuan": rec.sector_output.ravel(),
        "firms": rec.sector_firms.ravel(),
        "employees": rec.sector_employees.ravel(),
    })
    zone = pd.DataFrame({"run": np.full(ny, run, dtype=np.int32), "year": np.asarray(rec.years, dtype=np.int16)})
    for m in ZONE_METRICS:
        zone[m] = rec.zone[m]
    return sectors, zone


def run_replication(scenario: Scenario, seed: np.random.SeedSequence, settings: RunSettings) -> RunRecord:
    """One replication: build the model from the seed and run it to the end year."""
    params = Params(settings.params) if settings.params is not None else None
    if params is None and settings.param_sample:
        params = Params(draw_from_sample(settings.param_sample, seed))
    model = ClusterModel(scenario, params, rng=seed, scale=settings.scale, persons_per_agent=settings.persons_per_agent)
    return model.run()


def run_chunk(
    scenario: Scenario, runs: list[int], seeds: list[np.random.SeedSequence], settings: RunSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run a chunk of replications; returns their concatenated sector and zone tables."""
    tables = [record_tables(r, run_replication(scenario, s, settings)) for r, s in zip(runs, seeds, strict=True)]
    return pd.concat([t[0] for t in tables], ignore_index=True), pd.concat([t[1] for t in tables], ignore_index=True)


# ---------------------------------------------------------------------- parts on disk
def _part_paths(parts: Path, chunk: int) -> tuple[Path, Path]:
    return parts / f"sectors-{chunk:06d}.parquet", parts / f"zone-{chunk:06d}.parquet"


def _chunk_done(parts: Path, chunk: int) -> bool:
    return all(p.exists() for p in _part_paths(parts, chunk))


def _write_part(parts: Path, chunk: int, tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # zone part first: a chunk counts as done only when its sector part (written last) exists too
    zone_path, sector_path = _part_paths(parts, chunk)[1], _part_paths(parts, chunk)[0]
    write_atomic(zone_path, lambda p: tables[1].to_parquet(p, index=False))
    write_atomic(sector_path, lambda p: tables[0].to_parquet(p, index=False))


def prepare_parts(out: Path, spec: EnsembleSpec, resume: bool) -> Path:
    """Create (or, with resume, check) the parts folder of an ensemble; returns its path."""
    parts = out / PARTS_DIR
    manifest = parts / MANIFEST
    fingerprint = spec.fingerprint()
    if resume and manifest.exists():
        old = json.loads(manifest.read_text())
        if old != fingerprint:
            raise EnsembleError(
                f"{parts}: the saved parts belong to a different ensemble (scenario, runs, seed or settings "
                "differ); rerun without --resume or choose another --out"
            )
        return parts
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    write_json(manifest, fingerprint)
    return parts


def read_parts(parts: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All persisted chunks, sorted by run and year (deterministic order)."""
    sector_files = sorted(parts.glob("sectors-*.parquet"))
    zone_files = sorted(parts.glob("zone-*.parquet"))
    sectors = pd.concat([pd.read_parquet(f) for f in sector_files], ignore_index=True)
    zone = pd.concat([pd.read_parquet(f) for f in zone_files], ignore_index=True)
    sectors["sector"] = pd.Categorical(sectors["sector"], categories=SECTOR_IDS)
    return (
        sectors.sort_values(["run", "year", "sector"], kind="stable").reset_index(drop=True),
        zone.sort_values(["run", "year"], kind="stable").reset_index(drop=True),
    )


class EnsembleError(RuntimeError):
    """A user-facing problem with an ensemble's output folder or settings."""


# ---------------------------------------------------------------------- executors
Task = tuple[int, list[int], list[np.random.SeedSequence]]


def _local_results(spec: EnsembleSpec, tasks: list[Task], workers: int) -> Iterator[tuple[int, tuple]]:
    if workers <= 1:
        for chunk, runs, seeds in tasks:
            yield chunk, run_chunk(spec.scenario, runs, seeds, spec.settings)
        return
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: dict[Future, int] = {}
        queue = list(tasks)
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # bounded number of results in flight
                chunk, runs, seeds = queue.pop(0)
                pending[pool.submit(run_chunk, spec.scenario, runs, seeds, spec.settings)] = chunk
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()


def _dask_results(spec: EnsembleSpec, tasks: list[Task], scheduler: str) -> Iterator[tuple[int, tuple]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise EnsembleError("--scheduler needs Dask: pip install 'etown-clusters[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise EnsembleError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        futures = {
            client.submit(run_chunk, spec.scenario, runs, seeds, spec.settings, pure=False): chunk
            for chunk, runs, seeds in tasks
        }
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def run_ensemble(
    spec: EnsembleSpec,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or finish) an ensemble; persist each chunk under `out/parts`; return all tables.

    progress: called with the number of replications finished, as chunks complete (including
    those already on disk when resuming).
    """
    parts = prepare_parts(out, spec, resume)
    seeds = spec.run_seeds()
    tasks: list[Task] = []
    for i, runs in enumerate(spec.chunks()):
        if _chunk_done(parts, i):
            if progress:
                progress(len(runs))
        else:
            tasks.append((i, runs, [seeds[r] for r in runs]))
    results: Iterable = _dask_results(spec, tasks, scheduler) if scheduler else _local_results(spec, tasks, workers)
    for chunk, tables in results:
        _write_part(parts, chunk, tables)
        if progress:
            progress(len(tables[1]["run"].unique()))
    return read_parts(parts)


def default_runs(half_width: float = 0.05) -> int:
    """Runs so that any probability's 95% Wilson interval is at most +-half_width (worst
    case p = 0.5), rounded up to a multiple of the chunk size."""
    n = math.ceil(1.959964**2 * 0.25 / half_width**2)
    return math.ceil(n / CHUNK_RUNS) * CHUNK_RUNS
