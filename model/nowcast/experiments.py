"""Checks of the assimilation without post-2020 zone data.

* `twin_study`: observations generated from runs of known parameters (the "truths", with
  observation noise of the stated size), each assimilated into one prior ensemble; the update
  should narrow the bands around each truth and move P towards its outcome (scores averaged
  over the truths).
* `history_backtest`: history mode (end-2015 start, scenarios/history_2016_2020.yaml) with
  parameters from a fit to data up to 2018 (or, cheaply, the priors); assimilate the zone's
  published 2019 figures and score the 2020 projection (CRPS of logs) with and without them.

Both run their ensembles in memory through the one executor (model/executor.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import BN, EnsembleAggregate, p_key
from ..data import facts
from ..ensemble import TABLES, concat_tables, run_tables
from ..executor import local_pool, run_tasks
from ..inputs import ParamSource
from ..outcomes import crossing_year
from ..scenario import Scenario
from ..score import crps_ensemble
from ..sectors import SECTOR_IDS, TARGET_SECTORS
from .assimilate import particles_from_tables, updated_tables
from .checkpoint import run_from
from .observations import Observation, ObservationModel, record_series
from .smc import CHUNK, ParamPrior, Simulator, SMCResult, SMCSettings, sample


def prior_chunk(
    sim: Simulator, source: ParamSource, items: list[tuple[int, np.random.SeedSequence]]
) -> list[tuple[pd.DataFrame, ...]]:
    """Run ensemble runs (run id, seed) drawing their parameters from `source`; their tables."""
    out = []
    for run, seed in items:
        m = run_from(sim.build(source, seed))
        out.append(run_tables(run, m.record, m.inputs, sim.scenario))
    return out


@dataclass
class Update:
    """An ensemble in memory before and after an update."""

    prior: dict[str, pd.DataFrame]
    updated: dict[str, pd.DataFrame]
    result: SMCResult
    obs: ObservationModel
    prior_sims: np.ndarray
    wall_time_s: float

    def diagnostics(self) -> dict[str, Any]:
        """Each observation's prior and updated p10/p50/p90, the ESS, stages and time."""
        n = len(self.obs.labels)
        return {
            "observed_prior": [_bands(self.prior_sims[:, k]) for k in range(n)],
            "observed_updated": [_bands(self.result.particles.sims[:, k]) for k in range(n)],
            "ess_prior": self.result.ess_prior,
            "rejuvenations": self.result.rejuvenations,
            "stages": len(self.result.stages),
            "distinct_pasts": self.result.distinct,
            "prefix_runs": self.result.prefix_runs,
            "wall_time_s": self.wall_time_s,
        }


Runner = Callable[[Callable[..., Any], Sequence[tuple[Any, ...]]], Any]


def prior_ensemble(
    sim: Simulator,
    source: ParamSource,
    runs: int,
    seed: int,
    runner: Runner,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, pd.DataFrame], list[np.random.SeedSequence]]:
    """An ensemble of `runs` runs in memory (run r seeded SeedSequence(seed, spawn_key=(r,)), its
    parameters drawn from `source`): its tables by kind and the runs' seeds."""
    seeds = [np.random.SeedSequence(seed, spawn_key=(r,)) for r in range(runs)]
    items = list(enumerate(seeds))
    pieces: list[tuple[pd.DataFrame, ...]] = []
    for _, tables in runner(prior_chunk, [(sim, source, items[i : i + CHUNK]) for i in range(0, runs, CHUNK)]):
        pieces.extend(tables)
        if progress:
            progress(len(tables))
    pieces.sort(key=lambda t: int(t[0]["run"].iloc[0]))
    return dict(zip(TABLES, concat_tables(pieces), strict=True)), seeds


def update_ensemble(
    prior: dict[str, pd.DataFrame],
    seeds: list[np.random.SeedSequence],
    sim: Simulator,
    source: ParamSource,
    observations: Sequence[Observation],
    settings: SMCSettings,
    runner: Runner,
    progress: Callable[[int], None] | None = None,
) -> Update:
    """A prior ensemble (prior_ensemble) updated with the observations, in memory."""
    started = time.perf_counter()
    obs = ObservationModel.build(list(observations), sim.scenario.start_year)
    particles = particles_from_tables(prior, seeds, obs)
    result = sample(particles, obs, sim, ParamPrior.from_source(source, sim.scenario), settings, runner, progress)
    updated = updated_tables(result.particles, prior, sim, obs, settings.seed, runner)
    return Update(
        prior, dict(zip(TABLES, updated, strict=True)), result, obs, particles.sims, time.perf_counter() - started
    )


def run_update(
    sim: Simulator,
    source: ParamSource,
    observations: Sequence[Observation],
    *,
    runs: int,
    seed: int,
    settings: SMCSettings | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Update:
    """A prior ensemble of `runs` runs updated with the observations; everything in memory;
    wall_time_s includes the prior ensemble."""
    started = time.perf_counter()
    with local_pool(workers) as pool:

        def runner(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Any:
            return run_tasks(fn, tasks, workers=workers, pool=pool)

        prior, seeds = prior_ensemble(sim, source, runs, seed, runner, progress)
        up = update_ensemble(
            prior, seeds, sim, source, observations, settings or SMCSettings(seed=seed), runner, progress
        )
    up.wall_time_s = time.perf_counter() - started
    return up


def _bands(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


def _summary(tables: dict[str, pd.DataFrame], end_year: int) -> dict[str, Any]:
    return EnsembleAggregate.from_frames(tables["sectors"], tables["zone"]).summary(end_year)


def _series(tables: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    q = tables["quarters"].sort_values(["run", "year", "quarter"])
    n = q["run"].nunique()
    return {c: q[c].to_numpy(dtype=float).reshape(n, -1) for c in q.columns if c not in ("run", "year", "quarter")}


# ---------------------------------------------------------------------- twin experiment
TWIN_OBSERVATIONS = (
    ("cluster_output_bn", "ngit", "2021Q1-2021Q3", 0.03),
    ("gdp_bn", None, "2021", 0.03),
    ("industrial_output_bn", None, "2021H1", 0.03),
)
"""The twin experiment's observations: (metric, cluster, period, rel_error)."""


def twin_observations(
    sim: Simulator,
    source: ParamSource,
    truth_seed: int,
    observed: Sequence[tuple[str, str | None, str, float]] = TWIN_OBSERVATIONS,
) -> tuple[Any, np.ndarray, list[Observation]]:
    """The truth run (seed `truth_seed`, parameters drawn from `source`), its exact values of
    `observed` and the observations: those values with a normal error of the stated size."""
    truth = run_from(sim.build(source, np.random.SeedSequence(truth_seed)))
    shells = [
        Observation(metric=m, cluster=c, period=p, value=1.0, rel_error=e, source="synthetic")
        for m, c, p, e in observed
    ]
    exact = ObservationModel.build(shells, sim.scenario.start_year).simulate(record_series(truth.record))
    noise = np.random.default_rng(np.random.SeedSequence(truth_seed, spawn_key=(1,))).standard_normal(len(shells))
    values = exact * (1.0 + np.array([o.rel_error for o in shells]) * noise)
    observations = [
        o.model_copy(update={"value": float(v), "source": f"twin experiment (synthetic): run seed {truth_seed}"})
        for o, v in zip(shells, values, strict=True)
    ]
    return truth, exact, observations


def twin_study(
    scenario: Scenario,
    source: ParamSource,
    *,
    runs: int,
    seed: int,
    truths: int,
    truth_base: int = 1000,
    scale: float = 0.1,
    observed: Sequence[tuple[str, str | None, str, float]] = TWIN_OBSERVATIONS,
    settings: SMCSettings | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The twin experiment repeated over `truths` truth runs (seeds truth_base, truth_base + 1,
    ...; parameters drawn from `source`), each assimilated into the same prior ensemble: mean
    scores against the truths before and after, and how often rejuvenation was needed.

    Scores: Brier score of P(>= 100 bn by the end year) of each target cluster against whether
    the truth crossed; CRPS (bn yuan) of each target cluster's output in the year after the last
    observation and in the end year, and of each observed quantity, against the truth."""
    sim = Simulator(scenario, scale)
    end = scenario.end_year
    rows: list[dict[str, Any]] = []
    with local_pool(workers) as pool:

        def runner(fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Any:
            return run_tasks(fn, tasks, workers=workers, pool=pool)

        prior, seeds = prior_ensemble(sim, source, runs, seed, runner, progress)
        before = _summary(prior, end)
        for t in range(truths):
            truth, exact, observations = twin_observations(sim, source, truth_base + t, observed)
            up = update_ensemble(prior, seeds, sim, source, observations, settings or SMCSettings(seed=seed), runner)
            after = _summary(up.updated, end)
            rec = truth.record
            cross = dict(zip(SECTOR_IDS, crossing_year(rec.sector_output, rec.years), strict=True))
            year = min(end, max(o.quarters[1] for o in observations) // 4 + 1)
            row: dict[str, Any] = {"truth_seed": truth_base + t, **up.diagnostics()}
            for s in TARGET_SECTORS:
                outcome = float(cross[s] <= end)  # NaN (never crossed) compares False
                i = SECTOR_IDS.index(s)
                row[f"brier.{s}"] = {
                    name: (summary["clusters"][s][p_key(end)] - outcome) ** 2
                    for name, summary in (("prior", before), ("updated", after))
                }
                for y in (year, end):
                    x = float(truth.record.sector_output[truth.record.years.index(y), i] / BN)
                    row[f"crps.{s}.{y}"] = {
                        name: float(crps_ensemble(_year_output(tables, s, y), x))
                        for name, tables in (("prior", prior), ("updated", up.updated))
                    }
            for k, o in enumerate(observations):
                row[f"crps.{o.label}"] = {
                    "prior": float(crps_ensemble(up.prior_sims[:, k], exact[k])),
                    "updated": float(crps_ensemble(up.result.particles.sims[:, k], exact[k])),
                }
            rows.append(row)
            if progress:
                progress(0)
    keys = [k for k in rows[0] if k.startswith(("brier.", "crps."))]
    scores = {}
    for k in keys:
        p, u = (float(np.mean([r[k][name] for r in rows])) for name in ("prior", "updated"))
        scores[k] = {"prior": p, "updated": u, "skill": 1.0 - u / p if p > 0 else None}
    brier = {
        name: float(np.mean([r[k][name] for r in rows for k in keys if k.startswith("brier.")]))
        for name in ("prior", "updated")
    }
    rejuvenations = [r["rejuvenations"] for r in rows]
    return {
        "runs": runs,
        "scale": scale,
        "truths": truths,
        "observed": [list(o) for o in observed],
        "scores": scores,
        "brier_targets": brier,
        "rejuvenated_share": float(np.mean([n > 0 for n in rejuvenations])),
        "rejuvenations_mean": float(np.mean(rejuvenations)),
        "rejuvenations_max": int(max(rejuvenations)),
        "ess_prior_median": float(np.median([r["ess_prior"] for r in rows])),
        "distinct_pasts_min": int(min(r["distinct_pasts"] for r in rows)),
        "per_truth": rows,
    }


def _year_output(tables: dict[str, pd.DataFrame], sector: str, year: int) -> np.ndarray:
    s = tables["sectors"]
    return s.loc[(s["sector"] == sector) & (s["year"] == year), "output_yuan"].to_numpy() / BN


# ---------------------------------------------------------------------- history backtest
BACKTEST_OBSERVED = (
    ("gdp_bn", "gdp_yuan", 0.03),
    ("industrial_output_bn", "industrial_output_yuan", 0.03),
    ("firms", "firms", 0.10),
)
"""The published figures assimilated in the backtest: (metric, zone_facts.yaml key, rel_error).
GDP and industrial output are official annual figures (3%: revisions and scope); the firm count
is "over 26,000" in a speech (10%)."""
BACKTEST_SCORED = {
    "gdp": "gdp_yuan",
    "industrial_output": "industrial_output_yuan",
    "firms": "firms",
    "high_tech_firms": "high_tech_firms",
}
"""Zone metric -> zone_facts.yaml key scored in the year after the observations."""


def backtest_observations(year: int = 2019) -> list[Observation]:
    """The zone's published `year` figures (zone_facts.yaml) as observations."""
    zone = facts()["zone"]
    out = []
    for metric, key, err in BACKTEST_OBSERVED:
        node = zone[key][year]
        value = float(node["value"]) / (BN if metric.endswith("_bn") else 1.0)
        out.append(Observation(metric=metric, period=str(year), value=value, rel_error=err, source=str(node["source"])))
    return out


def history_backtest(
    source: ParamSource,
    *,
    runs: int,
    seed: int,
    scale: float = 0.1,
    observed_year: int = 2019,
    settings: SMCSettings | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """History runs (end-2015 to end-2020) with parameters from `source`; assimilate the
    published `observed_year` figures; score the following year against the data (CRPS of log
    values, coverage of the 80% band) before and after."""
    from ..calibration.history import history_scenario

    sc = history_scenario()
    sim = Simulator(sc, scale, history_split=True)
    observations = backtest_observations(observed_year)
    up = run_update(
        sim, source, observations, runs=runs, seed=seed, settings=settings, workers=workers, progress=progress
    )
    year = observed_year + 1
    zone = facts()["zone"]
    scored = []
    for metric, key in BACKTEST_SCORED.items():
        y = float(zone[key][year]["value"])
        row: dict[str, Any] = {"metric": metric, "year": year, "observed": y}
        for name, tables in (("prior", up.prior), ("updated", up.updated)):
            z = tables["zone"]
            v = z.loc[z["year"] == year, metric].to_numpy(dtype=float)
            row[name] = {
                **_bands(v),
                "crps_log": float(crps_ensemble(np.log(v), math.log(y))),
                "inside_80": bool(np.quantile(v, 0.1) <= y <= np.quantile(v, 0.9)),
            }
        scored.append(row)
    mean = {name: float(np.mean([r[name]["crps_log"] for r in scored])) for name in ("prior", "updated")}
    return {
        "runs": runs,
        "scale": scale,
        "observed": [{"label": o.label, "value": o.value, "rel_error": o.rel_error} for o in observations],
        "scored": scored,
        "mean_crps_log": mean,
        "crpss_log": 1.0 - mean["updated"] / mean["prior"] if mean["prior"] > 0 else None,
        **up.diagnostics(),
    }
