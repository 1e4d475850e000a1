"""From per-run yearly tables to what users read: probabilities with confidence intervals,
crossing years, bands, the summary and the headline table."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .data import fact
from .sectors import SECTORS, TARGET_SECTORS

BN = 1e9
ZONE_REPORT = {  # summary key -> (zone column, divisor)
    "gdp_bn": ("gdp", BN),
    "industrial_output_bn": ("industrial_output", BN),
    "high_tech_firms": ("high_tech_firms", 1.0),
    "talent_persons": ("talent_persons", 1.0),
    "budget_spent_bn": ("budget_spent", BN),
}


def threshold_yuan() -> float:
    """Output that makes a cluster a '100-billion-yuan cluster' (yuan/year)."""
    return fact("zone", "cluster_threshold_yuan")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def crossing_years(sectors: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """First year each (run, sector) reaches `threshold` (yuan/year); NaN if never.

    Returns a frame indexed by run with one column per sector."""
    wide = sectors.pivot_table(index=["run", "sector"], columns="year", values="output_yuan", observed=True)
    years = np.asarray(wide.columns)
    above = wide.to_numpy() >= threshold
    first = np.where(above.any(axis=1), years[np.argmax(above, axis=1)], np.nan)
    return pd.Series(first, index=wide.index).unstack("sector")


def _bands(frame: pd.DataFrame, column: str, divisor: float) -> dict[str, dict[str, float]]:
    grouped = (frame[column] / divisor).groupby(frame["year"]).quantile([0.1, 0.5, 0.9]).unstack()
    return {
        str(int(y)): {"p10": float(r[0.1]), "p50": float(r[0.5]), "p90": float(r[0.9])}
        for y, r in grouped.iterrows()
        if not np.isnan(r[0.5])
    }


def summarize(sectors: pd.DataFrame, zone: pd.DataFrame, end_year: int) -> dict[str, Any]:
    """The outcome part of summary.json from the tidy per-run tables."""
    threshold = threshold_yuan()
    cross = crossing_years(sectors, threshold)
    n = cross.shape[0]
    clusters: dict[str, Any] = {}
    for s in SECTORS:
        years = cross[s.id] if s.id in cross else pd.Series(np.nan, index=cross.index)
        hit = years <= end_year
        k = int(hit.sum())
        out = sectors[sectors["sector"] == s.id]
        end_out = out.loc[out["year"] == end_year, "output_yuan"]
        clusters[s.id] = {
            "name": s.name_en,
            "name_zh": s.name_zh,
            "target": s.target_2025,
            "p_100bn_by_2025": k / n,
            "p_ci95": list(wilson_interval(k, n)),
            "median_cross_year": int(np.median(years[hit])) if k * 2 > n else None,
            "p_above_in_end_year": float((end_out >= threshold).mean()),
            "output_bn": _bands(out, "output_yuan", BN),
        }
    all_four = (cross[list(TARGET_SECTORS)] <= end_year).all(axis=1)
    return {
        "threshold_bn": threshold / BN,
        "clusters": clusters,
        "p_all_four_targets": float(all_four.mean()),
        "p_all_four_ci95": list(wilson_interval(int(all_four.sum()), n)),
        "zone": {key: _bands(zone, col, div) for key, (col, div) in ZONE_REPORT.items()},
    }


def headline_table(summary: dict[str, Any]) -> str:
    """The table printed after a run: one row per cluster, targets first."""
    end = str(summary["years"][-1])
    rows = [("cluster", f"P(>=100bn by {end})", "95% CI", f"median {end} (bn)", "median cross year")]
    ordered = sorted(summary["clusters"].items(), key=lambda kv: not kv[1]["target"])
    for sid, c in ordered:
        lo, hi = c["p_ci95"]
        mark = "*" if c["target"] else " "
        cy = c["median_cross_year"]
        rows.append(
            (
                f"{mark}{sid}",
                f"{c['p_100bn_by_2025']:.2f}",
                f"[{lo:.2f}, {hi:.2f}]",
                f"{c['output_bn'][end]['p50']:.1f}",
                "-" if cy is None else str(cy),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lo, hi = summary["p_all_four_ci95"]
    lines.append(
        f"P(all four targets >= 100bn by {end}) = {summary['p_all_four_targets']:.2f} [{lo:.2f}, {hi:.2f}]"
        f"   (* = 2025 target; {summary['runs']} runs, seed {summary['seed']})"
    )
    return "\n".join(lines)
