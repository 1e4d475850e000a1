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
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .analysis import ZONE_REPORT, EnsembleAggregate
from .cluster_model import ClusterModel
from .inputs import ParamSource
from .io import atomic_path, write_atomic, write_json
from .params import Params
from .records import ZONE_METRICS, RunRecord
from .scenario import Scenario
from .sectors import SECTOR_IDS

CHUNK_RUNS = 10
"""Replications per persisted part (fixed, so parts are the same whatever the workers)."""
PARTS_DIR = "parts"
MANIFEST = "manifest.json"
RESULT_FILES = ("summary.json", "runs.parquet", "zone.parquet", "fan_chart.png")
"""Files of a finished ensemble in its folder; summary.json is written last."""
TABLES = {"sectors": "runs.parquet", "zone": "zone.parquet"}  # part kind -> streamed result table
ROW_GROUP_ROWS = 1 << 17
ROW_GROUP_PARTS = 256
"""A row group of the streamed result tables gathers parts up to ROW_GROUP_ROWS rows or
ROW_GROUP_PARTS parts (many small Arrow tables cost far more memory than their rows)."""
CONNECT_TIMEOUT_S = 10

if TYPE_CHECKING:
    from distributed import Client


@dataclass(frozen=True)
class RunSettings:
    """How each replication is built (not policy: that is the scenario)."""

    scale: float = 1.0
    persons_per_agent: float = 500.0
    params: dict[str, float] | None = None  # fixed parameter values for every replication
    # otherwise each replication draws its parameters from this source, from a child of its own
    # seed (same for any worker count); None = the default parameters for every replication
    param_source: ParamSource | None = None


@dataclass(frozen=True)
class EnsembleSpec:
    """Everything that determines an ensemble's numbers."""

    scenario: Scenario
    runs: int
    seed: int
    settings: RunSettings = field(default_factory=RunSettings)

    def run_seeds(self) -> list[np.random.SeedSequence]:
        return np.random.SeedSequence(self.seed).spawn(self.runs)

    def run_seed(self, run: int) -> np.random.SeedSequence:
        """`run_seeds()[run]`, made alone (what spawn() makes: the same entropy, spawn key (run,))."""
        return np.random.SeedSequence(self.seed, spawn_key=(run,))

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
    sectors = pd.DataFrame(
        {
            "run": np.full(ny * ns, run, dtype=np.int32),
            "year": np.repeat(np.asarray(rec.years, dtype=np.int16), ns),
            "sector": pd.Categorical(np.tile(SECTOR_IDS, ny), categories=SECTOR_IDS),
            "output_yuan": rec.sector_output.ravel(),
            "firms": rec.sector_firms.ravel(),
            "employees": rec.sector_employees.ravel(),
        }
    )
    zone = pd.DataFrame({"run": np.full(ny, run, dtype=np.int32), "year": np.asarray(rec.years, dtype=np.int16)})
    for m in ZONE_METRICS:
        zone[m] = rec.zone[m]
    return sectors, zone


def run_replication(scenario: Scenario, seed: np.random.SeedSequence, settings: RunSettings) -> RunRecord:
    """One replication: build the model from the seed and run it to the end year."""
    source = Params(settings.params) if settings.params is not None else settings.param_source
    model = ClusterModel(scenario, source, rng=seed, scale=settings.scale, persons_per_agent=settings.persons_per_agent)
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


def _remove_stale(out: Path, parts: Path) -> None:
    """An ensemble in progress has no result files (summary.json means finished), and no
    temporaries left by a killed writer."""
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    for tmp in parts.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def prepare_parts(out: Path, spec: EnsembleSpec, resume: bool) -> Path:
    """Create (or, with resume, check) the parts folder of an ensemble; returns its path.

    Either way the folder's previous results are removed, so that summary.json only ever
    exists for a finished ensemble."""
    parts = out / PARTS_DIR
    manifest = parts / MANIFEST
    fingerprint = json.loads(json.dumps(spec.fingerprint()))  # as saved (tuples become lists)
    if resume and manifest.exists():
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError):
            old = None
        if old != fingerprint:
            raise EnsembleError(
                f"{parts}: the saved parts belong to a different ensemble (scenario, runs, seed or settings "
                "differ); rerun without --resume or choose another --out"
            )
        _remove_stale(out, parts)
        return parts
    _remove_stale(out, parts)
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    write_json(manifest, fingerprint)
    return parts


def _read_part(parts: Path, chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A chunk's tables as saved, with the columns EnsembleAggregate uses."""
    sector_path, zone_path = _part_paths(parts, chunk)
    zone_columns = ["run", "year", *(col for col, _ in ZONE_REPORT.values())]
    return (
        pd.read_parquet(sector_path, columns=["run", "year", "sector", "output_yuan"]),
        pd.read_parquet(zone_path, columns=zone_columns),
    )


def _fixed_sectors(table: pa.Table) -> pa.Table:
    """The sector column as a dictionary over all of SECTOR_IDS, in that order, whatever a
    part file's own dictionary holds (so every part has the same schema)."""
    i = table.schema.get_field_index("sector")
    if i < 0:
        return table
    names = table.column(i).cast(pa.string())
    codes = pc.index_in(names, value_set=pa.array(SECTOR_IDS)).cast(pa.int8())
    column = pa.chunked_array(
        [pa.DictionaryArray.from_arrays(c, pa.array(SECTOR_IDS)) for c in codes.chunks],
        type=pa.dictionary(pa.int8(), pa.string()),
    )
    return table.set_column(i, table.field(i).with_type(column.type), column)


def write_tables(parts: Path, out: Path) -> None:
    """Stream the parts into out/runs.parquet and out/zone.parquet, chunk by chunk (so in run,
    year, sector order), holding one row group at a time; atomic."""
    for kind, name in TABLES.items():
        files = sorted(parts.glob(f"{kind}-*.parquet"))
        with atomic_path(out / name) as tmp:
            writer: pq.ParquetWriter | None = None
            batch: list[pa.Table] = []
            rows = 0
            try:
                for f in [*files, None]:
                    if f is not None:
                        with pq.ParquetFile(f) as part:
                            table = _fixed_sectors(part.read())
                        batch.append(table)
                        rows += table.num_rows
                    if batch and (rows >= ROW_GROUP_ROWS or len(batch) >= ROW_GROUP_PARTS or f is None):
                        merged = pa.concat_tables(batch)
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, merged.schema)
                        writer.write_table(merged, row_group_size=ROW_GROUP_ROWS)
                        batch, rows, merged = [], 0, None
                        pa.default_memory_pool().release_unused()  # else the pool keeps ~100 MB of slack
            finally:
                if writer is not None:
                    writer.close()


def load_table(path: Path) -> pd.DataFrame:
    """A result table (runs.parquet or zone.parquet) as a DataFrame; sectors as a categorical
    in SECTOR_IDS order."""
    frame = pd.read_parquet(path)
    if "sector" in frame:
        frame["sector"] = pd.Categorical(frame["sector"], categories=SECTOR_IDS)
    return frame


def read_parts(parts: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All persisted chunks in memory, sorted by run and year (deterministic order); for
    small ensembles and tests (run_ensemble streams them instead)."""
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
Task = tuple[int, list[int]]  # chunk, its runs (seeds are made when the chunk is submitted)


def _seeds(spec: EnsembleSpec, runs: list[int]) -> list[np.random.SeedSequence]:
    return [spec.run_seed(r) for r in runs]


def _local_results(spec: EnsembleSpec, tasks: list[Task], workers: int) -> Iterator[tuple[int, tuple]]:
    if workers <= 1:
        for chunk, runs in tasks:
            yield chunk, run_chunk(spec.scenario, runs, _seeds(spec, runs), spec.settings)
        return
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: dict[Future, int] = {}
        queue = tasks[::-1]  # popped from the end
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # bounded number of results in flight
                chunk, runs = queue.pop()
                pending[pool.submit(run_chunk, spec.scenario, runs, _seeds(spec, runs), spec.settings)] = chunk
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()


def connect(scheduler: str) -> Client:
    """A client of the Dask scheduler at `scheduler` (tcp://host:port); a one-line EnsembleError
    if Dask is not installed or no scheduler answers there."""
    try:
        from distributed import Client
    except ImportError:
        raise EnsembleError("--scheduler needs Dask: pip install 'etown-clusters[dask]'") from None
    address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    try:
        where = urlsplit(address)
        if where.scheme == "tcp":
            if not (where.hostname and where.port):
                raise ValueError("give the address as tcp://HOST:PORT")
            # a refused connection fails here at once (the Dask client would retry until its timeout)
            socket.create_connection((where.hostname, where.port), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        raise EnsembleError(f"cannot reach the Dask scheduler at {scheduler}: {_one_line(exc)}") from None

    # Client() waits forever on a server that accepts connections but does not speak Dask's
    # protocol (its timeout does not cover the handshake): connect from a thread, with a deadline
    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["client"] = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
        except Exception as exc:  # whatever the failure, the address does not lead to a usable scheduler
            made["error"] = exc

    thread = threading.Thread(target=make, name="etown-dask-connect", daemon=True)
    thread.start()
    thread.join(2 * CONNECT_TIMEOUT_S)
    if "client" in made:
        return made["client"]
    reason = _one_line(made["error"]) if "error" in made else "no answer from a Dask scheduler there"
    raise EnsembleError(f"cannot reach the Dask scheduler at {scheduler}: {reason}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _dask_results(client: Client, spec: EnsembleSpec, tasks: list[Task]) -> Iterator[tuple[int, tuple]]:
    """Chunks run as Dask tasks, a bounded number in flight; results in completion order."""
    from distributed import as_completed

    queue = iter(tasks)
    in_flight = max(8, 2 * sum(client.nthreads().values()))
    pending: dict[Any, int] = {}
    finished = as_completed(loop=client.loop)

    def submit(task: Task) -> None:
        chunk, runs = task
        fut = client.submit(run_chunk, spec.scenario, runs, _seeds(spec, runs), spec.settings, pure=False)
        pending[fut] = chunk
        finished.add(fut)

    for task in islice(queue, in_flight):
        submit(task)
    for fut in finished:
        chunk = pending.pop(fut)
        try:
            tables = fut.result()
        except ImportError as exc:
            raise EnsembleError(
                f"the Dask workers cannot run the model ({exc}); install etown-clusters on every worker"
            ) from None
        except (OSError, CancelledError) as exc:
            raise EnsembleError(
                f"lost the Dask cluster ({_one_line(exc)}); finished chunks are saved, rerun with --resume"
            ) from None
        fut.release()
        for task in islice(queue, 1):
            submit(task)
        yield chunk, tables


def run_ensemble(
    spec: EnsembleSpec,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[int], None] | None = None,
) -> EnsembleAggregate:
    """Run (or finish) an ensemble and write its tables; returns its compact aggregate.

    Each chunk is persisted under `out/parts` and folded into an EnsembleAggregate as it
    arrives (chunks already on disk are read back when resuming); at the end the parts are
    streamed into out/runs.parquet and out/zone.parquet. Memory is bounded by the aggregate
    (~0.6 KB per run) plus a few chunks, whatever the number of runs.

    scheduler: a Dask scheduler address, contacted before the folder is touched.
    progress: called with the number of replications finished, as chunks complete (including
    those already on disk when resuming).
    """
    client = connect(scheduler) if scheduler else None
    try:
        parts = prepare_parts(out, spec, resume)
        aggregate = EnsembleAggregate(spec.runs)
        tasks: list[Task] = []
        for i, runs in enumerate(spec.chunks()):
            if _chunk_done(parts, i):
                aggregate.add(*_read_part(parts, i))
                if progress:
                    progress(len(runs))
            else:
                tasks.append((i, runs))
        results: Iterable = (
            _dask_results(client, spec, tasks) if client is not None else _local_results(spec, tasks, workers)
        )
        for chunk, tables in results:
            _write_part(parts, chunk, tables)
            aggregate.add(*tables)
            if progress:
                progress(len(tables[1]["run"].unique()))
    finally:
        if client is not None:
            client.close()
    write_tables(parts, out)
    return aggregate


def default_runs(half_width: float = 0.05) -> int:
    """Runs so that any probability's 95% Wilson interval is at most +-half_width (worst
    case p = 0.5), rounded up to a multiple of the chunk size."""
    n = math.ceil(1.959964**2 * 0.25 / half_width**2)
    return math.ceil(n / CHUNK_RUNS) * CHUNK_RUNS
