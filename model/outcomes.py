"""What the model reports, declared once (EMA style): every outcome an experiment, a summary,
the dashboard or the EMA connector reads is an `Outcome` built here.

**The 100-bn event, defined once.** A cluster *reaches 100 bn by year E* in a run when its
annual output is at or above the threshold (`zone_facts.yaml: zone.cluster_threshold_yuan`,
100 bn yuan/yr) in at least one **projected** year up to E: the years after the start year
(the start year is data, not projection, so it does not count; a cluster that was already at
100 bn in 2020 counts if it stays there in 2021 or later). Its *crossing year* is the first
projected year at or above the threshold. `reached`, `crossing_year` and `at_or_above` are the
only places in the package that compare output with the threshold (tests/test_outcomes.py
fails if another appears). P(>= 100 bn by the end year) is the share of runs that reach it.

**An outcome** has a name (a Python identifier, as the EMA Workbench wants), a label and a
unit, a kind (`event`: 0/1 per run; `stock`: a level read at one year, by default the end year;
`flow`: summed over the projected years), whether it counts firms (`scaled`: each agent
counts for the firms it stands for, done when the run is recorded: records.SCALED), and how an
ensemble reduces it (`probability`: share of runs with its Wilson interval; `mean` with its
t-interval; `median` with an order-statistic interval). `values(outcomes, record, end_year)`
turns one run into one number per outcome; `reduce(outcome, per_run)` an ensemble into an
`Estimate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .data import fact
from .records import SCALED, STOCKS, ZONE_METRICS
from .sectors import SECTOR_INDEX, SECTORS, TARGET_SECTORS
from .stats import Estimate, mean_ci, probability

if TYPE_CHECKING:
    from .records import RunRecord

BN = 1e9
Kind = Literal["event", "stock", "flow"]
Reduce = Literal["probability", "mean", "median"]
ALL_FOUR = "targets"
"""`reached:targets`: every one of the four target clusters reached 100 bn."""


# ---------------------------------------------------------------------- the 100-bn event
def threshold_yuan() -> float:
    """Output that makes a cluster a '100-billion-yuan cluster' (yuan/yr, zone_facts.yaml)."""
    return fact("zone", "cluster_threshold_yuan")


def threshold_bn() -> float:
    """The threshold in bn yuan/yr (for drawing the line on a chart)."""
    return threshold_yuan() / BN


def at_or_above(output: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Elementwise: is this annual output (yuan/yr) at or above the threshold?"""
    return np.asarray(output) >= (threshold_yuan() if threshold is None else threshold)


def projected(years: Sequence[int] | np.ndarray, end_year: int) -> np.ndarray:
    """Mask of the years that count for 'by end_year': after the start year (years[0]), up to end_year."""
    y = np.asarray(years)
    return (y > y[0]) & (y <= end_year)


def reached(
    output: np.ndarray, years: Sequence[int] | np.ndarray, end_year: int, threshold: float | None = None
) -> np.ndarray:
    """THE 100-bn event: output[..., year, sector] (yuan/yr, years[0] the start year) ->
    [..., sector] True where the sector is at or above the threshold in some projected year up
    to end_year."""
    mask = projected(years, end_year)
    return at_or_above(np.asarray(output)[..., mask, :], threshold).any(axis=-2)


def crossing_year(output: np.ndarray, years: Sequence[int] | np.ndarray, threshold: float | None = None) -> np.ndarray:
    """First projected year at or above the threshold, [..., sector] (NaN if none); `reached`
    by E is `crossing_year <= E`."""
    y = np.asarray(years)
    mask = projected(y, int(y[-1]))
    above = at_or_above(np.asarray(output)[..., mask, :], threshold)
    first = np.argmax(above, axis=-2)
    return np.where(above.any(axis=-2), y[mask][first], np.nan)


# ---------------------------------------------------------------------- outcome declarations
@dataclass(frozen=True)
class Outcome:
    """One reported quantity (see the module docstring). `source` says what it is read from:
    `reached:<sector>` or `reached:targets` (events), `output:<sector>` or `output:total`
    (annual output, yuan/yr), `zone:<metric>` (records.ZONE_METRICS)."""

    name: str
    label: str
    unit: str
    kind: Kind
    reduce: Reduce
    source: str
    scaled: bool = False
    year: int | None = None  # stocks: the year read (None: the end year)
    divisor: float = 1.0  # model unit / reported unit (BN for bn yuan)

    def at(self, year: int) -> Outcome:
        """This stock read at `year` instead of the end year (name suffixed with the year)."""
        return replace(self, name=f"{self.name}_{year}", label=f"{self.label} in {year}", year=year)


_SECTOR_NAMES = {s.id: s.name_en for s in SECTORS}


def p_reach(sector: str) -> Outcome:
    """P(the sector reaches 100 bn by the end year)."""
    return Outcome(
        f"p_100bn_{sector}",
        f"P({sector} >= 100 bn by the end year)",
        "probability",
        "event",
        "probability",
        f"reached:{sector}",
    )


P_ALL_FOUR = Outcome(
    "p_all_four",
    "P(all four targets >= 100 bn by the end year)",
    "probability",
    "event",
    "probability",
    f"reached:{ALL_FOUR}",
)


def output(sector: str) -> Outcome:
    """The sector's annual output in the end year, bn yuan/yr (`output:total`: all sectors)."""
    label = "total output (all sectors)" if sector == "total" else f"{sector} output"
    return Outcome(f"output_bn_{sector}", label, "bn yuan/yr", "stock", "median", f"output:{sector}", divisor=BN)


MONEY_METRICS = {
    "gdp",
    "value_added",
    "industrial_output",
    "entrant_output",
    "budget_spent",
    "credit_granted",
    "equity_invested",
    "equity_to_targets",
    "project_investment",
    "procurement",
    "rd_spending",
    "debt",
    "credit_limit",
} | {m for m in ZONE_METRICS if m.startswith("paid_")}
"""Zone metrics in yuan (reported in bn yuan)."""
LEVELS = STOCKS | {"entrant_output"}
"""Zone metrics read at a year (levels and annual run rates); the rest are flows summed over the
projected years. entrant_output is the annual output of the firms founded after the start."""
ZONE_UNITS = {
    "firms": "firms",
    "high_tech_firms": "firms",
    "talent_persons": "persons",
    "skill_level": "level (1-3)",
    "rd_intensity": "share of output",
    "constrained_share": "share of firm-quarters",
    "talent_inflow": "persons",
    "talent_outflow": "persons",
}


def zone(metric: str) -> Outcome:
    """A zone metric of records.ZONE_METRICS: levels in the end year, flows summed over the
    projected years; money in bn yuan."""
    if metric not in ZONE_METRICS:
        raise ValueError(f"unknown zone metric {metric!r}")
    kind: Kind = "stock" if metric in LEVELS else "flow"
    money = metric in MONEY_METRICS
    rate = kind == "stock" and metric not in ("debt", "credit_limit")
    unit = ("bn yuan/yr" if rate else "bn yuan") if money else ZONE_UNITS.get(metric, "count")
    label = metric.replace("_", " ") + ("" if kind == "stock" else ", summed over the projected years")
    return Outcome(
        metric, label, unit, kind, "mean", f"zone:{metric}", scaled=metric in SCALED, divisor=BN if money else 1.0
    )


TARGET_P = tuple(p_reach(s) for s in TARGET_SECTORS)
TARGET_OUTPUT = tuple(output(s) for s in TARGET_SECTORS)
HEADLINE: tuple[Outcome, ...] = (*TARGET_P, P_ALL_FOUR, *TARGET_OUTPUT)
"""P per target cluster, P(all four), end-year output per target cluster: what compare,
sensitivity, uncertainty and the EMA connector report."""
SUMMARY_ZONE: tuple[tuple[str, Outcome], ...] = (
    ("gdp_bn", zone("gdp")),
    ("industrial_output_bn", zone("industrial_output")),
    ("firms", zone("firms")),
    ("high_tech_firms", zone("high_tech_firms")),
    ("talent_persons", zone("talent_persons")),
    ("budget_spent_bn", zone("budget_spent")),
)
"""summary.json key -> zone outcome whose yearly bands (p10/p50/p90) the summary reports."""
COST = zone("budget_spent")
"""Special funds paid over the projected years (bn yuan): what a measure costs."""
EFFECT_PER_YUAN: tuple[Outcome, ...] = (output("total"), zone("value_added"), zone("entrant_output"))
"""End-year output of all sectors, value added, and the output of firms founded after the start:
what `etown effects` divides by the extra money spent."""


def event(sectors: Sequence[str]) -> Outcome:
    """P(all of these target clusters reach 100 bn by the end year): one cluster's p_reach,
    P_ALL_FOUR for the four targets, else a combined event."""
    chosen = tuple(dict.fromkeys(sectors))
    if set(chosen) == set(TARGET_SECTORS):
        return P_ALL_FOUR
    if len(chosen) == 1:
        return p_reach(chosen[0])
    name = "_and_".join(chosen)
    return Outcome(
        f"p_100bn_{name}",
        f"P({' and '.join(chosen)} >= 100 bn by the end year)",
        "probability",
        "event",
        "probability",
        "reached:" + "+".join(chosen),
    )


# ---------------------------------------------------------------------- per run and per ensemble
def values(outcomes: Sequence[Outcome], rec: RunRecord, end_year: int) -> np.ndarray:
    """One run's value of each outcome, in the reported units."""
    years = np.asarray(rec.years)
    hit = reached(rec.sector_output, years, end_year)
    out = np.empty(len(outcomes))
    for i, o in enumerate(outcomes):
        what, _, key = o.source.partition(":")
        year = end_year if o.year is None else o.year
        if what == "reached":
            wanted = TARGET_SECTORS if key == ALL_FOUR else key.split("+")
            out[i] = float(all(hit[SECTOR_INDEX[s]] for s in wanted))
        elif what == "output":
            row = rec.sector_output[_year_index(years, year)]
            out[i] = (row.sum() if key == "total" else row[SECTOR_INDEX[key]]) / o.divisor
        elif what == "zone":
            series = np.asarray(rec.zone[key], dtype=float)
            if o.kind == "flow":
                out[i] = float(np.nansum(series[projected(years, year)])) / o.divisor
            else:
                out[i] = float(series[_year_index(years, year)]) / o.divisor
        else:
            raise ValueError(f"unknown outcome source {o.source!r}")
    return out


def headline_from_table(sectors: pd.DataFrame, end_year: int) -> np.ndarray:
    """Per-run values of HEADLINE from a finished ensemble's tidy output table (runs.parquet:
    run, year, sector, output_yuan; years from the start year), runs in ascending order: what a
    report needs to compare ensembles with the one definition of the event."""
    wide = sectors.pivot_table(index="run", columns=["year", "sector"], values="output_yuan", observed=True)
    years = sorted({int(y) for y, _ in wide.columns})
    out = np.stack([wide.xs(y, axis=1, level="year")[list(SECTOR_INDEX)].to_numpy() for y in years], axis=1)
    hit = reached(out, years, end_year)  # [run, sector]
    end = out[:, years.index(end_year), :]
    cols = []
    for o in HEADLINE:
        what, _, key = o.source.partition(":")
        if what == "reached":
            wanted = TARGET_SECTORS if key == ALL_FOUR else key.split("+")
            cols.append(hit[:, [SECTOR_INDEX[k] for k in wanted]].all(axis=1).astype(float))
        else:
            cols.append(end[:, SECTOR_INDEX[key]] / o.divisor)
    return np.column_stack(cols)


def _year_index(years: np.ndarray, year: int) -> int:
    idx = np.flatnonzero(years == year)
    if not len(idx):
        raise ValueError(f"year {year} is not among the run's years {years[0]}-{years[-1]}")
    return int(idx[0])


def reduce(outcome: Outcome, per_run: np.ndarray) -> Estimate:
    """An ensemble's value of an outcome, as declared: P with its Wilson interval, a mean with
    its t-interval or a median with its order-statistic interval (95%)."""
    x = np.asarray(per_run, dtype=float)
    if outcome.reduce == "probability":
        return probability(x)
    if outcome.reduce == "mean":
        return mean_ci(x)
    n = x.size
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    v = np.sort(x)
    half = 1.959964 * math.sqrt(n) / 2  # ranks of the median's interval (binomial, normal approximation)
    lo, hi = max(0, math.floor(n / 2 - half) - 1), min(n - 1, math.ceil(n / 2 + half))
    return Estimate(float(np.median(x)), float(v[lo]), float(v[hi]), n)


def by_name(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Column of each outcome in a values array."""
    return {o.name: i for i, o in enumerate(outcomes)}
