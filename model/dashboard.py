"""Interactive dashboard: a Mesa SolaraViz page to watch a run, move levers and run an ensemble.

`etown dashboard [SCENARIO.yaml]` serves it on localhost (`serve` below). The sidebar has
one slider per lever in `LEVER_SLIDERS`, starting from the scenario file's values, and Mesa's
play / step / reset controls; moving a slider and pressing Reset rebuilds the model with the new
levers. The page shows live plots of the model on screen (each cluster's output against the
100-bn line, the firm-size distribution, the talent pool, the budget paid by instrument, the
number of clusters past 100 bn), the levers year by year, and below them, the page's full
width, a button that runs a small ensemble for the levers of the model on screen, showing its
probabilities and fan chart.

Two small tables keep this robust to changes in the model:
- `LEVER_SLIDERS`: one line per slider (dotted lever path in the scenario, label). Its unit and
  range come from the lever's declaration (model/levers.py: plausible range, money in bn yuan).
  The sliders are the page's own (`LeverPanel`: each says its value, unit and what moving it
  does); their values live in a `LeverState` that Mesa passes to the model it rebuilds at Reset.
  The scenario for the slider values is built generically by writing the values at those paths
  into the scenario's dict and validating it (`scenario_for`); a lever given per year keeps its
  schedule, scaled to the slider's end-year value. A renamed lever is a one-line change here.
- the accessors under "what the live plots read": the only place that reads the model's state.

Solara's page loads its front-end files from its asset cache; `scripts/solara_assets.py`
(run by `make setup`) fills that cache from the npm registry, so the page needs no CDN.
"""

from __future__ import annotations

import hashlib
import html
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import solara
import solara.lab
import yaml
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from .analysis import BN
from .api import DEFAULT_SEED, EnsembleResult, run
from .cluster_model import ClusterModel
from .levers import LeverSpec, lever_specs
from .mechanisms.funding import INSTRUMENTS
from .outcomes import at_or_above, threshold_bn
from .plots import fan_chart
from .scenario import LoadedScenario, Scenario, load_scenario
from .sectors import SECTORS, TARGET_SECTORS

# ---------------------------------------------------------------------------------- levers
MEASURES = {"clusters": "M1", "ecosystem": "M2", "urban_scenarios": "M3", "talent": "M4", "policy": "M5"}
"""Short names of the five measures (1 clusters, 2 innovation ecosystem, 3 urban scenarios, 4 talent, 5 policy)."""


@dataclass(frozen=True)
class LeverSlider:
    """A slider for one lever: `path` is the dotted path in the scenario (e.g.
    "policy.special_funds_yuan_per_year"; a key of a per-sector mapping or of the budget shares
    is the last part). Its unit and range come from the lever's declaration (model/levers.py:
    the plausible range, money in bn yuan), so they cannot drift from it."""

    path: str
    label: str
    integer: bool = False  # a count (the lever is an int)

    @property
    def spec(self) -> LeverSpec | None:
        """The lever's declaration (None for a budget share)."""
        head = ".".join(self.path.split(".")[:2])
        return next((s for s in lever_specs() if s.path == head), None)

    @property
    def unit(self) -> str:
        """The unit the slider shows (yuan amounts in bn yuan)."""
        unit = self.spec.info.unit if self.spec else "share of the budget"
        return "bn " + unit if unit.startswith("yuan") else unit

    @property
    def factor(self) -> float:
        """Model value per slider value (1e9 for amounts shown in bn yuan)."""
        return BN if self.unit.startswith("bn yuan") else 1.0

    @property
    def min(self) -> float:
        return (self.spec.info.plausible[0] if self.spec else 0.0) / self.factor

    @property
    def max(self) -> float:
        return (self.spec.info.plausible[1] if self.spec else 1.0) / self.factor

    @property
    def step(self) -> float:
        """A round step, about a hundredth of the range (1 for counts)."""
        raw = (self.max - self.min) / 100
        power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)
        return max(1.0, round(step)) if self.integer else step


LEVER_SLIDERS: tuple[LeverSlider, ...] = (
    # measure 5: annual special funds and their split (shares are rescaled to sum to one)
    LeverSlider("policy.special_funds_yuan_per_year", "special funds"),
    LeverSlider("policy.budget_shares.guidance_equity", "share: fund equity"),
    LeverSlider("policy.budget_shares.loan_interest", "share: loan interest"),
    LeverSlider("policy.budget_shares.rent", "share: rent"),
    LeverSlider("policy.budget_shares.rd_reward", "share: R&D rewards"),
    LeverSlider("policy.budget_shares.talent", "share: talent"),
    LeverSlider("policy.budget_shares.project_support", "share: project support"),
    # measure 1: major projects pursued a year, and the incentive offered
    LeverSlider("clusters.anchor_projects_per_year.ngit", "projects pursued: new-gen IT"),
    LeverSlider("clusters.anchor_projects_per_year.biotech", "projects pursued: biotech"),
    LeverSlider("clusters.anchor_projects_per_year.xinchuang", "projects pursued: xinchuang"),
    LeverSlider("clusters.anchor_projects_per_year.robotics", "projects pursued: robotics"),
    LeverSlider("clusters.anchor_incentive_share", "incentive offer"),
    # measure 2: innovation centres and pilot bases
    LeverSlider("ecosystem.innovation_centres", "innovation centres", integer=True),
    LeverSlider("ecosystem.pilot_bases", "pilot bases", integer=True),
    # measure 4: talent programmes
    LeverSlider("talent.programme_persons_per_year", "talent programmes"),
    LeverSlider("talent.training_places_per_year", "training places"),
    # measure 3: urban-scenario demand
    LeverSlider("urban_scenarios.autonomous_driving_road_km", "self-driving road-km"),
    LeverSlider("urban_scenarios.smart_city_procurement_yuan_per_year.xinchuang", "smart city: xinchuang"),
    LeverSlider("urban_scenarios.smart_healthcare_yuan_per_year", "smart healthcare"),
)
NORMALISED = ("policy.budget_shares",)
"""Groups of sliders that are relative weights: rescaled to sum to one when the scenario is built."""


def _get(data: dict[str, Any], path: str, default: float = 0.0) -> Any:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def lever_values(scenario: Scenario, year: int | None = None) -> dict[str, float]:
    """The scenario's value of every slider's lever in `year` (default: its end year, where
    levers given per year arrive), in the sliders' display units."""
    data = scenario.at(year or scenario.end_year).model_dump(mode="python")
    return {s.path: float(_get(data, s.path)) / s.factor for s in LEVER_SLIDERS}


def is_schedule(scenario: Scenario, path: str) -> bool:
    """Whether the lever at `path` changes over the scenario's projected years."""
    values = {lever_values(scenario, y)[path] for y in scenario.years[1:]}
    return len(values) > 1


def slider_mode(scenario: Scenario, path: str) -> str:
    """What moving the slider does, in words the page shows."""
    first, end = scenario.years[1], scenario.end_year
    if is_schedule(scenario, path):
        if lever_values(scenario)[path] != 0:
            return f"{end} value; moving it scales the {first}-{end} schedule"
        return f"{end} value; moving it replaces the {first}-{end} schedule by one value"
    return f"the same every year {first}-{end}"


def _scaled(value: Any, ratio: float) -> Any:
    """A dumped lever value (number or per-year schedule) multiplied by `ratio`."""
    if isinstance(value, dict) and "points" in value:
        return {**value, "points": tuple((y, v * ratio) for y, v in value["points"])}
    return value * ratio


def scenario_for(base: Scenario, values: dict[str, float]) -> Scenario:
    """`base` with the levers at `values` ({dotted path: slider value}). A lever given per year
    keeps its schedule, scaled so that its end-year value is the slider's (replaced by the
    slider's value where that end-year value is zero); weights in `NORMALISED` groups are
    rescaled to sum to one (all equal if they are all zero). Sliders left at the base's value
    leave the base untouched."""
    sliders = {s.path: s for s in LEVER_SLIDERS}
    data = base.model_dump(mode="python")
    resolved = base.at(base.end_year).model_dump(mode="python")
    current = lever_values(base)
    moved_groups = set()
    for path, value in values.items():
        s = sliders[path]
        if math.isclose(value, current[path], rel_tol=1e-12, abs_tol=1e-12):
            continue
        new = round(value) if s.integer else float(value) * s.factor
        old = _get(data, path)
        if is_schedule(base, path) and current[path] != 0:
            new = _scaled(old, float(value) / current[path])
        _set(data, path, new)
        moved_groups.update(g for g in NORMALISED if path.startswith(g + "."))
    for group in moved_groups:  # a moved weight: the whole group at constant values, then rescaled
        weights = {**_get(resolved, group, {}), **{k: v for k, v in _get(data, group, {}).items() if _is_number(v)}}
        _set(data, group, weights)
    for group in moved_groups:
        weights = _get(data, group, {})
        total = sum(weights.values())
        if math.isclose(total, 1.0, abs_tol=1e-9):
            continue
        _set(data, group, {k: (v / total if total > 0 else 1.0 / len(weights)) for k, v in weights.items()})
    return Scenario.model_validate(data)


def _decimals(x: float) -> int:
    """Decimal places needed to write x (at most 6)."""
    return next((d for d in range(7) if abs(round(x, d) - x) < 1e-9), 6)


def slider_grid(s: LeverSlider, value: float) -> tuple[float, float, float]:
    """(min, max, step) of a slider that starts at `value`. A browser slider snaps to the grid
    min + k x step and rounds to the step's decimals, which would change a scenario value such
    as 22.1 road-km to 20 or 22 without the user asking: the step gets the value's decimals
    (5 -> 0.5 for 22.1) and the range is widened to include the value and shifted onto its grid."""
    step = s.step / 10 ** max(_decimals(value) - _decimals(s.step), 0)
    lo = value - math.floor((value - min(s.min, value)) / step + 1e-9) * step
    hi = lo + math.ceil((max(s.max, value) - lo) / step - 1e-9) * step
    d = _decimals(step)
    return round(lo, d) + 0.0, round(hi, d) + 0.0, step


def slider_settings(base: Scenario) -> dict[str, dict[str, Any]]:
    """Per slider (by lever path): its label (measure, name, unit), start value (the scenario's,
    on the slider's grid), min, max and step, and what moving it does (`mode`)."""
    start = lever_values(base)
    out: dict[str, dict[str, Any]] = {}
    for s in LEVER_SLIDERS:
        value = round(start[s.path]) if s.integer else start[s.path]
        lo, hi, step = slider_grid(s, value)
        out[s.path] = {
            "label": f"{MEASURES[s.path.split('.')[0]]}: {s.label} [{s.unit}]",
            "value": value,
            "min": round(lo) if s.integer else lo,
            "max": round(hi) if s.integer else hi,
            "step": round(step) if s.integer else step,
            "integer": s.integer,
            "mode": slider_mode(base, s.path),
        }
    return out


class LeverState(dict):
    """The sliders' current values ({lever path: slider value}). The sliders write them; the
    model Mesa rebuilds at Reset reads them (the state is passed as a fixed model parameter)."""


def model_params(base: Scenario, scale: float, seed: int, levers: LeverState | None = None) -> dict[str, Any]:
    """Mesa SolaraViz `model_params`: the fixed settings and the sliders' state (the sliders
    themselves are the page's own: `LeverPanel`)."""
    return {"base": base, "scale": scale, "rng": seed, "levers": levers if levers is not None else LeverState()}


# ------------------------------------------------------------------ what the live plots read
def cluster_output(model: ClusterModel) -> np.ndarray:
    """Current output run rate per sector (yuan/year, SECTORS order)."""
    return model.sector_output()


def firm_sizes(model: ClusterModel) -> np.ndarray:
    """Output run rates of the living simulated firms (yuan/year)."""
    f = model.firms
    return f.output[f.alive].copy()


def talent_pool(model: ClusterModel) -> float:
    """Skilled persons in the zone."""
    c = model.cohorts
    return float((c.persons * c.alive).sum())


def budget_paid(model: ClusterModel) -> np.ndarray:
    """Special funds paid so far per instrument (yuan, INSTRUMENTS order), from the government's ledger."""
    return model.government.ledger.paid.sum(axis=(0, 2))


def model_time(model: ClusterModel) -> float:
    """Calendar time at the end of the current step (2020.0 = end of 2020)."""
    return model.start.year + model.step_count / model.steps_per_year


@dataclass
class Trace:
    """What the live plots show, one entry per step (the start included)."""

    time: list[float] = field(default_factory=list)
    output: list[np.ndarray] = field(default_factory=list)  # yuan/yr per sector
    talent: list[float] = field(default_factory=list)  # persons
    paid: list[np.ndarray] = field(default_factory=list)  # yuan per instrument, cumulative
    start_sizes: np.ndarray | None = None

    def record(self, model: ClusterModel) -> None:
        self.time.append(model_time(model))
        self.output.append(cluster_output(model))
        self.talent.append(talent_pool(model))
        self.paid.append(budget_paid(model))
        if self.start_sizes is None:
            self.start_sizes = firm_sizes(model)


class DashboardModel(ClusterModel):
    """The model on screen: `base` with the levers at the slider values (`levers`, the page's
    `LeverState`, and `moved`, keyed by dotted path as in `LEVER_SLIDERS`); records a `Trace`
    each step and stops at the end year.

    scenario: Mesa's Reset passes its own (mesa.experimental) scenario object; it is not used,
    the levers come from `base` and the sliders."""

    def __init__(
        self,
        base: Scenario | None = None,
        scale: float = 0.1,
        rng: int | None = DEFAULT_SEED,
        scenario: object = None,
        levers: dict[str, float] | None = None,
        **moved: float,
    ) -> None:
        self.base = base if base is not None else Scenario(name="baseline")
        super().__init__(scenario_for(self.base, {**(levers or {}), **moved}), rng=rng, scale=scale)
        self.seed = rng
        self.trace = Trace()
        self.trace.record(self)

    def step(self) -> None:
        super().step()
        self.trace.record(self)
        if self.step_count >= self.n_steps:
            self.running = False


# ---------------------------------------------------------------------------------- plots
COLOURS = {s.id: f"C{i}" for i, s in enumerate(SECTORS)}
INSTRUMENT_LABELS = {
    "guidance_equity": "guidance-fund equity",
    "loan_interest": "loan-interest subsidies",
    "rent": "rent subsidies",
    "rd_reward": "R&D-growth rewards",
    "talent": "talent subsidies",
}
FIGSIZE = (6.4, 3.9)
NOW = {"marker": "o", "ms": 4, "markevery": [-1]}
"""Line style keywords that mark the current value (the last point)."""


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    return fig, fig.subplots()


def _xaxis(ax: Any, model: DashboardModel) -> None:
    ax.set_xlim(model.start.year, model.years[-1])
    ax.set_xticks(model.years)
    ax.grid(alpha=0.3)


def cluster_output_figure(model: DashboardModel) -> Figure:
    fig, ax = _figure()
    t = model.trace
    out = np.array(t.output) / BN
    thr = threshold_bn()
    for i, s in enumerate(SECTORS):
        ax.plot(t.time, out[:, i], color=COLOURS[s.id], lw=2 if s.target_2025 else 1.2, label=s.id, **NOW)
    ax.axhline(thr, color="tab:red", ls="--", lw=1.2, label=f"{thr:g} bn")
    ax.set_ylim(0, max(float(out.max()), thr) * 1.12)
    _xaxis(ax, model)
    ax.set_ylabel("output run rate, bn yuan/yr")
    ax.set_title(f"Output by cluster (thick: 2025 targets), {quarter_label(model)}", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    return fig


def firm_size_figure(model: DashboardModel) -> Figure:
    fig, ax = _figure()
    now = firm_sizes(model)
    start = model.trace.start_sizes if model.trace.start_sizes is not None else now
    lo = np.log10(max(min(now.min(), start.min()), 1.0))
    hi = np.log10(max(now.max(), start.max()))
    bins = np.logspace(np.floor(lo), np.ceil(hi), int(2 * (np.ceil(hi) - np.floor(lo))) + 1)
    ax.hist(start, bins=bins, histtype="step", color="grey", lw=1.5, label=f"end of {model.start.year}")
    ax.hist(now, bins=bins, color="tab:blue", alpha=0.6, label=quarter_label(model))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("firm output, yuan/yr (simulated firms)")
    ax.set_ylabel("firms")
    ax.set_title(f"Firm sizes: {now.size:,} simulated firms (scale {model.scale:g})", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def talent_figure(model: DashboardModel) -> Figure:
    fig, ax = _figure()
    t = model.trace
    ax.plot(t.time, np.array(t.talent) / 1e3, color="tab:green", lw=2, **NOW)
    _xaxis(ax, model)
    ax.set_ylim(0, max(t.talent) / 1e3 * 1.1)
    ax.set_ylabel("skilled persons, thousands")
    ax.set_title(f"Talent pool: {t.talent[-1] / 1e3:,.1f} thousand persons", fontsize=10)
    return fig


def budget_figure(model: DashboardModel) -> Figure:
    fig, ax = _figure()
    t = model.trace
    paid = np.array(t.paid) / BN
    ax.stackplot(t.time, paid.T, labels=[INSTRUMENT_LABELS.get(k, k) for k in INSTRUMENTS], alpha=0.8)
    _xaxis(ax, model)
    ax.set_ylim(0, max(float(paid[-1].sum()) * 1.1, 1.0))
    ax.set_ylabel("paid since start, bn yuan")
    ax.set_title(f"Special funds paid by instrument: {paid[-1].sum():.1f} bn yuan", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def clusters_past_figure(model: DashboardModel) -> Figure:
    fig, ax = _figure()
    t = model.trace
    count = at_or_above(np.array(t.output)).sum(axis=1)
    ax.step(t.time, count, where="post", color="tab:red", lw=2)
    ax.plot(t.time[-1:], count[-1:], "o", color="tab:red", ms=5)
    _xaxis(ax, model)
    ax.set_ylim(0, len(SECTORS))
    ax.set_yticks(range(len(SECTORS) + 1))
    ax.set_ylabel("clusters at >= 100 bn yuan/yr")
    past = [s.id for s, above in zip(SECTORS, at_or_above(t.output[-1]), strict=True) if above]
    ax.set_title(f"Clusters past 100 bn: {count[-1]} ({', '.join(past) or 'none'})", fontsize=9)
    return fig


def quarter_label(model: ClusterModel) -> str:
    if model.step_count == 0:
        return f"end of {model.start.year}"
    year = model.start.year + 1 + (model.step_count - 1) // model.steps_per_year
    return f"{year} Q{(model.step_count - 1) % model.steps_per_year + 1}"


def png(figure: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _show(figure: Figure) -> None:
    solara.Image(png(figure), width="100%", classes=["etown-plot"])


@solara.component
def ClusterOutputPlot(model: DashboardModel) -> None:
    update_counter.get()  # redrawn whenever the model steps
    _show(cluster_output_figure(model))


@solara.component
def ClustersPastPlot(model: DashboardModel) -> None:
    update_counter.get()
    _show(clusters_past_figure(model))


@solara.component
def FirmSizePlot(model: DashboardModel) -> None:
    update_counter.get()
    _show(firm_size_figure(model))


@solara.component
def TalentPlot(model: DashboardModel) -> None:
    update_counter.get()
    _show(talent_figure(model))


@solara.component
def BudgetPlot(model: DashboardModel) -> None:
    update_counter.get()
    _show(budget_figure(model))


# ------------------------------------------------------------------------------- ensemble
ENSEMBLE_RUNS = 40


def ensemble_for(model: DashboardModel, runs: int, out_root: Path = Path("results") / "dashboard") -> EnsembleResult:
    """A small ensemble (public API `run`) of the levers of the model on screen, at its scale
    and seed; results under results/dashboard/<scenario>-<lever hash>/."""
    sc = model.policy_scenario
    text = yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    sha = hashlib.sha256(text.encode()).hexdigest()
    loaded = LoadedScenario(sc, Path(f"<dashboard levers of {sc.name}>"), text, sha)
    out = out_root / f"{sc.name}-{sha[:10]}"
    return run(loaded, runs=runs, seed=int(model.seed or DEFAULT_SEED), scale=model.scale, out=out, progress=False)


def _fmt(value: float, step: float) -> str:
    return f"{value:,.{min(max(_decimals(step), _decimals(value)), 3)}f}"


@solara.component
def LeversCard(model: DashboardModel) -> None:
    """The levers of the model on screen, year by year (moved sliders apply at Reset)."""
    update_counter.get()
    sc = model.policy_scenario
    years = sc.years[1:]
    per_year = {y: lever_values(sc, y) for y in years}
    head = "".join(f"<th style='text-align:right'>{y}</th>" for y in years)
    rows = "".join(
        f"<tr><td>{MEASURES[s.path.split('.')[0]]}</td><td>{html.escape(s.label)}</td><td>{html.escape(s.unit)}</td>"
        + "".join(
            f"<td class='etown-lever' data-path='{s.path}' data-year='{y}' style='text-align:right'>"
            f"{_fmt(per_year[y][s.path], s.step)}</td>"
            for y in years
        )
        + "</tr>"
        for s in LEVER_SLIDERS
    )
    solara.Text(
        f"{model.base.name} at {quarter_label(model)}, scale {model.scale:g}, seed {model.seed}: the levers of the "
        "model on screen, each year. Moved sliders apply when you press Reset."
    )
    solara.HTML(
        tag="table",
        unsafe_innerHTML=f"<tr><th>measure</th><th>lever</th><th>unit</th>{head}</tr>" + rows,
        style="font-size: 11.5px; width: 100%",
        classes=["etown-levers"],
    )


@solara.component
def LeverPanel(base: Scenario, state: LeverState) -> None:
    """One slider per lever, each showing its value and unit and saying what moving it does
    (set the value of every year, or scale a per-year schedule); the values go to `state`,
    which the model Mesa rebuilds at Reset reads."""
    settings = solara.use_memo(lambda: slider_settings(base), [])
    values, set_values = solara.use_state(dict(state))

    def setter(path: str) -> Any:
        def on_value(value: float) -> None:
            state[path] = value
            set_values({**state})

        return on_value

    solara.Markdown("Moved sliders apply when you press **Reset** (below).")
    with solara.Column(classes=["etown-lever-panel"], gap="0px"):
        for path, cfg in settings.items():
            s = next(x for x in LEVER_SLIDERS if x.path == path)
            value = values.get(path, cfg["value"])
            ratio = value / cfg["value"] if cfg["value"] else None
            scale = f" (x{ratio:.3g})" if "scales" in cfg["mode"] and ratio is not None and ratio != 1 else ""
            solara.Text(cfg["label"], classes=["etown-slider-label"])
            slider = solara.SliderInt if cfg["integer"] else solara.SliderFloat
            slider(
                "",
                value=value,
                min=cfg["min"],
                max=cfg["max"],
                step=cfg["step"],
                on_value=setter(path),
                thumb_label=True,
            )
            solara.Text(f"{_fmt(value, cfg['step'])} {s.unit}: {cfg['mode']}{scale}", classes=["etown-slider-note"])


@solara.component
def EnsemblePanel(model: DashboardModel) -> None:
    """A button that runs a small ensemble for the levers of the model on screen, and its
    headline table and fan chart, the full width of the page."""
    runs = int(os.environ.get("ETOWN_DASHBOARD_RUNS", ENSEMBLE_RUNS))
    task = solara.lab.use_task(lambda: ensemble_for(model, runs), dependencies=None)
    solara.Button(
        f"Run {runs} runs with these levers",
        on_click=task,
        disabled=task.pending,
        color="primary",
        classes=["etown-ensemble"],
    )
    if task.pending:
        solara.ProgressLinear(True)
        solara.Text(f"running {runs} replications at scale {model.scale:g} ...")
    elif task.error:
        solara.Error(f"ensemble failed: {task.exception}")
    elif task.finished and task.value is not None:
        res = task.value
        solara.HTML(tag="div", unsafe_innerHTML=headline_html(res.summary), classes=["etown-ensemble-table"])
        fig = fan_chart(res.sectors, res.summary, clusters=TARGET_SECTORS)
        solara.Image(png(fig, dpi=90), width="100%", classes=["etown-plot", "etown-fan"])
        solara.Text(f"results: {res.out}/")


def headline_html(summary: dict[str, Any]) -> str:
    """The ensemble's headline table as HTML (the report's rows: P, CI, words, when, output)."""
    from .report import headline_rows

    end = summary.get("end_year", summary["years"][-1])
    head = ["cluster", f"P(≥100 bn by {end})", "95% CI", "in words", "when", f"median {end} output", f"80% band {end}"]
    cells = ("cluster", "p", "ci", "words", "when", "median", "band")
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cells) + "</tr>"
        for r in headline_rows(summary, "en")
    )
    return (
        "<table style='font-size: 12.5px; width: 100%; border-collapse: collapse'><tr>"
        + "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in head)
        + f"</tr>{rows}</table>"
    )


COMPONENTS = [ClusterOutputPlot, ClustersPastPlot, FirmSizePlot, TalentPlot, BudgetPlot, LeversCard]
CSS = """
.v-tabs { display: none !important; }  /* one page of plots: no "Page 0" tab */
.vue-grid-item { overflow: auto; }  /* the lever table scrolls inside its cell */
.etown-slider-label { font-size: 12.5px; font-weight: 500; margin-top: 10px; }
.etown-lever-panel .v-messages { display: none; }
.etown-slider-note { font-size: 11px; color: #555; margin: -12px 0 2px 0; }
.etown-levers td, .etown-levers th { padding: 1px 6px; border-bottom: 1px solid #e3e3e3; }
.etown-ensemble-table td, .etown-ensemble-table th { padding: 2px 8px; border-bottom: 1px solid #e3e3e3; }
"""


# ------------------------------------------------------------------------------ the page
@dataclass(frozen=True)
class DashboardConfig:
    """Settings the page is served with (`etown dashboard` passes them in the environment)."""

    scenario: Path | None = None
    scale: float = 0.1
    seed: int = DEFAULT_SEED

    @classmethod
    def from_env(cls) -> DashboardConfig:
        path = os.environ.get("ETOWN_DASHBOARD_SCENARIO")
        return cls(
            Path(path) if path else None,
            float(os.environ.get("ETOWN_DASHBOARD_SCALE", 0.1)),
            int(os.environ.get("ETOWN_DASHBOARD_SEED", DEFAULT_SEED)),
        )

    def base(self) -> Scenario:
        return load_scenario(self.scenario).scenario if self.scenario else Scenario(name="baseline")


@solara.component
def Page() -> None:
    cfg = solara.use_memo(DashboardConfig.from_env, [])
    base = solara.use_memo(cfg.base, [])
    state = solara.use_memo(lambda: LeverState({p: c["value"] for p, c in slider_settings(base).items()}), [])
    first = solara.use_memo(lambda: DashboardModel(base, scale=cfg.scale, rng=cfg.seed, levers=state), [])
    model = solara.use_reactive(first)
    solara.Style(CSS)
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=model_params(base, cfg.scale, cfg.seed, state),
        name=f"E-Town clusters: {base.name}",
        play_interval=150,
    )
    with solara.Sidebar(), solara.Card("Levers"):
        LeverPanel(base, state)
    with solara.Card("Ensemble", style="width: 100%"):
        EnsemblePanel(model.value)


def serve(scenario: Path | None, host: str, port: int, scale: float, seed: int, runs: int) -> None:
    """Serve the dashboard with Solara's server (blocks until interrupted)."""
    import warnings

    from solara.__main__ import cli

    # plain http on localhost is intended: Solara's advice about https cookies does not apply
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    os.environ.update(
        {
            "ETOWN_DASHBOARD_SCALE": str(scale),
            "ETOWN_DASHBOARD_SEED": str(seed),
            "ETOWN_DASHBOARD_RUNS": str(runs),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        }
    )
    if scenario is not None:
        os.environ["ETOWN_DASHBOARD_SCENARIO"] = str(scenario.resolve())
    args = ["run", "model.dashboard", "--host", host, "--port", str(port), "--production", "--no-open"]
    cli.main(args=[*args, "--no-check-version", "--log-level", "warning"], prog_name="solara", standalone_mode=False)
