"""Lever effects: move each lever (or each measure's levers together) from its scenario value to
a documented alternative, one at a time, and measure what changes, with common random numbers.

A lever the scenario sets away from its 2020 value moves back to the 2020 value (what does this
setting contribute?); a lever at its 2020 value moves to its documented alternative
(levers.py: `Lever.alternative`). Every variant runs the same replications (same seeds, so the
same parameter draws, 2020 draws, sector shocks and pipeline) as the scenario itself; effects are
the mean paired differences, variant minus scenario, with 95% t-intervals: each target cluster's
end-year output (bn yuan) and P(>= 100 bn by the end year), and the lever's own intermediate
quantity (its `metric`: summed over the projection for flows, end-year for stocks). A variant
whose every cluster interval contains zero is flagged "no detectable effect".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..ensemble import RunSettings
from ..executor import run_tasks
from ..io import RESULT_DIGITS, write_atomic, write_json
from ..levers import BASELINE_LEVERS, BASELINE_SHARES, MEASURES, LeverSpec, Schedule, lever_specs
from ..scenario import Scenario
from ..sectors import TARGET_SECTORS
from .paired import ci as _ci
from .paired import concat_outcomes, run_outcomes

BN = 1e9
RUNS_PER_TASK = 5
SHARES_SHIFT = 0.10
"""The budget-shares alternative at 2020 shares: this much of the budget moved from
guidance-fund equity (which firms' demand for equity limits) to loan-interest subsidies (whose
claims exceed their 2020 budget)."""


@dataclass(frozen=True)
class Variant:
    """A scenario with some levers moved: (path, from, to) per lever."""

    name: str
    changes: tuple[tuple[str, Any, Any], ...]
    scenario: Scenario
    metric: str
    sign: int


def _with(scenario: Scenario, section: str, name: str, value: Any) -> Scenario:
    part = getattr(scenario, section).model_copy(update={name: value})
    return scenario.model_copy(update={section: part})


def _target_value(spec: LeverSpec, value: Any) -> Any:
    """Where the lever moves: back to 2020 if the scenario changed it, else the alternative."""
    if value != spec.default:
        return spec.default
    alt = spec.info.alternative
    if not spec.mapping:
        return alt
    targets = [s for s in (spec.info.alternative_sectors or TARGET_SECTORS) if s in value]
    if any(_num(value[s]) > 0 for s in targets):
        return {k: (_num(v) * alt if k in targets else v) for k, v in value.items()}
    return {k: (alt if k in targets else v) for k, v in value.items()}


def _num(v: Any) -> float:
    return v.values()[0] if isinstance(v, Schedule) else float(v)


def _shares_target(scenario: Scenario) -> Any:
    shares = scenario.policy.budget_shares
    base = BASELINE_LEVERS.policy.budget_shares
    if shares != base:
        return base
    moved = dict(BASELINE_SHARES)
    moved["guidance_equity"] -= SHARES_SHIFT
    moved["loan_interest"] += SHARES_SHIFT
    return type(base)(**moved)


def lever_variants(scenario: Scenario) -> list[Variant]:
    """One variant per lever (and one for the budget shares)."""
    out = []
    for spec in lever_specs():
        section, name = spec.path.split(".")
        value = getattr(getattr(scenario, section), name)
        to = _target_value(spec, value)
        out.append(
            Variant(
                spec.path,
                ((spec.path, value, to),),
                _with(scenario, section, name, to),
                spec.info.metric,
                spec.info.sign,
            )
        )
    to = _shares_target(scenario)
    out.append(
        Variant(
            "policy.budget_shares",
            (("policy.budget_shares", scenario.policy.budget_shares, to),),
            _with(scenario, "policy", "budget_shares", to),
            "paid_loan_interest",  # moving budget between instruments moves what a binding instrument pays
            1 if to.loan_interest > scenario.policy.budget_shares.loan_interest else -1,
        )
    )
    return out


def measure_variants(scenario: Scenario) -> list[Variant]:
    """One variant per measure, its levers moved together: the levers the scenario set away from
    2020 move back (what the measure contributes); if it set none, all move to their alternatives."""
    out = []
    for section, (number, title) in MEASURES.items():
        moves: list[tuple[str, str, Any, Any]] = []
        for spec in (s for s in lever_specs() if s.section == section):
            name = spec.path.split(".")[1]
            value = getattr(getattr(scenario, section), name)
            moves.append((spec.path, name, value, _target_value(spec, value)))
        if section == "policy":
            moves.append(
                ("policy.budget_shares", "budget_shares", scenario.policy.budget_shares, _shares_target(scenario))
            )
        if section == "ecosystem":
            base = BASELINE_LEVERS.ecosystem.key_technology_sectors
            moves.append(
                (
                    "ecosystem.key_technology_sectors",
                    "key_technology_sectors",
                    scenario.ecosystem.key_technology_sectors,
                    base,
                )
            )
        changed = [m for m in moves if m[2] != getattr(getattr(BASELINE_LEVERS, section), m[1])]
        chosen = changed or [m for m in moves if m[2] != m[3]]
        sc = scenario
        for _, name, _, to in chosen:
            sc = _with(sc, section, name, to)
        changes = tuple((path, value, to) for path, _, value, to in chosen)
        out.append(Variant(f"measure {number}: {title}", changes, sc, "budget_spent", 0))
    return out


@dataclass
class EffectsResult:
    scenario: str
    by: str
    runs: int
    seed: int
    scale: float
    table: pd.DataFrame  # one row per variant x target cluster

    def format(self) -> str:
        """The table a user reads: per variant, per cluster, the effect on end-year output and
        on P(>= 100 bn), and the lever's own metric."""
        lines = [
            f"effects on {self.scenario}: variant minus scenario, mean over {self.runs} paired runs [95% CI] "
            f"(seed {self.seed}, scale {self.scale})"
        ]
        for name, g in self.table.groupby("variant", sort=False):
            first = g.iloc[0]
            flag = "  << no detectable effect on the target clusters" if first["no_detectable_effect"] else ""
            lines.append(f"{name}: {first['change']}{flag}")
            if first["metric"]:
                lo, hi = first["metric_lo"], first["metric_hi"]
                lines.append(f"    {first['metric']}: {first['metric_diff']:+.4g} [{lo:+.4g}, {hi:+.4g}]")
            for _, row in g.iterrows():
                lines.append(
                    f"    {row['cluster']:<10} output {row['output_diff_bn']:+7.2f} bn "
                    f"[{row['output_lo_bn']:+7.2f}, {row['output_hi_bn']:+7.2f}]   "
                    f"P(>=100bn) {row['p_diff']:+.3f} [{row['p_lo']:+.3f}, {row['p_hi']:+.3f}]"
                )
        return "\n".join(lines)


def _describe(changes: tuple[tuple[str, Any, Any], ...]) -> str:
    from ..levers import format_value

    return "; ".join(f"{p} {format_value(a)} -> {format_value(b)}" for p, a, b in changes)


def run_effects(
    scenario: Scenario,
    *,
    by: str = "lever",
    runs: int = 40,
    seed: int = 20210201,
    settings: RunSettings | None = None,
    workers: int = 1,
    client: Any = None,
    progress: Callable[[int], None] | None = None,
) -> EffectsResult:
    """Run the scenario and each variant on the same replications; paired effects per target
    cluster. by: "lever" or "measure"."""
    settings = settings or RunSettings()
    variants = lever_variants(scenario) if by == "lever" else measure_variants(scenario)
    metrics = tuple(sorted({v.metric for v in variants if v.metric}))
    scenarios = [scenario, *(v.scenario for v in variants)]
    chunks = [list(range(s, min(s + RUNS_PER_TASK, runs))) for s in range(0, runs, RUNS_PER_TASK)]
    tasks = [(sc, chunk, seed, settings, metrics) for sc in scenarios for chunk in chunks]
    parts: dict[int, dict[str, np.ndarray]] = {}
    for i, res in run_tasks(run_outcomes, tasks, workers=workers, client=client):
        parts[i] = res
        if progress:
            progress(len(tasks[i][1]))
    results = []
    for k in range(len(scenarios)):
        results.append(concat_outcomes([parts[k * len(chunks) + j] for j in range(len(chunks))]))
    base = results[0]
    rows = []
    for v, res in zip(variants, results[1:], strict=True):
        d_out = (res["output"] - base["output"]) / BN
        d_p = res["cross"] - base["cross"]
        m = metrics.index(v.metric) if v.metric else None
        met = _ci(res["metrics"][:, m] - base["metrics"][:, m]) if m is not None else (np.nan,) * 3
        cluster_rows = []
        for j, s in enumerate(TARGET_SECTORS):
            o, p = _ci(d_out[:, j]), _ci(d_p[:, j])
            cluster_rows.append(
                {
                    "variant": v.name,
                    "change": _describe(v.changes),
                    "cluster": s,
                    "output_diff_bn": o[0],
                    "output_lo_bn": o[1],
                    "output_hi_bn": o[2],
                    "p_diff": p[0],
                    "p_lo": p[1],
                    "p_hi": p[2],
                    "metric": v.metric,
                    "metric_diff": met[0],
                    "metric_lo": met[1],
                    "metric_hi": met[2],
                }
            )
        undetected = all(
            (r["output_lo_bn"] <= 0 <= r["output_hi_bn"] or np.isnan(r["output_lo_bn"]))
            and (r["p_lo"] <= 0 <= r["p_hi"] or np.isnan(r["p_lo"]) or r["p_diff"] == 0)
            for r in cluster_rows
        )
        for r in cluster_rows:
            r["no_detectable_effect"] = undetected
        rows.extend(cluster_rows)
    return EffectsResult(scenario.name, by, runs, seed, settings.scale, pd.DataFrame(rows))


def write_effects(result: EffectsResult, out: Path) -> None:
    """effects.csv (the table) and effects.json (table and settings) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "effects.csv", lambda p: result.table.to_csv(p, index=False))
    meta = {k: getattr(result, k) for k in ("scenario", "by", "runs", "seed", "scale")}
    write_json(out / "effects.json", {**meta, "effects": result.table.to_dict(orient="records")}, digits=RESULT_DIGITS)
