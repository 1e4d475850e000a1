"""Score a finished ensemble against observations the user supplies.

The project ships no post-2020 data: observations come from the user, as a YAML file::

    description: where the numbers come from
    sectors:            # annual output per cluster, yuan/yr
      ngit: {2021: 9.5e10, 2022: 1.1e11}
    zone:               # zone metrics (columns of zone.parquet), their own units
      gdp: {2021: 2.2e11}
      high_tech_firms: {2021: 1500}
    events:             # threshold events: had cluster X reached 100 bn by year Y?
      - {cluster: biotech, year: 2023, passed: false}
      - {cluster: ngit, year: 2022, passed: true, threshold_bn: 100}

For each observed value (years after the ensemble's start year and up to its end year) the
score records whether it falls inside the ensemble's central 50% (p25-p75) and 80% (p10-p90)
bands, the ensemble CRPS (`crps_ensemble`) and the absolute log error of the ensemble median;
per metric it reports the share inside each band, the mean CRPS and the median absolute log
error (MALE). Events get the Brier score of the ensemble probability (the share of runs that
reached the threshold in a projected year up to that year: the one definition, model.outcomes).

Reference forecast (naive trend extrapolation), a point forecast from the ensemble's median
start-year value growing at a constant rate:
  * metrics with published 2015 and 2020 values in model/data/zone_facts.yaml (GDP,
    industrial output, high-tech firms): their 2015-2020 compound annual growth;
  * every other metric (cluster outputs, whose 2015 values are derived assumptions, not
    published figures; talent; flows): the ensemble's median growth from the start year to
    the next year, i.e. the model's own first-year growth continued.
Its CRPS is the absolute error (the CRPS of a point forecast); its event probabilities are 0
or 1 (does the naive path reach the threshold by the year?). CRPSS = 1 - CRPS / CRPS_ref.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from . import outcomes
from .analysis import crossing_years
from .cluster_model import ZONE_METRICS
from .data import facts
from .io import echo, read_yaml_mapping
from .levers import SectorId
from .results import TABLE_COLUMNS, read_table

BN = 1e9
ZoneMetric = Literal[ZONE_METRICS]  # type: ignore[valid-type]
Year = Annotated[int, Field(ge=2000, le=2100)]
Value = Annotated[float, Field(ge=0, allow_inf_nan=False)]
ZONE_UNITS = {
    "gdp": "yuan/yr",
    "industrial_output": "yuan/yr",
    "high_tech_firms": "firms",
    "talent_persons": "persons",
    "budget_spent": "yuan",
    "innovations": "count/yr",
    "entrants": "firms/yr",
    "exits": "firms/yr",
}
PUBLISHED_2015 = {
    "gdp": "gdp_yuan",
    "industrial_output": "industrial_output_yuan",
    "high_tech_firms": "high_tech_firms",
}
"""Zone metrics with published (not derived or interpolated) 2015 and 2020 values."""


class ObservationsError(ValueError):
    """A problem with the observations file or the results folder; str() is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdEvent(_Strict):
    """Had `cluster`'s annual output reached `threshold_bn` in or before `year`?"""

    cluster: SectorId
    year: Year
    passed: StrictBool
    threshold_bn: Annotated[float, Field(gt=0)] = 100.0


class Observations(_Strict):
    """A user's observations (made-up or real; the project ships none after 2020)."""

    description: str = ""
    sectors: dict[SectorId, dict[Year, Value]] = Field(default_factory=dict)
    zone: dict[ZoneMetric, dict[Year, Value]] = Field(default_factory=dict)
    events: list[ThresholdEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Observations:
        n = sum(len(v) for v in self.sectors.values()) + sum(len(v) for v in self.zone.values()) + len(self.events)
        if n == 0:
            raise ValueError("no observations: give sectors, zone or events")
        return self


def _format_error(path: Path, err: ValidationError) -> str:
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")  # a typo'd key explains the rest
    first = errors[0]
    loc = tuple(first["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        model = ThresholdEvent if loc[:1] == ("events",) else Observations
        msg = f"unknown key; allowed: {', '.join(model.model_fields)}"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] != "value_error" and "input" in first and not isinstance(first["input"], dict):
            msg += f" (got {first['input']!r})"
    more = len(errors) - 1
    return f"{path}: {key}: {msg}" + (f" [and {more} more error(s)]" if more else "")


def load_observations(path: str | Path) -> tuple[Observations, str]:
    """Read and validate an observations file; returns it and the file's SHA-256."""
    path = Path(path)
    raw, text = read_yaml_mapping(path, ObservationsError, "description, sectors, zone, events")
    try:
        obs = Observations.model_validate(raw)
    except ValidationError as err:
        raise ObservationsError(_format_error(path, err)) from None
    return obs, hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------- scores
def crps_ensemble(ensemble: np.ndarray, obs: np.ndarray | float) -> np.ndarray:
    """Empirical CRPS of ensemble forecasts: E|X - y| - E|X - X'|/2 over the members
    (the standard, not the 'fair', estimator). `ensemble` has members on the last axis;
    `obs` broadcasts against the other axes."""
    x = np.sort(np.asarray(ensemble, dtype=float), axis=-1)
    y = np.asarray(obs, dtype=float)
    m = x.shape[-1]
    spread = np.sum((2.0 * np.arange(1, m + 1) - m - 1) * x, axis=-1) / m**2  # = E|X - X'| / 2
    return np.mean(np.abs(x - y[..., None]), axis=-1) - spread


def crps_normal(mu: float, sigma: float, obs: np.ndarray | float) -> np.ndarray:
    """Closed-form CRPS of a normal forecast N(mu, sigma^2) (Gneiting and Raftery 2007)."""
    from scipy import stats

    z = (np.asarray(obs, dtype=float) - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))


def brier(prob: np.ndarray, outcome: np.ndarray) -> float:
    return float(np.mean((np.asarray(prob, float) - np.asarray(outcome, float)) ** 2))


def band_scores(ensemble: np.ndarray, obs: float) -> dict[str, Any]:
    """An observation against an ensemble: its p10/p25/p50/p75/p90, whether the observation lies
    in the 50% and 80% bands, the ensemble CRPS and the absolute log error of the median."""
    q10, q25, q50, q75, q90 = np.quantile(ensemble, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {
        "observed": obs,
        "p10": q10,
        "p25": q25,
        "p50": q50,
        "p75": q75,
        "p90": q90,
        "inside_50": bool(q25 <= obs <= q75),
        "inside_80": bool(q10 <= obs <= q90),
        "crps": float(crps_ensemble(ensemble, obs)),
        "abs_log_error": _abs_log_error(q50, obs),
    }


def _abs_log_error(pred: float, obs: float) -> float | None:
    return abs(math.log(pred / obs)) if pred > 0 and obs > 0 else None


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.median(vals)) if vals else None


def _reference_growth(metric: str, wide: pd.DataFrame, start: int) -> tuple[float | None, str]:
    """Annual growth of the naive reference for a metric, and its basis (see module doc)."""
    key = PUBLISHED_2015.get(metric)
    if key is not None:
        node = facts()["zone"][key]
        v15, v20 = float(node[2015]["value"]), float(node[2020]["value"])
        return (v20 / v15) ** (1 / 5) - 1, f"2015-2020 compound growth of zone_facts.yaml {key}"
    if start + 1 not in wide.columns:
        return None, "no year after the start year in the ensemble"
    a, b = wide[start].to_numpy(), wide[start + 1].to_numpy()
    ok = a > 0
    if not ok.any():
        return None, f"{metric} is zero in {start}: no growth rate"
    return float(np.median(b[ok] / a[ok]) - 1), f"ensemble median growth {start}->{start + 1}"


def _read_results(results_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not results_dir.is_dir():
        raise ObservationsError(f"{results_dir}: not a folder; give the folder of a finished `etown run`")
    tables = []
    for name in ("runs.parquet", "zone.parquet"):
        p = results_dir / name
        if not p.is_file():
            raise ObservationsError(f"{results_dir}: no {name}; give the folder of a finished `etown run`")
        frame = read_table(p, ObservationsError, TABLE_COLUMNS[name])
        if name == "runs.parquet":
            unknown = sorted(set(frame["sector"].astype(str)) - set(SectorId.__args__))  # type: ignore[attr-defined]
            if unknown:
                raise ObservationsError(f"{p}: column sector: unknown sector(s) {echo(unknown)}")
        if frame["year"].nunique() < 2:
            raise ObservationsError(f"{p}: needs at least two years (the start year and one projected)")
        tables.append(frame)
    runs_sets = [set(t["run"].unique()) for t in tables]
    if runs_sets[0] != runs_sets[1]:
        raise ObservationsError(f"{results_dir}: runs.parquet and zone.parquet hold different runs (mixed results?)")
    years = [sorted(set(t["year"].unique())) for t in tables]
    if years[0] != years[1]:
        raise ObservationsError(f"{results_dir}: runs.parquet and zone.parquet hold different years (mixed results?)")
    for t, name in zip(tables, ("runs.parquet", "zone.parquet"), strict=True):
        keys = ["run", "year", "sector"] if name == "runs.parquet" else ["run", "year"]
        per_run = t.groupby("run", observed=True)["year"].nunique()
        if t.duplicated(keys).any() or (per_run != len(years[0])).any():
            raise ObservationsError(f"{results_dir / name}: not one row per {', '.join(keys)} (a damaged table)")
    return tables[0], tables[1]


def score_ensemble(results_dir: str | Path, observations: str | Path) -> dict[str, Any]:
    """Score the ensemble in `results_dir` against the observations file; returns the report
    that `etown score` writes as score.json."""
    results_dir = Path(results_dir)
    obs, sha = load_observations(observations)
    sectors, zone = _read_results(results_dir)
    for metric in obs.zone:
        p = results_dir / "zone.parquet"
        if metric not in zone.columns:
            raise ObservationsError(f"{p}: no column {metric}, which {observations} observes")
        if not pd.api.types.is_numeric_dtype(zone[metric]):
            raise ObservationsError(f"{p}: column {metric}: must hold number values, has {zone[metric].dtype}")
        if not np.isfinite(zone[metric].to_numpy(dtype=float)).all():
            raise ObservationsError(f"{p}: column {metric}: holds values that are not finite numbers (NaN or infinite)")
    years = sorted(int(y) for y in zone["year"].unique())
    start, end = years[0], years[-1]
    runs = int(zone["run"].nunique())

    # metric -> wide table (run x year)
    series: dict[str, tuple[pd.DataFrame, dict[int, float], str]] = {}
    for sid, vals in obs.sectors.items():
        d = sectors[sectors["sector"].astype(str) == sid]
        wide = d.pivot_table(index="run", columns="year", values="output_yuan", observed=True)
        series[f"output:{sid}"] = (wide, vals, "yuan/yr")
    for metric, vals in obs.zone.items():
        series[metric] = (zone.pivot_table(index="run", columns="year", values=metric), vals, ZONE_UNITS[metric])

    skipped: list[str] = []
    rows: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    for name, (wide, vals, unit) in series.items():
        wide.columns = [int(c) for c in wide.columns]
        growth, basis = _reference_growth("" if name.startswith("output:") else name, wide, start)
        base = float(np.median(wide[start]))
        mrows = []
        for year, y in sorted(vals.items()):
            if not start < year <= end:
                skipped.append(f"{name} {year}: outside the scored years {start + 1}-{end}")
                continue
            ens = wide[year].to_numpy(dtype=float)
            ref = None if growth is None else base * (1 + growth) ** (year - start)
            mrows.append(
                {
                    "metric": name,
                    "year": year,
                    **band_scores(ens, y),
                    "reference": ref,
                    "crps_reference": None if ref is None else abs(ref - y),
                    "abs_log_error_reference": None if ref is None else _abs_log_error(ref, y),
                }
            )
        rows.extend(mrows)
        if not mrows:
            continue
        crps = float(np.mean([r["crps"] for r in mrows]))
        crps_ref = None if growth is None else float(np.mean([r["crps_reference"] for r in mrows]))
        metrics[name] = {
            "unit": unit,
            "n": len(mrows),
            "inside_50": float(np.mean([r["inside_50"] for r in mrows])),
            "inside_80": float(np.mean([r["inside_80"] for r in mrows])),
            "crps": crps,
            "crps_reference": crps_ref,
            "crpss": None if not crps_ref else 1 - crps / crps_ref,
            "male": _median([r["abs_log_error"] for r in mrows]),
            "male_reference": _median([r["abs_log_error_reference"] for r in mrows]),
            "reference_growth": growth,
            "reference_basis": basis,
        }

    events = _score_events(obs, sectors, start, end, skipped)
    if not rows and not events["items"]:
        raise ObservationsError(
            f"{observations}: no observation falls in the ensemble's scored years {start + 1}-{end}"
        )
    return {
        "results_dir": str(results_dir),
        "observations_file": str(observations),
        "observations_sha256": sha,
        "observations_description": obs.description,
        "runs": runs,
        "years": years,
        "scored_years": [start + 1, end],
        "bands": {"50%": ["p25", "p75"], "80%": ["p10", "p90"]},
        "reference": "naive trend: ensemble median start value x (1 + g)^years; g = 2015-2020 compound growth "
        "(zone_facts.yaml) where a published 2015 value exists, else the ensemble's median first-year growth",
        "overall": {
            "n": len(rows),
            "inside_50": float(np.mean([r["inside_50"] for r in rows])) if rows else None,
            "inside_80": float(np.mean([r["inside_80"] for r in rows])) if rows else None,
        },
        "metrics": metrics,
        "events": events,
        "observations": rows,
        "skipped": skipped,
    }


def _score_events(obs: Observations, sectors: pd.DataFrame, start: int, end: int, skipped: list[str]) -> dict:
    items = []
    cache: dict[float, pd.DataFrame] = {}
    for ev in obs.events:
        if not start < ev.year <= end:
            skipped.append(f"event {ev.cluster} {ev.year}: outside the scored years {start + 1}-{end}")
            continue
        thr = ev.threshold_bn * BN
        if thr not in cache:
            cache[thr] = crossing_years(sectors, thr)
        cross = cache[thr][ev.cluster] if ev.cluster in cache[thr] else pd.Series(np.nan)
        p = float((cross <= ev.year).mean())
        d = sectors[sectors["sector"].astype(str) == ev.cluster]
        wide = d.pivot_table(index="run", columns="year", values="output_yuan", observed=True)
        wide.columns = [int(c) for c in wide.columns]
        growth, _ = _reference_growth("", wide, start)
        base = float(np.median(wide[start]))
        if growth is None:
            p_ref = None
        else:
            years = list(range(start, ev.year + 1))
            path = np.array([base * (1 + growth) ** (t - start) for t in years])
            p_ref = float(outcomes.reached(path[:, None], years, ev.year, thr)[0])
        items.append(
            {**ev.model_dump(), "probability": p, "probability_reference": p_ref, "brier": (p - ev.passed) ** 2}
        )
    ref_ok = [i for i in items if i["probability_reference"] is not None]
    return {
        "n": len(items),
        "brier": brier([i["probability"] for i in items], [i["passed"] for i in items]) if items else None,
        "brier_reference": brier([i["probability_reference"] for i in ref_ok], [i["passed"] for i in ref_ok])
        if ref_ok
        else None,
        "items": items,
    }


# ---------------------------------------------------------------------- table
def _fmt(v: float | None, unit: str = "", digits: int = 3) -> str:
    if v is None:
        return "-"
    if unit.startswith("yuan"):
        return f"{v / BN:.{digits}g}"
    return f"{v:.{digits}g}"


def format_score_table(report: dict[str, Any]) -> str:
    """Per-metric table (bn yuan for money), the overall coverage and the Brier scores."""
    rows = [("metric", "n", "in 50%", "in 80%", "CRPS", "CRPS ref", "CRPSS", "MALE", "MALE ref", "unit")]
    for name, m in report["metrics"].items():
        unit = m["unit"]
        rows.append(
            (
                name,
                str(m["n"]),
                f"{m['inside_50']:.2f}",
                f"{m['inside_80']:.2f}",
                _fmt(m["crps"], unit),
                _fmt(m["crps_reference"], unit),
                "-" if m["crpss"] is None else f"{m['crpss']:.2f}",
                _fmt(m["male"]),
                _fmt(m["male_reference"]),
                unit.replace("yuan", "bn yuan"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            v.ljust(w) if i in (0, 9) else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    ov = report["overall"]
    if ov["n"]:
        lines.append(
            f"all {ov['n']} values: {ov['inside_50']:.2f} inside the 50% band, {ov['inside_80']:.2f} inside 80%"
        )
    ev = report["events"]
    if ev["n"]:
        lines.append(f"{ev['n']} threshold events: Brier {ev['brier']:.3f} (naive trend {_fmt(ev['brier_reference'])})")
    if report["skipped"]:
        lines.append(f"skipped {len(report['skipped'])} observation(s) outside the scored years (see score.json)")
    return "\n".join(lines)
