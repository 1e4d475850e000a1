"""`etown assimilate` / `api.assimilate`: run (or reuse) a scenario's ensemble, update it with
observations (smc.py) and write the updated ensemble like any `etown run` result.

The output folder (`--out`, default results/<scenario>_nowcast/) holds:
  prior/            the prior ensemble (an `etown run` result; reused by the next assimilation
                    into the same folder with the same scenario, runs, seed and scale)
  summary.json, runs.parquet, zone.parquet, inputs.parquet, quarters.parquet, fan_chart.png
                    the updated ensemble, in the format of `etown run` (export, score ... read
                    it); summary.json has an `assimilation` section; inputs.parquet says per run
                    which prior run it descends from (nowcast.parent), whether a move changed
                    its parameters or path (nowcast.moved) and whether its future after the last
                    observation is its own (nowcast.own_future) or a branch of a shared past
  assimilation.json the diagnostics: observations with their prior and updated ranges, ESS,
                    tempering stages, acceptance, which observations moved what, timings
  nowcast.png       prior band, updated band and the observations, quarter by quarter
When the update collapses (too few distinct runs fit the observations), no updated ensemble is
written: assimilation.json and nowcast.png say what happened and `Collapsed` is raised.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..analysis import EnsembleAggregate, p_key, wilson_interval
from ..calibration.store import default_source
from ..ensemble import (
    PARTS_DIR,
    RESULT_FILES,
    STAGING_DIR,
    TABLES,
    EnsembleError,
    EnsembleSpec,
    Interrupted,
    OutputFolder,
    RunSettings,
    check_settings,
    concat_tables,
    load_table,
)
from ..executor import local_pool, run_tasks
from ..io import rounded, write_atomic, write_json
from ..plots import fan_chart, save_figure
from ..scenario import LoadedScenario, load_scenario
from ..score import ObservationsError
from ..store import PartStore
from .observations import LoadedObservations, ObservationModel, check_periods, load_observations
from .report import (
    before_after_table,
    effects_table,
    nowcast_figure,
    observation_effects,
    parameter_shifts,
    parameters_text,
    stages_text,
)
from .smc import (
    CHUNK,
    PARAM_NAMES,
    ParamPrior,
    Particles,
    ReplayError,
    Simulator,
    SMCResult,
    SMCSettings,
    branch_seed,
    final_groups,
    observe,
    sample,
    simulate_group,
)

PRIOR_DIR = "prior"
EXTRA_FILES = ("assimilation.json", "nowcast.png")
NOWCAST_COLUMNS = ("nowcast.parent", "nowcast.moved", "nowcast.own_future")


class Collapsed(RuntimeError):
    """The update gave no answer (the ensemble collapsed); str() is the one-line explanation."""


@dataclass
class AssimilationResult:
    """A finished assimilation: the updated summary, the prior's, the diagnostics, the folder."""

    summary: dict[str, Any]
    prior: dict[str, Any]
    report: dict[str, Any]
    out: Path

    def table(self) -> str:
        """Headline before and after, how the update went, which observations moved what."""
        r = self.report
        return "\n\n".join(
            [
                before_after_table(self.prior, self.summary),
                r["diagnostics_text"],
                "which observations moved what (each alone, as weights on the prior ensemble):\n"
                + effects_table(r["effects"], r["runs"]),
                parameters_text(r["parameters"]),
            ]
        )


# ---------------------------------------------------------------------- the prior ensemble
def _prior_usable(folder: Path, loaded: LoadedScenario, spec: EnsembleSpec) -> bool:
    """A finished prior ensemble of this scenario, runs, seed and settings, with quarterly records."""
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    settings = s.get("settings", {})
    return (
        s.get("scenario_sha256") == loaded.sha256
        and s.get("runs") == spec.runs
        and s.get("seed") == spec.seed
        and settings.get("scale") == spec.settings.scale
        and settings.get("persons_per_agent") == spec.settings.persons_per_agent
        and "draws" in str(s.get("parameter_uncertainty", ""))  # parameters sampled, not a point
        and (folder / TABLES["quarters"]).is_file()
        and (folder / TABLES["inputs"]).is_file()
    )


def _given_prior(folder: Path, loaded: LoadedScenario) -> tuple[int, int, float, float]:
    """(runs, seed, scale, persons per agent) of a finished ensemble given as --prior."""
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        settings = s["settings"]
        return int(s["runs"]), int(s["seed"]), float(settings["scale"]), float(settings["persons_per_agent"])
    except (OSError, ValueError, KeyError, TypeError):
        raise EnsembleError(f"--prior: {folder}: no summary.json of a finished `etown run`") from None


def _resumable(folder: Path, spec: EnsembleSpec) -> bool:
    """Saved parts of this very ensemble in `folder` (so `etown run --resume` can use them)."""
    return any(
        PartStore.existing(parts, "ensemble", spec.fingerprint()) is not None
        for parts in (folder / STAGING_DIR / PARTS_DIR, folder / PARTS_DIR)
    )


def prior_particles(
    folder: Path, spec: EnsembleSpec, obs: ObservationModel
) -> tuple[Particles, dict[str, pd.DataFrame]]:
    """The runs of a finished ensemble as particles (parameters from inputs.parquet, seeds from the
    spec, observed quantities from quarters.parquet), and its tables by kind (TABLES)."""
    tables = {kind: load_table(folder / name) for kind, name in TABLES.items()}
    runs = np.sort(tables["inputs"]["run"].to_numpy())
    if not np.array_equal(runs, np.arange(spec.runs)):
        raise EnsembleError(f"{folder}: inputs.parquet does not hold runs 0-{spec.runs - 1}; rerun the prior ensemble")
    missing = [n for n in PARAM_NAMES if f"param.{n}" not in tables["inputs"]]
    if missing:
        raise EnsembleError(f"{folder}: inputs.parquet has no column param.{missing[0]}; rerun the prior ensemble")
    return particles_from_tables(tables, [spec.run_seed(r) for r in range(spec.runs)], obs), tables


def particles_from_tables(
    tables: dict[str, pd.DataFrame], seeds: list[np.random.SeedSequence], obs: ObservationModel
) -> Particles:
    """Particles of runs 0..n-1 from their result tables: parameters from the inputs table
    (param.*), observed quantities from the quarters table; `seeds[r]` is run r's seed."""
    n = len(seeds)
    inputs = tables["inputs"].sort_values("run")
    theta = inputs[[f"param.{name}" for name in PARAM_NAMES]].to_numpy(dtype=float)
    q = tables["quarters"].sort_values(["run", "year", "quarter"])
    steps = len(q) // n
    series = {c: q[c].to_numpy(dtype=float).reshape(n, steps) for c in q.columns if c not in ("run", "year", "quarter")}
    return Particles(theta, list(seeds), obs.simulate(series), np.arange(n), np.zeros(n, dtype=bool))


# ---------------------------------------------------------------------- the updated ensemble
def updated_tables(
    particles: Particles,
    prior: dict[str, pd.DataFrame],
    sim: Simulator,
    obs: ObservationModel,
    entropy: int,
    runner: Callable[..., Any],
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, ...]:
    """The updated ensemble's tables (TABLES order), run i being particle i: a particle that is
    still a prior run keeps that run's tables for its first copy; every other copy is simulated
    from the particle's checkpoint at the last observation, the first with its own future, the
    others with branched ones."""
    reuse: list[tuple[int, int]] = []
    tasks = []
    own: dict[int, bool] = {}
    for p, runs in final_groups(particles):
        copies = [(r, None if i == 0 else branch_seed(entropy, r)) for i, r in enumerate(runs)]
        own.update({r: b is None for r, b in copies})
        if not particles.moved[p]:
            reuse.append((runs[0], int(particles.parent[p])))
            copies = copies[1:]
        for i in range(0, len(copies), CHUNK):
            tasks.append((sim, obs, particles.theta[p], particles.seeds[p], particles.sims[p], copies[i : i + CHUNK]))
    pieces: list[tuple[pd.DataFrame, ...]] = []
    for _, tables in runner(simulate_group, tasks):
        pieces.extend(tables)
        if progress:
            progress(len(tables))
    by_run = {kind: dict(tuple(frame.groupby("run", sort=False, observed=True))) for kind, frame in prior.items()}
    for new, parent in reuse:
        pieces.append(tuple(by_run[kind][parent].assign(run=np.int32(new)) for kind in TABLES))
    out = list(concat_tables(pieces))
    for k, kind in enumerate(TABLES):
        keys = (
            ["run", "year", "sector"]
            if kind == "sectors"
            else ["run", "year", "quarter"]
            if kind == "quarters"
            else ["run", "year"]
            if kind == "zone"
            else ["run"]
        )
        out[k] = out[k].astype({"run": np.int32}).sort_values(keys, kind="stable").reset_index(drop=True)
    k = list(TABLES).index("inputs")
    run = out[k]["run"].to_numpy()
    lineage = pd.DataFrame(
        {
            "nowcast.parent": particles.parent[run].astype(np.int32),
            "nowcast.moved": particles.moved[run],
            "nowcast.own_future": [own[r] for r in run],
        }
    )
    out[k] = pd.concat([out[k].drop(columns=[c for c in NOWCAST_COLUMNS if c in out[k]]), lineage], axis=1)
    return tuple(out)


def _observation_rows(
    loaded: LoadedObservations, obs: ObservationModel, prior: np.ndarray, updated: np.ndarray | None
) -> list[dict[str, Any]]:
    rows = []
    for k, o in enumerate(loaded.observations):
        row: dict[str, Any] = {**o.model_dump(), "label": obs.labels[k]}
        for name, sims in (("prior", prior), ("updated", updated)):
            if sims is None:
                continue
            p10, p50, p90 = np.quantile(sims[:, k], [0.1, 0.5, 0.9])
            row[name] = {"p10": p10, "p50": p50, "p90": p90}
            row[f"{name}_z"] = float((p50 - o.value) / np.hypot(o.sd, np.std(sims[:, k])))
        rows.append(row)
    return rows


CONFLICT_SD = 4.0
"""An observation further than this many standard deviations (its error and the updated runs'
spread together) from the updated runs is at odds with the model: no answer is given."""


def _failure(
    result: SMCResult, obs: ObservationModel, rows: list[dict[str, Any]], settings: SMCSettings, runs: int
) -> tuple[str, str | None]:
    """("updated", None), or the status and the one-line message of an update that is no answer:
    the ensemble collapsed (tempering did not reach the observations, or too few distinct pasts
    are left), or an observation is at odds with every run the update could find."""
    what = (
        f"(ESS of the prior weighted by the observations {result.ess_prior:.1f} of {runs}; "
        f"{result.rejuvenations} rejuvenation(s), {result.prefix_runs} runs to the last observation); "
        "no updated projection is reported"
    )
    if result.collapsed(settings):
        why = (
            f"the observations pulled it beyond what {settings.max_stages} tempering stages reach"
            if not result.reached
            else f"only {result.distinct} of {runs} runs have distinct pasts that fit the observations"
        )
        worst = max(rows, key=lambda r: abs(r["prior_z"]))
        pr = worst["prior"]
        return "collapsed", (
            f"the ensemble collapsed: {why} {what}; most at odds: {worst['label']} = {worst['value']:g} against "
            f"{pr['p10']:.4g}-{pr['p90']:.4g} in the prior ensemble (p10-p90); check its value, units and period, "
            "or widen its rel_error"
        )
    z = obs.misfit(result.particles.sims)
    k = int(np.argmax(np.abs(z)))
    if abs(z[k]) > CONFLICT_SD:
        up = rows[k]["updated"]
        return "conflict", (
            f"the observations are at odds with the ensemble: {rows[k]['label']} = {rows[k]['value']:g} lies "
            f"{abs(z[k]):.0f} sd from the updated runs ({up['p10']:.4g}-{up['p90']:.4g}, p10-p90) {what}; check its "
            "value, units and period, or widen its rel_error"
        )
    return "updated", None


# ---------------------------------------------------------------------- the command
def assimilate(
    scenario: str | Path | LoadedScenario,
    observations: str | Path,
    *,
    runs: int | None = None,
    seed: int,
    workers: int = 1,
    out: str | Path | None = None,
    scheduler: str | None = None,
    scale: float = 1.0,
    persons_per_agent: float = 500.0,
    settings: SMCSettings | None = None,
    progress: bool = True,
    command: str | None = None,
    say: Callable[[str], None] | None = None,
    prior: str | Path | None = None,
) -> AssimilationResult:
    """Update a scenario's ensemble with observations (see the module docstring); the prior
    ensemble is run with `runs` and `seed` into OUT/prior (or reused from there), or, with
    `prior`, taken from that finished `etown run` folder of the same scenario (its runs, seed and
    scale then apply)."""
    from ..api import _summary, run
    from ..ensemble import connect, default_runs

    started = time.perf_counter()
    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    sc = loaded.scenario
    obs_file = load_observations(observations)
    check_periods(obs_file, sc)
    if prior is not None:
        runs, seed, scale, persons_per_agent = _given_prior(Path(prior), loaded)
    runs = default_runs() if runs is None else runs
    smc_settings = settings or SMCSettings(seed=seed)
    if not 0.0 < smc_settings.ess_threshold <= 1.0:
        raise EnsembleError(f"--ess-threshold: must be in (0, 1], got {smc_settings.ess_threshold:g}")
    source = default_source()
    run_settings = RunSettings(scale=scale, persons_per_agent=persons_per_agent, param_source=source)
    check_settings(runs, seed, workers, run_settings, scheduler)
    spec = EnsembleSpec(sc, runs, seed, run_settings)
    obs = ObservationModel.build(obs_file.observations, sc.start_year)
    folder = OutputFolder(
        out if out is not None else Path("results") / f"{sc.name}_nowcast",
        "assimilate",
        ("summary.json", *[f for f in RESULT_FILES if f != "summary.json"], *EXTRA_FILES),
        (PARTS_DIR, PRIOR_DIR),
    )
    folder.check()
    prior_dir = folder.root / PRIOR_DIR if prior is None else Path(os.path.realpath(prior))
    if prior is not None and prior_dir == folder.root:
        raise EnsembleError(f"--prior: {prior} is the output folder; the update needs a folder of its own (--out)")
    if prior is not None and not _prior_usable(prior_dir, loaded, spec):
        raise EnsembleError(
            f"--prior: {prior} is not a finished `etown run` of {loaded.path} with quarterly records and sampled "
            "parameters (rerun it with this version, without --point-estimate)"
        )
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        client = connect(scheduler) if scheduler else None
        if client is not None:
            stack.callback(client.close)
        folder.lock(command or f"model.api.assimilate({str(loaded.path)!r}, {str(obs_file.path)!r})")
        stack.callback(folder.release)
        folder.check()
        if prior is None:
            folder.own(PRIOR_DIR)
        # 1. the prior ensemble
        t = time.perf_counter()
        if not _prior_usable(prior_dir, loaded, spec):
            if say:
                say(f"running the prior ensemble ({runs} runs) into {prior_dir}")
            try:
                run(
                    loaded,
                    runs=runs,
                    seed=seed,
                    workers=workers,
                    out=prior_dir,
                    scheduler=scheduler,
                    resume=_resumable(prior_dir, spec),
                    scale=scale,
                    persons_per_agent=persons_per_agent,
                    progress=progress,
                    command=command,
                )
            except Interrupted as exc:  # the command to resume is this one, on this folder
                raise Interrupted(exc.signame, exc.done, exc.total, folder.root, exc.kept) from None
        elif say:
            say(f"reusing the prior ensemble in {prior_dir}")
        timings["prior_s"] = time.perf_counter() - t
        prior_summary = json.loads((prior_dir / "summary.json").read_text(encoding="utf-8"))
        particles, prior_tables = prior_particles(prior_dir, spec, obs)
        sim = Simulator(sc, scale, persons_per_agent)
        check = observe(sim.prefix(particles.theta[0], particles.seeds[0], obs), obs)
        if not np.allclose(check, particles.sims[0], rtol=1e-12, atol=0.0):
            raise ReplayError(
                f"{prior_dir}: its runs do not replay (made by another model version or calibration); "
                "delete it or choose another --out"
            )
        prior_agg = EnsembleAggregate.from_frames(prior_tables["sectors"], prior_tables["zone"])
        effects = observation_effects(prior_agg, obs, particles.sims, sc.end_year)
        # 2. the update
        t = time.perf_counter()
        pool = stack.enter_context(local_pool(workers)) if client is None else None

        def runner(fn: Callable[..., Any], tasks: list[tuple[Any, ...]]) -> Any:
            return run_tasks(fn, tasks, workers=workers, client=client, pool=pool)

        prior_dist = ParamPrior.from_source(source, sc)
        with tqdm(desc="weights", unit="run", disable=not progress, leave=False) as bar:

            def on_stage(stage: int, total: int) -> None:
                bar.reset(total=total)
                bar.set_description(f"rejuvenation {stage} (runs to the last observation)")

            result = sample(particles, obs, sim, prior_dist, smc_settings, runner, bar.update, on_stage)
        timings["update_s"] = time.perf_counter() - t
        rows = _observation_rows(obs_file, obs, particles.sims, result.particles.sims)
        diagnostics = stages_text(result, smc_settings, runs)
        status, failure = _failure(result, obs, rows, smc_settings, runs)
        report: dict[str, Any] = {
            "status": status,
            "scenario": sc.name,
            "observations_file": str(obs_file.path),
            "observations_sha256": obs_file.sha256,
            "observations_description": obs_file.description,
            "observations": rows,
            "overlap_warnings": obs_file.overlaps(),
            "runs": runs,
            "prior_folder": str(prior_dir),
            "settings": asdict(smc_settings),
            "ess_prior": result.ess_prior,
            "ess_threshold_runs": smc_settings.ess_threshold * runs,
            "rejuvenations": result.rejuvenations,
            "stages": [asdict(s) for s in result.stages],
            "prefix_runs": result.prefix_runs,
            "distinct_pasts": result.distinct,
            "effects": effects,
            "diagnostics_text": diagnostics,
        }
        if failure:
            timings["total_s"] = time.perf_counter() - started
            report["timings_s"] = timings
            report["message"] = failure
            staging = folder.stage()  # the diagnostics are committed like any result
            write_json(staging / "assimilation.json", rounded(report))
            save_figure(
                nowcast_figure(
                    prior_tables["quarters"],
                    None,
                    list(obs_file.observations),
                    prior_summary,
                    note=obs_file.description,
                ),
                staging / "nowcast.png",
            )
            folder.commit()
            raise Collapsed(f"{report['message']}; diagnostics: {folder.root / 'assimilation.json'}")
        # 3. the updated ensemble
        t = time.perf_counter()
        staging = folder.stage()
        todo = runs - sum(1 for p, _ in final_groups(result.particles) if not result.particles.moved[p])
        with tqdm(total=todo, desc="updated ensemble", unit="run", disable=not progress, leave=False) as bar:
            tables = updated_tables(result.particles, prior_tables, sim, obs, smc_settings.seed, runner, bar.update)
        timings["updated_runs_s"] = time.perf_counter() - t
        for name, frame in zip(TABLES.values(), tables, strict=True):
            write_atomic(staging / name, lambda p, f=frame: f.to_parquet(p, index=False))
        kinds = list(TABLES)
        aggregate = EnsembleAggregate.from_frames(tables[kinds.index("sectors")], tables[kinds.index("zone")])
        summary = _summary(loaded, spec, aggregate, workers, scheduler, True, started)
        _effective_intervals(summary, result.distinct)
        summary["parameter_uncertainty"] = "prior ensemble's parameters updated by the observations"
        timings["total_s"] = time.perf_counter() - started
        report["timings_s"] = timings
        summary["assimilation"] = {
            "observations_file": str(obs_file.path),
            "observations_sha256": obs_file.sha256,
            "observations": [r["label"] for r in rows],
            "prior_folder": str(prior_dir),
            "ess_prior": result.ess_prior,
            "rejuvenations": result.rejuvenations,
            "distinct_pasts": result.distinct,
            "seed": smc_settings.seed,
        }
        summary = rounded(summary)
        report["parameters"] = parameter_shifts(prior_tables["inputs"], tables[kinds.index("inputs")])
        report["before"] = _headline(prior_summary)
        report["after"] = _headline(summary)
        save_figure(fan_chart(aggregate.fan_frame(), summary), staging / "fan_chart.png")
        save_figure(
            nowcast_figure(
                prior_tables["quarters"],
                tables[kinds.index("quarters")],
                list(obs_file.observations),
                summary,
                note=obs_file.description,
            ),
            staging / "nowcast.png",
        )
        write_json(staging / "assimilation.json", rounded(report))
        write_json(staging / "summary.json", summary)
        folder.commit()
    return AssimilationResult(summary, prior_summary, report, folder.root)


def _effective_intervals(summary: dict[str, Any], n_eff: int) -> None:
    """95% intervals of the probabilities with the number of distinct pasts as the sample size
    (copies that share a past up to the last observation are not independent runs)."""
    key = p_key(int(summary["end_year"]))
    for c in summary["clusters"].values():
        c["p_ci95"] = list(wilson_interval(round(c[key] * n_eff), n_eff))
    summary["p_all_four_ci95"] = list(wilson_interval(round(summary["p_all_four_targets"] * n_eff), n_eff))
    summary["effective_runs"] = n_eff


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    key = p_key(int(summary["end_year"]))
    return {
        sid: {"p": c[key], "p_ci95": c["p_ci95"], "median_cross_year": c["median_cross_year"]}
        for sid, c in summary["clusters"].items()
    } | {"p_all_four_targets": summary["p_all_four_targets"]}


__all__ = ["AssimilationResult", "Collapsed", "ObservationsError", "assimilate"]
