"""Method of simulated moments: fit a subset of the free parameters to the 2015-2020 history.

Each candidate parameter vector runs `reps` history replications with the SAME seeds (common
random numbers), so the loss is a deterministic function of the parameters and candidates differ
only by their parameters. The optimiser is scipy's differential evolution (bounded, global,
derivative-free; candidates of a generation evaluated in parallel processes). Uncertainty: all
evaluated candidates (optimiser history plus a cloud of draws around the optimum) whose loss is
within chi2_{0.90}(k) of the best (k = parameters fitted; the loss is a chi-square-like sum of
squared standardised deviations) form the accepted set; the `sample` is its lowest-loss draws
(at most `sample_size`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, stats

from ..data import file_sha256
from ..params import Params, param_specs
from .history import run_history
from .moments import Target, average_moments, run_moments, target_losses, targets

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIT_PARAMS = (
    "trend_auto",
    "trend_industrial_internet",
    "trend_ngit",
    "trend_biotech",
    "trend_xinchuang",
    "trend_robotics",
    "trend_other",
    "rest_of_economy_growth",
    "entry_rate",
    "agglomeration",
    "startup_margin_penalty",
    "certification_rate",
    "innovation_hazard",
    "sigma_ref",
)
"""The subset fitted: each moves at least one target clearly (see docs/calibration.md); the other
free parameters keep their documented defaults (not identified by zone aggregates)."""

TRAJECTORY = ("gdp", "industrial_output", "high_tech_firms", "firms", "patents_per_10k")


@dataclass(frozen=True)
class FitConfig:
    """Settings of one calibration."""

    names: tuple[str, ...] = FIT_PARAMS
    scale: float = 0.1
    reps: int = 6
    seed: int = 2015
    workers: int = 2
    max_minutes: float = 8.0
    popsize: int = 8  # x number of parameters, per generation
    maxiter: int = 200
    cloud: int = 300  # extra draws around the optimum for the accepted sample
    sample_size: int = 150
    base: dict[str, float] = field(default_factory=dict)  # values of the parameters not fitted


def crn_seeds(seed: int, reps: int) -> list[np.random.SeedSequence]:
    """Common random numbers: the same replication seeds for every candidate."""
    return np.random.SeedSequence(seed).spawn(reps)


def simulate_moments(
    values: dict[str, float], seeds: Sequence[np.random.SeedSequence | int], scale: float
) -> list[dict[str, float]]:
    """Moments of one history replication per seed with parameters `values`."""
    params = Params(values)
    return [run_moments(run_history(params, s, scale)) for s in seeds]


def _evaluate(
    x: np.ndarray, names: tuple[str, ...], base: dict[str, float], seeds: list, scale: float, tg: list[Target]
) -> float:
    values = {**base, **dict(zip(names, map(float, x), strict=True))}
    try:
        return float(sum(target_losses(average_moments(simulate_moments(values, seeds, scale), tg), tg).values()))
    except (ValueError, FloatingPointError, ZeroDivisionError):
        return 1e6


def bounds(names: Sequence[str]) -> list[tuple[float, float]]:
    specs = param_specs()
    return [(specs[n].low, specs[n].high) for n in names]


@dataclass
class FitResult:
    """Outcome of a calibration."""

    config: FitConfig
    point: dict[str, float]
    loss: float
    target_loss: dict[str, float]
    simulated: dict[str, float]
    sample: list[dict[str, float]]
    threshold: float
    evaluations: int
    accepted: int
    wall_time_s: float
    message: str
    targets: list[Target]


class _Recorder:
    """A `map` for differential evolution that runs in a process pool and keeps every (x, loss)."""

    def __init__(self, pool: ProcessPoolExecutor | None, chunks: int) -> None:
        self.pool, self.chunks, self.xs, self.losses = pool, chunks, [], []

    def __call__(self, func: Callable, iterable) -> list[float]:
        xs = [np.asarray(x, dtype=float) for x in iterable]
        if self.pool is None:
            ys = [func(x) for x in xs]
        else:
            ys = list(self.pool.map(func, xs, chunksize=max(1, len(xs) // (4 * self.chunks))))
        self.xs.extend(xs)
        self.losses.extend(ys)
        return ys


def calibrate(
    cfg: FitConfig, tg: list[Target] | None = None, progress: Callable[[str], None] | None = None
) -> FitResult:
    """Fit `cfg.names` to the targets `tg` (default: the zone data) by simulated moments."""
    tg = targets() if tg is None else tg
    seeds = crn_seeds(cfg.seed, cfg.reps)
    names, bnds = tuple(cfg.names), bounds(cfg.names)
    func = partial(_evaluate, names=names, base=dict(cfg.base), seeds=seeds, scale=cfg.scale, tg=tg)
    started = time.perf_counter()
    deadline = started + 60.0 * cfg.max_minutes * 0.8  # leave time for the accepted sample
    pool = (
        ProcessPoolExecutor(cfg.workers, mp_context=multiprocessing.get_context("forkserver"))
        if cfg.workers > 1
        else None
    )
    try:
        rec = _Recorder(pool, cfg.workers)
        generation = [0]

        def callback(intermediate_result: optimize.OptimizeResult) -> bool:
            generation[0] += 1
            if progress:
                progress(
                    f"generation {generation[0]}: best loss {intermediate_result.fun:.2f}, "
                    f"{len(rec.xs)} evaluations, {time.perf_counter() - started:.0f} s"
                )
            return time.perf_counter() > deadline

        x0 = np.array([np.clip(float(Params(cfg.base)[n]), lo, hi) for n, (lo, hi) in zip(names, bnds, strict=True)])
        res = optimize.differential_evolution(
            func,
            bnds,
            popsize=cfg.popsize,
            maxiter=cfg.maxiter,
            seed=cfg.seed,
            polish=False,
            x0=x0,
            updating="deferred",
            workers=rec,
            callback=callback,
            tol=1e-3,
            init="sobol",
        )
        best_x, best_loss = np.asarray(res.x), float(res.fun)
        # a cloud of draws around the optimum (same common random numbers) for the accepted set
        rng = np.random.default_rng(cfg.seed)
        lo, hi = np.array(bnds).T
        cloud = np.clip(best_x + 0.06 * (hi - lo) * rng.standard_normal((cfg.cloud, len(names))), lo, hi)
        rec(func, list(cloud))
    finally:
        if pool is not None:
            pool.shutdown()
    xs, losses = np.array(rec.xs), np.array(rec.losses)
    i_best = int(np.argmin(losses))
    if losses[i_best] < best_loss:
        best_x, best_loss = xs[i_best], float(losses[i_best])
    threshold = best_loss + float(stats.chi2.ppf(0.90, len(names)))
    ok = np.flatnonzero(losses <= threshold)
    ok = ok[np.argsort(losses[ok], kind="stable")]
    _, first = np.unique(np.round(xs[ok], 10), axis=0, return_index=True)
    ok = ok[np.sort(first)][: cfg.sample_size]
    point = {**cfg.base, **dict(zip(names, map(float, best_x), strict=True))}
    sim = average_moments(simulate_moments(point, seeds, cfg.scale), tg)
    return FitResult(
        config=cfg,
        point=point,
        loss=best_loss,
        target_loss=target_losses(sim, tg),
        simulated=sim,
        sample=[dict(zip(names, map(float, xs[i]), strict=True)) for i in ok],
        threshold=threshold,
        evaluations=len(losses),
        accepted=int(np.sum(losses <= threshold)),
        wall_time_s=time.perf_counter() - started,
        message=str(res.message),
        targets=tg,
    )


# ---------------------------------------------------------------------- outputs
def draws_moments(result: FitResult, seed: int, per_draw: int = 1) -> pd.DataFrame:
    """Moments of the sample: each accepted draw run with its own seeds (not the CRN ones)."""
    draws = result.sample or [dict(result.point)]
    seeds = np.random.SeedSequence([seed, 1]).spawn(len(draws) * per_draw)
    rows = []
    for k, d in enumerate(draws):
        for m in simulate_moments({**result.point, **d}, seeds[k * per_draw : (k + 1) * per_draw], result.config.scale):
            rows.append({"draw": k, **m})
    return pd.DataFrame(rows)


def fit_table(result: FitResult, sims: pd.DataFrame) -> pd.DataFrame:
    """target, observed, simulated median / p10 / p90 over the sample, tolerance, loss at the point."""
    rows = []
    for t in result.targets:
        v = sims[t.name].to_numpy(dtype=float)
        rows.append(
            {
                "target": t.name,
                "observed": t.observed if t.kind != "band" else f"{t.low:g}-{t.high:g}",
                "simulated_median": float(np.nanmedian(v)),
                "p10": float(np.nanpercentile(v, 10)),
                "p90": float(np.nanpercentile(v, 90)),
                "tolerance": t.tol,
                "kind": t.kind,
                "loss_at_point": result.target_loss[t.name],
            }
        )
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    def fmt(x: Any) -> str:
        if isinstance(x, str):
            try:
                x = float(x)
            except ValueError:
                return x
        ax = abs(x)
        return f"{x / 1e9:.1f} bn" if ax >= 1e8 else (f"{x:,.0f}" if ax >= 100 else f"{x:.3f}")

    lines = [f"{'target':30s} {'observed':>12s} {'median':>12s} {'p10':>12s} {'p90':>12s} {'loss':>7s}"]
    for r in table.itertuples():
        lines.append(
            f"{r.target:30s} {fmt(r.observed):>12s} {fmt(r.simulated_median):>12s} {fmt(r.p10):>12s} "
            f"{fmt(r.p90):>12s} {r.loss_at_point:7.2f}"
        )
    return "\n".join(lines)


def fit_plot(result: FitResult, sims: pd.DataFrame, path: Path) -> None:
    """Write `fit_figure(sims)` as a PNG."""
    from ..plots import save_figure

    save_figure(fit_figure(sims), path, dpi=150)


FIT_PANELS = {  # moment -> (zone fact, title, divisor)
    "gdp": ("gdp_yuan", "GDP, bn yuan", 1e9),
    "industrial_output": ("industrial_output_yuan", "industrial output, bn yuan", 1e9),
    "high_tech_firms": ("high_tech_firms", "national high-tech firms", 1.0),
    "firms": ("firms", "registered firms", 1.0),
    "patents_per_10k": ("patents_per_10k_people", "invention patents per 10,000 people", 1.0),
}


def fit_figure(sims: pd.DataFrame, title: str | None = None) -> Figure:
    """The fit to 2015-2020 for a report: per trajectory moment, the simulated median and
    10-90% band over the calibrated sample against the published values (the 2015 start state,
    the calibration targets with their published ranges, and interpolated starts)."""
    from matplotlib.figure import Figure

    from ..data import facts

    z = facts()["zone"]
    years = list(range(2015, 2021))
    fig = Figure(figsize=(12, 7), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, m in zip(axes.flat, TRAJECTORY, strict=False):
        key, label, unit = FIT_PANELS[m]
        data = sims[[f"{m}_{y}" for y in years[1:]]].to_numpy(dtype=float) / unit
        start = z[key][2015]["value"] / unit
        p10, p50, p90 = (np.concatenate([[start], np.nanpercentile(data, q, axis=0)]) for q in (10, 50, 90))
        ax.fill_between(years, p10, p90, alpha=0.3, color="tab:blue", lw=0, label="simulated, 10-90% of runs")
        ax.plot(years, p50, color="tab:blue", lw=2, label="simulated median")
        for y, node in sorted(z[key].items()):
            if not 2015 <= int(y) <= 2020:
                continue
            v = node["value"] / unit
            if int(y) == 2015:
                style = {"marker": "x" if node.get("interpolated") else "s", "mfc": "none"}
                lab = (
                    "start state 2015, interpolated (not published)" if node.get("interpolated") else "start state 2015"
                )
                ax.plot(int(y), v, ls="none", color="black", ms=7, label=lab, **style)
            else:
                lo, hi = node.get("low", node["value"]) / unit, node.get("high", node["value"]) / unit
                ax.errorbar(
                    int(y), v, yerr=[[v - lo], [hi - v]], fmt="o", color="black", ms=6, capsize=3,
                    label="published value (calibration target; bar: published range)",
                )  # fmt: skip
        ax.set_title(label, fontsize=11)
        ax.set_xticks(years)
        ax.tick_params(labelsize=9)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    legend = axes.flat[-1]
    legend.axis("off")
    seen: dict[str, Any] = {}
    for ax in axes.flat[: len(TRAJECTORY)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    legend.legend(list(seen.values()), list(seen), loc="center", fontsize=10, frameon=False)
    n = int(sims["draw"].nunique()) if "draw" in sims else len(sims)
    fig.suptitle(
        title or f"History mode 2015-2020: calibrated model ({n} parameter draws, {len(sims)} runs) vs published data",
        fontsize=12,
    )
    return fig


def calibrated_fit_moments(per_draw: int = 1, max_draws: int | None = None, seed: int = 2015) -> pd.DataFrame:
    """History-mode moments of the committed calibration (model/data/calibrated.yaml): each
    sample draw (the first `max_draws`) run `per_draw` times at the calibration's scale, with
    seeds independent of the calibration's. Raises ValueError before calibration."""
    from .store import load_calibrated

    content = load_calibrated()
    if content is None:
        raise ValueError("the model is not calibrated (no model/data/calibrated.yaml)")
    point = {k: float(v) for k, v in content["point"].items()}
    draws = [{k: float(v) for k, v in d.items()} for d in content.get("sample", {}).get("draws", [])] or [point]
    draws = draws[:max_draws] if max_draws else draws
    cfg = FitConfig(scale=float(content["provenance"].get("scale", 0.1)))
    result = FitResult(cfg, point, float("nan"), {}, {}, draws, float("nan"), 0, 0, 0.0, "", [])
    return draws_moments(result, seed, per_draw=per_draw)


def calibrated_document(result: FitResult) -> dict[str, Any]:
    """Content of model/data/calibrated.yaml."""
    cfg = result.config
    specs = param_specs()
    return {
        "point": {k: round(float(v), 6) for k, v in result.point.items()},
        "provenance": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data_sha256": file_sha256("zone_facts.yaml"),
            "parameters_sha256": file_sha256("parameters.yaml"),
            "method": (
                "method of simulated moments, common random numbers (same seeds for every candidate); "
                "scipy.optimize.differential_evolution over the parameter ranges of parameters.yaml; "
                "history mode 2015->2020 (scenarios/history_2016_2020.yaml)"
            ),
            "fitted": list(cfg.names),
            "not_fitted": [k for k in specs if k not in cfg.names],
            "loss": round(result.loss, 4),
            "loss_per_target": {k: round(v, 4) for k, v in result.target_loss.items()},
            "seed": cfg.seed,
            "scale": cfg.scale,
            "runs_per_candidate": cfg.reps,
            "evaluations": result.evaluations,
            "optimizer_message": result.message,
            "wall_time_s": round(result.wall_time_s, 1),
        },
        "sample": {
            "kind": (
                "accepted set: candidates (optimiser history plus a Gaussian cloud around the optimum) whose "
                "loss is within chi2_0.90(k) of the best, k = number of fitted parameters; lowest-loss draws "
                "kept. Parameters not listed take the point value."
            ),
            "threshold_loss": round(result.threshold, 4),
            "accepted": result.accepted,
            "draws": [{k: round(v, 6) for k, v in d.items()} for d in result.sample],
        },
    }


def write_calibrated(result: FitResult, path: Path) -> None:
    path.write_text(
        "# Written by `etown calibrate` (model/calibration/fit.py); do not edit by hand.\n"
        + yaml.safe_dump(calibrated_document(result), sort_keys=False, width=120)
    )


def synthetic_targets(truth: dict[str, float], cfg: FitConfig, seed: int, reps: int | None = None) -> list[Target]:
    """The data targets with observed values replaced by the model's own moments at `truth`
    (independent seeds, not the CRN ones); stylised-fact bands are kept."""
    tg = targets()
    sims = simulate_moments({**cfg.base, **truth}, np.random.SeedSequence([seed, 7]).spawn(reps or cfg.reps), cfg.scale)
    avg = average_moments(sims, tg)
    return [t if t.kind == "band" else replace(t, observed=avg[t.name]) for t in tg]


def recovery_table(truth: dict[str, float], result: FitResult) -> pd.DataFrame:
    """True vs recovered values, relative error, the accepted set's range, and a verdict."""
    rows = []
    specs = param_specs()
    for n in result.config.names:
        vals = np.array([d[n] for d in result.sample]) if result.sample else np.array([result.point[n]])
        lo, hi = np.percentile(vals, [5, 95])
        width = (hi - lo) / (specs[n].high - specs[n].low)
        err = result.point[n] - truth[n]
        rel = abs(err) / max(abs(truth[n]), 1e-12)
        in_set = lo <= truth[n] <= hi
        recovered = (rel <= 0.2 or abs(err) <= 0.1 * (specs[n].high - specs[n].low)) and width < 0.5
        rows.append(
            {
                "parameter": n,
                "true": truth[n],
                "estimate": result.point[n],
                "rel_error": rel,
                "sample_p5": lo,
                "sample_p95": hi,
                "width_of_range": width,
                "truth_in_p5_p95": bool(in_set),
                "verdict": "recovered" if recovered else ("weakly identified" if width < 0.5 else "not identified"),
            }
        )
    return pd.DataFrame(rows)


CALIBRATED_PATH = Path(__file__).resolve().parents[1] / "data" / "calibrated.yaml"
SYNTHETIC_TRUTH = {
    "trend_auto": 0.05,
    "trend_industrial_internet": 0.15,
    "trend_ngit": 0.12,
    "trend_biotech": 0.08,
    "trend_xinchuang": 0.30,
    "trend_robotics": 0.12,
    "trend_other": 0.04,
    "rest_of_economy_growth": 0.05,
    "entry_rate": 0.25,
    "agglomeration": 0.7,
    "startup_margin_penalty": 0.05,
    "certification_rate": 0.25,
    "innovation_hazard": 0.06,
    "sigma_ref": 0.35,
}
"""Known parameter values for the identifiability check (inside the ranges, away from the defaults)."""


def run_calibration(
    cfg: FitConfig, out: Path, write: bool = True, progress: Callable[[str], None] | None = None
) -> tuple[FitResult, pd.DataFrame]:
    """Calibrate to the zone data; write fit_table.csv and fit_plot.png to `out` and, with
    `write`, model/data/calibrated.yaml. Returns the result and the fit table."""
    result = calibrate(cfg, progress=progress)
    sims = draws_moments(result, cfg.seed, per_draw=2)
    table = fit_table(result, sims)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "fit_table.csv", index=False)
    fit_plot(result, sims, out / "fit_plot.png")
    if write:
        write_calibrated(result, CALIBRATED_PATH)
    return result, table


def run_identifiability(
    cfg: FitConfig, out: Path, truth: dict[str, float] | None = None, progress: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """Recover known parameters from synthetic data made by the model itself; writes
    identifiability.csv to `out` and returns the table."""
    truth = {n: (truth or SYNTHETIC_TRUTH)[n] for n in cfg.names}
    tg = synthetic_targets(truth, cfg, seed=cfg.seed + 1)
    result = calibrate(cfg, tg, progress=progress)
    table = recovery_table(truth, result)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "identifiability.csv", index=False)
    return table
