"""Out-of-sample test on the zone's own history (`etown backtest`).

Calibrate on the data up to `until` (default 2018: the 2018 firm count and the stylised facts;
the start state is end-2015), project the rest of the history period under that period's
policies (scenarios/history_2016_2020.yaml) with the posterior (every other parameter and the
2015 split drawn from their priors, as in calibration), and score the projection against the
observations of the later years that are genuinely out of sample: GDP, industrial output, firm
counts, high-tech firms and patents. Scores (model/score.py): coverage of the central 50% and
80% bands, CRPS (in the metric's units and, to pool metrics, of log values), absolute log error
of the median; against a naive trend extrapolation from the data available by `until`
(`naive_reference`).

The 2020 sector outputs are NOT scored: the 2015 sector split the history starts from is itself
derived from the 2020 sector estimates (zone_facts.yaml), so they are in sample by construction;
the report lists them apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import facts
from ..io import write_json
from ..plots import save_figure
from ..score import band_scores, crps_ensemble
from .fit import CalibConfig, calibrate, generations_table, posterior_table
from .moments import END_YEAR, targets

SCORED = ("gdp", "industrial_output", "firms", "high_tech_firms", "patents_per_10k")


def _mean_series(values: dict, until: int) -> float | None:
    v = [float(x) for y, x in values.items() if int(y) <= until]
    return float(np.mean(v)) / 100.0 if v else None


def naive_reference(until: int = 2018) -> dict[str, dict[str, Any]]:
    """Point forecasts of the scored metrics from data published by `until`, with their basis:
    firms grow at their 2014->2018 compound rate from the last count; high-tech firms at their
    2014->2015 rate from 2015; GDP and industrial output from 2015 at the mean national industry
    VA growth of 2016..until (zone_facts.yaml sector_series); patents stay at their 2015 level
    (no earlier series)."""
    z = facts()["zone"]
    ind = facts()["sector_series"]["other"]["national_industry_va"]["values"]
    g_nat = _mean_series(ind, until)
    firms = {int(y): float(n["value"]) for y, n in z["firms"].items() if not n.get("interpolated")}
    f_years = sorted(y for y in firms if y <= until)
    f0, f1 = f_years[-2], f_years[-1]  # the last two published counts (2014 and 2018 for until=2018)
    g_firms = (firms[f1] / firms[f0]) ** (1 / (f1 - f0)) - 1
    ht = {int(y): float(n["value"]) for y, n in z["high_tech_firms"].items()}
    g_ht = ht[2015] / ht[2014] - 1
    return {
        "gdp": {
            "from": (2015, float(z["gdp_yuan"][2015]["value"])),
            "growth": g_nat,
            "basis": f"2015 GDP x mean national industry VA growth 2016-{until}",
        },
        "industrial_output": {
            "from": (2015, float(z["industrial_output_yuan"][2015]["value"])),
            "growth": g_nat,
            "basis": f"2015 industrial output x mean national industry VA growth 2016-{until}",
        },
        "firms": {
            "from": (f1, firms[f1]),
            "growth": g_firms,
            "basis": f"{f1} firm count x its {f0}-{f1} compound growth",
        },
        "high_tech_firms": {
            "from": (2015, ht[2015]),
            "growth": g_ht,
            "basis": "2015 high-tech firms x their 2014-2015 growth",
        },
        "patents_per_10k": {
            "from": (2015, float(z["patents_per_10k_people"][2015]["value"])),
            "growth": 0.0,
            "basis": "2015 level held (no earlier series: persistence)",
        },
    }


def _naive(ref: dict[str, Any], year: int) -> float:
    y0, v0 = ref["from"]
    return v0 * (1.0 + ref["growth"]) ** (year - y0)


def score_backtest(ppc: pd.DataFrame, until: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Scored rows (out of sample) and the in-sample-by-construction sector rows."""
    naive = naive_reference(until)
    scored, sectors = [], []
    for t in targets(END_YEAR):
        if t.kind != "log" or t.year <= until or t.name not in ppc:
            continue
        metric = t.name.rsplit("_", 1)[0]
        ens = ppc[t.name].to_numpy(dtype=float)
        ens = ens[np.isfinite(ens) & (ens > 0)]
        y = t.observed
        row: dict[str, Any] = {
            "target": t.name,
            "year": t.year,
            **band_scores(ens, y),
            "crps_log": float(crps_ensemble(np.log(ens), math.log(y))),
        }
        if metric in naive and metric in SCORED:
            ref = _naive(naive[metric], t.year)
            row.update(
                {
                    "naive": ref,
                    "naive_crps": abs(ref - y),
                    "naive_crps_log": abs(math.log(ref / y)),
                    "naive_abs_log_error": abs(math.log(ref / y)),
                    "naive_basis": naive[metric]["basis"],
                }
            )
            scored.append(row)
        else:
            sectors.append(row)
    return scored, sectors


def summarise(scored: list[dict[str, Any]]) -> dict[str, Any]:
    if not scored:
        return {"n": 0}
    f = pd.DataFrame(scored)
    crps_log, naive_log = float(f["crps_log"].mean()), float(f["naive_crps_log"].mean())
    return {
        "n": len(f),
        "inside_50": float(f["inside_50"].mean()),
        "inside_80": float(f["inside_80"].mean()),
        "mean_crps_log": crps_log,
        "naive_mean_crps_log": naive_log,
        "crpss_log": 1.0 - crps_log / naive_log if naive_log > 0 else None,
        "male": float(f["abs_log_error"].median()),
        "naive_male": float(f["naive_abs_log_error"].median()),
    }


def backtest_figure(scored: list[dict[str, Any]], sectors: list[dict[str, Any]], until: int) -> Any:
    """Bands of each out-of-sample observation as ratios to the observed value (log scale)."""
    import matplotlib.ticker
    from matplotlib.figure import Figure

    rows = [*scored, *sectors]
    fig = Figure(figsize=(8, 0.45 * len(rows) + 1.5), layout="constrained")
    ax = fig.subplots()
    for i, r in enumerate(rows):
        y = r["observed"]
        c = "tab:blue" if r in scored else "tab:gray"
        ax.plot([r["p10"] / y, r["p90"] / y], [i, i], color=c, lw=2, alpha=0.5)
        ax.plot([r["p25"] / y, r["p75"] / y], [i, i], color=c, lw=6, alpha=0.6)
        ax.plot(r["p50"] / y, i, "|", color="navy", ms=12)
        if "naive" in r:
            ax.plot(r["naive"] / y, i, "rx", ms=7)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.tick_params(axis="x", which="both", labelsize=7)
    ax.set_yticks(range(len(rows)), [r["target"] for r in rows], fontsize=8)
    ax.set_xlabel("projected / observed (log scale): bars p10-p90 and p25-p75, | median, x naive trend")
    ax.set_title(
        f"Backtest: calibrated on data to {until}, projected to 2020 (grey: sector outputs, in sample)", fontsize=9
    )
    ax.invert_yaxis()
    return fig


def backtest_plot(scored: list[dict[str, Any]], sectors: list[dict[str, Any]], until: int, path: Path) -> None:
    save_figure(backtest_figure(scored, sectors, until), path)


def run_backtest(
    cfg: CalibConfig, out: Path, client: Any = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Calibrate on data to cfg.until, project and score; writes backtest.json and backtest.png."""
    cal = calibrate(cfg, client=client, progress=progress)
    scored, sectors = score_backtest(cal.ppc, cfg.until)
    report = {
        "calibrated_on": f"data to {cfg.until}: " + ", ".join(t.name for t in cal.targets),
        "projection": f"history mode {cfg.until + 1}-{END_YEAR} (scenarios/history_2016_2020.yaml), "
        f"{len(cal.ppc)} posterior-predictive runs at scale {cfg.scale}",
        "summary": summarise(scored),
        "scored": scored,
        "sectors_in_sample": sectors,
        "calibration": {
            "simulations": cal.smc.simulations,
            "wall_time_s": round(cal.wall_time_s, 1),
            "reached_target": cal.smc.reached_target,
            "stop_reason": cal.smc.stop_reason,
            "generations": generations_table(cal.smc).to_dict(orient="records"),
            "posterior": posterior_table(cal).round(6).to_dict(orient="records"),
        },
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "backtest.json", report)
    backtest_plot(scored, sectors, cfg.until, out / "backtest.png")
    return report


def default_config(**kw: Any) -> CalibConfig:
    """The backtest's calibration settings: data to 2018, a smaller budget than the full fit."""
    return replace(CalibConfig(until=2018, particles=200, max_minutes=12.0, ppc_draws=200), **kw)


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{'observation':24s} {'observed':>10s} {'p10':>10s} {'median':>10s} {'p90':>10s} "
        f"{'in50':>5s} {'in80':>5s} {'naive':>10s}"
    ]

    def f(x: float) -> str:
        return f"{x / 1e9:.1f} bn" if abs(x) >= 1e8 else f"{x:,.0f}"

    for r in report["scored"]:
        lines.append(
            f"{r['target']:24s} {f(r['observed']):>10s} {f(r['p10']):>10s} {f(r['p50']):>10s} {f(r['p90']):>10s} "
            f"{'yes' if r['inside_50'] else 'no':>5s} {'yes' if r['inside_80'] else 'no':>5s} {f(r['naive']):>10s}"
        )
    s = report["summary"]
    if s.get("n"):
        lines.append(
            f"{s['n']} out-of-sample values: {s['inside_50']:.2f} inside the 50% band, "
            f"{s['inside_80']:.2f} inside 80%; "
            f"mean CRPS of logs {s['mean_crps_log']:.3f} (naive {s['naive_mean_crps_log']:.3f}); "
            f"MALE {s['male']:.3f} (naive {s['naive_male']:.3f})"
        )
    return "\n".join(lines)
