"""The public API the CLI and notebooks share: run a scenario file as an ensemble and write
its results (runs.parquet, zone.parquet, summary.json, fan_chart.png) to a folder."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure
from tqdm import tqdm

from .analysis import headline_table
from .calibration.store import calibrated_sample, default_source, load_calibrated
from .ensemble import (
    PARTS_DIR,
    RESULT_FILES,
    TABLES,
    EnsembleError,
    EnsembleSpec,
    Interrupted,
    OutputFolder,
    RunSettings,
    Terminated,
    check_settings,
    connect,
    default_runs,
    finished_runs,
    load_table,
    run_ensemble,
    stage_ensemble,
)
from .i18n import Lang
from .io import rounded, write_json
from .plots import Names, fan_chart, save_figure
from .scenario import LoadedScenario, load_scenario

if TYPE_CHECKING:
    from .experiments.compare import Comparison
    from .nowcast.assimilate import AssimilationResult

DEFAULT_SEED = 20210201  # the seed article's publication date


def model_version() -> str:
    """Package version, plus the git commit when run from a checkout."""
    try:
        version = metadata.version("etown-clusters")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return f"{version}+g{commit}" if commit else version


def parameter_uncertainty(calibrated: bool, sampled: bool) -> str:
    """How a run's behavioural parameters were set (recorded in summary.json)."""
    if not sampled:
        return "point estimate" if calibrated else "uncalibrated defaults"
    return "posterior draws, priors for the rest" if calibrated else "prior draws (not calibrated)"


@dataclass
class EnsembleResult:
    """A finished ensemble: its summary and where its files were written.

    `sectors` and `zone` (the tidy per-run tables) are read from out/runs.parquet and
    out/zone.parquet on first access and then kept: nothing holds every run's tables in
    memory unless asked to (for 100,000 runs `sectors` is ~1.5 GB; read the Parquet file with
    filters or columns instead, e.g. pd.read_parquet(out / "runs.parquet", filters=...)).
    """

    summary: dict[str, Any]
    out: Path

    @cached_property
    def sectors(self) -> pd.DataFrame:
        """(run, year, sector) rows: output_yuan, firms, employees."""
        return load_table(self.out / TABLES["sectors"])

    @cached_property
    def zone(self) -> pd.DataFrame:
        """(run, year) rows: the zone metrics."""
        return load_table(self.out / TABLES["zone"])

    def table(self) -> str:
        return headline_table(self.summary)

    def fan_chart(self, names: Names = "en", history: bool = True, lang: Lang | None = None) -> Figure:
        """The report fan chart of this ensemble (a matplotlib Figure; nothing is shown or
        saved). lang="zh" (or names="zh") draws it in Chinese."""
        sectors = self.sectors if (self.out / TABLES["sectors"]).is_file() else None  # else from the bands
        return fan_chart(sectors, self.summary, lang=lang or names, history=history)


def read_summary(folder: str | Path, arg: str = "RESULT") -> dict[str, Any]:
    """summary.json of a finished ensemble folder, checked to have the shape etown writes
    (`check_summary`); EnsembleError (one line, naming the argument `arg` and the file) if there
    is none or it is empty, truncated, garbage or of another kind."""
    folder = Path(folder)
    path = folder / "summary.json"
    if not folder.is_dir():
        raise EnsembleError(f"{arg}: {folder}: not a folder")
    if not path.is_file():
        raise EnsembleError(f"{arg}: {folder}: no summary.json (not a finished ensemble of etown run)")
    data = read_json(path, arg)
    if not isinstance(data, dict) or "clusters" not in data or "years" not in data:
        raise EnsembleError(f"{arg}: {path}: not a summary written by etown run")
    problem = check_summary(data)
    if problem:
        raise EnsembleError(f"{arg}: {path}: not a summary written by etown run: {problem}")
    return data


def check_summary(data: dict[str, Any]) -> str | None:
    """What is wrong with a summary's shape (None: the fields export, show and report use are
    there, with the kinds etown writes)."""
    from pydantic import ValidationError

    from .results import SummaryShape

    try:
        SummaryShape.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return f"{where}: {first['msg']}"[:300]
    return None


def read_json(path: Path, arg: str = "RESULT", limit: int = 256 << 20) -> Any:
    """A result's JSON file; EnsembleError (one line) if it cannot be read (or is over `limit` bytes)."""
    try:
        if path.stat().st_size > limit:
            raise EnsembleError(f"{arg}: {path}: larger than {limit >> 20} MB: not a file etown wrote")
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EnsembleError(f"{arg}: {path}: cannot read: {' '.join(str(exc).split())[:200]}") from None


def load(path: str | Path) -> EnsembleResult | Comparison:
    """A finished result, without rerunning: an ensemble folder (summary.json; `etown run`) as
    an `EnsembleResult`, or a comparison folder (compare.json; `etown compare`) as a
    `Comparison`. EnsembleError (one line) for anything else."""
    folder = Path(path)
    if (folder / "compare.json").is_file():
        from .experiments.compare import load_comparison

        return load_comparison(folder)
    return EnsembleResult(read_summary(folder), folder)


def run(
    scenario: str | Path | LoadedScenario,
    *,
    runs: int | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    out: str | Path | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    scale: float = 1.0,
    persons_per_agent: float = 500.0,
    progress: bool = True,
    point_estimate: bool = False,
    command: str | None = None,
) -> EnsembleResult:
    """Run a scenario file as a Monte Carlo ensemble and write its results.

    runs: replications (default: enough for +-5 points on every probability); out: folder
    (default results/<scenario name>/); scheduler: a Dask scheduler address to run on.
    point_estimate: use the calibrated point for every replication instead of drawing each
    replication's behavioural parameters from the calibrated sample (the default).
    command: how the run was started, recorded in the lock of `out` for a second run to name.

    The output folder is resolved once and locked for the run (a second run on it raises
    EnsembleError naming the holder); the run works in `out/unfinished/` and replaces the
    previous results only when it has finished. SIGINT (KeyboardInterrupt) or a `Terminated`
    raised by a SIGTERM handler end the workers and raise `Interrupted` (runs finished, folder);
    rerun with resume=True to finish.
    """
    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    sc = loaded.scenario
    runs = default_runs() if runs is None else runs
    folder = OutputFolder(out if out is not None else Path("results") / sc.name, "run", RESULT_FILES, (PARTS_DIR,))
    settings = RunSettings(scale=scale, persons_per_agent=persons_per_agent)
    check_settings(runs, seed, workers, settings, scheduler)
    folder.check()
    client = connect(scheduler) if scheduler else None  # before the folder is touched
    spec: EnsembleSpec | None = None

    def saved() -> int:  # runs whose chunks are on disk (what --resume keeps)
        return finished_runs(folder.staging, spec) if spec is not None and folder.staging.is_dir() else 0

    try:
        folder.lock(command or f"model.api.run({str(loaded.path)!r}, runs={runs}, seed={seed})")
        folder.check()  # again, now that no other run can change it
        source = None if point_estimate else default_source()
        settings = RunSettings(scale=scale, persons_per_agent=persons_per_agent, param_source=source)
        spec = EnsembleSpec(sc, runs, seed, settings)
        staging = stage_ensemble(folder, spec, resume)
        started = time.perf_counter()
        with tqdm(total=runs, desc=f"{sc.name}", unit="run", disable=not progress, leave=False) as bar:
            aggregate = run_ensemble(spec, staging, workers=workers, client=client, resume=resume, progress=bar.update)
        summary = rounded(_summary(loaded, spec, aggregate, workers, scheduler, source is not None, started))
        # runs.parquet and zone.parquet were streamed from the parts by run_ensemble
        save_figure(fan_chart(aggregate.fan_frame(), summary), staging / "fan_chart.png")
        write_json(staging / "summary.json", summary)  # last: its presence means the run finished
        folder.commit()  # replaces the previous results in one step
    except KeyboardInterrupt:
        raise Interrupted("SIGINT", saved(), runs, folder.root, folder.staging) from None
    except Terminated:
        raise Interrupted("SIGTERM", saved(), runs, folder.root, folder.staging) from None
    finally:
        if client is not None:
            client.close()
        folder.release()
    return EnsembleResult(summary, folder.root)


def _summary(
    loaded: LoadedScenario,
    spec: EnsembleSpec,
    aggregate: Any,
    workers: int,
    scheduler: str | None,
    sampled: bool,
    started: float,
) -> dict[str, Any]:
    sc, settings = loaded.scenario, spec.settings
    calibrated = load_calibrated()
    return {
        "scenario": sc.name,
        "scenario_sha256": loaded.sha256,
        "seed": spec.seed,
        "runs": spec.runs,
        "model_version": model_version(),
        "years": sc.years,
        **aggregate.summary(sc.end_year),
        "scenario_file": str(loaded.path),
        "scenario_text": loaded.text,
        "settings": {
            "scale": settings.scale,
            "persons_per_agent": settings.persons_per_agent,
            "workers": workers,
            "scheduler": scheduler,
        },
        "calibration": calibrated["provenance"] if calibrated else "uncalibrated defaults (model/data/parameters.yaml)",
        "parameter_uncertainty": parameter_uncertainty(bool(calibrated_sample()), sampled),
        "wall_time_s": round(time.perf_counter() - started, 2),
    }


def compare(
    scenarios: list[str | Path | LoadedScenario],
    *,
    baseline: str | None = None,
    precision: float = 0.05,
    output_precision: float = 1.0,
    max_runs: int = 2000,
    seed: int = DEFAULT_SEED,
    scale: float = 0.1,
    workers: int = 1,
    out: str | Path | None = None,
    scheduler: str | None = None,
    fresh: bool = False,
    point_estimate: bool = False,
    progress: bool = True,
    command: str | None = None,
) -> Comparison:
    """Compare scenarios on common seeds, as `etown compare` does: replications are added until
    every P has a 95% half-width of at most `precision`, every paired difference of P at most
    `precision` and of end-year output at most `output_precision` bn yuan/yr, or `max_runs` runs
    a scenario stop it. Returns the `Comparison` (`.table`: per target cluster and scenario,
    P(>= 100 bn) and end-year output with paired differences to `baseline` (default: the first)
    and their 95% CIs; `.chart()`: the comparison figure; `.capped`: whether the cap stopped it)
    and writes compare.csv/json/png to `out` (default results/compare/; finished blocks in
    `out/parts-compare/`, reused by a rerun). The folder is locked while the comparison runs
    and its results are committed when it has finished (model/outfolder.py); `command`: the
    command line the lock names."""
    from .experiments.compare import run_compare, write_compare
    from .experiments.core import Executor, Precision
    from .outfolder import command_folder

    loaded = [s if isinstance(s, LoadedScenario) else load_scenario(s) for s in scenarios]
    settings = RunSettings(scale=scale, param_source=None if point_estimate else default_source())
    check_settings(max_runs, seed, workers, settings, scheduler)
    files = ("compare.json", "compare.csv", "compare.png")
    client = connect(scheduler) if scheduler else None  # before the folder is touched
    try:
        with command_folder(
            out if out is not None else Path("results") / "compare", "compare", files, parts=True,
            progress=progress, holder=command or "model.api.compare",
        ) as (folder, bar):  # fmt: skip
            cmp = run_compare(
                loaded,
                folder.root,
                baseline=baseline,
                precision=Precision(precision, output_precision, max_runs),
                seed=seed,
                settings=settings,
                executor=Executor(workers, client),
                fresh=fresh,
                progress=bar,
            )
            write_compare(cmp, folder.stage())
            folder.commit()
    finally:
        if client is not None:
            client.close()
    return cmp


def assimilate(
    scenario: str | Path | LoadedScenario,
    observations: str | Path,
    *,
    runs: int | None = None,
    seed: int = DEFAULT_SEED,
    workers: int = 1,
    out: str | Path | None = None,
    scheduler: str | None = None,
    scale: float = 1.0,
    ess_threshold: float = 0.5,
    sweeps: int = 2,
    progress: bool = True,
    command: str | None = None,
    say: Callable[[str], None] | None = None,
    prior: str | Path | None = None,
) -> AssimilationResult:
    """Update a scenario's projection with figures published after its start, as `etown
    assimilate` does (model/nowcast/, docs/nowcasting.md): run the scenario's ensemble (`runs`,
    `seed`) into `out/prior/` or reuse it from there, weight each run by the likelihood of the
    observations under their stated errors, rejuvenate (resample, MCMC moves, re-simulate from
    the last observation) when the effective sample size falls below `ess_threshold` x runs, and
    write the updated ensemble to `out` (default results/<scenario>_nowcast/) in the format of
    `etown run`, with assimilation.json and nowcast.png. `prior`: a finished `etown run` folder
    of the same scenario to update instead (its runs, seed and scale apply). Raises `Collapsed`
    (no updated ensemble written) when the update is no answer (docs/nowcasting.md)."""
    from .nowcast.assimilate import assimilate as _assimilate
    from .nowcast.smc import SMCSettings

    return _assimilate(
        scenario,
        observations,
        runs=runs,
        seed=seed,
        workers=workers,
        out=out,
        scheduler=scheduler,
        scale=scale,
        settings=SMCSettings(ess_threshold=ess_threshold, sweeps=sweeps, seed=seed),
        progress=progress,
        command=command,
        say=say,
        prior=prior,
    )
