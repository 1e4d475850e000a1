"""Which parameters can the 2015-2020 data inform? Morris screening of the history moments.

Every free parameter is varied over its prior (a Morris design in prior-quantile space, so each
level is a prior quantile: SALib, Morris 1991 / Campolongo et al. 2007); each design point runs
`reps` history replications with the same seeds (common random numbers) and the 2015 split at
its central value. The outcome of a point is each Gaussian calibration moment divided by its
error sd (measurement error and model discrepancy, moments.py) and each stylised fact divided by
its band's sd, so an elementary effect of 1 means "moving this parameter by a Morris step moves
this moment by one error sd". A parameter's score is its largest mu* over the moments; the
calibration fits those scoring at least `THRESHOLD` (the rest are marginalised over their
priors), except sector-shock volatilities (`NOT_IDENTIFIABLE`). Runs on the one executor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..executor import run_tasks
from ..params import Params, param_specs
from .history import run_history
from .moments import band_excess, run_moments, targets, transform

THRESHOLD = 2.5
"""Score above which a parameter is screened in: parameters with no plausible channel to the
history moments (deadweight_talent, vacancy_pull, deadweight_rent) score ~2 through noise (a
changed parameter changes which random numbers later draws use), so a threshold of 1 would select
noise."""
NOT_IDENTIFIABLE = ("shock_sd_", "shock_common_share")
"""Never selected: sector-shock volatilities scale the realised shocks (so they move one history's
moments), but one five-year history of one zone cannot estimate a volatility; their priors come
from the sector series."""
LEVELS = 4


def _points(names: Sequence[str], U: np.ndarray, seeds: list, scale: float) -> list[dict[str, float]]:
    specs = param_specs()
    out = []
    for u in U:
        values = {n: float(specs[n].prior.ppf(ui)) for n, ui in zip(names, u, strict=True)}
        ms = []
        for s in seeds:
            with contextlib.suppress(ValueError, FloatingPointError, ZeroDivisionError):
                ms.append(run_moments(run_history(Params(values), s, scale, None, sample_split=False)))
        out.append({k: float(np.nanmean([m[k] for m in ms])) for k in ms[0]} if ms else {})
    return out


def outcomes(moment_sets: list[dict[str, float]]) -> tuple[list[str], np.ndarray]:
    """Moments in error-sd units: (names, array [points, moments])."""
    tg = [t for t in targets() if t.in_distance]
    cols = []
    for t in tg:
        v = np.array([m.get(t.name, np.nan) for m in moment_sets], dtype=float)
        cols.append(transform(t, v) / t.tol if t.kind != "band" else (v - t.observed) / t.sd_obs)
    return [t.name for t in tg], np.column_stack(cols)


def screen(
    trajectories: int = 6, reps: int = 2, scale: float = 0.05, seed: int = 2016, workers: int = 2, client: Any = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Morris screening; returns (ranking: parameter, score, top moment, selected) and the long
    table of mu* per (parameter, moment)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    names = list(param_specs())
    prob = {"num_vars": len(names), "names": names, "bounds": [[0.02, 0.98]] * len(names)}
    U = morris_sample.sample(prob, trajectories, num_levels=LEVELS, seed=seed)
    seeds = np.random.SeedSequence(seed).spawn(reps)
    chunk = 6
    tasks = [(names, U[i : i + chunk], seeds, scale) for i in range(0, len(U), chunk)]
    parts: dict[int, list] = {}
    for i, res in run_tasks(_points, tasks, workers=workers, client=client):
        parts[i] = res
    moment_sets = [m for i in range(len(tasks)) for m in parts[i]]
    mnames, Y = outcomes(moment_sets)
    bad = ~np.isfinite(Y)
    Y = np.where(bad, np.nanmedian(np.where(bad, np.nan, Y), axis=0), Y)  # a failed run: the median outcome
    rows = []
    for j, mname in enumerate(mnames):
        if np.ptp(Y[:, j]) == 0:
            continue
        res = morris_analyze.analyze(prob, U, Y[:, j], num_levels=LEVELS, seed=seed)
        for k, n in enumerate(names):
            rows.append(
                {"parameter": n, "moment": mname, "mu_star": float(res["mu_star"][k]), "sigma": float(res["sigma"][k])}
            )
    long = pd.DataFrame(rows)
    top = long.loc[long.groupby("parameter")["mu_star"].idxmax()].set_index("parameter")
    rank = pd.DataFrame(
        {
            "score": top["mu_star"],
            "top_moment": top["moment"],
            "sum_mu_star": long.groupby("parameter")["mu_star"].sum(),
        }
    ).sort_values("score", ascending=False)
    rank["selected"] = (rank["score"] >= THRESHOLD) & ~rank.index.str.startswith(NOT_IDENTIFIABLE)
    return rank.reset_index(), long


def band_check(moment_sets: list[dict[str, float]]) -> dict[str, float]:  # pragma: no cover - diagnostic
    tg = [t for t in targets() if t.kind == "band"]
    return {t.name: float(np.mean([band_excess(t, m[t.name]) for m in moment_sets])) for t in tg}
