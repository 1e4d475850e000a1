"""`etown compare`: scenarios side by side, each answer to a stated precision.

Every scenario is a point on seed stream 0 of the master seed (experiments/core.py), so
replication r of every scenario draws the same random inputs as `etown run --seed S` does for
its run r: differences are paired, run by run. Replications are added in rounds until, for every
target cluster and "all four", each scenario's P(>= 100 bn by the end year) has a 95% half-width
of at most `precision.p`, and each paired difference to the baseline has at most `precision.p`
(probabilities) and `precision.output_bn` (end-year output, bn yuan/yr), or `max_runs` stops it.

Per target cluster and scenario the table holds P with its Wilson interval, the median end-year
output (p10, p90), and against the baseline the paired difference of P (Agresti-Min interval)
and of end-year output (t-interval); `*_unpaired_halfwidth` is what an unpaired comparison of
the same runs would give. A scenario compared with itself differs by exactly zero.

Files in `<out>`: compare.csv (the table, rounded), compare.json (table, settings, precision
reached), compare.png (median paths with p10-p90 bands per target cluster, and the
probability differences with their intervals); finished blocks in `<out>/parts/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import outcomes as oc
from .. import plots
from ..analysis import p_key
from ..ensemble import EnsembleError, RunSettings
from ..i18n import Lang
from ..io import RESULT_DIGITS, write_atomic, write_json
from ..plots import save_figure
from ..scenario import LoadedScenario
from ..sectors import TARGET_SECTORS
from ..stats import probability
from .core import SEEDS_PAIRED, Executor, Point, Precision, Runner, hooks, more_runs, open_store, settings_id
from .paired import difference, unpaired_half_width

ALL_FOUR = "all_four"
FIRST_RUNS = 40
"""Runs per scenario in the first round."""


def labels(scenarios: list[LoadedScenario]) -> list[str]:
    """A unique label per scenario: its name, `-2`, `-3`... for repeats (a scenario may be
    compared with itself)."""
    out: list[str] = []
    for sc in scenarios:
        name, k = sc.scenario.name, 2
        label = name
        while label in out:
            label, k = f"{name}-{k}", k + 1
        out.append(label)
    return out


def pick_baseline(scenarios: list[LoadedScenario], names: list[str], baseline: str | None) -> int:
    """Index of the baseline scenario: given by label, scenario name or file path (default: the first)."""
    if baseline is None:
        return 0
    for i, (sc, label) in enumerate(zip(scenarios, names, strict=True)):
        if baseline in (label, sc.scenario.name) or Path(baseline) == sc.path:
            return i
    raise EnsembleError(f"--baseline: {baseline!r} is none of the scenarios compared ({', '.join(names)})")


def compare_outcomes(years: list[int]) -> tuple[oc.Outcome, ...]:
    """P per target, P(all four), end-year output per target, and each year's output per
    target (for the bands of the chart)."""
    return (*oc.HEADLINE, *(oc.output(s).at(y) for s in TARGET_SECTORS for y in years))


@dataclass
class Comparison:
    """The result of `run_compare`."""

    labels: list[str]
    baseline: str
    end_year: int
    runs: int
    seed: int
    scale: float
    table: pd.DataFrame  # one row per scenario x (target cluster or all four)
    bands: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # label -> sector -> year x p10/p50/p90
    precision: Precision = field(default_factory=Precision)
    reached: dict[str, float] = field(default_factory=dict)  # largest half-width of each kind
    capped: bool = False
    rounds: int = 1

    def chart(self, lang: Lang = "en") -> Figure:
        """The comparison figure (median paths, output and probability differences with CIs)."""
        return compare_chart(self, lang)

    @property
    def summaries(self) -> dict[str, dict[str, Any]]:
        """Per scenario, the yearly output bands of the target clusters (summary.json shape)."""
        return summaries_from_bands(self.bands)

    def header(self) -> list[str]:
        r = self.reached
        stop = (
            f"the cap stopped it at {self.runs} runs (--max-runs) before the target was met"
            if self.capped
            else f"target met after {self.runs} runs a scenario ({self.rounds} round(s))"
        )
        return [
            f"comparison against {self.baseline}: {self.runs} paired runs per scenario (seed {self.seed}, "
            f"scale {self.scale}); differences are scenario minus {self.baseline}, mean over paired runs [95% CI]",
            SEEDS_PAIRED.format(seed=self.seed),
            f"precision {self.precision.describe()}; reached: P +-{r['p']:.3f}, dP +-{r['p_diff']:.3f}, "
            f"d output +-{r['output_diff_bn']:.2f} bn: {stop}",
        ]

    def format(self) -> str:
        """The table a user reads."""
        end = self.end_year
        rows = [
            ("cluster", "scenario", f"P(>=100bn by {end})", f"median {end} (bn)", "dP [95% CI]", "d output bn [95% CI]")
        ]
        for _, r in self.table.iterrows():
            base = r["scenario"] == self.baseline
            dp = "baseline" if base else f"{r['p_diff']:+.3f} [{r['p_diff_lo']:+.3f}, {r['p_diff_hi']:+.3f}]"
            if r["cluster"] == ALL_FOUR:
                med, dout = "", ""
            else:
                med = f"{r['median_output_bn']:.1f}"
                dout = (
                    "baseline"
                    if base
                    else f"{r['output_diff_bn']:+.1f} [{r['output_diff_lo_bn']:+.1f}, {r['output_diff_hi_bn']:+.1f}]"
                )
            p = f"{r['p']:.2f} [{r['p_lo']:.2f}, {r['p_hi']:.2f}]"
            rows.append((r["cluster"], r["scenario"], p, med, dp, dout))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
            for row in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join([*self.header(), *lines])


def compare_table(names: list[str], values: list[np.ndarray], base: int) -> pd.DataFrame:
    """The comparison table from per-run values of `oc.HEADLINE` (first columns) per scenario."""
    col = oc.by_name(oc.HEADLINE)
    rows = []
    for cluster in [*TARGET_SECTORS, ALL_FOUR]:
        p_out = oc.P_ALL_FOUR if cluster == ALL_FOUR else oc.p_reach(cluster)
        for k, (label, v) in enumerate(zip(names, values, strict=True)):
            hits, base_hits = v[:, col[p_out.name]], values[base][:, col[p_out.name]]
            p, dp = probability(hits), difference(p_out, base_hits, hits)
            row: dict[str, Any] = {
                "cluster": cluster,
                "scenario": label,
                "is_baseline": k == base,
                "runs": p.n,
                "p": p.value,
                "p_lo": p.lo,
                "p_hi": p.hi,
                "p_diff": dp.value,
                "p_diff_lo": dp.lo,
                "p_diff_hi": dp.hi,
                "p_diff_unpaired_halfwidth": unpaired_half_width(base_hits, hits),
            }
            if cluster != ALL_FOUR:
                out = oc.output(cluster)
                y, y0 = v[:, col[out.name]], values[base][:, col[out.name]]
                d = difference(out, y0, y)
                row["median_output_bn"] = float(np.median(y))
                row["output_p10_bn"], row["output_p90_bn"] = (float(q) for q in np.quantile(y, [0.1, 0.9]))
                row["output_diff_bn"], row["output_diff_lo_bn"], row["output_diff_hi_bn"] = d.value, d.lo, d.hi
                row["output_diff_unpaired_halfwidth_bn"] = unpaired_half_width(y0, y)
            rows.append(row)
    return pd.DataFrame(rows)


def _half_widths(table: pd.DataFrame) -> dict[str, float]:
    """The largest 95% half-width of each kind in the table (what the precision targets bound)."""
    others = table[~table["is_baseline"]]

    def widest(t: pd.DataFrame, lo: str, hi: str) -> float:
        return float(((t[hi] - t[lo]) / 2).max()) if len(t) else 0.0

    return {
        "p": widest(table, "p_lo", "p_hi"),
        "p_diff": widest(others, "p_diff_lo", "p_diff_hi"),
        "output_diff_bn": widest(others.dropna(subset=["output_diff_lo_bn"]), "output_diff_lo_bn", "output_diff_hi_bn"),
    }


def run_compare(
    scenarios: list[LoadedScenario],
    out: Path | None,
    *,
    baseline: str | None = None,
    precision: Precision | None = None,
    seed: int,
    settings: RunSettings,
    executor: Executor | None = None,
    fresh: bool = False,
    progress: Any = None,
) -> Comparison:
    """Run the scenarios on common seeds in rounds until the precision target is met (or the
    cap), then compare them with the baseline (default: the first)."""
    precision = precision or Precision()
    names = labels(scenarios)
    base = pick_baseline(scenarios, names, baseline)
    spans = {(sc.scenario.start_year, sc.scenario.end_year) for sc in scenarios}
    if len(spans) > 1:
        years = ", ".join(
            f"{lab}: {sc.scenario.start_year}-{sc.scenario.end_year}" for lab, sc in zip(names, scenarios, strict=True)
        )
        raise EnsembleError(f"the scenarios compared must cover the same years ({years})")
    first = scenarios[0].scenario
    end_year, years = first.end_year, first.years
    outcomes = compare_outcomes(years)
    store = open_store(out, "compare", {"seed": seed, "settings": settings_id(settings)}, fresh)
    points = [Point(sc.scenario, settings, 0, label=label) for sc, label in zip(scenarios, names, strict=True)]

    def needs(values: list[np.ndarray]) -> list[int]:
        n = len(values[0])
        hw = _half_widths(compare_table(names, values, base))
        want = max(
            more_runs(n, hw["p"], precision.p),
            more_runs(n, hw["p_diff"], precision.p),
            more_runs(n, hw["output_diff_bn"], precision.output_bn),
        )
        return [want] * len(values)  # paired: every scenario runs the same replications

    with executor or Executor() as ex:
        result = Runner(outcomes, seed, ex, store, **hooks(progress)).until(
            points, needs, first=FIRST_RUNS, max_runs=precision.max_runs
        )
    values = result.values
    table = compare_table(names, values, base)
    col = oc.by_name(outcomes)
    bands = {
        label: {
            s: pd.DataFrame(
                {y: np.quantile(v[:, col[oc.output(s).at(y).name]], [0.1, 0.5, 0.9]) for y in years},
                index=["p10", "p50", "p90"],
            ).T
            for s in TARGET_SECTORS
        }
        for label, v in zip(names, values, strict=True)
    }
    return Comparison(
        names,
        names[base],
        end_year,
        len(values[0]),
        seed,
        settings.scale,
        table,
        bands,
        precision,
        _half_widths(table),
        any(result.capped),
        result.rounds,
    )


QUANTILES = ("p10", "p50", "p90")


def summaries_from_bands(bands: dict[str, dict[str, pd.DataFrame]]) -> dict[str, dict[str, Any]]:
    """Per scenario label, the part of a summary.json the comparison chart reads (each target
    cluster's yearly output bands, bn yuan), from a comparison's bands."""
    return {
        label: {
            "clusters": {
                sid: {
                    "output_bn": {str(int(y)): {k: float(b.loc[y, k]) for k in ("p10", "p50", "p90")} for y in b.index}
                }
                for sid, b in per.items()
            }
        }
        for label, per in bands.items()
    }


def compare_chart(cmp: Comparison, lang: Lang = "en") -> Figure:
    """The comparison figure (plots.compare_chart): median paths per target cluster, one style
    per scenario, the baseline's p10-p90 band; paired differences in end-year output and in
    P(>= 100 bn) with 95% CIs; the precision reached in the title."""
    stop = "cap reached" if cmp.capped else "precision target met"
    return plots.compare_chart(
        cmp.table,
        summaries_from_bands(cmp.bands),
        labels=cmp.labels,
        baseline=cmp.baseline,
        end_year=cmp.end_year,
        runs=cmp.runs,
        seed=cmp.seed,
        scale=cmp.scale,
        title=(
            f"Scenarios on common seeds: {cmp.runs} paired runs, seed {cmp.seed}, scale {cmp.scale}; "
            f"P ±{cmp.reached.get('p', float('nan')):.3f}, ΔP ±{cmp.reached.get('p_diff', float('nan')):.3f} "
            f"(95%), {stop}"
        )
        if lang == "en"
        else None,
        lang=lang,
    )


def load_comparison(folder: Path) -> Comparison:
    """A finished comparison (compare.json) without rerunning it."""
    from ..api import read_json

    meta = read_json(folder / "compare.json")
    if not isinstance(meta, dict) or "comparison" not in meta or "scenarios" not in meta:
        raise EnsembleError(f"RESULT: {folder / 'compare.json'}: not written by etown compare")
    bands = {
        label: {
            sid: pd.DataFrame.from_dict(by_year, orient="index").rename(index=int).sort_index()
            for sid, by_year in per.items()
        }
        for label, per in meta.get("bands", {}).items()
    }
    target = meta.get("precision_target", {})
    return Comparison(
        list(meta["scenarios"]),
        meta.get("baseline", meta["scenarios"][0]),
        int(meta["end_year"]),
        int(meta["runs"]),
        int(meta["seed"]),
        float(meta["scale"]),
        pd.DataFrame(meta["comparison"]),
        bands,
        Precision(**{k: v for k, v in target.items() if k in ("p", "output_bn", "max_runs")}),
        dict(meta.get("precision_reached", {})),
        bool(meta.get("stopped_by_cap", False)),
        int(meta.get("rounds", 1)),
    )


def write_compare(cmp: Comparison, out: Path) -> None:
    """compare.csv, compare.json and compare.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "compare.csv", lambda p: cmp.table.to_csv(p, index=False, float_format="%.4g"))
    meta = {
        "baseline": cmp.baseline,
        "scenarios": cmp.labels,
        "end_year": cmp.end_year,
        "runs": cmp.runs,
        "seed": cmp.seed,
        "scale": cmp.scale,
        "probability_key": p_key(cmp.end_year),
        "precision_target": {
            "p": cmp.precision.p,
            "output_bn": cmp.precision.output_bn,
            "max_runs": cmp.precision.max_runs,
        },
        "precision_reached": cmp.reached,
        "stopped_by_cap": cmp.capped,
        "rounds": cmp.rounds,
        "header": cmp.header(),
        "method": "scenarios on common seeds (stream 0 = etown run's seeds); P with a Wilson interval; paired "
        "differences: P with the Agresti-Min interval, output with a t-interval; all 95%",
    }
    records = cmp.table.replace({np.nan: None}).to_dict(orient="records")
    bands = {
        label: {sid: {int(y): row for y, row in b.to_dict(orient="index").items()} for sid, b in per.items()}
        for label, per in cmp.bands.items()
    }
    write_json(out / "compare.json", {**meta, "comparison": records, "bands": bands}, digits=RESULT_DIGITS)
    save_figure(compare_chart(cmp), out / "compare.png")
