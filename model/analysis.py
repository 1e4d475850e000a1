"""From per-run yearly tables to what users read: probabilities with confidence intervals,
crossing years, bands, the summary and the headline table. The 100-bn event and the outcomes
are declared in model/outcomes.py; the intervals come from model/stats.py."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from . import outcomes
from .outcomes import BN
from .sectors import SECTOR_IDS, SECTOR_INDEX, SECTORS, TARGET_SECTORS
from .stats import wilson as wilson_interval

ZONE_REPORT = {key: (o.source.removeprefix("zone:"), o.divisor) for key, o in outcomes.SUMMARY_ZONE}
"""summary key -> (zone column, divisor), from the declared summary outcomes."""


def p_key(end_year: int) -> str:
    """The summary key of P(>= 100 bn by the end year): `p_100bn_by_2025` for 2025,
    `p_100bn_by_2030` for 2030 (named for the year it holds)."""
    return f"p_100bn_by_{int(end_year)}"


def crossing_years(sectors: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Crossing year (outcomes.crossing_year: the first projected year at or above the
    threshold, yuan/yr; NaN if never) of each (run, sector) of a tidy table whose first year
    is the start year. A frame indexed by run with one column per sector."""
    wide = sectors.pivot_table(index=["run", "sector"], columns="year", values="output_yuan", observed=True)
    first = outcomes.crossing_year(wide.to_numpy()[:, :, None], np.asarray(wide.columns), threshold)[:, 0]
    return pd.Series(first, index=wide.index).unstack("sector")


def _quantiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Linear-interpolation quantiles computed as pandas' groupby quantile does (bit for bit,
    unlike np.quantile's lerp), so summaries match those computed from pandas tables."""
    v = np.sort(values)
    out = []
    for q in qs:
        pos = q * (len(v) - 1)
        i = math.floor(pos)
        out.append(float(v[i]) if i + 1 >= len(v) else float(v[i] + (pos - i) * (v[i + 1] - v[i])))
    return out


class EnsembleAggregate:
    """Compact per-run arrays of an ensemble, filled part by part (in any order), from which
    the summary and the fan chart are computed without holding the tidy per-run tables.

    Kept per run: the output per (year, sector) and the reported zone metrics per year, as
    float64 so that the summary is exactly what the tidy tables give (float32 would print
    83 bn as 83.000000512). 100,000 runs of 6 years x 7 sectors take about 60 MB
    (34 MB output + 24 MB zone), against ~1.5 GB for pandas tables of the same runs.
    """

    def __init__(self, runs: int, threshold: float | None = None) -> None:
        self.runs = runs
        self.threshold = threshold  # None: the 100-bn threshold (outcomes.threshold_yuan)
        self.years: np.ndarray | None = None  # learnt from the first part
        self.seen = np.zeros(runs, dtype=bool)

    def _allocate(self, years: np.ndarray) -> None:
        self.years = np.unique(years)
        shape = (self.runs, len(self.years), len(SECTOR_IDS))
        self.output = np.full(shape, np.nan)  # yuan/year
        self.zone = {col: np.full(shape[:2], np.nan) for col, _ in ZONE_REPORT.values()}

    def _year_index(self, years: np.ndarray) -> np.ndarray:
        assert self.years is not None
        idx = np.searchsorted(self.years, years)
        if (idx >= len(self.years)).any() or (self.years[np.minimum(idx, len(self.years) - 1)] != years).any():
            raise ValueError("a part has years the first part did not have")
        return idx

    def add(self, sectors: pd.DataFrame, zone: pd.DataFrame) -> None:
        """Take in the tidy tables of some runs (one part: (run, year, sector) and (run, year) rows)."""
        if self.years is None:
            self._allocate(sectors["year"].to_numpy())
        run = sectors["run"].to_numpy()
        yi = self._year_index(sectors["year"].to_numpy())
        si = pd.Categorical(sectors["sector"], categories=SECTOR_IDS).codes
        if (si < 0).any():
            raise ValueError("a part has an unknown sector")
        self.output[run, yi, si] = sectors["output_yuan"].to_numpy(dtype=np.float64)
        zrun = zone["run"].to_numpy()
        zyi = self._year_index(zone["year"].to_numpy())
        for col, arr in self.zone.items():
            arr[zrun, zyi] = zone[col].to_numpy(dtype=np.float64)
        self.seen[run] = True

    @classmethod
    def from_frames(cls, sectors: pd.DataFrame, zone: pd.DataFrame) -> EnsembleAggregate:
        """All runs at once (run ids need not be 0..n-1)."""
        ids, codes = np.unique(sectors["run"].to_numpy(), return_inverse=True)
        agg = cls(len(ids))
        agg.add(sectors.assign(run=codes), zone.assign(run=np.searchsorted(ids, zone["run"].to_numpy())))
        return agg

    def crossing_years(self) -> np.ndarray:
        """[run, sector] crossing year (outcomes.crossing_year; NaN if never) of the seen runs."""
        assert self.years is not None
        return outcomes.crossing_year(self.output[self.seen], self.years, self.threshold)

    def fan_frame(self) -> pd.DataFrame:
        """(year, sector, output_yuan) rows of every run (float32): all the fan chart needs."""
        assert self.years is not None
        out = self.output[self.seen]
        n, ny, ns = out.shape
        return pd.DataFrame(
            {
                "year": np.tile(np.repeat(self.years.astype(np.int16), ns), n),
                "sector": pd.Categorical.from_codes(np.tile(np.arange(ns, dtype=np.int8), n * ny), SECTOR_IDS),
                "output_yuan": out.ravel().astype(np.float32),  # plenty for a chart, half the memory
            }
        )

    def summary(self, end_year: int) -> dict[str, Any]:
        """The outcome part of summary.json."""
        if self.years is None or not self.seen.all():
            raise ValueError(f"the ensemble is incomplete: {int(self.seen.sum())} of {self.runs} runs")
        cross = self.crossing_years()
        hits = outcomes.reached(self.output, self.years, end_year, self.threshold)  # [run, sector]
        n = cross.shape[0]
        end = np.flatnonzero(self.years == end_year)
        end_above = (
            outcomes.at_or_above(self.output[:, end[0], :], self.threshold)
            if len(end)
            else np.full((n, len(SECTORS)), np.nan)
        )
        clusters: dict[str, Any] = {}
        for i, s in enumerate(SECTORS):
            years = cross[:, i]
            hit = hits[:, i]
            k = int(hit.sum())
            clusters[s.id] = {
                "name": s.name_en,
                "name_zh": s.name_zh,
                "target": s.target_2025,
                p_key(end_year): k / n,
                "p_ci95": list(wilson_interval(k, n)),
                "median_cross_year": int(np.median(years[hit])) if k * 2 > n else None,
                "p_above_in_end_year": float(end_above[:, i].mean()),
                "output_bn": self._bands(self.output[:, :, i], BN),
            }
        targets = [SECTOR_INDEX[t] for t in TARGET_SECTORS]
        all_four = hits[:, targets].all(axis=1)
        return {
            "end_year": int(end_year),
            "threshold_bn": outcomes.threshold_bn() if self.threshold is None else self.threshold / BN,
            "clusters": clusters,
            "p_all_four_targets": float(all_four.mean()),
            "p_all_four_ci95": list(wilson_interval(int(all_four.sum()), n)),
            "zone": {key: self._bands(self.zone[col], div) for key, (col, div) in ZONE_REPORT.items()},
        }

    def _bands(self, values: np.ndarray, divisor: float) -> dict[str, dict[str, float]]:
        """p10/p50/p90 per year of a [run, year] array (NaNs skipped; all-NaN years left out)."""
        assert self.years is not None
        bands = {}
        for j, y in enumerate(self.years):
            col = values[:, j] / divisor
            col = col[~np.isnan(col)]
            if col.size:
                p10, p50, p90 = _quantiles(col, (0.1, 0.5, 0.9))
                bands[str(int(y))] = {"p10": float(p10), "p50": float(p50), "p90": float(p90)}
        return bands


def summarize(sectors: pd.DataFrame, zone: pd.DataFrame, end_year: int) -> dict[str, Any]:
    """The outcome part of summary.json from tidy per-run tables held in memory (small
    ensembles; `EnsembleAggregate` is the part-by-part route)."""
    return EnsembleAggregate.from_frames(sectors, zone).summary(end_year)


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
                f"{c[p_key(int(end))]:.2f}",
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
