"""Calibration targets (from zone_facts.yaml), simulated moments and the loss.

Targets: the 2015->2020 trajectory (GDP, industrial output, high-tech firms, firm count, patents
per 10,000 people), 2020 sector outputs and shares of industrial output, and stylised facts of
firm dynamics (bands). Every observed value is read from the data file; only the loss's
tolerances below are modelling choices.

Loss = sum over targets of weight * (deviation / tol)^2, where the deviation is in logs for
levels (so tol is a relative error), absolute for shares, and the distance outside the band for
stylised facts (zero inside). Simulated moments are averaged over the replications of a
candidate (common random numbers: the same seeds for every candidate).

Patents per 10,000 people (mapping, an assumption): the model has no patents; we take the stock
of innovations held by living firms, K(t) (innovations lapse when their firm exits), per person
of the talent pool T(t), indexed to the 2015 figure: P(t) = P(2015) * [K(t)/T(t)] / [K(2015)/T(2015)].
The 2015 level is matched by construction; the 2020 value is the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data import facts
from ..sectors import INDUSTRIAL_MASK, SECTOR_IDS
from .history import HISTORY_START_YEAR, HistoryRun

CONF_TOL = {"high": 0.05, "medium": 0.10, "low": 0.20}
"""Relative tolerance of a level target by the data's confidence (a modelling choice)."""
SHARE_TOL = 0.02  # absolute tolerance of a sector's share of industrial output
PATENT_TOL = 0.15  # relative: the figure is official, the mapping from the model is not
TAIL_SHARE = 0.05  # the Hill estimator uses the largest 5% of firms
END_YEAR = 2020


@dataclass(frozen=True)
class Target:
    """One calibration target. kind: 'log' (level), 'abs' (share) or 'band' (stylised fact)."""

    name: str
    observed: float  # central value ('band': midpoint)
    tol: float
    kind: str = "log"
    weight: float = 1.0
    low: float = np.nan  # band limits ('band' only)
    high: float = np.nan
    year: int = END_YEAR


def _log_tol(node: dict) -> float:
    if "low" in node and "high" in node:
        return max(0.5 * float(np.log(node["high"] / node["low"])), CONF_TOL["high"])
    if "low" in node:  # a floor: "over 93%"
        return max(float(np.log(node["value"] / node["low"])), CONF_TOL["high"])
    return CONF_TOL.get(node.get("conf", "medium"), CONF_TOL["medium"])


def targets() -> list[Target]:
    """All calibration targets, observed values from zone_facts.yaml (years 2016-2020)."""
    z, sec, sty = facts()["zone"], facts()["sectors"], facts()["stylised_facts"]
    out: list[Target] = []
    for metric in ("gdp_yuan", "industrial_output_yuan", "high_tech_firms", "firms"):
        name = metric.removesuffix("_yuan")
        for year, node in z[metric].items():
            if HISTORY_START_YEAR < int(year) <= END_YEAR and not node.get("interpolated"):
                out.append(Target(f"{name}_{year}", float(node["value"]), _log_tol(node), year=int(year)))
    out.append(Target("patents_per_10k_2020", float(z["patents_per_10k_people"][END_YEAR]["value"]), PATENT_TOL))
    industrial = float(z["industrial_output_yuan"][END_YEAR]["value"])
    for s in SECTOR_IDS:
        node = sec[s]["output_2020"]
        out.append(Target(f"output_2020_{s}", float(node["value"]), _log_tol(node)))
    for s, ind in zip(SECTOR_IDS, INDUSTRIAL_MASK, strict=True):
        if ind:
            share = float(sec[s]["output_2020"]["value"]) / industrial
            out.append(Target(f"share_2020_{s}", share, SHARE_TOL, kind="abs", weight=0.5))
    node = z["four_leading_share_2020"]
    out.append(Target("four_leading_share_2020", float(node["value"]), float(node["value"] - node["low"]), kind="abs"))
    for key in ("size_tail_exponent", "growth_excess_kurtosis", "entry_rate", "exit_rate"):
        lo, hi = float(sty[key]["low"]), float(sty[key]["high"])
        out.append(Target(key, 0.5 * (lo + hi), (hi - lo) / 4.0, kind="band", low=lo, high=hi))
    return out


def hill_exponent(sizes: np.ndarray, tail_share: float = TAIL_SHARE) -> float:
    """Hill estimate of the Pareto exponent of the upper tail (largest `tail_share` of sizes)."""
    x = np.sort(sizes[sizes > 0])[::-1]
    k = max(int(tail_share * x.size), 10)
    if x.size <= k:
        return np.nan
    return float(1.0 / np.mean(np.log(x[:k] / x[k])))


def growth_rates(run: HistoryRun) -> np.ndarray:
    """Annual log growth of firms alive at both ends of a year, pooled over 2016-2020."""
    rates = []
    for prev, cur in zip(run.firm_output[:-1], run.firm_output[1:], strict=True):
        n = prev.size
        both = (prev > 0) & (cur[:n] > 0)
        rates.append(np.log(cur[:n][both] / prev[both]))
    return np.concatenate(rates)


def excess_kurtosis(x: np.ndarray) -> float:
    x = x - x.mean()
    return float(np.mean(x**4) / np.mean(x**2) ** 2 - 3.0)


def run_moments(run: HistoryRun) -> dict[str, float]:
    """The simulated counterpart of every target, for one history replication."""
    rec = run.record
    years = rec.years
    i = {y: years.index(y) for y in years}
    firms = rec.sector_firms.sum(axis=1)
    z = rec.zone
    m: dict[str, float] = {}
    for y in years[1:]:
        m[f"gdp_{y}"] = z["gdp"][i[y]]
        m[f"industrial_output_{y}"] = z["industrial_output"][i[y]]
        m[f"high_tech_firms_{y}"] = z["high_tech_firms"][i[y]]
        m[f"firms_{y}"] = firms[i[y]]
    p0 = float(facts()["zone"]["patents_per_10k_people"][HISTORY_START_YEAR]["value"])
    per_person = run.innovation_stock / z["talent_persons"]
    for y in years:
        m[f"patents_per_10k_{y}"] = p0 * per_person[i[y]] / per_person[0]
    last = rec.sector_output[-1]
    industrial = last[np.asarray(INDUSTRIAL_MASK)].sum()
    for k, s in enumerate(SECTOR_IDS):
        m[f"output_2020_{s}"] = last[k]
        m[f"share_2020_{s}"] = last[k] / industrial
    m["four_leading_share_2020"] = 1.0 - last[SECTOR_IDS.index("other")] / industrial
    m["size_tail_exponent"] = hill_exponent(run.firm_output[-1])
    m["growth_excess_kurtosis"] = excess_kurtosis(growth_rates(run))
    prev_firms = firms[:-1]
    m["entry_rate"] = float(np.mean(z["entrants"][1:] / prev_firms))
    m["exit_rate"] = float(np.mean(z["exits"][1:] / prev_firms))
    return m


def _transform(t: Target, v: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(v, 1e-12)) if t.kind == "log" else v


def average_moments(moment_sets: Sequence[dict[str, float]], tg: Sequence[Target]) -> dict[str, float]:
    """Average over replications (in logs for level targets), back on the natural scale."""
    out = {}
    for t in tg:
        v = _transform(t, np.array([m[t.name] for m in moment_sets], dtype=float))
        mean = float(np.nanmean(v)) if np.any(np.isfinite(v)) else np.nan
        out[t.name] = float(np.exp(mean)) if t.kind == "log" else mean
    return out


def target_losses(sim: dict[str, float], tg: Sequence[Target]) -> dict[str, float]:
    """Loss contribution of each target given simulated (averaged) moments."""
    out = {}
    for t in tg:
        v = sim[t.name]
        if not np.isfinite(v):
            out[t.name] = 1e3
            continue
        if t.kind == "log":
            d = np.log(max(v, 1e-12) / t.observed)
        elif t.kind == "abs":
            d = v - t.observed
        else:
            d = max(t.low - v, 0.0, v - t.high)
        out[t.name] = float(t.weight * (d / t.tol) ** 2)
    return out


def loss(moment_sets: Sequence[dict[str, float]], tg: Sequence[Target]) -> float:
    """Total loss of a candidate from its replications' moments."""
    return float(sum(target_losses(average_moments(moment_sets, tg), tg).values()))
