"""What a replication samples before it starts: its uncertain inputs.

A replication's inputs are its behavioural parameters (a posterior draw for the calibrated ones,
prior draws for the rest, unless fixed), the 2020 (start) sector outputs drawn from their
published ranges, the yearly sector demand shocks, the sector price paths, the known project
pipeline (investment, first output, whether the project is in the zone, and the export-control
delay of the exposed fab) and the vaccine plant's sales (what was known on 2021-02-01). They are
drawn from streams of their own, children of the replication's seed, before the model runs: two
scenarios run with the same seed share them exactly (common random numbers), and they can be
recorded (`RunInputs.row`) to ask why the runs that crossed 100 bn crossed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data import facts
from .mechanisms.demand import sector_shocks
from .mechanisms.prices import cpi_growth, price_growth
from .params import Params, apply_uncertainties, default_params, param_specs
from .population import StartState
from .sectors import INDUSTRIAL_MASK, SECTOR_IDS, SECTOR_INDEX

INPUT_STREAMS = ("params", "baseline", "shocks", "pipeline", "scenario_params", "prices", "early_2021")
"""Children of a replication's seed, one per kind of input (order fixed: adding one at the end
keeps the others' draws)."""
INPUT_KEY = 2**32 - 2
"""Spawn-key suffix of the input streams (never used by ordinary spawning)."""
SHOCK_HORIZON = 40
"""Years of sector shocks drawn (more than any scenario spans), so that the shocks of a year do
not depend on the scenario's end year."""

ParamRows = tuple[tuple[tuple[str, float], ...], ...]
"""Posterior draws in a hashable, picklable form: one tuple of (name, value) per draw."""


@dataclass(frozen=True)
class ParamSource:
    """Where replications take their behavioural parameters from.

    fixed: every replication uses these values (a point estimate); otherwise each draws one row
    of `posterior` (chosen from its own seed) and, with `prior_for_rest`, every parameter the row
    does not hold from its prior; with neither, the defaults of parameters.yaml.
    """

    fixed: Mapping[str, float] | None = None
    posterior: ParamRows = ()
    prior_for_rest: bool = True

    def draw(self, rng: np.random.Generator) -> Params:
        if self.fixed is not None:
            return Params(self.fixed)
        values: dict[str, float] = {}
        if self.posterior:
            values.update(self.posterior[int(rng.integers(len(self.posterior)))])
        if self.prior_for_rest:
            specs = param_specs()
            u = rng.random(len(specs))  # one uniform per parameter: the same draw whatever the posterior holds
            for (name, spec), ui in zip(specs.items(), u, strict=True):
                if name not in values:
                    values[name] = float(spec.prior.ppf(ui))  # type: ignore[union-attr]
        return Params(values)


POINT = ParamSource(fixed=None, posterior=(), prior_for_rest=False)
"""The default parameters (calibrated point if calibrated) for every replication."""


@dataclass(frozen=True)
class KnownProjects:
    """The pipeline of major projects known at the start (zone_facts.yaml `pipeline`, merged
    with a scenario's `projects:`), as drawn for one replication; only projects drawn to be in
    the zone are kept. NaN in ramp_years or delay_hazard: the behavioural parameter's value."""

    names: tuple[str, ...] = ()
    sector: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    investment: np.ndarray = field(default_factory=lambda: np.zeros(0))  # yuan
    first_output: np.ndarray = field(default_factory=lambda: np.zeros(0))  # decimal year
    ramp_factor: np.ndarray = field(default_factory=lambda: np.zeros(0))  # x the ramp-up time (export controls)
    ramp_years: np.ndarray = field(default_factory=lambda: np.zeros(0))  # years from first to full output
    land_ha: np.ndarray = field(default_factory=lambda: np.zeros(0))  # land still needed (0: arranged)
    incentive_share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # still owed, share of investment
    delay_hazard: np.ndarray = field(default_factory=lambda: np.zeros(0))  # rate construction slips, 1/yr


@dataclass(frozen=True)
class RunInputs:
    """The uncertain inputs of one replication."""

    params: Params
    start: StartState
    shocks: np.ndarray  # [year - start.year - 1, sector] log deviation of sector demand growth
    pipeline: KnownProjects
    draws: dict[str, float] = field(default_factory=dict)  # pipeline and early-2021 draws
    price_growth: np.ndarray = field(default_factory=lambda: np.zeros((SHOCK_HORIZON, len(SECTOR_IDS))))
    vaccine_sales: np.ndarray = field(default_factory=lambda: np.zeros(SHOCK_HORIZON))  # yuan/yr by year
    cpi_growth: np.ndarray = field(default_factory=lambda: np.zeros(SHOCK_HORIZON))  # log/yr by year

    def shock(self, year: int) -> np.ndarray:
        """Sector demand shocks of `year` (log/yr), SECTOR_IDS order."""
        return self.shocks[year - self.start.year - 1]

    def prices(self, year: int) -> np.ndarray:
        """Log growth of each sector's price level in `year` (1/yr), SECTOR_IDS order."""
        return self.price_growth[year - self.start.year - 1]

    def cpi(self, year: int) -> float:
        """Log growth of the national consumer price index in `year` (1/yr)."""
        return float(self.cpi_growth[year - self.start.year - 1])

    def vaccine(self, year: int) -> float:
        """The vaccine plant's sales in `year` booked in the zone (current yuan/yr)."""
        return float(self.vaccine_sales[year - self.start.year - 1])

    def row(self, years: list[int]) -> dict[str, float]:
        """A flat record for inputs.parquet: parameters (param.*), 2020 sector outputs
        (baseline.*, yuan/yr), shocks and price growth of the projected years
        (shock.<year>.<sector>, price.<year>.<sector>), the pipeline draws (pipeline.<project>.*)
        and the vaccine draws (vaccine.*)."""
        out: dict[str, float] = {f"param.{k}": v for k, v in self.params.items()}
        out.update({f"baseline.{s}": float(v) for s, v in zip(SECTOR_IDS, self.start.sector_output, strict=True)})
        for y in years[1:]:
            out.update({f"shock.{y}.{s}": float(v) for s, v in zip(SECTOR_IDS, self.shock(y), strict=True)})
            out.update({f"price.{y}.{s}": float(v) for s, v in zip(SECTOR_IDS, self.prices(y), strict=True)})
        out.update(self.draws)
        return out


def input_streams(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One generator per kind of input, children of the replication's seed that do not touch its
    spawn counter (the model's own stream, `model.rng`, is seeded by the seed itself)."""
    base = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, INPUT_KEY))
    return {
        name: np.random.default_rng(s) for name, s in zip(INPUT_STREAMS, base.spawn(len(INPUT_STREAMS)), strict=True)
    }


PROJECT_DEFAULTS = {"ramp_up_years": np.nan, "land_ha": 0.0, "incentive_share": 0.0, "delay_risk": np.nan}
"""Fields a pipeline entry may leave out, with their meaning when left out (NaN: the parameter)."""


def draw_pipeline(
    rng: np.random.Generator,
    start_year: int,
    params: Params,
    controls: np.random.Generator,
    table: Mapping[str, Any] | None = None,
) -> tuple[KnownProjects, dict[str, float]]:
    """The known projects of a projection from end-2020 (none for other start years).

    table: the pipeline, name -> entry in the shape of zone_facts.yaml `pipeline` (default: that
    table; a scenario's merged table: `Scenario.pipeline_table`). Three uniforms are drawn per
    entry in order, whatever happens to it, so adding or removing a project leaves the others'
    draws alone. Projects exposed to the export controls of end-2020 (zone_facts early_2021)
    are delayed with probability fab_control_delay_prob by fab_control_delay_years and then ramp
    up fab_control_ramp_factor times slower (one draw from `controls` per exposed project)."""
    table = facts().get("pipeline", {}) if table is None else table
    exposed = set(facts()["early_2021"]["entity_list"]["exposed_projects"]["value"])
    names, sector, inv, first, ramp, draws = [], [], [], [], [], {}
    extra: dict[str, list[float]] = {k: [] for k in PROJECT_DEFAULTS}
    for name, p in table.items():
        u = rng.random(3)  # three draws per project whatever happens to it
        lo, hi = float(p["investment_yuan"]["low"]), float(p["investment_yuan"]["high"])
        i = lo + u[0] * (hi - lo)
        lo, hi = float(p["first_output"]["low"]), float(p["first_output"]["high"])
        f = lo + u[1] * (hi - lo)
        in_zone = bool(u[2] < float(p["in_zone_probability"]["value"])) and start_year == 2020
        factor = 1.0
        if name in exposed:
            hit = bool(controls.random() < params.fab_control_delay_prob) and start_year == 2020
            draws[f"pipeline.{name}.export_control_delay"] = float(hit)
            if hit:
                f += params.fab_control_delay_years
                factor = params.fab_control_ramp_factor
        draws.update({f"pipeline.{name}.investment": i, f"pipeline.{name}.first_output": f})
        draws[f"pipeline.{name}.in_zone"] = float(in_zone)
        if in_zone:
            names.append(name)
            sector.append(SECTOR_INDEX[p["sector"]])
            inv.append(i)
            first.append(f)
            ramp.append(factor)
            for key, default in PROJECT_DEFAULTS.items():
                extra[key].append(float(p[key]["value"]) if key in p else default)
    kp = KnownProjects(
        tuple(names),
        np.array(sector, dtype=np.int8),
        np.array(inv),
        np.array(first),
        np.array(ramp),
        *(np.array(extra[k], dtype=float) for k in PROJECT_DEFAULTS),
    )
    return kp, draws


def draw_vaccine(rng: np.random.Generator, start_year: int, params: Params) -> tuple[np.ndarray, dict[str, float]]:
    """[year - start_year - 1] sales of the zone's vaccine plant booked in the zone's statistics
    (current yuan/yr): planned 2021 doses (zone_facts early_2021) x the share made and sold x the
    price per dose, kept from year to year at `vaccine_persistence`; nothing if the run draws that
    the output is not booked in the zone, or for runs that do not start at the end of 2020."""
    plant = facts()["early_2021"]["vaccine_plant"]
    booked = bool(rng.random() < params.vaccine_booked_prob) and start_year == 2020
    doses = float(plant["planned_doses_2021"]["value"]) * params.vaccine_doses_share
    years = np.arange(SHOCK_HORIZON)
    sales = booked * doses * params.vaccine_price_yuan * params.vaccine_persistence**years
    draws = {"vaccine.booked": float(booked), "vaccine.sales_first_year": float(sales[0])}
    return sales, draws


def draw_inputs(
    seed: np.random.SeedSequence,
    scenario: Any,
    source: ParamSource | Params | None = None,
    start: StartState | None = None,
) -> RunInputs:
    """Draw a replication's inputs from its seed.

    scenario: its `uncertainties` section decides whether 2020 outputs are sampled and sector
    shocks drawn, and may fix or range parameters; source: where parameters come from (default:
    the default parameters, fixed); start: the start state (default: from the data file).
    """
    streams = input_streams(seed)
    return compose_inputs(scenario, source, streams, streams, streams, start)


def compose_inputs(
    scenario: Any,
    source: ParamSource | Params | None,
    param_streams: dict[str, np.random.Generator],
    baseline_streams: dict[str, np.random.Generator],
    event_streams: dict[str, np.random.Generator],
    start: StartState | None = None,
) -> RunInputs:
    """A run's inputs with its parameters drawn from `param_streams`, its 2020 outputs from
    `baseline_streams` and its shocks and pipeline from `event_streams` (input_streams of one
    seed each; one seed for all three is `draw_inputs`; different seeds nest the sources of
    uncertainty, see experiments/uncertainty.py)."""
    unc = scenario.uncertainties
    if isinstance(source, Params):
        params = source
    elif source is None:
        params = default_params()
    else:
        params = source.draw(param_streams["params"])
    params = apply_uncertainties(params, unc.parameters, param_streams["scenario_params"])
    start = start or StartState.from_facts(scenario.start_year)
    sampled = start.with_sampled_outputs(baseline_streams["baseline"])  # drawn either way: same stream use
    if unc.sample_baseline_ranges:
        start = sampled
    shocks = sector_shocks(event_streams["shocks"], SHOCK_HORIZON, params.shock_sd(), params.shock_common_share)
    price_shocks = params.price_shock_sd * event_streams["prices"].standard_normal(SHOCK_HORIZON)
    if not unc.sector_shocks:
        shocks = np.zeros_like(shocks)
        price_shocks = np.zeros_like(price_shocks)
    prices, cpi = sector_price_growth(start.year, params, price_shocks)
    table = scenario.pipeline_table() if hasattr(scenario, "pipeline_table") else None
    pipeline, draws = draw_pipeline(event_streams["pipeline"], start.year, params, event_streams["early_2021"], table)
    vaccine, vdraws = draw_vaccine(event_streams["early_2021"], start.year, params)
    return RunInputs(params, start, shocks, pipeline, {**draws, **vdraws}, prices, vaccine, cpi)


def sector_price_growth(start_year: int, params: Params, common_shock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([year - start_year - 1, sector] log growth of the sector price levels, [year] of the
    national CPI): published national indices where the data file has them (zone_facts
    price_index), trend + shock after."""
    idx = facts()["price_index"]
    years = list(range(start_year + 1, start_year + 1 + SHOCK_HORIZON))
    known_cpi = {int(y): float(v["value"]) for y, v in idx["cpi_growth"].items()}
    sectors = price_growth(
        years,
        np.asarray(INDUSTRIAL_MASK),
        {int(y): float(v["value"]) for y, v in idx["ppi_growth"].items()},
        known_cpi,
        params.ppi_trend,
        params.cpi_trend,
        params.price_rel(),
        common_shock,
    )
    return sectors, cpi_growth(years, known_cpi, params.cpi_trend, common_shock)
