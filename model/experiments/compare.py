"""`etown compare`: scenarios side by side with common random numbers.

Every scenario runs as an ensemble (`api.run`: locked, staged, resumable parts, inputs.parquet)
with the same master seed and settings, in `<out>/scenarios/<label>/`; replication r of each
uses the same seed, so the same parameter draws, 2020 draws, sector shocks and pipeline
(experiments/paired.py). Per target cluster the comparison reports, for each scenario, P(>= 100
bn by the end year) (Wilson 95% interval) and the median end-year output, and against the
baseline scenario the paired difference of each (mean over runs, 95% t-interval). A scenario
compared with itself differs by exactly zero.

Files in `<out>`: compare.csv (the table), compare.json (table and settings), compare.png
(median paths per target cluster, one line style per scenario, the baseline's p10-p90 band; the
paired differences in end-year output and in P with their intervals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import plots
from ..analysis import p_key, wilson_interval
from ..api import EnsembleResult
from ..api import run as run_ensemble
from ..ensemble import EnsembleError
from ..i18n import Lang
from ..io import RESULT_DIGITS, write_atomic, write_json
from ..plots import save_figure
from ..scenario import LoadedScenario
from ..sectors import SECTOR_IDS, TARGET_SECTORS
from .paired import BN, cluster_outcomes, paired_differences

SCENARIOS_DIR = "scenarios"
ALL_FOUR = "all_four"


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


def per_run_output(result: EnsembleResult) -> tuple[np.ndarray, list[int]]:
    """output[run, year, sector] (yuan/yr) of a finished ensemble, and its years."""
    frame = pd.read_parquet(result.out / "runs.parquet", columns=["run", "year", "sector", "output_yuan"])
    years = sorted(frame["year"].unique().tolist())
    runs = int(frame["run"].max()) + 1
    arr = np.full((runs, len(years), len(SECTOR_IDS)), np.nan)
    si = pd.Categorical(frame["sector"].astype(str), categories=SECTOR_IDS).codes
    arr[frame["run"].to_numpy(), np.searchsorted(years, frame["year"].to_numpy()), si] = frame["output_yuan"].to_numpy()
    return arr, years


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
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, Path] = field(default_factory=dict)

    def chart(self, lang: Lang = "en") -> Figure:
        """The comparison figure (median paths, differences in output and P with 95% CIs)."""
        return compare_chart(self, lang)

    def format(self) -> str:
        """The table a user reads."""
        end = self.end_year
        head = (
            f"comparison against {self.baseline}: {self.runs} paired runs per scenario (seed {self.seed}, "
            f"scale {self.scale}); differences are scenario minus {self.baseline}, mean over paired runs [95% CI]"
        )
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
        return "\n".join([head, *lines])


def compare_table(names: list[str], outcomes: list[dict[str, np.ndarray]], base: int) -> pd.DataFrame:
    """The comparison table from per-run outcomes (`paired.cluster_outcomes`) of each scenario."""
    rows = []
    for cluster in [*TARGET_SECTORS, ALL_FOUR]:
        for k, (label, res) in enumerate(zip(names, outcomes, strict=True)):
            diff = paired_differences(outcomes[base], res)[cluster]
            hits = res["all_four"] if cluster == ALL_FOUR else res["cross"][:, TARGET_SECTORS.index(cluster)]
            n = len(hits)
            lo, hi = wilson_interval(int(hits.sum()), n)
            row: dict[str, Any] = {
                "cluster": cluster,
                "scenario": label,
                "is_baseline": k == base,
                "runs": n,
                "p": float(hits.mean()),
                "p_lo": lo,
                "p_hi": hi,
                "p_diff": diff["p"][0],
                "p_diff_lo": diff["p"][1],
                "p_diff_hi": diff["p"][2],
                "p_diff_unpaired_halfwidth": diff["p_unpaired_hw"],
            }
            if cluster != ALL_FOUR:
                j = TARGET_SECTORS.index(cluster)
                row["median_output_bn"] = float(np.median(res["output"][:, j]) / BN)
                row["output_p10_bn"], row["output_p90_bn"] = (
                    float(v) / BN for v in np.quantile(res["output"][:, j], [0.1, 0.9])
                )
                row["output_diff_bn"], row["output_diff_lo_bn"], row["output_diff_hi_bn"] = diff["output_bn"]
                row["output_diff_unpaired_halfwidth_bn"] = diff["output_unpaired_hw_bn"]
            rows.append(row)
    return pd.DataFrame(rows)


def run_compare(
    scenarios: list[LoadedScenario],
    out: Path,
    *,
    baseline: str | None = None,
    runs: int = 100,
    seed: int,
    scale: float = 0.1,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    point_estimate: bool = False,
    progress: bool = False,
    command: str | None = None,
    on_scenario: Callable[[str], None] | None = None,
) -> Comparison:
    """Run each scenario as an ensemble with the same seed (common random numbers) in
    `out/scenarios/<label>/`, then compare them with the baseline (default: the first)."""
    names = labels(scenarios)
    base = pick_baseline(scenarios, names, baseline)
    spans = {(sc.scenario.start_year, sc.scenario.end_year) for sc in scenarios}
    if len(spans) > 1:
        years = ", ".join(
            f"{lab}: {sc.scenario.start_year}-{sc.scenario.end_year}" for lab, sc in zip(names, scenarios, strict=True)
        )
        raise EnsembleError(f"the scenarios compared must cover the same years ({years})")
    end_year = scenarios[0].scenario.end_year
    results: list[EnsembleResult] = []
    for label, sc in zip(names, scenarios, strict=True):
        if on_scenario:
            on_scenario(label)
        results.append(
            run_ensemble(
                sc,
                runs=runs,
                seed=seed,
                workers=workers,
                out=out / SCENARIOS_DIR / label,
                scheduler=scheduler,
                resume=resume,
                scale=scale,
                progress=progress,
                point_estimate=point_estimate,
                command=command,
            )
        )
    outcomes = []
    for r in results:
        output, years = per_run_output(r)
        outcomes.append(cluster_outcomes(output, years, end_year))
    summaries = [r.summary for r in results]
    table = compare_table(names, outcomes, base)
    return Comparison(
        names,
        names[base],
        end_year,
        runs,
        seed,
        scale,
        table,
        dict(zip(names, summaries, strict=True)),
        {lab: r.out for lab, r in zip(names, results, strict=True)},
    )


def compare_chart(cmp: Comparison, lang: Lang = "en") -> Figure:
    """The comparison figure (plots.compare_chart): median paths per target cluster, one style
    per scenario; paired differences in end-year output and P(>= 100 bn) with 95% CIs."""
    return plots.compare_chart(
        cmp.table,
        cmp.summaries,
        labels=cmp.labels,
        baseline=cmp.baseline,
        end_year=cmp.end_year,
        runs=cmp.runs,
        seed=cmp.seed,
        scale=cmp.scale,
        lang=lang,
    )


def load_comparison(folder: Path) -> Comparison:
    """A finished comparison (compare.json, and each scenario's summary.json under
    `scenarios/<label>/`, else where compare.json says) without rerunning it."""
    from ..api import read_json, read_summary

    meta = read_json(folder / "compare.json")
    if not isinstance(meta, dict) or "comparison" not in meta or "scenarios" not in meta:
        raise EnsembleError(f"RESULT: {folder / 'compare.json'}: not written by etown compare")
    names = list(meta["scenarios"])
    recorded = meta.get("folders", {})
    folders = {
        lab: (folder / SCENARIOS_DIR / lab if (folder / SCENARIOS_DIR / lab).is_dir() else Path(recorded.get(lab, "")))
        for lab in names
    }
    summaries = {lab: read_summary(f) for lab, f in folders.items()}
    return Comparison(
        names,
        meta.get("baseline", names[0]),
        int(meta["end_year"]),
        int(meta["runs"]),
        int(meta["seed"]),
        float(meta["scale"]),
        pd.DataFrame(meta["comparison"]),
        summaries,
        folders,
    )


def write_compare(cmp: Comparison, out: Path) -> None:
    """compare.csv, compare.json and compare.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "compare.csv", lambda p: cmp.table.to_csv(p, index=False, float_format="%.6g"))
    meta = {
        "baseline": cmp.baseline,
        "scenarios": cmp.labels,
        "end_year": cmp.end_year,
        "runs": cmp.runs,
        "seed": cmp.seed,
        "scale": cmp.scale,
        "probability_key": p_key(cmp.end_year),
        "folders": {k: str(v) for k, v in cmp.folders.items()},
        "method": "paired differences over common seeds; mean with a 95% t-interval; P with a Wilson interval",
    }
    records = cmp.table.replace({np.nan: None}).to_dict(orient="records")
    write_json(out / "compare.json", {**meta, "comparison": records}, digits=RESULT_DIGITS)
    save_figure(compare_chart(cmp), out / "compare.png")
