"""`etown discover`: scenario discovery over lever ranges.

A levers file (YAML; example: scenarios/discovery/levers.yaml) names a scenario to start from,
the lever ranges to explore and the sampling:

    scenario: ../baseline.yaml          # relative to this file; levers not listed keep its values
    points: 48                          # Latin hypercube points (scipy.stats.qmc)
    replications: 8                     # runs per point, the same seeds at every point
    p_min: 0.5                          # a point passes if P(all four >= 100 bn by the end year) >= p_min
    clusters: [biotech, robotics]       # optional: the clusters that must all pass (default: the four targets)
    levers:
      policy.special_funds_yuan_per_year: [5.0e9, 3.0e10]
      clusters.anchor_projects_per_year.targets: [0, 3]   # .targets: the four target sectors together
      clusters.anchor_projects_per_year.robotics: [0, 3]  # .<sector>: one sector of a mapping lever

Each point runs `replications` replications with common random numbers (experiments/paired.py)
on the one executor; P(all four targets) at each point is their share. PRIM (the EMA Workbench's
implementation, the `discovery` extra) then peels the lever space towards the points that pass;
for each box found, the point on its peeling trajectory with the highest coverage among those
with density >= `min_density` is reported: its coverage (share of all passing points inside the
box), density (share of the points inside the box that pass), and the restricted levers with
their limits. Finished tasks are saved under `<out>/parts/` (an interrupted run resumes).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import qmc

from .. import plots
from ..ensemble import RunSettings
from ..i18n import Lang
from ..io import RESULT_DIGITS, YamlFile, echo, read_yaml_file, write_atomic, write_json
from ..levers import lever_specs
from ..plots import save_figure
from ..scenario import Scenario, ScenarioError, load_scenario
from ..sectors import SECTOR_IDS, TARGET_SECTORS
from . import parts
from .paired import run_outcomes

FILE_KEYS = ("scenario", "points", "replications", "p_min", "min_density", "max_boxes", "clusters", "levers")
RUNS_PER_TASK = 4
MAX_POINTS = 100_000


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
    replications: int = 8
    p_min: float = 0.5
    min_density: float = 0.8
    max_boxes: int = 2
    clusters: tuple[str, ...] = tuple(TARGET_SECTORS)  # a run passes if all of these reach 100 bn

    def event(self) -> str:
        """The event a point's probability is of, in words."""
        which = "all four" if set(self.clusters) == set(TARGET_SECTORS) else " and ".join(self.clusters)
        return f"P({which} >= 100 bn by {self.scenario.end_year})"


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
        ("replications", int, 1, 10_000),
        ("p_min", float, 0.0, 1.0),
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
    data = base.model_dump(mode="python")
    for path, v in values.items():
        section, name, *sector = path.split(".")
        if sector:
            keys = TARGET_SECTORS if sector[0] == "targets" else (sector[0],)
            data[section][name] = {**data[section][name], **dict.fromkeys(keys, float(v))}
        else:
            data[section][name] = float(v)
    return Scenario.model_validate(data)


def latin_hypercube(levers: list[LeverRange], points: int, seed: int) -> pd.DataFrame:
    """`points` Latin-hypercube points over the lever ranges (one column per lever)."""
    sample = qmc.LatinHypercube(d=len(levers), seed=np.random.default_rng(seed)).random(points)
    lows, highs = [lv.low for lv in levers], [lv.high for lv in levers]
    return pd.DataFrame(qmc.scale(sample, lows, highs), columns=[lv.path for lv in levers])


def point_outcomes(scenario: Scenario, runs: list[int], seed: int, settings: RunSettings) -> dict[str, np.ndarray]:
    """The per-run target outcomes of one design point (a task)."""
    res = run_outcomes(scenario, runs, seed, settings)
    return {"cross": res["cross"], "all_four": res["all_four"], "output": res["output"]}


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
        i = int(traj.loc[ok, "coverage"].idxmax()) if len(ok) else int(traj["density"].idxmax())
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
@dataclass
class DiscoveryResult:
    spec: DiscoverySpec
    seed: int
    scale: float
    table: pd.DataFrame  # one row per point: lever values, P per target, P(all four), passes
    boxes: list[Box] = field(default_factory=list)

    def format(self) -> str:
        s = self.spec
        t = self.table
        lines = [
            f"scenario discovery from {s.scenario.name}: {len(t)} Latin-hypercube points x {s.replications} runs "
            f"(seed {self.seed}, scale {self.scale}); a point passes if {s.event()} >= {s.p_min:g}: "
            f"{int(t['passes'].sum())} of {len(t)} pass (highest P: {t['p_event'].max():.2f})"
        ]
        if not self.boxes:
            lines.append("no box: no point passes (widen the lever ranges or lower p_min)")
        for k, b in enumerate(self.boxes, 1):
            lines.append(
                f"box {k}: coverage {b.coverage:.2f}, density {b.density:.2f}, mass {b.mass:.2f} "
                f"({len(b.restricted)} restricted lever(s))"
            )
            units = {lv.path: lv.unit for lv in s.levers}
            ranges = {lv.path: (lv.low, lv.high) for lv in s.levers}
            for name, (lo, hi) in b.restricted.items():
                rlo, rhi = ranges[name]
                lines.append(f"    {name}: {lo:.4g} to {hi:.4g} {units[name]} (explored {rlo:.4g} to {rhi:.4g})")
            if not b.restricted:
                lines.append("    (no lever restricted: the whole explored space)")
        return "\n".join(lines)


def run_discovery(
    spec: DiscoverySpec,
    *,
    seed: int,
    settings: RunSettings,
    workers: int = 1,
    client: Any = None,
    out: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> DiscoveryResult:
    """Sample the lever ranges, run each point's replications (common seeds) and find PRIM boxes."""
    design = latin_hypercube(spec.levers, spec.points, seed)
    scenarios = [apply_levers(spec.scenario, row.to_dict()) for _, row in design.iterrows()]
    chunks = [
        list(range(a, min(a + RUNS_PER_TASK, spec.replications))) for a in range(0, spec.replications, RUNS_PER_TASK)
    ]
    tasks = [(sc, chunk, seed, settings) for sc in scenarios for chunk in chunks]
    keys = [parts.task_key((sc.model_dump(mode="json"), chunk, seed, repr(settings))) for sc, chunk, *_ in tasks]
    folder = None
    if out is not None:
        folder = out / "parts"
        parts.prepare(folder, {"seed": seed, "settings": repr(settings), "chunk": RUNS_PER_TASK, "kind": "discover"})
    results = parts.run_saved(point_outcomes, tasks, keys, folder, workers=workers, client=client, progress=progress)
    table = design.copy()
    n = len(chunks)
    cols = [TARGET_SECTORS.index(c) for c in spec.clusters]
    all_four, event, cross = [], [], []
    for k in range(len(scenarios)):
        block = results[k * n : (k + 1) * n]
        runs_cross = np.concatenate([b["cross"] for b in block])
        all_four.append(np.concatenate([b["all_four"] for b in block]).mean())
        event.append(runs_cross[:, cols].all(axis=1).mean())
        cross.append(runs_cross.mean(axis=0))
    cross_arr = np.array(cross)
    for j, s in enumerate(TARGET_SECTORS):
        table[f"p_{s}"] = cross_arr[:, j]
    table["p_all_four"] = all_four
    table["p_event"] = event
    table["passes"] = table["p_event"] >= spec.p_min
    boxes = prim_boxes(design, table["passes"].to_numpy(), min_density=spec.min_density, max_boxes=spec.max_boxes)
    return DiscoveryResult(spec, seed, settings.scale, table, boxes)


def box_chart(result: DiscoveryResult, lang: Lang = "en") -> Figure:
    """The boxes a planner reads (plots.discovery_chart): per lever, its explored range, each
    box's range inside it, and the passing and failing points."""
    s = result.spec
    return plots.discovery_chart(
        [{"path": lv.path, "low": lv.low, "high": lv.high, "unit": lv.unit} for lv in s.levers],
        [{"coverage": b.coverage, "density": b.density, "restricted": b.restricted} for b in result.boxes],
        result.table,
        event=s.event(),
        p_min=s.p_min,
        replications=s.replications,
        lang=lang,
    )


def write_discovery(result: DiscoveryResult, out: Path) -> None:
    """discover.csv (points), discover.json (settings and boxes), discover.md (readable summary)
    and boxes.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "discover.csv", lambda p: result.table.to_csv(p, index=False, float_format="%.6g"))
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
        "replications": s.replications,
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
