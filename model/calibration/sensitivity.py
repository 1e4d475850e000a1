"""Global sensitivity analysis (SALib): Morris screening, then Sobol first-order and total indices.

Inputs are the free behavioural parameters (their [low, high] ranges in
model/data/parameters.yaml) and the main policy levers (`LEVER_RANGES` below: each over the
plausible range declared with the lever in model/levers.py). A design point is a dict {input name: value}; levers are
named `lever.<name>` and given in the display unit of `LEVER_RANGES` (e.g. bn yuan/yr).
`design_point_run` turns a design point into the (Scenario, Params) pair a replication runs.

Outcomes at each design point are estimated from R replications that use the same seeds at
every point (common random numbers: seed stream 0, `SeedSequence(seed).spawn(R)`): the
declared headline outcomes (model/outcomes.py: P(each target cluster >= 100 bn by the end year),
P(all four), and the mean end-year output per target cluster, bn yuan/yr). Design points are
evaluated through the experiment core (experiments/core.py) on the one executor (local processes,
or a Dask cluster with `client`); each point's result depends only on the point and the seeds,
so the indices do not depend on the worker count.

With `method="both"`, Morris screens every input; Sobol then runs on the `sobol_top` inputs
with the largest normalised Morris mu* (the rest stay at their nominal values).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .. import outcomes as oc
from ..ensemble import RunSettings
from ..io import write_atomic, write_json
from ..levers import lever_specs, value_at, with_levers
from ..params import Params, default_params, param_specs
from ..plots import save_figure
from ..scenario import Scenario
from ..sectors import TARGET_SECTORS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BN = 1e9
LEVER_PREFIX = "lever."
POINTS_PER_TASK = 8
"""Design points the worker-independence test spreads over a pool (results never depend on it)."""

Method = Literal["morris", "sobol", "both"]


@dataclass(frozen=True)
class LeverRange:
    """A policy lever varied by the sensitivity analysis.

    path: where it sits in the scenario (measure section, field); value in the model's unit =
    design value x factor. `anchor_projects_per_year` sets the rate of every target sector."""

    name: str
    path: tuple[str, str]
    low: float
    high: float
    unit: str
    factor: float = 1.0
    integer: bool = False
    why: str = ""


def declared_range(
    name: str, path: tuple[str, str], *, unit: str = "", factor: float = 1.0, integer: bool = False
) -> LeverRange:
    """The lever at `path` varied over its declared plausible range (levers.py: the range of
    real zone policies), shown in `unit` (model unit / factor; default the declared unit)."""
    spec = next(s for s in lever_specs() if s.path == ".".join(path))
    low, high = spec.info.plausible
    default = spec.default
    if isinstance(default, dict):  # a sector mapping: the range applies to each target sector
        default = {k: default[k] for k in TARGET_SECTORS}
    why = f"plausible range declared in levers.py; 2020 value {default}: {spec.info.channel}"
    return LeverRange(name, path, low / factor, high / factor, unit or spec.info.unit, factor, integer, why)


# the levers the analysis varies, each over its declared plausible range (no second declaration)
LEVER_RANGES: tuple[LeverRange, ...] = (
    declared_range("special_funds_bn", ("policy", "special_funds_yuan_per_year"), unit="bn yuan/yr", factor=BN),
    declared_range(
        "anchor_projects_per_target", ("clusters", "anchor_projects_per_year"), unit="projects/yr per target sector"
    ),
    declared_range(
        "anchor_investment_bn", ("clusters", "anchor_investment_yuan"), unit="bn yuan per project", factor=BN
    ),
    declared_range("innovation_centres", ("ecosystem", "innovation_centres"), integer=True),
    declared_range("tech_vp_per_year", ("ecosystem", "tech_vp_per_year")),
    declared_range("training_places_per_year", ("talent", "training_places_per_year")),
    declared_range("programme_persons_per_year", ("talent", "programme_persons_per_year")),
    declared_range("land_cost_reduction", ("policy", "land_cost_reduction")),
    declared_range("approval_months", ("policy", "approval_months")),
    declared_range("rd_reward_rate", ("policy", "rd_reward_rate")),
    declared_range("road_km", ("urban_scenarios", "autonomous_driving_road_km")),
)
LEVERS_BY_NAME = {LEVER_PREFIX + lv.name: lv for lv in LEVER_RANGES}


# ---------------------------------------------------------------------- inputs and design points
@dataclass(frozen=True)
class Input:
    """One input of the design: a behavioural parameter or a lever."""

    name: str
    kind: Literal["param", "lever"]
    low: float
    high: float
    unit: str


def all_inputs() -> list[Input]:
    """Every input the analysis can vary: parameters (file order), then levers."""
    params = [Input(s.name, "param", s.low, s.high, s.unit) for s in param_specs().values()]
    levers = [Input(name, "lever", lv.low, lv.high, lv.unit) for name, lv in LEVERS_BY_NAME.items()]
    return params + levers


def select_inputs(names: Sequence[str] | None = None) -> list[Input]:
    """Inputs by name (all when None); raises ValueError naming an unknown one."""
    inputs = all_inputs()
    if not names:
        return inputs
    by_name = {i.name: i for i in inputs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown input {unknown[0]!r}; allowed: parameter names or {', '.join(LEVERS_BY_NAME)}")
    return [by_name[n] for n in dict.fromkeys(names)]


def lever_value(scenario: Scenario, lever: LeverRange) -> float:
    """The scenario's value of a lever in the lever's display unit (its nominal value)."""
    section, key = lever.path
    val = getattr(getattr(scenario, section), key)
    if isinstance(val, dict):  # anchor projects: mean rate over the target sectors
        val = float(np.mean([_mean_over_years(val.get(s, 0.0), scenario) for s in TARGET_SECTORS]))
    return _mean_over_years(val, scenario) / lever.factor


def _mean_over_years(value: Any, scenario: Scenario) -> float:
    """A lever's value as one number: a per-year schedule's mean over the projected years (a
    design point then holds the lever at a constant value)."""
    return float(np.mean([value_at(value, y) for y in scenario.years[1:]]))


def nominal_point(scenario: Scenario, params: Params | None = None) -> dict[str, float]:
    """The values inputs keep when they are not varied: the scenario's levers and the default
    (calibrated, if available) parameters."""
    params = params if params is not None else default_params()
    point = dict(params)
    point.update({name: lever_value(scenario, lv) for name, lv in LEVERS_BY_NAME.items()})
    return point


def design_point_run(base: Scenario, point: dict[str, float], params: Params | None = None) -> tuple[Scenario, Params]:
    """Map a design point ({parameter or `lever.<name>`: value}) to the scenario and parameters
    a replication runs with. Unspecified inputs keep the scenario's levers and `params`
    (default: the default, calibrated if available, parameters); parameters the point sets are
    removed from the scenario's sampled uncertainties, so the design value is the one used."""
    overrides: dict[str, float] = {}
    levers: dict[str, float] = {}
    for name, value in point.items():
        lever = LEVERS_BY_NAME.get(name)
        if lever is None:
            overrides[name] = float(value)
            continue
        section, key = lever.path
        v = round(value) if lever.integer else float(value)
        path = f"{section}.{key}.targets" if key == "anchor_projects_per_year" else f"{section}.{key}"
        levers[path] = v if key == "anchor_projects_per_year" else v * lever.factor
    scenario = with_levers(base, levers)
    unc = scenario.uncertainties
    kept = {k: v for k, v in unc.parameters.items() if k not in overrides}
    scenario = scenario.model_copy(update={"uncertainties": unc.model_copy(update={"parameters": kept})})
    params = params if params is not None else default_params()
    return scenario, params.replace(**overrides)


# ---------------------------------------------------------------------- outcomes at design points
OUTCOMES = oc.HEADLINE
"""The declared headline outcomes, averaged over a point's replications (P: share of runs)."""


def outcome_names(end_year: int | None = None) -> list[str]:
    """Names of the outcomes (columns of the designs; `end_year` is in their labels, not names)."""
    return [o.name for o in OUTCOMES]


def evaluate_design(
    base: Scenario,
    names: Sequence[str],
    X: np.ndarray,
    *,
    runs_per_point: int,
    seed: int,
    scale: float,
    workers: int = 1,
    params: Params | None = None,
    progress: Callable[[int], None] | None = None,
    client: Any = None,
    store: Any = None,
) -> np.ndarray:
    """Outcomes (rows of X x outcomes: the mean over the point's replications) of a design; X's
    columns are the inputs `names`; inputs not in `names` keep the scenario's levers and `params`
    (default: the default parameters, read once here so that every worker uses the same values).
    progress(1) per design point finished."""
    from ..experiments.core import Executor, Point, Runner

    params = params if params is not None else default_params()
    points = []
    for row in X:
        scenario, p = design_point_run(base, dict(zip(names, map(float, row), strict=True)), params)
        points.append(Point(scenario, RunSettings(scale=scale, params=dict(p)), 0))
    done = [0]

    def runs_done(n: int) -> None:  # design points finished, from replications finished
        done[0] += n
        while progress and done[0] >= runs_per_point:
            done[0] -= runs_per_point
            progress(1)

    with Executor(workers, client) as ex:
        values = Runner(OUTCOMES, seed, ex, store, runs_done).evaluate(points, runs_per_point)
    return np.array([v.mean(axis=0) for v in values]).reshape(len(points), len(OUTCOMES))


# ---------------------------------------------------------------------- SALib wrappers
def problem(inputs: Sequence[Input]) -> dict[str, Any]:
    return {
        "num_vars": len(inputs),
        "names": [i.name for i in inputs],
        "bounds": [[i.low, i.high] for i in inputs],
    }


def _varies(y: np.ndarray) -> bool:
    return bool(np.isfinite(y).all() and np.ptp(y) > 0)


def morris_sample(prob: dict[str, Any], trajectories: int, seed: int, levels: int = 4) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(prob, trajectories, num_levels=levels, seed=seed)


def morris_indices(
    prob: dict[str, Any], X: np.ndarray, Y: np.ndarray, outcomes: Sequence[str], seed: int, levels: int = 4
) -> pd.DataFrame:
    """Morris mu*, its 95% bootstrap interval, mu and sigma per (outcome, input)."""
    from SALib.analyze import morris

    rows = []
    for j, outcome in enumerate(outcomes):
        y = Y[:, j]
        if not _varies(y):
            continue  # constant outcome over the design: no information
        res = morris.analyze(prob, X, y, num_levels=levels, seed=seed)
        top = float(np.max(res["mu_star"])) or 1.0
        for k, name in enumerate(prob["names"]):
            rows.append(
                {
                    "method": "morris",
                    "outcome": outcome,
                    "input": name,
                    "mu_star": float(res["mu_star"][k]),
                    "mu_star_conf": float(res["mu_star_conf"][k]),
                    "mu": float(res["mu"][k]),
                    "sigma": float(res["sigma"][k]),
                    "index": float(res["mu_star"][k]) / top,  # normalised mu* (1 = most influential)
                    "index_conf": float(res["mu_star_conf"][k]) / top,
                }
            )
    return pd.DataFrame(rows)


def sobol_sample(prob: dict[str, Any], n: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol

    return sobol.sample(prob, n, calc_second_order=False, scramble=True, seed=seed)


def sobol_indices(prob: dict[str, Any], Y: np.ndarray, outcomes: Sequence[str], seed: int) -> pd.DataFrame:
    """Sobol S1 and ST with 95% bootstrap half-widths per (outcome, input)."""
    from SALib.analyze import sobol

    rows = []
    for j, outcome in enumerate(outcomes):
        y = Y[:, j]
        if not _varies(y):
            continue
        with warnings.catch_warnings():  # constant subsets of a varying outcome: expected for probabilities
            warnings.filterwarnings("ignore", message="Constant values encountered")
            res = sobol.analyze(prob, y, calc_second_order=False, seed=seed)
        for k, name in enumerate(prob["names"]):
            rows.append(
                {
                    "method": "sobol",
                    "outcome": outcome,
                    "input": name,
                    "S1": float(res["S1"][k]),
                    "S1_conf": float(res["S1_conf"][k]),
                    "ST": float(res["ST"][k]),
                    "ST_conf": float(res["ST_conf"][k]),
                    "index": float(res["ST"][k]),
                    "index_conf": float(res["ST_conf"][k]),
                }
            )
    return pd.DataFrame(rows)


def ranking(indices: pd.DataFrame) -> pd.DataFrame:
    """Inputs by influence: the mean over outcomes of the index (Sobol ST, or Morris mu*
    normalised by the largest mu* of each outcome), with the outcome where it matters most."""
    if indices.empty:
        return pd.DataFrame(columns=["input", "score", "top_outcome", "top_index"])
    g = indices.groupby("input", sort=False)
    best = indices.loc[g["index"].idxmax(), ["input", "outcome", "index"]].set_index("input")
    out = pd.DataFrame({"score": g["index"].mean()}).join(best)
    out = out.rename(columns={"outcome": "top_outcome", "index": "top_index"})
    return out.sort_values("score", ascending=False, kind="stable").reset_index()


# ---------------------------------------------------------------------- the whole analysis
@dataclass
class SensitivityResult:
    indices: pd.DataFrame  # long table: method, outcome, input, index columns
    ranking: pd.DataFrame  # input, score, top_outcome, top_index (final method)
    meta: dict[str, Any] = field(default_factory=dict)
    designs: dict[str, pd.DataFrame] = field(default_factory=dict)

    def top_table(self, k: int = 10) -> str:
        inputs = {i.name: i for i in all_inputs()}
        method = self.meta["ranking_method"]
        label = "mean ST" if method == "sobol" else "mean mu*/max"
        rows = [("rank", "input", "kind", label, "most affects", "index")]
        for r, row in enumerate(self.ranking.head(k).itertuples(), start=1):
            rows.append(
                (
                    str(r),
                    row.input,
                    inputs[row.input].kind,
                    f"{row.score:.3f}",
                    row.top_outcome,
                    f"{row.top_index:.3f}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)


def run_sensitivity(
    base: Scenario,
    *,
    method: Method = "both",
    n: int | None = None,
    sobol_n: int = 128,
    sobol_top: int = 12,
    runs_per_point: int = 10,
    scale: float = 0.05,
    seed: int = 20210201,
    workers: int = 1,
    inputs: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    client: Any = None,
    parts: Path | None = None,
    fresh: bool = False,
) -> SensitivityResult:
    """Morris screening and/or Sobol indices of the target-cluster outcomes.

    n: Morris trajectories (default 10); sobol_n: Sobol base sample (a power of two; the design
    has sobol_n x (k + 2) points); sobol_top: inputs kept for Sobol after Morris screening.
    parts: an output folder whose `parts-sensitivity/` keeps the finished replications (a rerun
    after an interruption runs only the rest; `fresh`: discard them first)."""
    from ..experiments.core import open_store

    started = time.perf_counter()
    chosen = select_inputs(inputs)
    outcomes = outcome_names(base.end_year)
    trajectories = n if n is not None else 10
    defaults = default_params()  # read once: every design point and worker uses the same values
    common = {
        "runs_per_point": runs_per_point,
        "seed": seed,
        "scale": scale,
        "workers": workers,
        "progress": progress,
        "client": client,
        "store": open_store(
            parts, "sensitivity", {"seed": seed, "scale": scale, "runs_per_point": runs_per_point}, fresh=fresh
        ),
    }
    common["params"] = defaults
    frames: list[pd.DataFrame] = []
    designs: dict[str, pd.DataFrame] = {}
    meta: dict[str, Any] = {
        "scenario": base.name,
        "end_year": base.end_year,
        "method": method,
        "runs_per_point": runs_per_point,
        "scale": scale,
        "seed": seed,
        "outcomes": outcomes,
        "common_random_numbers": True,
        "nominal": nominal_point(base, defaults),
        "parameter_defaults": _calibration_note(),
        "model_version": _model_version(),
    }
    sobol_inputs = chosen
    if method in ("morris", "both"):
        prob = problem(chosen)
        X = morris_sample(prob, trajectories, seed)
        Y = evaluate_design(base, prob["names"], X, **common)
        morris_df = morris_indices(prob, X, Y, outcomes, seed)
        frames.append(morris_df)
        designs["morris"] = pd.DataFrame(np.column_stack([X, Y]), columns=[*prob["names"], *outcomes])
        meta["morris"] = {"trajectories": trajectories, "levels": 4, "points": len(X), "inputs": len(chosen)}
        if method == "both":
            keep = set(ranking(morris_df)["input"].head(sobol_top))
            sobol_inputs = [i for i in chosen if i.name in keep]
    if method in ("sobol", "both"):
        if sobol_n < 2 or sobol_n & (sobol_n - 1):
            raise ValueError(f"sobol_n must be a power of two, got {sobol_n}")
        prob = problem(sobol_inputs)
        X = sobol_sample(prob, sobol_n, seed)
        Y = evaluate_design(base, prob["names"], X, **common)
        frames.append(sobol_indices(prob, Y, outcomes, seed))
        designs["sobol"] = pd.DataFrame(np.column_stack([X, Y]), columns=[*prob["names"], *outcomes])
        meta["sobol"] = {"base_n": sobol_n, "points": len(X), "inputs": [i.name for i in sobol_inputs]}
    indices = pd.concat(frames, ignore_index=True)
    final = "sobol" if method in ("sobol", "both") else "morris"
    meta["ranking_method"] = final
    meta["wall_time_s"] = round(time.perf_counter() - started, 2)
    meta["workers"] = workers
    return SensitivityResult(indices, ranking(indices[indices["method"] == final]), meta, designs)


def _model_version() -> str:
    from ..api import model_version

    return model_version()


def _calibration_note() -> str:
    from .store import load_calibrated

    cal = load_calibrated()
    if cal is None:
        return "uncalibrated defaults (model/data/parameters.yaml)"
    return f"calibrated point (model/data/calibrated.yaml, {cal.get('provenance', {}).get('date', 'undated')})"


def design_size(method: Method, k: int, n: int | None, sobol_n: int, sobol_top: int) -> int:
    """Number of design points the analysis will evaluate."""
    total = 0
    if method in ("morris", "both"):
        total += (k + 1) * (n if n is not None else 10)
    if method in ("sobol", "both"):
        ks = min(k, sobol_top) if method == "both" else k
        total += sobol_n * (ks + 2)
    return total


# ---------------------------------------------------------------------- outputs
def write_outputs(result: SensitivityResult, out: Path) -> list[Path]:
    """indices.csv, sensitivity.json, one bar chart per method, and the designs with outcomes."""
    inputs = {i.name: i for i in all_inputs()}
    table = result.indices.copy()
    table.insert(3, "kind", [inputs[n].kind for n in table["input"]])
    table.insert(4, "unit", [inputs[n].unit for n in table["input"]])
    table.insert(5, "low", [inputs[n].low for n in table["input"]])
    table.insert(6, "high", [inputs[n].high for n in table["input"]])
    paths = [out / "indices.csv", out / "sensitivity.json"]
    write_atomic(paths[0], lambda p: table.to_csv(p, index=False, float_format="%.6g"))
    used = sorted(set(table["input"]), key=list(inputs).index)
    payload = {
        **result.meta,
        "inputs": [
            {"name": n, "kind": inputs[n].kind, "low": inputs[n].low, "high": inputs[n].high, "unit": inputs[n].unit}
            for n in used
        ],
        "lever_ranges": {
            LEVER_PREFIX + lv.name: {"path": ".".join(lv.path), "factor": lv.factor, "why": lv.why}
            for lv in LEVER_RANGES
        },
        "ranking": _records(result.ranking),
        "indices": _records(table),
    }
    write_json(paths[1], payload)
    for method, design in result.designs.items():  # full precision: any point can be re-run exactly
        p = out / f"design_{method}.csv"
        write_atomic(p, lambda tmp, d=design: d.to_csv(tmp, index=False))
        paths.append(p)
    for method in result.indices["method"].unique():
        p = out / f"indices_{method}.png"
        save_figure(index_chart(result.indices[result.indices["method"] == method], method, result.meta), p, dpi=130)
        paths.append(p)
    return paths


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    recs = frame.to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in recs]


# ---------------------------------------------------------------------- charts for a report
LEVER_LABELS: dict[str, str] = {
    "lever.special_funds_bn": "special funds, bn yuan/yr (lever)",
    "lever.anchor_projects_per_target": "anchor projects/yr per target cluster (lever)",
    "lever.anchor_investment_bn": "investment per anchor project (lever)",
    "lever.innovation_centres": "innovation centres (lever)",
    "lever.tech_vp_per_year": "technology vice-presidents/yr (lever)",
    "lever.training_places_per_year": "training places/yr (lever)",
    "lever.programme_persons_per_year": "talent programme arrivals/yr (lever)",
    "lever.land_cost_reduction": "land-cost reduction (lever)",
    "lever.approval_months": "approval time (lever)",
    "lever.rd_reward_rate": "R&D reward rate (lever)",
    "lever.road_km": "self-driving road-km (lever)",
}
INPUT_LABELS: dict[str, str] = {**{n: s.label for n, s in param_specs().items()}, **LEVER_LABELS}
"""Plain-word name of every input a planner reads: parameters' labels from parameters.yaml,
the levers' here."""
TARGET_NAMES = {"ngit": "new-gen IT", "biotech": "biotech", "xinchuang": "xinchuang", "robotics": "robotics"}


def input_label(name: str) -> str:
    return INPUT_LABELS.get(name, name.removeprefix(LEVER_PREFIX).replace("_", " "))


def outcome_label(outcome: str, end_year: int | str = "the end year") -> tuple[str, str]:
    """(title, unit) of a declared outcome name such as 'p_100bn_ngit' or 'output_bn_biotech'."""
    o = {x.name: x for x in OUTCOMES}.get(outcome)
    if o is None:
        return outcome, "outcome units"
    key = o.source.partition(":")[2]
    if o.kind == "event":
        which = "all four targets" if key == oc.ALL_FOUR else TARGET_NAMES.get(key, key)
        return f"P({which} >= 100 bn yuan by {end_year})", "probability"
    return f"{TARGET_NAMES.get(key, key)} output in {end_year}", o.unit


def _end_year(meta: dict[str, Any]) -> int | str:
    return meta.get("end_year", "the end year")


def _subtitle(meta: dict[str, Any], method: str) -> str:
    return (
        f"{meta.get('scenario', '')}: {method} sensitivity · {meta.get('runs_per_point')} runs per design point "
        f"(common random numbers) · scale {meta.get('scale')} · seed {meta.get('seed')}"
    )


def morris_chart(indices: pd.DataFrame, meta: dict[str, Any], annotate: int = 5) -> Figure:
    """Morris screening, one panel per outcome: mu* (mean absolute elementary effect) against
    sigma (their spread), both in the outcome's unit per full range of the input; the `annotate`
    inputs with the largest mu* are named. Inputs far right matter; inputs high above the
    sigma = mu* line act non-linearly or through interactions."""
    from matplotlib.figure import Figure

    outcomes = list(dict.fromkeys(indices["outcome"]))
    ncol = 3
    nrow = max(1, math.ceil(len(outcomes) / ncol))
    fig = Figure(figsize=(5.6 * ncol, 4.4 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        d = indices[indices["outcome"] == outcome]
        title, unit = outcome_label(outcome, _end_year(meta))
        lever = d["input"].str.startswith(LEVER_PREFIX).to_numpy()
        for mask, colour, label in ((~lever, "tab:blue", "behavioural parameter"), (lever, "tab:red", "policy lever")):
            ax.errorbar(
                d["mu_star"][mask], d["sigma"][mask], xerr=d["mu_star_conf"][mask], fmt="o", ms=4,
                color=colour, ecolor=colour, elinewidth=0.6, alpha=0.8, label=label,
            )  # fmt: skip
        top = max(float(d["mu_star"].max()), float(d["sigma"].max()), 1e-12) * 1.1
        ax.plot([0, top], [0, top], ls="--", lw=0.8, color="grey", label="sigma = mu*")
        ax.set_xlim(0, top * 1.45)  # room for the names on the right
        ax.set_ylim(0, top)
        named = d[d["mu_star"] > 0.01 * top].nlargest(annotate, "mu_star")
        placed: list[tuple[float, float]] = []  # label anchors in axes fractions, to step clashing labels down
        groups = named.groupby([named["mu_star"].round(9), named["sigma"].round(9)], sort=False)
        for (x, y), same in sorted(groups, key=lambda g: -g[0][1]):
            fx, fy = x / (top * 1.45), y / top
            shift = sum(1 for px, py in placed if abs(px - fx) < 0.4 and abs(py - fy) < 0.06)
            placed.append((fx, fy - 0.06 * shift))
            policy = any(n.startswith(LEVER_PREFIX) for n in same["input"])
            ax.annotate(
                "\n".join(input_label(n) for n in same["input"]), (x, y), xytext=(4, 2 - 11 * shift),
                textcoords="offset points", fontsize=7, color="tab:red" if policy else "black", va="bottom",
            )  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(f"mu*: mean |effect|, {unit}", fontsize=8)
        ax.set_ylabel(f"sigma: spread of effects, {unit}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.axis("off")
    if outcomes:
        axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        _subtitle(meta, "Morris")
        + "\neffect = change of the outcome when the input moves across its whole range; bars: 95% bootstrap",
        fontsize=10,
    )
    return fig


def sobol_chart(indices: pd.DataFrame, meta: dict[str, Any], top: int = 10) -> Figure:
    """Sobol indices, one panel per outcome: the `top` inputs by total index (ST) with the
    first-order index (S1) beside it; both are shares of the outcome's variance (one unit)."""
    from matplotlib.figure import Figure

    outcomes = list(dict.fromkeys(indices["outcome"]))
    ncol = 3
    nrow = max(1, math.ceil(len(outcomes) / ncol))
    fig = Figure(figsize=(5.8 * ncol, 3.8 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        d = indices[indices["outcome"] == outcome].sort_values("ST", ascending=False).head(top)[::-1]
        y = np.arange(len(d))
        ax.barh(y + 0.2, d["ST"].clip(lower=0), 0.4, xerr=d["ST_conf"], label="total (ST)", color="tab:blue", capsize=2)
        ax.barh(
            y - 0.2, d["S1"].clip(lower=0), 0.4, xerr=d["S1_conf"], label="alone (S1)", color="tab:orange", capsize=2
        )
        labels = [input_label(n) for n in d["input"]]
        ax.set_yticks(y, labels, fontsize=7)
        for tick, name in zip(ax.get_yticklabels(), d["input"], strict=True):
            tick.set_color("tab:red" if name.startswith(LEVER_PREFIX) else "black")
        ax.set_xlim(0, 1.05)
        ax.set_title(outcome_label(outcome, _end_year(meta))[0], fontsize=10)
        ax.set_xlabel("share of the outcome's variance", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.axis("off")
    if outcomes:
        axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle(_subtitle(meta, "Sobol") + "\nred names: policy levers; bars: 95% bootstrap", fontsize=10)
    return fig


def index_chart(indices: pd.DataFrame, method: str, meta: dict[str, Any]) -> Figure:
    """The report chart of one method's indices (`morris_chart` or `sobol_chart`)."""
    return sobol_chart(indices, meta) if method == "sobol" else morris_chart(indices, meta)
