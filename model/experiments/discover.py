"""`etown discover`: scenario discovery over lever ranges.

A levers file (YAML; example: scenarios/discovery/levers.yaml) names a scenario to start from,
the lever ranges to explore and the sampling:

    scenario: ../baseline.yaml          # relative to this file; levers not listed keep its values
    points: 48                          # Latin hypercube points (scipy.stats.qmc)
    p_min: 0.5                          # a point passes if P(all four >= 100 bn by the end year) >= p_min
    precision: 0.05                     # optional: 95% half-width at which an undecided point stops
    max_runs: 400                       # optional: runs a point gets at most
    clusters: [biotech, robotics]       # optional: the clusters that must all pass (default: the four targets)
    levers:
      policy.special_funds_yuan_per_year: [5.0e9, 3.0e10]
      clusters.anchor_projects_per_year.targets: [0, 3]   # .targets: the four target sectors together
      clusters.anchor_projects_per_year.robotics: [0, 3]  # .<sector>: one sector of a mapping lever

Each point draws its own independent replications (seed stream = point number: its P is an
absolute probability whose error is independent of the other points', experiments/core.py).
Decisions respect the noise: a point **passes** when the 95% interval of its P lies at or above
`p_min`, **fails** when it lies below, and is **undecided** otherwise; undecided points get more
replications, in rounds, until they are decided, or their interval is within `precision` (they
lie on the boundary, P within +-precision of p_min), or `max_runs` stops them. PRIM (the EMA
Workbench's implementation, the `discovery` extra) then peels the lever space of the *decided*
points towards the passing ones; for each box found, the point on its peeling trajectory with
the highest coverage among those with density >= `min_density` is reported: its coverage (share
of the passing points inside the box), density (share of the decided points inside the box that
pass), and the restricted levers with their limits. Finished blocks are saved under
`<out>/parts/` (an interrupted run resumes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import qmc

from .. import outcomes as oc
from .. import plots
from ..ensemble import RunSettings
from ..i18n import Lang
from ..io import RESULT_DIGITS, YamlFile, echo, read_yaml_file, write_atomic, write_json
from ..levers import lever_specs, with_levers
from ..plots import save_figure
from ..scenario import Scenario, ScenarioError, load_scenario
from ..sectors import SECTOR_IDS, TARGET_SECTORS
from ..stats import probability
from .core import (
    FAIL,
    PASS,
    SEEDS_INDEPENDENT,
    UNDECIDED,
    Executor,
    Point,
    Runner,
    decide,
    decision_needs,
    hooks,
    open_store,
    settings_id,
)

FILE_KEYS = (
    "scenario",
    "points",
    "p_min",
    "precision",
    "max_runs",
    "min_density",
    "max_boxes",
    "clusters",
    "levers",
)
MAX_POINTS = 100_000
FIRST_RUNS = 20
"""Runs a point gets in the first round (points far from p_min are decided there)."""


class DiscoveryError(ScenarioError):
    """A levers file or discovery setting that cannot be used (one line)."""


@dataclass(frozen=True)
class LeverRange:
    """A lever explored by discovery: `path` as written (section.name[.sector|.targets])."""

    path: str
    low: float
    high: float
    unit: str


@dataclass
class DiscoverySpec:
    """A levers file, read and checked."""

    path: Path
    scenario: Scenario
    levers: list[LeverRange]
    points: int = 48
    p_min: float = 0.5
    precision: float = 0.05
    max_runs: int = 400
    min_density: float = 0.8
    max_boxes: int = 2
    clusters: tuple[str, ...] = tuple(TARGET_SECTORS)  # a run passes if all of these reach 100 bn

    def event(self) -> str:
        """The event a point's probability is of, in words."""
        which = "all four" if set(self.clusters) == set(TARGET_SECTORS) else " and ".join(self.clusters)
        return f"P({which} >= 100 bn by {self.scenario.end_year})"

    def outcome(self) -> oc.Outcome:
        """The declared outcome of that event."""
        return oc.event(self.clusters)


def _specs() -> dict[str, Any]:
    return {s.path: s for s in lever_specs()}


def check_lever(path: str, low: float, high: float, where: str) -> LeverRange:
    """One lever range, checked against the lever declarations (allowed range)."""
    specs = _specs()
    parts_ = path.split(".")
    base = ".".join(parts_[:2])
    spec = specs.get(base)
    if spec is None:
        raise DiscoveryError(f"{where}: unknown lever {path!r}; see `etown levers` for the list")
    if spec.mapping:
        if len(parts_) != 3 or parts_[2] not in (*SECTOR_IDS, "targets"):
            raise DiscoveryError(
                f"{where}: {base} is given per sector: write {base}.<sector> (one of {', '.join(SECTOR_IDS)}) "
                f"or {base}.targets (the four target sectors together)"
            )
    elif len(parts_) != 2:
        raise DiscoveryError(f"{where}: {base} is one number, write {base}")
    lo, hi = spec.info.allowed
    if not low < high:
        raise DiscoveryError(f"{where}: give [low, high] with low < high, got [{low:g}, {high:g}]")
    if low < lo or high > hi:
        raise DiscoveryError(f"{where}: range must lie within the allowed [{lo:g}, {hi:g}] {spec.info.unit}")
    return LeverRange(path, float(low), float(high), spec.info.unit)


def read_levers_file(path: Path) -> DiscoverySpec:
    """Read and check a levers file; a one-line DiscoveryError naming the file and line otherwise."""
    doc: YamlFile = read_yaml_file(Path(path), DiscoveryError, ", ".join(FILE_KEYS))

    def where(*key: str) -> str:
        line = doc.lines.get(key)
        return f"{path}: line {line}: {'.'.join(key)}" if line else f"{path}: {'.'.join(key)}"

    if "replications" in doc.data:
        raise DiscoveryError(
            f"{where('replications')}: replaced by precision (95% half-width) and max_runs: each point now gets "
            "runs until it is decided or precise (docs/experiments.md)"
        )
    unknown = [k for k in doc.data if k not in FILE_KEYS]
    if unknown:
        raise DiscoveryError(f"{where(str(unknown[0]))}: unknown key; allowed: {', '.join(FILE_KEYS)}")
    if "scenario" in doc.data:
        ref = doc.data["scenario"]
        if not isinstance(ref, str) or not ref.strip():
            raise DiscoveryError(f"{where('scenario')}: must be a scenario file name, got {echo(ref)}")
        target = Path(os.path.normpath(Path(os.path.realpath(path)).parent / ref))
        try:
            scenario = load_scenario(target).scenario
        except ScenarioError as exc:
            raise DiscoveryError(f"{where('scenario')}: {exc}") from None
    else:
        scenario = Scenario(name="baseline")
    spec = DiscoverySpec(Path(path), scenario, [])
    for key, kind, lo, hi in (
        ("points", int, 2, MAX_POINTS),
        ("p_min", float, 0.0, 1.0),
        ("precision", float, 0.005, 0.5),
        ("max_runs", int, 10, 100_000),
        ("min_density", float, 0.0, 1.0),
        ("max_boxes", int, 1, 10),
    ):
        if key in doc.data:
            v = doc.data[key]
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (kind is float or float(v).is_integer())
            if not ok or not lo <= v <= hi:
                what = "an integer" if kind is int else "a number"
                raise DiscoveryError(f"{where(key)}: must be {what} in [{lo:g}, {hi:g}], got {echo(v)}")
            setattr(spec, key, kind(v))
    if "clusters" in doc.data:
        chosen = doc.data["clusters"]
        if not (isinstance(chosen, list) and chosen and all(c in TARGET_SECTORS for c in chosen)):
            raise DiscoveryError(
                f"{where('clusters')}: give a list of target clusters ({', '.join(TARGET_SECTORS)}), got {echo(chosen)}"
            )
        spec.clusters = tuple(dict.fromkeys(chosen))
    levers = doc.data.get("levers")
    if not isinstance(levers, dict) or not levers:
        raise DiscoveryError(f"{where('levers')}: give a mapping lever -> [low, high] (at least one lever)")
    for name, rng in levers.items():
        w = where("levers", str(name))
        if not (
            isinstance(rng, list)
            and len(rng) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng)
        ):
            raise DiscoveryError(f"{w}: give [low, high], got {echo(rng)}")
        spec.levers.append(check_lever(str(name), float(rng[0]), float(rng[1]), w))
    return spec


def apply_levers(base: Scenario, values: dict[str, float]) -> Scenario:
    """`base` with the levers set to `values` ({path as in the levers file: value})."""
    return with_levers(base, {path: float(v) for path, v in values.items()})


def latin_hypercube(levers: list[LeverRange], points: int, seed: int) -> pd.DataFrame:
    """`points` Latin-hypercube points over the lever ranges (one column per lever)."""
    sample = qmc.LatinHypercube(d=len(levers), seed=np.random.default_rng(seed)).random(points)
    lows, highs = [lv.low for lv in levers], [lv.high for lv in levers]
    return pd.DataFrame(qmc.scale(sample, lows, highs), columns=[lv.path for lv in levers])


# ---------------------------------------------------------------------- PRIM
@dataclass
class Box:
    """A PRIM box at the chosen point of its peeling trajectory."""

    index: int  # point of the trajectory chosen
    coverage: float
    density: float
    mass: float
    restricted: dict[str, tuple[float, float]]  # lever -> (low, high) where the box is narrower than the range
    trajectory: pd.DataFrame  # coverage, density, mass, res_dim per peeling step


def require_prim() -> Any:
    """The EMA Workbench's PRIM module; a one-line DiscoveryError if the extra is not installed."""
    import logging
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "ipyparallel not installed" and the like
            from ema_workbench.analysis import prim
    except ImportError:
        raise DiscoveryError(
            "scenario discovery needs the EMA Workbench: pip install 'etown-clusters[discovery]'"
        ) from None
    logging.getLogger("EMA").setLevel(logging.ERROR)
    return prim


def prim_boxes(
    x: pd.DataFrame, y: np.ndarray, *, min_density: float = 0.8, max_boxes: int = 2, mass_min: float = 0.05
) -> list[Box]:
    """PRIM (EMA Workbench) boxes for the cases where y is True; at most `max_boxes`, each taken
    at the highest-coverage trajectory point with density >= min_density (else the densest)."""
    prim = require_prim()
    y = np.asarray(y, dtype=bool)
    if not y.any():
        return []
    finder = prim.Prim(x.reset_index(drop=True), y, peel_alpha=0.05, paste_alpha=0.05, mass_min=mass_min)
    full = pd.DataFrame({c: [x[c].min(), x[c].max()] for c in x.columns})
    boxes: list[Box] = []
    for _ in range(max_boxes):
        box = finder.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].reset_index(drop=True)
        ok = traj.index[traj["density"] >= min_density]
        # the highest coverage among the dense enough points, the denser one on a tie
        best = traj.loc[ok].sort_values(["coverage", "density"], ascending=False, kind="stable")
        i = int(best.index[0]) if len(ok) else int(traj["density"].idxmax())
        lims = box.box_lims[i]
        restricted = {
            c: (float(lims[c].iloc[0]), float(lims[c].iloc[1]))
            for c in x.columns
            if lims[c].iloc[0] > full[c].iloc[0] or lims[c].iloc[1] < full[c].iloc[1]
        }
        row = traj.iloc[i]
        if row["coverage"] <= 0 or row["density"] <= 0:  # no passing point left outside the earlier boxes
            break
        boxes.append(Box(i, float(row["coverage"]), float(row["density"]), float(row["mass"]), restricted, traj))
        box.select(i)
        if row["density"] < min_density:
            break
    return boxes


# ---------------------------------------------------------------------- run and report
def discovery_outcomes(spec: DiscoverySpec) -> tuple[oc.Outcome, ...]:
    """P per target cluster, P(all four) and the event the file asks about."""
    event = spec.outcome()
    base = (*oc.TARGET_P, oc.P_ALL_FOUR)
    return base if event in base else (*base, event)


@dataclass
class DiscoveryResult:
    spec: DiscoverySpec
    seed: int
    scale: float
    table: pd.DataFrame  # one row per point: lever values, P per target, P(all four), P(event), its CI, decision
    boxes: list[Box] = field(default_factory=list)
    rounds: int = 1
    capped: int = 0  # undecided points the cap stopped before their precision

    def counts(self) -> dict[str, int]:
        d = self.table["decision"]
        return {k: int((d == k).sum()) for k in (PASS, FAIL, UNDECIDED)}

    def header(self) -> list[str]:
        s, t, c = self.spec, self.table, self.counts()
        cap = (
            f"; the cap (--max-runs {s.max_runs}) stopped {self.capped} undecided point(s) before +-{s.precision:g}"
            if self.capped
            else ""
        )
        return [
            f"scenario discovery from {s.scenario.name}: {len(t)} Latin-hypercube points, {int(t['runs'].sum())} "
            f"runs ({_span(t['runs'])} a point; seed {self.seed}, scale {self.scale})",
            SEEDS_INDEPENDENT.format(seed=self.seed),
            f"decision: a point passes when the 95% interval of {s.event()} lies at or above {s.p_min:g}, fails when "
            f"it lies below; undecided points got more runs until decided or within +-{s.precision:g}{cap}",
            f"{c[PASS]} pass, {c[FAIL]} fail, {c[UNDECIDED]} undecided (interval still straddling {s.p_min:g}: "
            f"near the boundary); PRIM on the {c[PASS] + c[FAIL]} decided points (highest P: {t['p_event'].max():.2f})",
        ]

    def format(self) -> str:
        s = self.spec
        lines = self.header()
        if not self.boxes:
            lines.append("no box: no decided point passes (widen the lever ranges or lower p_min)")
        units = {lv.path: lv.unit for lv in s.levers}
        ranges = {lv.path: (lv.low, lv.high) for lv in s.levers}
        for k, b in enumerate(self.boxes, 1):
            lines.append(
                f"box {k}: coverage {b.coverage:.2f}, density {b.density:.2f}, mass {b.mass:.2f} "
                f"({len(b.restricted)} restricted lever(s))"
            )
            for name, (lo, hi) in b.restricted.items():
                rlo, rhi = ranges[name]
                lines.append(f"    {name}: {lo:.4g} to {hi:.4g} {units[name]} (explored {rlo:.4g} to {rhi:.4g})")
            if not b.restricted:
                lines.append("    (no lever restricted: the whole explored space)")
        return "\n".join(lines)


def _span(runs: pd.Series) -> str:
    lo, hi = int(runs.min()), int(runs.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def run_discovery(
    spec: DiscoverySpec,
    *,
    seed: int,
    settings: RunSettings,
    executor: Executor | None = None,
    out: Path | None = None,
    fresh: bool = False,
    progress: Any = None,
) -> DiscoveryResult:
    """Sample the lever ranges, replicate each point (independent seeds) until it is decided or
    precise, and find PRIM boxes on the decided points."""
    design = latin_hypercube(spec.levers, spec.points, seed)
    points = [
        Point(apply_levers(spec.scenario, row.to_dict()), settings, i + 1, label=f"point {i}")
        for i, (_, row) in enumerate(design.iterrows())
    ]
    outcomes = discovery_outcomes(spec)
    col = oc.by_name(outcomes)[spec.outcome().name]
    fingerprint = {"kind": "discover", "seed": seed, "settings": settings_id(settings)}
    store = open_store(out, "discover", fingerprint, fresh)

    needs = decision_needs(col, spec.p_min, spec.precision)
    with executor or Executor() as ex:
        result = Runner(outcomes, seed, ex, store, **hooks(progress)).until(
            points, needs, first=FIRST_RUNS, max_runs=spec.max_runs
        )
    table = design.copy()
    names = oc.by_name(outcomes)
    for s_ in TARGET_SECTORS:
        table[f"p_{s_}"] = [float(v[:, names[oc.p_reach(s_).name]].mean()) for v in result.values]
    table["p_all_four"] = [float(v[:, names[oc.P_ALL_FOUR.name]].mean()) for v in result.values]
    ests = [probability(v[:, col]) for v in result.values]
    table["p_event"] = [e.value for e in ests]
    table["p_event_lo"] = [e.lo for e in ests]
    table["p_event_hi"] = [e.hi for e in ests]
    table["runs"] = [e.n for e in ests]
    table["decision"] = [decide(e, spec.p_min) for e in ests]
    table["passes"] = table["decision"] == PASS
    decided = table["decision"] != UNDECIDED
    boxes = prim_boxes(
        design[decided.to_numpy()],
        table.loc[decided, "passes"].to_numpy(),
        min_density=spec.min_density,
        max_boxes=spec.max_boxes,
    )
    capped = sum(result.capped)
    return DiscoveryResult(spec, seed, settings.scale, table, boxes, result.rounds, capped)


def box_chart(result: DiscoveryResult, lang: Lang = "en") -> Figure:
    """The boxes a planner reads (plots.discovery_chart): per lever, its explored range, each
    box's range inside it, and the passing and failing points."""
    s = result.spec
    return plots.discovery_chart(
        [{"path": lv.path, "low": lv.low, "high": lv.high, "unit": lv.unit} for lv in s.levers],
        [{"coverage": b.coverage, "density": b.density, "restricted": b.restricted} for b in result.boxes],
        result.table[result.table["decision"] != UNDECIDED],  # decided points only, as PRIM sees them
        event=s.event(),
        p_min=s.p_min,
        replications=int(result.table["runs"].median()) if len(result.table) else 0,
        lang=lang,
    )


def write_discovery(result: DiscoveryResult, out: Path) -> None:
    """discover.csv (points), discover.json (settings and boxes), discover.md (readable summary)
    and boxes.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "discover.csv", lambda p: result.table.to_csv(p, index=False, float_format="%.4g"))
    s = result.spec
    boxes = [
        {
            "coverage": b.coverage,
            "density": b.density,
            "mass": b.mass,
            "trajectory_point": b.index,
            "restricted": {k: {"low": lo, "high": hi} for k, (lo, hi) in b.restricted.items()},
        }
        for b in result.boxes
    ]
    meta = {
        "levers_file": str(s.path),
        "scenario": s.scenario.name,
        "points": len(result.table),
        "runs": int(result.table["runs"].sum()),
        "precision": s.precision,
        "max_runs": s.max_runs,
        "stopped_by_cap": result.capped,
        "decisions": result.counts(),
        "header": result.header(),
        "seed": result.seed,
        "scale": result.scale,
        "event": s.event(),
        "clusters": list(s.clusters),
        "p_min": s.p_min,
        "min_density": s.min_density,
        "passing_points": int(result.table["passes"].sum()),
        "levers": {lv.path: {"low": lv.low, "high": lv.high, "unit": lv.unit} for lv in s.levers},
        "boxes": boxes,
    }
    write_json(out / "discover.json", meta, digits=RESULT_DIGITS)
    text = "# Scenario discovery\n\n```\n" + result.format() + "\n```\n"
    write_atomic(out / "discover.md", lambda p: p.write_text(text, encoding="utf-8"))
    save_figure(box_chart(result), out / "boxes.png")
