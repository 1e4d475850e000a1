"""`etown effects`: what each lever (or each measure's levers together) does, as the effect of
the measure: the scenario with it minus the scenario without it, on common seeds.

For a lever the scenario sets away from its 2020 value, the measure is that setting: effect =
scenario - (scenario with the lever back at its 2020 value). For a lever the scenario keeps at
2020, the measure is the lever's documented alternative (levers.py: `Lever.alternative`):
effect = (scenario with the alternative) - scenario. A positive effect means the measure raises
the outcome. Every variant runs the same replications as the scenario (seed stream 0, the seeds
of `etown run`), so each effect is a mean paired difference with its 95% interval: per target
cluster the end-year output (bn yuan/yr) and P(>= 100 bn by the end year) (Agresti-Min), and
the lever's own intermediate quantity (its `metric`).

Money. For every variant the extra special funds paid over the projected years (`budget_spent`,
bn yuan) is measured; for the levers that cost money (`Lever.costs_money`) it reports the extra
end-year output of all sectors and the extra end-year value added per extra yuan spent (yuan/yr
per yuan, a ratio of paired means with a delta-method interval), and the share of the output
effect that comes through entry (firms founded after the start, `entrant_output`).

Replications are added in rounds until every variant's paired differences reach the precision
target (P to `precision.p`, output to `precision.output_bn`) or the cap stops them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import outcomes as oc
from ..ensemble import RunSettings
from ..io import RESULT_DIGITS, write_atomic, write_json
from ..levers import (
    BASELINE_LEVERS,
    BASELINE_SHARES,
    MEASURES,
    LeverSpec,
    Schedule,
    format_value,
    lever_specs,
    with_levers,
)
from ..plots import save_figure
from ..scenario import Scenario
from ..sectors import TARGET_SECTORS
from ..stats import Estimate, ratio_ci
from .core import SEEDS_PAIRED, Executor, Point, Precision, Runner, hooks, more_runs, open_store, settings_id
from .paired import difference

FIRST_RUNS = 40
SHARES_SHIFT = 0.10
"""The budget-shares alternative at 2020 shares: this much of the budget moved from
guidance-fund equity (which firms' demand for equity limits) to loan-interest subsidies (whose
claims exceed their 2020 budget)."""
OUTPUT_PER_YUAN_UNIT = "yuan/yr of end-year output per yuan spent"
VA_PER_YUAN_UNIT = "yuan/yr of end-year value added per yuan spent"


@dataclass(frozen=True)
class Variant:
    """A measure: the levers it moves (path, without, with), the scenario on the other side of
    the comparison, and on which side that scenario is (`sign` +1: it has the measure)."""

    name: str
    measure: int
    changes: tuple[tuple[str, Any, Any], ...]
    scenario: Scenario
    sign: int
    metric: str
    costs_money: bool
    basis: str  # "the scenario's setting" or "the documented alternative"


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


def _value(scenario: Scenario, path: str) -> Any:
    section, name = path.split(".")
    return getattr(getattr(scenario, section), name)


def _variant(
    scenario: Scenario, name: str, measure: int, moves: list[tuple[str, Any, Any]], metric: str, money: bool
) -> Variant:
    """moves: (path, the scenario's value, where it moves)."""
    other = with_levers(scenario, {path: to for path, _, to in moves})
    changed = any(_value(scenario, path) != _value(BASELINE_LEVERS, path) for path, _, _ in moves)  # type: ignore[arg-type]
    if changed:  # the scenario has the measure; the variant is the scenario without it
        changes = tuple((path, to, value) for path, value, to in moves)
        return Variant(name, measure, changes, other, -1, metric, money, "the scenario's setting")
    return Variant(name, measure, tuple(moves), other, 1, metric, money, "the documented alternative")


def lever_variants(scenario: Scenario) -> list[Variant]:
    """One variant per lever (and one for the budget shares)."""
    out = []
    for spec in lever_specs():
        value = _value(scenario, spec.path)
        moves = [(spec.path, value, _target_value(spec, value))]
        out.append(_variant(scenario, spec.path, spec.measure, moves, spec.info.metric, spec.info.costs_money))
    shares = [("policy.budget_shares", scenario.policy.budget_shares, _shares_target(scenario))]
    out.append(_variant(scenario, "policy.budget_shares", 5, shares, "paid_loan_interest", False))
    return out


def measure_variants(scenario: Scenario) -> list[Variant]:
    """One variant per measure, its levers moved together: the levers the scenario set away from
    2020 (the measure as the scenario has it); if it set none, all of them at their alternatives."""
    out = []
    specs = lever_specs()
    for section, (number, title) in MEASURES.items():
        moves = [(s.path, _value(scenario, s.path), _target_value(s, _value(scenario, s.path))) for s in specs
                 if s.section == section]  # fmt: skip
        money = {s.path for s in specs if s.info.costs_money}
        if section == "policy":
            moves.append(("policy.budget_shares", scenario.policy.budget_shares, _shares_target(scenario)))
        if section == "ecosystem":
            path = "ecosystem.key_technology_sectors"
            moves.append((path, _value(scenario, path), _value(BASELINE_LEVERS, path)))  # type: ignore[arg-type]
        changed = [m for m in moves if m[1] != _value(BASELINE_LEVERS, m[0])]  # type: ignore[arg-type]
        chosen = changed or [m for m in moves if m[1] != m[2]]
        costs = any(path in money for path, _, _ in chosen)
        english = title.split(" ", 1)[1]  # the chart's fonts may lack Chinese glyphs
        out.append(_variant(scenario, f"measure {number}: {english}", number, chosen, "budget_spent", costs))
    return out


def _describe(changes: tuple[tuple[str, Any, Any], ...]) -> str:
    return "; ".join(f"{p} {format_value(a)} -> {format_value(b)}" for p, a, b in changes)


def effect_outcomes(variants: list[Variant]) -> tuple[oc.Outcome, ...]:
    """Per target P and output, the extra spending, the per-yuan quantities and every variant's metric."""
    metrics = tuple(oc.zone(m) for m in sorted({v.metric for v in variants if v.metric}))
    seen = {o.name for o in (*oc.TARGET_P, *oc.TARGET_OUTPUT, oc.COST, *oc.EFFECT_PER_YUAN)}
    return (*oc.TARGET_P, *oc.TARGET_OUTPUT, oc.COST, *oc.EFFECT_PER_YUAN, *(m for m in metrics if m.name not in seen))


@dataclass
class EffectsResult:
    scenario: str
    by: str
    seed: int
    scale: float
    table: pd.DataFrame  # one row per variant x target cluster
    money: pd.DataFrame  # one row per variant: extra spending and effects per yuan
    precision: Precision = field(default_factory=Precision)
    capped: list[str] = field(default_factory=list)  # variants the cap stopped
    rounds: int = 1

    def header(self) -> list[str]:
        lo, hi = int(self.money["runs"].min()), int(self.money["runs"].max())
        runs = f"{lo}" if lo == hi else f"{lo}-{hi}"
        stop = (
            f"the cap (--max-runs {self.precision.max_runs}) stopped {len(self.capped)} variant(s) before the "
            f"target: {', '.join(self.capped)}"
            if self.capped
            else f"precision target met for every variant ({self.rounds} round(s))"
        )
        return [
            f"effects of each {self.by} on {self.scenario}: effect = scenario with the {self.by} minus scenario "
            f"without it (positive = the {self.by} raises the outcome); mean over {runs} paired runs "
            f"[95% CI] (seed {self.seed}, scale {self.scale})",
            SEEDS_PAIRED.format(seed=self.seed),
            f"precision {self.precision.describe()}: {stop}",
        ]

    def format(self) -> str:
        """The table a user reads: per variant the change, its cost and per-yuan effects, and per
        cluster the effect on end-year output and on P(>= 100 bn)."""
        lines = self.header()
        money = self.money.set_index("variant")
        for name, g in self.table.groupby("variant", sort=False):
            first = g.iloc[0]
            m = money.loc[name]
            flag = "  << no detectable effect on the target clusters" if first["no_detectable_effect"] else ""
            lines.append(f"{name} ({first['basis']}, {int(m['runs'])} runs): {first['change']}{flag}")
            spent = f"{m['extra_spent_bn']:+.2f} bn [{m['extra_spent_lo_bn']:+.2f}, {m['extra_spent_hi_bn']:+.2f}]"
            if m["costs_money"] and not m["extra_spent_lo_bn"] > 0:
                lines.append(
                    f"    extra special funds spent {m['years']}: {spent}: no more money spent, so no figure per "
                    f"extra yuan; share of the output effect through entry {_est(m, 'entry_share')}"
                )
            elif m["costs_money"]:
                lines.append(
                    f"    extra special funds spent {m['years']}: {spent}; per extra yuan: end-year output "
                    f"{_est(m, 'output_per_yuan')}, value added {_est(m, 'value_added_per_yuan')} (yuan/yr per "
                    f"yuan); share of the output effect through entry {_est(m, 'entry_share')}"
                )
            else:
                lines.append(f"    extra special funds spent {m['years']}: {spent} (not a spending lever)")
            if first["metric"] and first["metric"] != oc.COST.name:
                lines.append(
                    f"    {first['metric']} ({first['metric_unit']}): {first['metric_effect']:+.4g} "
                    f"[{first['metric_lo']:+.4g}, {first['metric_hi']:+.4g}]"
                )
            for _, row in g.iterrows():
                lines.append(
                    f"    {row['cluster']:<10} output {row['output_effect_bn']:+7.2f} bn/yr "
                    f"[{row['output_lo_bn']:+7.2f}, {row['output_hi_bn']:+7.2f}]   "
                    f"P(>=100bn) {row['p_effect']:+.3f} [{row['p_lo']:+.3f}, {row['p_hi']:+.3f}]"
                )
        return "\n".join(lines)


def _est(row: Any, key: str) -> str:
    v = row[key]
    if not np.isfinite(v):
        return "n/a"
    return f"{v:+.3g} [{row[key + '_lo']:+.3g}, {row[key + '_hi']:+.3g}]"


def _effect(outcome: oc.Outcome, base: np.ndarray, variant: np.ndarray, sign: int) -> Estimate:
    """(with the measure) - (without it), over the variant's paired runs."""
    n = len(variant)
    d = difference(outcome, base[:n], variant)
    return d if sign > 0 else Estimate(0.0 - d.value, 0.0 - d.hi, 0.0 - d.lo, d.n)


def _rows(v: Variant, base: np.ndarray, vals: np.ndarray, col: dict[str, int], years: str) -> tuple[list, dict]:
    """The variant's cluster rows and its money row."""
    rows = []
    metric = oc.zone(v.metric) if v.metric else None
    met = _effect(metric, base[:, col[metric.name]], vals[:, col[metric.name]], v.sign) if metric else None
    for s in TARGET_SECTORS:
        o = _effect(oc.output(s), base[:, col[oc.output(s).name]], vals[:, col[oc.output(s).name]], v.sign)
        p = _effect(oc.p_reach(s), base[:, col[oc.p_reach(s).name]], vals[:, col[oc.p_reach(s).name]], v.sign)
        rows.append(
            {
                "variant": v.name,
                "measure": v.measure,
                "change": _describe(v.changes),
                "basis": v.basis,
                "cluster": s,
                "runs": o.n,
                "output_effect_bn": o.value,
                "output_lo_bn": o.lo,
                "output_hi_bn": o.hi,
                "p_effect": p.value,
                "p_lo": p.lo,
                "p_hi": p.hi,
                "metric": v.metric,
                "metric_unit": metric.unit if metric else "",
                "metric_effect": met.value if met else math.nan,
                "metric_lo": met.lo if met else math.nan,
                "metric_hi": met.hi if met else math.nan,
            }
        )
    undetected = all(
        (r["output_lo_bn"] <= 0 <= r["output_hi_bn"] or np.isnan(r["output_lo_bn"])) and r["p_lo"] <= 0 <= r["p_hi"]
        for r in rows
    )
    for r in rows:
        r["no_detectable_effect"] = undetected

    def paired(o: oc.Outcome) -> np.ndarray:  # with - without, per run
        return v.sign * (vals[:, col[o.name]] - base[: len(vals), col[o.name]])

    def effect(o: oc.Outcome) -> Estimate:
        return _effect(o, base[:, col[o.name]], vals[:, col[o.name]], v.sign)

    d_cost = paired(oc.COST)
    spent = effect(oc.COST)
    total, va, entry = (paired(o) for o in oc.EFFECT_PER_YUAN)
    nan = Estimate(math.nan, math.nan, math.nan, len(vals))
    real_cost = v.costs_money and spent.lo > 0  # spends a detectably positive amount (else no per-yuan figure)
    money: dict[str, Any] = {
        "variant": v.name,
        "measure": v.measure,
        "costs_money": v.costs_money,
        "runs": len(vals),
        "years": years,
    }
    for key, e in (
        ("extra_spent", spent),
        ("extra_output", effect(oc.EFFECT_PER_YUAN[0])),
        ("extra_value_added", effect(oc.EFFECT_PER_YUAN[1])),
        ("extra_entrant_output", effect(oc.EFFECT_PER_YUAN[2])),
    ):
        money.update({f"{key}_bn": e.value, f"{key}_lo_bn": e.lo, f"{key}_hi_bn": e.hi})
    for key, e in (
        ("output_per_yuan", ratio_ci(total, d_cost) if real_cost else nan),
        ("value_added_per_yuan", ratio_ci(va, d_cost) if real_cost else nan),
        ("entry_share", ratio_ci(entry, total) if abs(total.mean()) > 0 else nan),
    ):
        money.update({key: e.value, f"{key}_lo": e.lo, f"{key}_hi": e.hi})
    return rows, money


def run_effects(
    scenario: Scenario,
    *,
    by: str = "lever",
    precision: Precision | None = None,
    seed: int = 20210201,
    settings: RunSettings | None = None,
    executor: Executor | None = None,
    out: Path | None = None,
    fresh: bool = False,
    progress: Any = None,
) -> EffectsResult:
    """Run the scenario and each variant on common seeds, in rounds until every variant's
    paired effects reach the precision target (or the cap). by: "lever" or "measure"."""
    precision = precision or Precision()
    settings = settings or RunSettings()
    variants = lever_variants(scenario) if by == "lever" else measure_variants(scenario)
    outcomes = effect_outcomes(variants)
    col = oc.by_name(outcomes)
    points = [
        Point(scenario, settings, 0, label="scenario"),
        *(Point(v.scenario, settings, 0, label=v.name) for v in variants),
    ]
    store = open_store(out, "effects", {"seed": seed, "settings": settings_id(settings)}, fresh)
    p_cols = [col[o.name] for o in oc.TARGET_P]
    out_cols = [col[o.name] for o in oc.TARGET_OUTPUT]

    def needs(values: list[np.ndarray]) -> list[int]:
        base, want = values[0], []
        for vals in values[1:]:
            n = len(vals)
            hw_p = max(difference(oc.P_ALL_FOUR, base[:n, c], vals[:, c]).half_width for c in p_cols)
            hw_o = max(difference(oc.TARGET_OUTPUT[0], base[:n, c], vals[:, c]).half_width for c in out_cols)
            want.append(max(more_runs(n, hw_p, precision.p), more_runs(n, hw_o, precision.output_bn)))
        return [max([len(base), *want]), *want]

    with executor or Executor() as ex:
        result = Runner(outcomes, seed, ex, store, **hooks(progress)).until(
            points, needs, first=FIRST_RUNS, max_runs=precision.max_runs
        )
    base = result.values[0]
    years = f"{scenario.start_year + 1}-{scenario.end_year}"
    rows, money = [], []
    for v, vals in zip(variants, result.values[1:], strict=True):
        r, m = _rows(v, base, vals, col, years)
        rows.extend(r)
        money.append(m)
    capped = [v.name for v, c in zip(variants, result.capped[1:], strict=True) if c]
    return EffectsResult(
        scenario.name,
        by,
        seed,
        settings.scale,
        pd.DataFrame(rows),
        pd.DataFrame(money),
        precision,
        capped,
        result.rounds,
    )


# ---------------------------------------------------------------------- outputs
def rounded_table(table: pd.DataFrame) -> pd.DataFrame:
    """A table a planner can paste: bn yuan to 0.01, probabilities and ratios to 0.001, other
    metrics to 4 significant digits."""
    t = table.copy()
    for c in t.columns:
        if not pd.api.types.is_float_dtype(t[c]):
            continue
        if c.endswith(("_bn", "_lo_bn", "_hi_bn")):
            t[c] = t[c].round(2)
        elif c.startswith("p_") or "per_yuan" in c or "share" in c:
            t[c] = t[c].round(3)
        else:
            t[c] = t[c].map(lambda x: float(f"{x:.4g}") if np.isfinite(x) else x)
    return t


def forest_chart(result: EffectsResult) -> Figure:
    """Forest plot: per target cluster (columns), each measure's effect on end-year output (top
    row, bn yuan/yr) and on P(>= 100 bn) (bottom row), with 95% CIs; zero marked."""
    t = result.table
    names = list(dict.fromkeys(t["variant"]))
    y = np.arange(len(names))[::-1]
    fig = Figure(figsize=(15, 1.2 + 0.25 * len(names) * 2), layout="constrained")
    axes = fig.subplots(2, len(TARGET_SECTORS), sharey=True, squeeze=False)
    colours = {n: f"C{m - 1}" for n, m in zip(t["variant"], t["measure"], strict=True)}
    for j, s in enumerate(TARGET_SECTORS):
        d = t[t["cluster"] == s].set_index("variant").loc[names]
        for row, (col, lo, hi, unit) in enumerate(
            (("output_effect_bn", "output_lo_bn", "output_hi_bn", "bn yuan/yr"), ("p_effect", "p_lo", "p_hi", "P"))
        ):
            ax = axes[row, j]
            err = np.clip(np.nan_to_num(np.vstack([d[col] - d[lo], d[hi] - d[col]])), 0, None)
            ax.errorbar(d[col], y, xerr=err, fmt="none", ecolor="0.4", capsize=2, lw=0.8)
            ax.scatter(d[col], y, c=[colours[n] for n in names], s=16, zorder=3)
            ax.axvline(0, color="0.3", lw=0.8)
            ax.grid(axis="x", alpha=0.3)
            ax.set_xlabel(f"effect on {s} {'end-year output, ' + unit if row == 0 else 'P(>=100 bn)'}", fontsize=8)
            ax.tick_params(labelsize=7)
        axes[0, j].set_title(s, fontsize=10)
    for row in range(2):
        axes[row, 0].set_yticks(y, names, fontsize=7)
    runs = result.money["runs"]
    fig.suptitle(
        f"Effect of each measure on {result.scenario} (with minus without, 95% CI; {runs.min()}-{runs.max()} paired "
        f"runs, seed {result.seed}, scale {result.scale}; colour = measure 1-5)",
        fontsize=10,
    )
    return fig


def write_effects(result: EffectsResult, out: Path) -> None:
    """effects.csv (per variant and cluster), effects_money.csv (per variant: spending and
    per-yuan effects), both rounded; effects.json (both, settings, precision); effects.png."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "effects.csv", lambda p: rounded_table(result.table).to_csv(p, index=False))
    write_atomic(out / "effects_money.csv", lambda p: rounded_table(result.money).to_csv(p, index=False))
    meta = {
        "scenario": result.scenario,
        "by": result.by,
        "seed": result.seed,
        "scale": result.scale,
        "header": result.header(),
        "sign": "effect of the measure = scenario with it minus scenario without it",
        "units": {
            "output_effect_bn": "bn yuan/yr (end year)",
            "p_effect": "probability",
            "extra_spent_bn": "bn yuan (special funds paid over the projected years)",
            "output_per_yuan": OUTPUT_PER_YUAN_UNIT,
            "value_added_per_yuan": VA_PER_YUAN_UNIT,
            "entry_share": "share of the end-year output effect from firms founded after the start",
        },
        "precision_target": {
            "p": result.precision.p,
            "output_bn": result.precision.output_bn,
            "max_runs": result.precision.max_runs,
        },
        "stopped_by_cap": result.capped,
        "rounds": result.rounds,
    }
    data = {
        **meta,
        "effects": result.table.replace({np.nan: None}).to_dict(orient="records"),
        "money": result.money.replace({np.nan: None}).to_dict(orient="records"),
    }
    write_json(out / "effects.json", data, digits=RESULT_DIGITS)
    save_figure(forest_chart(result), out / "effects.png")
