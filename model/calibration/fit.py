"""Bayesian calibration of the model to the zone's 2015-2020 history: ABC-SMC.

The calibrated parameters (`CALIBRATED`, chosen by screening: model/calibration/screen.py) get a
posterior; every other free parameter is drawn from its prior on every simulation (marginalised),
and so is the unpublished 2015 sector split (history.py). The distance is the Mahalanobis norm of
the standardised moments under their simulated covariance plus measurement error and model
discrepancy (moments.py `Metric`); the tolerance schedule ends at the 90% quantile of the
distance a simulation at the true parameters would have (sqrt of chi2_0.90 with one degree of
freedom per moment): a uniform ABC kernel over that error ellipsoid, i.e. the posterior under
the stated error model (Wilkinson 2013), not a point fit. ABC-SMC: abc.py.

Outputs (run_calibration): calibrated.yaml (posterior draws with provenance), fit_table.csv
(posterior-predictive bands per target), fit_plot.png, posterior.png (marginals against priors),
posterior.csv (prior and posterior p5/p50/p95, which parameters the data inform),
generations.csv (tolerance, acceptance, ESS per generation).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ..data import file_sha256
from ..executor import local_pool
from ..inputs import ParamSource
from ..params import param_specs
from ..plots import save_figure
from .abc import Population, Simulator, SMCResult, SMCSettings, abc_smc
from .history import run_history
from .moments import Metric, Target, band_excess, run_moments, targets, transform

CALIBRATED = (
    # screened in (Morris score >= 2.5 error sd, docs/calibration.md), by score
    "innovation_hazard",
    "certification_rate",
    "entry_rate",
    "sigma_ref",
    "capital_intensity",
    "trend_auto",
    "startup_margin_penalty",
    "vol_size_beta",
    "startup_relative_size",
    "trend_biotech",
    "agglomeration",
    "trend_ngit",
    "trend_robotics",
    "innovation_rd_elasticity",
    "founder_coverage",
    "trend_other",
    "margin_sd",
    "distress_years",
    # the remaining sector trends and the rest of GDP: each is the only parameter of one target
    "trend_industrial_internet",
    "trend_xinchuang",
    "rest_of_economy_growth",
    # the pace and size of major projects: the zone's 2016-2020 investment wave (industrial output
    # grew 11.8% a year against 6-10% in the national sector series) runs through them
    "project_win_prob",
    "project_turnover_mult",
    "zone_share_gain",
)
"""Parameters given a posterior: those the screening (docs/calibration.md) finds the 2015-2020
moments sensitive to, beyond their noise. The others are drawn from their priors on every
simulation and in every projection."""

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TRAJECTORY = ("gdp", "industrial_output", "high_tech_firms", "firms", "patents_per_10k")
CALIBRATED_PATH = Path(__file__).resolve().parents[1] / "data" / "calibrated.yaml"
INFORMED_RATIO = 0.7
"""A parameter is 'informed' when its posterior 90% interval is narrower than this share of the
prior's (weakly informed up to 0.9)."""


@dataclass(frozen=True)
class CalibConfig:
    """Settings of one calibration."""

    names: tuple[str, ...] = CALIBRATED
    scale: float = 0.1
    particles: int = 400
    seed: int = 2015
    workers: int = 2
    max_minutes: float = 35.0
    max_simulations: int = 40_000
    max_generations: int = 20
    alpha: float = 0.5
    min_acceptance: float = 0.02
    quantile: float = 0.9  # of chi2(dof): the final tolerance
    reps_metric: int = 40  # replications that estimate the simulated covariance
    until: int = 2020  # last year of data used (backtests use less)
    sample_size: int = 200  # posterior draws written
    ppc_draws: int = 200  # posterior-predictive simulations for the fit table
    chunk: int = 4
    max_steps: int = 8  # most ABC-MCMC steps per generation
    prior_for_rest: bool = True  # other parameters drawn from priors (False: held at their values)


@dataclass(frozen=True)
class SimContext:
    """What a worker needs to simulate history moments."""

    names: tuple[str, ...]
    scale: float
    sample_split: bool = True
    prior_for_rest: bool = True


def simulate_chunk(ctx: SimContext, X: np.ndarray, seeds: Sequence[np.random.SeedSequence]) -> list[dict[str, float]]:
    """History moments of each row of X (calibrated values) with its seed; every other parameter
    is drawn from its prior from the run's own stream (held at its value without
    `ctx.prior_for_rest`). A failed run gives {} (distance inf)."""
    out = []
    for x, seed in zip(X, seeds, strict=True):
        row = tuple(sorted(zip(ctx.names, map(float, x), strict=True)))
        try:
            run = run_history(
                ParamSource(posterior=(row,), prior_for_rest=ctx.prior_for_rest),
                seed,
                ctx.scale,
                None,
                ctx.sample_split,
            )
            out.append({k: float(v) for k, v in run_moments(run).items()})
        except (ValueError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError):
            out.append({})
    return out


@dataclass
class Calibration:
    """A finished calibration."""

    config: CalibConfig
    targets: list[Target]
    smc: SMCResult
    metric: Metric
    draws: list[dict[str, float]]
    point: dict[str, float]
    ppc: pd.DataFrame = field(default_factory=pd.DataFrame)  # posterior-predictive moments
    wall_time_s: float = 0.0
    workers: str = ""


def _priors(names: Sequence[str]) -> list:
    specs = param_specs()
    return [specs[n].prior for n in names]


def calibrate(
    cfg: CalibConfig,
    tg: list[Target] | None = None,
    *,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """ABC-SMC of `cfg.names` against targets `tg` (default: the zone data up to cfg.until)."""
    tg = targets(cfg.until) if tg is None else tg
    names = tuple(cfg.names)
    priors = _priors(names)
    started = time.perf_counter()
    ctx = SimContext(names, cfg.scale, prior_for_rest=cfg.prior_for_rest)
    with local_pool(cfg.workers if client is None else 1) as pool:
        sim = Simulator(simulate_chunk, ctx, cfg.workers, client=client, pool=pool, chunk=cfg.chunk)

        def metric_at(x: np.ndarray, key: int) -> Metric:
            seeds = np.random.SeedSequence([cfg.seed, key]).spawn(cfg.reps_metric)
            return Metric.from_simulations(tg, sim(np.tile(x, (cfg.reps_metric, 1)), seeds))

        metric = metric_at(np.array([p.ppf(0.5) for p in priors], dtype=float), 1)
        if progress:
            progress(f"simulated covariance at the prior medians ({cfg.reps_metric} runs)")

        def update(pop: Population) -> Metric:
            m = metric_at(pop.quantiles([0.5])[0], 2)
            if progress:
                progress(f"simulated covariance re-estimated at the weighted median ({cfg.reps_metric} runs)")
            return m

        eps_target = float(np.sqrt(stats.chi2.ppf(cfg.quantile, metric.dof)))
        settings = SMCSettings(
            particles=cfg.particles,
            alpha=cfg.alpha,
            eps_target=eps_target,
            max_generations=cfg.max_generations,
            min_acceptance=cfg.min_acceptance,
            max_simulations=cfg.max_simulations,
            max_minutes=cfg.max_minutes,
            chunk=cfg.chunk,
            seed=cfg.seed,
            max_steps=cfg.max_steps,
        )
        smc = abc_smc(priors, sim, metric, settings, update, progress)
        pop = smc.population
        rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 3]))
        idx = pop.resample(cfg.sample_size, rng)
        draws = [dict(zip(names, map(float, pop.x[i]), strict=True)) for i in idx]
        point = dict(zip(names, map(float, pop.quantiles([0.5])[0]), strict=True))
        ppc = posterior_predictive(draws, cfg, sim)
    where = "dask" if client is not None else f"{cfg.workers} local process(es)"
    return Calibration(cfg, tg, smc, smc.metric, draws, point, ppc, time.perf_counter() - started, where)


def posterior_predictive(draws: list[dict[str, float]], cfg: CalibConfig, sim: Simulator) -> pd.DataFrame:
    """Moments of `cfg.ppc_draws` history runs, each with a posterior draw (cycled) and a fresh
    seed (the rest of the parameters and the 2015 split drawn as in calibration)."""
    names = tuple(cfg.names)
    rows = [draws[i % len(draws)] for i in range(cfg.ppc_draws)]
    X = np.array([[r[n] for n in names] for r in rows])
    seeds = np.random.SeedSequence([cfg.seed, 4]).spawn(len(rows))
    return pd.DataFrame(sim(X, seeds))


# ---------------------------------------------------------------------- tables
def fit_table(cal: Calibration) -> pd.DataFrame:
    """Per target: observed, posterior-predictive median and p10/p90 (and p25/p75), error sd,
    whether the observation (or band) lies inside the 80% band, and its standardised residual."""
    rows = []
    for t in cal.targets:
        v = cal.ppc[t.name].to_numpy(dtype=float) if t.name in cal.ppc else np.full(1, np.nan)
        v = v[np.isfinite(v)]
        q = np.nanpercentile(v, [10, 25, 50, 75, 90]) if v.size else np.full(5, np.nan)
        if t.kind == "band":
            inside = bool(q[0] <= t.high and q[4] >= t.low)
            z = float(band_excess(t, q[2]))
            observed: Any = f"{t.low:g}-{t.high:g}"
        else:
            inside = bool(q[0] <= t.observed <= q[4])
            z = float((transform(t, q[2]) - transform(t, t.observed)) / t.tol)
            observed = t.observed
        rows.append(
            {
                "target": t.name,
                "observed": observed,
                "p10": q[0],
                "p25": q[1],
                "median": q[2],
                "p75": q[3],
                "p90": q[4],
                "kind": t.kind,
                "sd_obs": t.sd_obs,
                "sd_disc": t.sd_disc,
                "in_distance": t.in_distance,
                "inside_80": inside,
                "z_median": z,
            }
        )
    return pd.DataFrame(rows)


def _fmt(x: Any) -> str:
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return x
    if not np.isfinite(x):
        return "nan"
    ax = abs(x)
    return f"{x / 1e9:.1f} bn" if ax >= 1e8 else (f"{x:,.0f}" if ax >= 100 else f"{x:.3f}")


def format_table(table: pd.DataFrame) -> str:
    lines = [f"{'target':28s} {'observed':>10s} {'p10':>10s} {'median':>10s} {'p90':>10s} {'in 80%':>6s}"]
    for r in table.itertuples():
        lines.append(
            f"{r.target:28s} {_fmt(r.observed):>10s} {_fmt(r.p10):>10s} {_fmt(r.median):>10s} {_fmt(r.p90):>10s} "
            f"{'yes' if r.inside_80 else 'NO':>6s}"
        )
    n_in = int(table["inside_80"].sum())
    lines.append(f"{n_in} of {len(table)} targets inside the posterior-predictive 80% band")
    return "\n".join(lines)


def posterior_table(cal: Calibration) -> pd.DataFrame:
    """Prior and posterior p5/p50/p95 per calibrated parameter, the ratio of the 90% interval
    widths, and a verdict (informed / weakly informed / not informed by the data)."""
    specs = param_specs()
    qs = cal.smc.population.quantiles([0.05, 0.5, 0.95])
    rows = []
    for j, n in enumerate(cal.config.names):
        pr = specs[n].prior
        p5, p50, p95 = (float(pr.ppf(q)) for q in (0.05, 0.5, 0.95))
        ratio = (qs[2, j] - qs[0, j]) / max(p95 - p5, 1e-12)
        verdict = "informed" if ratio < INFORMED_RATIO else ("weakly informed" if ratio < 0.9 else "not informed")
        rows.append(
            {
                "parameter": n,
                "prior": " ".join(map(str, pr.form)),
                "prior_p5": p5,
                "prior_p50": p50,
                "prior_p95": p95,
                "post_p5": float(qs[0, j]),
                "post_p50": float(qs[1, j]),
                "post_p95": float(qs[2, j]),
                "width_ratio": float(ratio),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)


def generations_table(smc: SMCResult) -> pd.DataFrame:
    return pd.DataFrame([g.row() for g in smc.generations])


# ---------------------------------------------------------------------- plots (Figures; the caller saves)
def fit_figure(sims: pd.DataFrame, until: int = 2020, scale: float | None = None) -> Figure:
    """Posterior-predictive 2016-2020 bands (p10-p90, p25-p75, median) of history moments `sims`
    (one row per run, columns as run_moments) against the observations, and the 2020 sector
    outputs. Observations after `until` (not used by the fit) are drawn in red."""
    from matplotlib.figure import Figure

    from ..data import facts
    from ..sectors import SECTOR_IDS

    z = facts()["zone"]
    years = list(range(2015, 2021))
    obs_keys = {
        "gdp": "gdp_yuan",
        "industrial_output": "industrial_output_yuan",
        "high_tech_firms": "high_tech_firms",
        "firms": "firms",
        "patents_per_10k": "patents_per_10k_people",
    }
    fig = Figure(figsize=(13, 7.5), layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, m in zip(axes.ravel()[:5], TRAJECTORY, strict=True):
        unit = 1e9 if m in ("gdp", "industrial_output") else 1.0
        cols = [f"{m}_{y}" for y in years[1:]]
        if not all(c in sims for c in cols):
            ax.axis("off")
            continue
        data = sims[cols].to_numpy(dtype=float) / unit
        start = z[obs_keys[m]][2015]["value"] / unit
        q = {p: np.concatenate([[start], np.nanpercentile(data, p, axis=0)]) for p in (10, 25, 50, 75, 90)}
        ax.fill_between(years, q[10], q[90], alpha=0.25, color="tab:blue", label="simulated 10-90%")
        ax.fill_between(years, q[25], q[75], alpha=0.35, color="tab:blue", label="simulated 25-75%")
        ax.plot(years, q[50], color="tab:blue", label="simulated median")
        used_label, unused_label = "published (fitted)", "published (not fitted)"
        for y, node in z[obs_keys[m]].items():
            if 2015 <= int(y) <= 2020:
                used = int(y) == 2015 or int(y) <= until
                ax.plot(
                    int(y),
                    node["value"] / unit,
                    "ko" if used else "rs",
                    ms=6,
                    label=used_label if used else unused_label,
                )
                used_label, unused_label = (None, unused_label) if used else (used_label, None)
        ax.set_title(m.replace("_", " ") + (", bn yuan" if unit > 1 else ""), fontsize=12)
        ax.set_xticks(years)
        ax.tick_params(labelsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=9)
    ax = axes[1, 2]
    for i, s in enumerate(SECTOR_IDS):
        col = f"output_2020_{s}"
        if col not in sims:
            continue
        v = sims[col].to_numpy(dtype=float) / 1e9
        p10, p25, p50, p75, p90 = np.nanpercentile(v, [10, 25, 50, 75, 90])
        ax.plot([p10, p90], [i, i], color="tab:blue", lw=2, alpha=0.5)
        ax.plot([p25, p75], [i, i], color="tab:blue", lw=5, alpha=0.6)
        ax.plot(p50, i, "|", color="navy", ms=12)
        observed = facts()["sectors"][s]["output_2020"]["value"] / 1e9
        ax.plot(observed, i, "ko" if until >= 2020 else "rs", ms=6)
    ax.set_yticks(range(len(SECTOR_IDS)), SECTOR_IDS, fontsize=10)
    ax.set_xscale("log")
    ax.set_title("sector output 2020, bn yuan (log scale)", fontsize=12)
    ax.grid(alpha=0.3)
    where = f", scale {scale}" if scale is not None else ""
    fig.suptitle(
        f"History 2015-2020: posterior predictive ({len(sims)} runs{where}); black = data fitted (to {until})",
        fontsize=12,
    )
    return fig


def fit_plot(cal: Calibration, path: Path) -> None:
    """Write `fit_figure` of a calibration's posterior predictive as a PNG."""
    save_figure(fit_figure(cal.ppc, cal.config.until, cal.config.scale), path, dpi=130)


def calibrated_fit_moments(
    per_draw: int = 1, max_draws: int | None = None, seed: int = 2015, scale: float = 0.1
) -> pd.DataFrame:
    """History moments of runs with the committed posterior draws (model/data/calibrated.yaml),
    `per_draw` runs each, the rest of the parameters drawn from their priors: the data of
    `fit_figure` for the committed calibration."""
    from .store import load_calibrated

    doc = load_calibrated()
    if doc is None or not doc.get("sample", {}).get("draws"):
        raise ValueError("the model is not calibrated (no model/data/calibrated.yaml)")
    draws = doc["sample"]["draws"][:max_draws]
    names = tuple(draws[0])
    X = np.repeat(np.array([[d[n] for n in names] for d in draws], dtype=float), per_draw, axis=0)
    seeds = np.random.SeedSequence([seed, 5]).spawn(len(X))
    return pd.DataFrame(simulate_chunk(SimContext(names, scale), X, seeds))


def posterior_figure(cal: Calibration) -> Figure:
    """Marginal posterior (weighted histogram of the final population) against the prior density."""
    from matplotlib.figure import Figure

    specs = param_specs()
    pop = cal.smc.population
    names = cal.config.names
    ncol = 4
    nrow = int(np.ceil(len(names) / ncol))
    fig = Figure(figsize=(3.3 * ncol, 2.4 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for j, (ax, n) in enumerate(zip(axes.ravel(), names, strict=False)):
        sp = specs[n]
        grid = np.linspace(sp.low, sp.high, 200)
        ax.hist(
            pop.x[:, j], bins=25, range=(sp.low, sp.high), weights=pop.w, density=True, alpha=0.6, label="posterior"
        )
        ax.plot(grid, np.exp(sp.prior.logpdf(grid)), "k--", lw=1, label="prior")
        ax.set_title(sp.label or n, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("Marginal posteriors (ABC-SMC final population) against priors", fontsize=10)
    return fig


def posterior_plot(cal: Calibration, path: Path) -> None:
    save_figure(posterior_figure(cal), path, dpi=100)


def generations_figure(smc: SMCResult) -> Figure:
    """Tolerance, acceptance rate and effective sample size per ABC-SMC generation."""
    from matplotlib.figure import Figure

    g = generations_table(smc)
    fig = Figure(figsize=(11, 3), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].plot(g["generation"], g["epsilon"], "o-")
    axes[0].axhline(smc.eps_target, color="k", ls="--", lw=1)
    axes[0].set_title("tolerance (dashed: target)", fontsize=9)
    axes[1].plot(g["generation"], g["acceptance_rate"], "o-")
    axes[1].set_yscale("log")
    axes[1].set_title("acceptance rate", fontsize=9)
    axes[2].plot(g["generation"], g["ess"], "o-")
    axes[2].set_title("effective sample size", fontsize=9)
    for ax in axes:
        ax.set_xlabel("generation", fontsize=8)
    return fig


def generations_plot(smc: SMCResult, path: Path) -> None:
    save_figure(generations_figure(smc), path, dpi=100)


# ---------------------------------------------------------------------- the calibrated file
def calibrated_document(cal: Calibration, table: pd.DataFrame, post: pd.DataFrame) -> dict[str, Any]:
    """Content of model/data/calibrated.yaml."""
    cfg, smc = cal.config, cal.smc
    return {
        "point": {k: round(float(v), 6) for k, v in cal.point.items()},
        "sample": {
            "draws": [{k: round(float(v), 6) for k, v in d.items()} for d in cal.draws],
            "note": "posterior draws of the calibrated parameters (systematic resampling of the final ABC-SMC "
            "population); every other parameter is drawn from its prior in each replication",
        },
        "provenance": {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data_sha256": file_sha256("zone_facts.yaml"),
            "parameters_sha256": file_sha256("parameters.yaml"),
            "method": (
                "ABC-SMC (Beaumont et al. 2009; adaptive tolerance, Del Moral et al. 2012) on history mode 2015->2020 "
                "(scenarios/history_2016_2020.yaml); distance: Mahalanobis norm of standardised moments under the "
                "simulated covariance plus measurement error and model discrepancy; final tolerance sqrt(chi2_q(dof)); "
                "uncalibrated parameters and the 2015 sector split drawn from their priors on every simulation"
            ),
            "data_until": cfg.until,
            "settings": asdict(cfg) | {"names": list(cfg.names)},
            "executor": cal.workers,
            "simulations": smc.simulations,
            "wall_time_s": round(cal.wall_time_s, 1),
            "eps_target": round(smc.eps_target, 4),
            "reached_target": smc.reached_target,
            "stop_reason": smc.stop_reason,
            "generations": [g.row() for g in smc.generations],
            "posterior": post.round(6).to_dict(orient="records"),
            "fit": {
                r.target: {
                    "inside_80": bool(r.inside_80),
                    "median": float(r.median),
                    "z_median": round(float(r.z_median), 3),
                }
                for r in table.itertuples()
            },
            "metric": cal.metric.summary(),
        },
    }


def write_calibrated(doc: dict[str, Any], path: Path = CALIBRATED_PATH) -> None:
    header = (
        "# Calibrated parameters of the E-Town model: written by `etown calibrate` (model/calibration/fit.py).\n"
        "# point: posterior medians; sample.draws: posterior draws that `etown run` samples per replication\n"
        "# (parameters not listed are drawn from their priors in parameters.yaml). Do not edit by hand.\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))


def run_calibration(
    cfg: CalibConfig,
    out: Path,
    write: bool = True,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
    tg: list[Target] | None = None,
) -> tuple[Calibration, pd.DataFrame, pd.DataFrame]:
    """Calibrate; write the tables and plots to `out` and, with `write`, calibrated.yaml."""
    cal = calibrate(cfg, tg, client=client, progress=progress)
    table, post = fit_table(cal), posterior_table(cal)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "fit_table.csv", index=False)
    post.to_csv(out / "posterior.csv", index=False)
    generations_table(cal.smc).to_csv(out / "generations.csv", index=False)
    cal.ppc.to_csv(out / "posterior_predictive.csv", index=False)
    fit_plot(cal, out / "fit_plot.png")
    posterior_plot(cal, out / "posterior.png")
    generations_plot(cal.smc, out / "generations.png")
    doc = calibrated_document(cal, table, post)
    (out / "calibrated.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=110))
    if write:
        write_calibrated(doc)
    return cal, table, post


# ---------------------------------------------------------------------- synthetic recovery
def synthetic_targets(
    truth: Mapping[str, float], cfg: CalibConfig, seed: int, reps: int = 1, tg: list[Target] | None = None
) -> list[Target]:
    """The zone's targets with observed values replaced by the model's own moments at `truth`
    (one replication by default: data are one realisation; other parameters and the 2015 split
    drawn as in calibration), seeds independent of the calibration's."""
    names = tuple(truth)
    X = np.array([[truth[n] for n in names]] * reps)
    seeds = np.random.SeedSequence([seed, 99]).spawn(reps)
    ms = simulate_chunk(SimContext(names, cfg.scale, prior_for_rest=cfg.prior_for_rest), X, seeds)
    out = []
    for t in tg if tg is not None else targets(cfg.until):
        if t.kind == "band":
            out.append(t)
            continue
        v = np.array([m[t.name] for m in ms], dtype=float)
        val = float(np.exp(np.mean(np.log(v)))) if t.kind == "log" else float(np.mean(v))
        out.append(Target(t.name, val, t.sd_obs, t.kind, t.sd_disc, year=t.year, in_distance=t.in_distance))
    return out


def recovery_table(truth: Mapping[str, float], cal: Calibration) -> pd.DataFrame:
    """True value, posterior p5/p50/p95, whether the truth is inside, and the width ratio."""
    post = posterior_table(cal).set_index("parameter")
    rows = []
    for n, v in truth.items():
        r = post.loc[n]
        rows.append(
            {
                "parameter": n,
                "true": v,
                "post_p5": r.post_p5,
                "post_p50": r.post_p50,
                "post_p95": r.post_p95,
                "truth_in_90": bool(r.post_p5 <= v <= r.post_p95),
                "width_ratio": r.width_ratio,
            }
        )
    return pd.DataFrame(rows)
