"""Interactive dashboard: a Mesa SolaraViz page to watch a run, move levers and run an ensemble.

`etown dashboard [SCENARIO.yaml]` serves it on localhost (`serve` below). The sidebar has
Mesa's play / step / reset controls and one slider per lever in `LEVER_SLIDERS`, starting from
the scenario file's values; moving a slider and pressing Reset rebuilds the model with the new
levers. The page shows live plots of the model on screen (each cluster's output against the
100-bn line, the firm-size distribution, the talent pool, the budget paid by instrument, the
number of clusters past 100 bn) and a button that runs a small ensemble for the levers of the
model on screen, showing its fan chart and probabilities.

Two small tables keep this robust to changes in the model:
- `LEVER_SLIDERS`: one line per slider (dotted lever path in the scenario, label, min, max,
  step, unit factor). The scenario for the slider values is built generically by writing the
  values at those paths into the scenario's dict and validating it (`scenario_for`); a renamed
  lever is a one-line change here.
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

from .analysis import BN, headline_table
from .api import DEFAULT_SEED, EnsembleResult, run
from .cluster_model import ClusterModel
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
    "policy.special_funds_yuan_per_year"; a key of a per-sector mapping is the last part);
    slider values are in the display unit, model value = slider value x `factor`."""

    path: str
    label: str
    min: float
    max: float
    step: float
    factor: float = 1.0
    integer: bool = False  # a count (the lever is an int)


LEVER_SLIDERS: tuple[LeverSlider, ...] = (
    # measure 5: annual special funds and their split (shares are rescaled to sum to one)
    LeverSlider("policy.special_funds_yuan_per_year", "special funds, bn/yr", 0, 30, 0.5, BN),
    LeverSlider("policy.budget_shares.guidance_equity", "share: fund equity", 0, 1, 0.05),
    LeverSlider("policy.budget_shares.loan_interest", "share: loan interest", 0, 1, 0.05),
    LeverSlider("policy.budget_shares.rent", "share: rent", 0, 1, 0.05),
    LeverSlider("policy.budget_shares.rd_reward", "share: R&D rewards", 0, 1, 0.05),
    LeverSlider("policy.budget_shares.talent", "share: talent", 0, 1, 0.05),
    LeverSlider("policy.budget_shares.project_support", "share: project support", 0, 1, 0.05),
    # measure 1: major projects pursued a year, and the incentive offered
    LeverSlider("clusters.anchor_projects_per_year.ngit", "projects pursued/yr: new-gen IT", 0, 4, 0.1),
    LeverSlider("clusters.anchor_projects_per_year.biotech", "projects pursued/yr: biotech", 0, 4, 0.1),
    LeverSlider("clusters.anchor_projects_per_year.xinchuang", "projects pursued/yr: xinchuang", 0, 4, 0.1),
    LeverSlider("clusters.anchor_projects_per_year.robotics", "projects pursued/yr: robotics", 0, 4, 0.1),
    LeverSlider("clusters.anchor_incentive_share", "incentive offer, share of investment", 0, 0.3, 0.01),
    # measure 2: innovation centres and pilot bases
    LeverSlider("ecosystem.innovation_centres", "innovation centres", 0, 40, 1, integer=True),
    LeverSlider("ecosystem.pilot_bases", "pilot bases", 0, 20, 1, integer=True),
    # measure 4: talent programmes
    LeverSlider("talent.programme_persons_per_year", "talent programmes/yr", 0, 10000, 250),
    LeverSlider("talent.training_places_per_year", "training places/yr", 0, 20000, 500),
    # measure 3: urban-scenario demand
    LeverSlider("urban_scenarios.autonomous_driving_road_km", "self-driving road-km", 0, 300, 5),
    LeverSlider("urban_scenarios.smart_city_procurement_yuan_per_year.xinchuang", "smart city: xinchuang, bn/yr",
                0, 20, 0.5, BN),
    LeverSlider("urban_scenarios.smart_healthcare_yuan_per_year", "smart healthcare, bn/yr", 0, 20, 0.5, BN),
)  # fmt: skip
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


def lever_values(scenario: Scenario) -> dict[str, float]:
    """The scenario's value of every slider's lever in its end year (levers given per year show
    where they arrive), in the sliders' display units."""
    data = scenario.at(scenario.end_year).model_dump(mode="python")
    return {s.path: float(_get(data, s.path)) / s.factor for s in LEVER_SLIDERS}


def scenario_for(base: Scenario, values: dict[str, float]) -> Scenario:
    """`base` with the levers at `values` ({dotted path: slider value}); weights in `NORMALISED`
    groups are rescaled to sum to one (all equal if they are all zero). Sliders left at the
    base's value leave the base untouched."""
    sliders = {s.path: s for s in LEVER_SLIDERS}
    data = base.model_dump(mode="python")
    resolved = base.at(base.end_year).model_dump(mode="python")
    current = lever_values(base)
    moved_groups = set()
    for path, value in values.items():
        s = sliders[path]
        if math.isclose(value, current[path], rel_tol=1e-12, abs_tol=1e-12):
            continue
        _set(data, path, round(value) if s.integer else float(value) * s.factor)
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


def model_params(base: Scenario, scale: float, seed: int) -> dict[str, Any]:
    """Mesa SolaraViz `model_params`: one slider per lever, starting from the scenario's values,
    plus the fixed settings."""
    start = lever_values(base)
    params: dict[str, Any] = {"base": base, "scale": scale, "rng": seed}
    for s in LEVER_SLIDERS:
        value = round(start[s.path]) if s.integer else start[s.path]
        lo, hi, step = slider_grid(s, value)
        params[s.path] = {
            "type": "SliderInt" if s.integer else "SliderFloat",
            "label": f"{MEASURES[s.path.split('.')[0]]}: {s.label}",
            "value": value,
            "min": round(lo) if s.integer else lo,
            "max": round(hi) if s.integer else hi,
            "step": round(step) if s.integer else step,
        }
    return params


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
    return model.start.year + model.quarter / model.steps_per_year


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
    """The model on screen: `base` with the levers at the slider values (`levers`, keyed by
    dotted path as in `LEVER_SLIDERS`); records a `Trace` each step and stops at the end year.

    scenario: Mesa's Reset passes its own (mesa.experimental) scenario object; it is not used,
    the levers come from `base` and the sliders."""

    def __init__(
        self,
        base: Scenario | None = None,
        scale: float = 0.1,
        rng: int | None = DEFAULT_SEED,
        scenario: object = None,
        **levers: float,
    ) -> None:
        self.base = base if base is not None else Scenario(name="baseline")
        super().__init__(scenario_for(self.base, levers), rng=rng, scale=scale)
        self.seed = rng
        self.trace = Trace()
        self.trace.record(self)

    def step(self) -> None:
        super().step()
        self.trace.record(self)
        if self.quarter >= self.n_steps:
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
    if model.quarter == 0:
        return f"end of {model.start.year}"
    year = model.start.year + 1 + (model.quarter - 1) // model.steps_per_year
    return f"{year} Q{(model.quarter - 1) % model.steps_per_year + 1}"


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


@solara.component
def LeversCard(model: DashboardModel) -> None:
    """The levers of the model on screen (moved sliders apply at Reset)."""
    update_counter.get()
    now = lever_values(model.policy_scenario)
    rows = "".join(
        f"<tr><td>{MEASURES[s.path.split('.')[0]]}</td><td>{html.escape(s.label)}</td>"
        f"<td class='etown-lever' data-path='{s.path}' style='text-align:right'>"
        f"{now[s.path]:,.{min(max(_decimals(s.step), _decimals(now[s.path])), 3)}f}</td></tr>"
        for s in LEVER_SLIDERS
    )
    solara.Text(
        f"{model.base.name} at {quarter_label(model)}, scale {model.scale:g}, seed {model.seed}. "
        "Moved sliders apply when you press Reset."
    )
    solara.HTML(
        tag="table",
        unsafe_innerHTML="<tr><th>measure</th><th>lever</th><th>value</th></tr>" + rows,
        style="font-size: 12px; width: 100%",
    )


@solara.component
def EnsemblePanel(model: DashboardModel) -> None:
    """A button that runs a small ensemble for the levers of the model on screen."""
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
        solara.HTML(
            tag="pre",
            unsafe_innerHTML=html.escape(headline_table(res.summary)),
            classes=["etown-ensemble-table"],
            style="font-size: 10.5px; line-height: 1.25; overflow-x: auto",
        )
        fig = fan_chart(res.sectors, res.summary, clusters=TARGET_SECTORS)
        solara.Image(png(fig, dpi=80), width="100%", classes=["etown-plot"])
        solara.Text(f"results: {res.out}/")


COMPONENTS = [ClusterOutputPlot, ClustersPastPlot, FirmSizePlot, TalentPlot, BudgetPlot, LeversCard, EnsemblePanel]


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
    model = solara.use_memo(lambda: DashboardModel(base, scale=cfg.scale, rng=cfg.seed), [])
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=model_params(base, cfg.scale, cfg.seed),
        name=f"E-Town clusters: {base.name}",
        play_interval=150,
    )


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
