"""Monte Carlo ensembles: seeds, executors, result parts.

Replication i of an ensemble with master seed S uses `SeedSequence(S).spawn(N)[i]`, so a run's
result does not depend on which worker ran it or in which order: the same seed gives the same
ensemble with any number of workers, locally or on a Dask cluster. Replications are grouped in
chunks of fixed size, run on the one executor (model/executor.py: local processes or Dask);
each finished chunk is written as Parquet parts under `<out>/parts/` (sectors, zone, the runs'
sampled inputs and levers: inputs.parquet, and the quarterly records: quarters.parquet), so an
interrupted ensemble resumes where it stopped (`resume=True`) and memory stays bounded.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from dataclasses import asdict, dataclass, field
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
from .data import fact
from .executor import run_tasks
from .inputs import ParamSource, RunInputs
from .io import atomic_path, echo
from .levers import Schedule, _walk_values
from .options import MAX_SEED, MAX_WORKERS, check_work, check_workers
from .outfolder import LOCK_FILE, MARK, FolderError, OutputFolder, parts_name, staging_name
from .params import Params
from .records import QUARTER_METRICS, ZONE_METRICS, RunRecord
from .scenario import Scenario
from .sectors import SECTOR_IDS
from .signals import Interrupted, Terminated, signals_deferred
from .store import MANIFEST, PartStore, own_copy

CHUNK_RUNS = 10
"""Replications per persisted part (fixed, so parts are the same whatever the workers)."""
PARTS_DIR = parts_name("run")
RESULT_FILES = ("summary.json", "runs.parquet", "zone.parquet", "inputs.parquet", "quarters.parquet", "fan_chart.png")
"""Files of a finished ensemble in its folder; summary.json is written last."""
TABLES = {"sectors": "runs.parquet", "zone": "zone.parquet", "inputs": "inputs.parquet", "quarters": "quarters.parquet"}
"""Part kind -> streamed result table (the order of the tables a chunk returns)."""
ROW_GROUP_ROWS = 1 << 17
ROW_GROUP_PARTS = 256
"""A row group of the streamed result tables gathers parts up to ROW_GROUP_ROWS rows or
ROW_GROUP_PARTS parts (many small Arrow tables cost far more memory than their rows)."""
CONNECT_TIMEOUT_S = 10
DASK_PROTOCOLS = ("tcp", "tls")
"""Scheduler address protocols etown accepts (checked before connecting)."""
MAX_RUNS = 1_000_000
"""Most replications in one ensemble (the aggregate holds ~0.6 KB per run)."""
STAGING_DIR = staging_name("run")
"""Where a run in progress keeps its parts and results inside --out until it finishes."""
OWNER_MARK = MARK
__all__ = ["LOCK_FILE", "FolderError", "Interrupted", "OutputFolder", "Terminated", "signals_deferred"]

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


def quarter_table(run: int, rec: RunRecord) -> pd.DataFrame:
    """(run, year, quarter) rows of one run's quarterly record (quarters.parquet): the
    QUARTER_METRICS and `output.<sector>` (yuan produced in the step). With P steps a year
    (4 by default: quarters), step k covers period (k - 1) % P + 1 of year start + 1 + (k - 1) // P."""
    n = rec.quarter_output.shape[0]
    per_year = n // max(len(rec.years) - 1, 1)
    steps = np.arange(n)
    table = pd.DataFrame(
        {
            "run": np.full(n, run, dtype=np.int32),
            "year": (rec.years[0] + 1 + steps // per_year).astype(np.int16),
            "quarter": (steps % per_year + 1).astype(np.int8),
        }
    )
    for m in QUARTER_METRICS:
        table[m] = rec.quarters[m]
    for i, s in enumerate(SECTOR_IDS):
        table[f"output.{s}"] = rec.quarter_output[:, i]
    return table


def replicate(scenario: Scenario, seed: np.random.SeedSequence, settings: RunSettings) -> tuple[RunRecord, RunInputs]:
    """One replication: build the model from the seed, run it to the end year; its record and
    the uncertain inputs it drew."""
    source = Params(settings.params) if settings.params is not None else settings.param_source
    model = ClusterModel(scenario, source, rng=seed, scale=settings.scale, persons_per_agent=settings.persons_per_agent)
    return model.run(), model.inputs


def run_replication(scenario: Scenario, seed: np.random.SeedSequence, settings: RunSettings) -> RunRecord:
    """One replication: build the model from the seed and run it to the end year."""
    return replicate(scenario, seed, settings)[0]


def lever_row(scenario: Scenario) -> dict[str, float | str]:
    """The scenario's levers as flat columns of inputs.parquet: `lever.<section>.<name>` (and
    `.<sector>` for sector mappings, `.<instrument>` for budget shares); a lever given per year
    has one column per projected year, `lever.<path>.<year>`, holding its value that year."""
    out: dict[str, float | str] = {}
    for section in ("clusters", "ecosystem", "urban_scenarios", "talent", "policy"):
        for path, value in _walk_values(getattr(scenario, section), f"lever.{section}."):
            if isinstance(value, Schedule):
                out.update({f"{path}.{y}": value.at(y) for y in scenario.years[1:]})
            elif isinstance(value, list):
                out[path] = ",".join(map(str, value))
            else:
                out[path] = float(value)
    return out


def inputs_table(run: int, inputs: RunInputs, scenario: Scenario) -> pd.DataFrame:
    """One row of inputs.parquet: the run's sampled inputs (`RunInputs.row`: param.*,
    baseline.*, shock.<year>.<sector>, pipeline.*) and the scenario's levers (`lever_row`)."""
    row: dict[str, Any] = {"run": run, **inputs.row(scenario.years), **lever_row(scenario)}
    frame = pd.DataFrame([row])
    frame["run"] = frame["run"].astype(np.int32)
    return frame


def run_tables(run: int, rec: RunRecord, inputs: RunInputs, scenario: Scenario) -> tuple[pd.DataFrame, ...]:
    """One run's result tables, in TABLES order: sectors, zone, inputs, quarters."""
    return (*record_tables(run, rec), inputs_table(run, inputs, scenario), quarter_table(run, rec))


def concat_tables(tables: list[tuple[pd.DataFrame, ...]]) -> tuple[pd.DataFrame, ...]:
    """Runs' result tables (each in TABLES order) concatenated kind by kind."""
    return tuple(pd.concat([t[k] for t in tables], ignore_index=True) for k in range(len(TABLES)))


def run_chunk(
    scenario: Scenario, runs: list[int], seeds: list[np.random.SeedSequence], settings: RunSettings
) -> tuple[pd.DataFrame, ...]:
    """Run a chunk of replications; returns their concatenated tables (TABLES order)."""
    tables = []
    for r, s in zip(runs, seeds, strict=True):
        rec, inputs = replicate(scenario, s, settings)
        tables.append(run_tables(r, rec, inputs, scenario))
    return concat_tables(tables)


# ---------------------------------------------------------------------- parts on disk
PART_KINDS = tuple(TABLES)  # sectors, zone, inputs, quarters


def _part_names(chunk: int) -> tuple[str, ...]:
    """The part files of a chunk, one per kind in TABLES order; it is done when all are listed."""
    return tuple(f"{kind}-{chunk:06d}.parquet" for kind in PART_KINDS)  # type: ignore[return-value]


def _part_paths(parts: Path, chunk: int) -> tuple[Path, ...]:
    return tuple(parts / name for name in _part_names(chunk))  # type: ignore[return-value]


def _chunk_done(store: PartStore, chunk: int) -> bool:
    """All the chunk's parts are listed and there (what a count of finished runs needs)."""
    return all(store.has(name) for name in _part_names(chunk))


def _part_meta(spec: EnsembleSpec, chunk: int, runs: list[int]) -> dict[str, Any]:
    """What a chunk's part line records (and `--resume` checks): chunk, run indices, seed."""
    return {"chunk": chunk, "runs": [runs[0], runs[-1] + 1], "seed": spec.seed}


def _chunk_verified(store: PartStore, spec: EnsembleSpec, chunk: int, runs: list[int]) -> bool:
    """The chunk's parts pass every check of the store (size, checksum, chunk, runs, seed); a
    chunk with a damaged or foreign part is computed again, whole."""
    names = _part_names(chunk)
    if not all(name in store.entries() for name in names):  # not finished: run it
        return False
    meta = _part_meta(spec, chunk, runs)
    for name in names:
        why = store.problem(name, **meta)
        if why is not None:
            store.reject(name, why)
            return False
    return True


def _write_part(
    store: PartStore, spec: EnsembleSpec, chunk: int, runs: list[int], tables: tuple[pd.DataFrame, ...]
) -> None:
    """The chunk's parts, the sector part last (a chunk is done when all of them are listed)."""
    parts = list(zip(_part_names(chunk), tables, strict=True))
    for name, table in [*parts[1:], parts[0]]:
        store.put(name, lambda p, t=table: t.to_parquet(p, index=False), **_part_meta(spec, chunk, runs))


def _remove_stale(out: Path, parts: Path) -> None:
    """An ensemble in progress has no result files (summary.json means finished), and no
    temporaries left by a killed writer."""
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    for tmp in parts.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


RESUME_HINT = "rerun without --resume or choose another --out"


def open_parts(out: Path, spec: EnsembleSpec, resume: bool) -> PartStore:
    """The parts store of an ensemble in `out/parts` (the store's one manifest rule: with
    resume, the saved parts must be this ensemble's; without, the folder starts afresh).

    Either way the folder's previous results are removed, so that summary.json only ever
    exists for a finished ensemble."""
    parts = out / PARTS_DIR
    _remove_stale(out, parts)
    return PartStore.open(parts, "ensemble", spec.fingerprint(), fresh=not resume, hint=RESUME_HINT)


def prepare_parts(out: Path, spec: EnsembleSpec, resume: bool) -> Path:
    """`open_parts`, returning the folder."""
    return open_parts(out, spec, resume).folder


def check_manifest(parts: Path, spec: EnsembleSpec) -> None:
    """A StoreError unless the parts saved in `parts` are this ensemble's (for --resume)."""
    PartStore.open(parts, "ensemble", spec.fingerprint(), hint=RESUME_HINT)


def _read_part(store: PartStore, chunk: int, runs: list[int]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A chunk's tables as saved (verified by `_chunk_verified`), with the columns
    EnsembleAggregate uses; None (the part rejected, to be computed again) when a table cannot
    be read or does not hold exactly the chunk's runs."""
    names = _part_names(chunk)[:2]
    zone_columns = ["run", "year", *(col for col, _ in ZONE_REPORT.values())]
    frames = []
    for name, columns in zip(names, (["run", "year", "sector", "output_yuan"], zone_columns), strict=True):
        try:
            frame = pd.read_parquet(store.path(name), columns=columns)
        except Exception as exc:
            store.reject(name, f"cannot be read: {_one_line(exc)[:100]}")
            return None
        if sorted(set(frame["run"].tolist())) != runs:
            store.reject(name, f"holds runs other than {runs[0]}-{runs[-1]}")
            return None
        frames.append(frame)
    return frames[0], frames[1]


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


def write_tables(parts: Path, out: Path, chunks: int | None = None) -> None:
    """Stream the parts of chunks 0..chunks-1 (default: every part in `parts`) into the result
    tables in `out` (runs.parquet, zone.parquet ...), chunk by chunk (so in run, year, sector
    order), holding one row group at a time; atomic. A stray file in `parts` is never read."""
    for kind, name in TABLES.items():
        if chunks is None:
            files = sorted(parts.glob(f"{kind}-*.parquet"))
        else:
            files = [parts / _part_names(i)[PART_KINDS.index(kind)] for i in range(chunks)]
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
    """A result table (runs.parquet or zone.parquet) as a DataFrame, checked before use
    (model/results.py: an EnsembleError naming the file if it is missing, unreadable, empty or
    of another kind); sectors as a categorical in SECTOR_IDS order."""
    from .results import read_table

    frame = read_table(path, EnsembleError)
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


def _chunk_results(
    spec: EnsembleSpec, tasks: list[Task], workers: int, client: Client | None
) -> Iterator[tuple[int, tuple]]:
    """(chunk, tables) of the chunks as they finish, on the one executor (model/executor.py):
    local processes or the Dask cluster; Dask failures become one-line EnsembleErrors."""
    work = [(spec.scenario, runs, _seeds(spec, runs), spec.settings) for _, runs in tasks]
    results = run_tasks(_run_chunk, work, workers=workers, client=client)
    with contextlib.closing(results):
        while True:
            try:
                i, tables = next(results)
            except StopIteration:
                return
            except ImportError as exc:
                if client is None:
                    raise
                raise EnsembleError(
                    f"the Dask workers cannot run the model ({exc}); install etown-clusters on every worker"
                ) from None
            except (OSError, CancelledError) as exc:
                if client is None:
                    raise
                raise EnsembleError(
                    f"lost the Dask cluster ({_one_line(exc)}); finished chunks are saved, rerun with --resume"
                ) from None
            yield tasks[i][0], tables


def _run_chunk(*args: Any) -> tuple[pd.DataFrame, ...]:
    """run_chunk as looked up when the task runs (so that it can be replaced in tests)."""
    return run_chunk(*args)


def connect(scheduler: str) -> Client:
    """A client of the Dask scheduler at `scheduler` (tcp://host:port); a one-line EnsembleError
    if Dask is not installed or no scheduler answers there."""
    address = check_scheduler_address(scheduler)
    try:
        from distributed import Client
    except ImportError:
        raise EnsembleError("--scheduler needs Dask: pip install 'etown-clusters[dask]'") from None
    try:
        where = urlsplit(address)
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


def check_scheduler_address(scheduler: str) -> str:
    """The address with its protocol (tcp:// when none is given), checked without connecting:
    a known protocol, a host and a port. A one-line EnsembleError otherwise."""
    address = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    try:
        where = urlsplit(address)
    except ValueError as exc:
        raise EnsembleError(f"--scheduler: cannot read the address {scheduler[:200]!r}: {exc}") from None
    if where.scheme not in DASK_PROTOCOLS:
        raise EnsembleError(
            f"--scheduler: unsupported protocol {where.scheme + '://'!r} in {scheduler[:200]}; "
            f"give {' or '.join(p + '://HOST:PORT' for p in DASK_PROTOCOLS)}"
        )
    try:
        port = where.port
    except ValueError:
        port = None
    if not (where.hostname and port):
        raise EnsembleError(
            f"cannot reach the Dask scheduler at {scheduler[:200]}: give the address as {where.scheme}://HOST:PORT"
        )
    return address


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def run_ensemble(
    spec: EnsembleSpec,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[int], None] | None = None,
    client: Client | None = None,
) -> EnsembleAggregate:
    """Run (or finish) an ensemble and write its tables; returns its compact aggregate.

    Each chunk is persisted under `out/parts` and folded into an EnsembleAggregate as it
    arrives (chunks already on disk are read back when resuming); at the end the parts are
    streamed into out/runs.parquet and out/zone.parquet. Memory is bounded by the aggregate
    (~0.6 KB per run) plus a few chunks, whatever the number of runs.

    scheduler: a Dask scheduler address, contacted before the folder is touched (or `client`,
    a connected client, which the caller closes).
    progress: called with the number of replications finished, as chunks complete (including
    those already on disk when resuming).
    """
    own_client = client is None and scheduler is not None
    if own_client:
        client = connect(scheduler)  # type: ignore[arg-type]
    try:
        store = open_parts(out, spec, resume)
        parts = store.folder
        aggregate = EnsembleAggregate(spec.runs)
        tasks: list[Task] = []
        for i, runs in enumerate(spec.chunks()):
            saved = _read_part(store, i, runs) if _chunk_verified(store, spec, i, runs) else None
            if saved is not None:
                aggregate.add(*saved)
                if progress:
                    progress(len(runs))
            else:
                tasks.append((i, runs))
        chunk_runs = dict(tasks)
        for chunk, tables in _chunk_results(spec, tasks, workers, client):
            _write_part(store, spec, chunk, chunk_runs[chunk], tables)
            aggregate.add(*tables[:2])
            if progress:
                progress(len(tables[1]["run"].unique()))
    finally:
        if own_client and client is not None:
            client.close()
    write_tables(parts, out, len(spec.chunks()))
    return aggregate


def default_runs(half_width: float = 0.05) -> int:
    """Runs so that any probability's 95% Wilson interval is at most +-half_width (worst
    case p = 0.5), rounded up to a multiple of the chunk size."""
    n = math.ceil(1.959964**2 * 0.25 / half_width**2)
    return math.ceil(n / CHUNK_RUNS) * CHUNK_RUNS


# ---------------------------------------------------------------------- settings and resources
BYTES_PER_AGENT = 1_000
"""Memory per firm or talent-cohort agent, with margin (measured: ~450 B)."""
PROCESS_BYTES = 300 << 20
"""Memory of a worker process before its first run (imports, the start state)."""
TALENT_PERSONS_2020 = 300_000
"""The model's 2020 talent pool, persons (derived from employment at start; ~310,000): a size."""
AGENT_GROWTH = 4.0
"""Upper bound of the growth of agents over a projection (measured: x3.9 firms, x2.3 cohorts)."""


AGGREGATE_BYTES_PER_RUN = 1_000
"""Memory the aggregate of an ensemble keeps per run (measured ~0.6 KB), with margin."""


def run_memory(settings: RunSettings) -> int:
    """Bytes one replication may need with these settings (an upper estimate)."""
    firms = fact("zone", "firms", 2020) * settings.scale
    agents = AGENT_GROWTH * (firms + TALENT_PERSONS_2020 / settings.persons_per_agent)
    return int(agents * BYTES_PER_AGENT)


def check_settings(runs: int, seed: int, workers: int, settings: RunSettings, scheduler: str | None = None) -> None:
    """One-line EnsembleError (named like the CLI option) for settings that cannot run here."""

    def number(name: str, value: Any, low: float, high: float, integer: bool = False) -> None:
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise EnsembleError(f"--{name}: must be {'an integer' if integer else 'a number'}, got {echo(value)}")
        if not math.isfinite(value) or value < low:
            raise EnsembleError(f"--{name}: must be at least {low:,g} (got {echo(value)})")
        if value > high:
            raise EnsembleError(f"--{name}: must be at most {high:,} (got {echo(value)})")

    number("runs", runs, 1, MAX_RUNS, integer=True)
    number("seed", seed, 0, MAX_SEED, integer=True)
    number("workers", workers, 1, MAX_WORKERS, integer=True)
    if scheduler:
        check_scheduler_address(scheduler)
    else:
        check_workers(workers)
    number("scale", settings.scale, 1e-3, 1.0)
    number("persons-per-agent", settings.persons_per_agent, 1.0, 1e7)
    processes = 1 if scheduler else max(1, min(workers, math.ceil(runs / CHUNK_RUNS)))
    check_work(runs, processes, run_memory(settings), "runs", "--runs, --workers or --scale", AGGREGATE_BYTES_PER_RUN)


# ---------------------------------------------------------------------- the output folder
def stage_ensemble(folder: OutputFolder, spec: EnsembleSpec, resume: bool) -> Path:
    """Prepare `<out>/unfinished/` for the run; returns it. With resume, the parts of an
    unfinished run are kept (or, for a finished one, linked from `<out>/parts`), after checking
    they are this ensemble's; without, a previous unfinished run is discarded."""
    staged = folder.staging / PARTS_DIR / MANIFEST
    finished = folder.root / PARTS_DIR / MANIFEST
    if not resume:
        return folder.stage()

    def keep(staging: Path) -> None:
        saved = next((m for m in (staged, finished) if m.is_file()), None)
        if saved is not None:
            check_manifest(saved.parent, spec)
        if not staged.is_file() and finished.is_file():  # resume a finished ensemble: reuse its parts
            target = staging / PARTS_DIR
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(finished.parent, target, copy_function=_link_or_copy)
            own_copy(target)

    return folder.stage(keep=keep)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def stop_helper_processes() -> None:
    """Stop multiprocessing's forkserver and resource tracker if this process started them, and
    wait for them (the CLI calls this on exit, so that no process outlives the command)."""
    from multiprocessing import forkserver, resource_tracker

    for helper in (getattr(forkserver, "_forkserver", None), getattr(resource_tracker, "_resource_tracker", None)):
        stop = getattr(helper, "_stop", None)
        if stop is not None:
            with contextlib.suppress(Exception):
                stop()


def finished_runs(folder: Path, spec: EnsembleSpec) -> int:
    """Replications whose chunk is saved under `folder/parts` (what --resume will not redo)."""
    parts = folder / PARTS_DIR
    store = PartStore.existing(parts, "ensemble", spec.fingerprint())
    if store is None:
        return 0
    return sum(len(runs) for i, runs in enumerate(spec.chunks()) if _chunk_done(store, i))
