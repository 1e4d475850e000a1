"""What a replication samples before it starts: its uncertain inputs.

A replication's inputs are its behavioural parameters (a posterior draw for the calibrated ones,
prior draws for the rest, unless fixed), the 2020 (start) sector outputs drawn from their
published ranges, the yearly sector demand shocks, and the known project pipeline (investment,
first output, whether the project is in the zone). They are drawn from streams of their own,
children of the replication's seed, before the model runs: two scenarios run with the same seed
share them exactly (common random numbers), and they can be recorded (`RunInputs.row`) to ask
why the runs that crossed 100 bn crossed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data import facts
from .mechanisms.demand import sector_shocks
from .params import Params, apply_uncertainties, default_params, param_specs
from .population import StartState
from .sectors import SECTOR_IDS, SECTOR_INDEX

INPUT_STREAMS = ("params", "baseline", "shocks", "pipeline", "scenario_params")
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
    the zone are kept. NaN in ramp_quarters or delay_hazard: the behavioural parameter's value."""

    names: tuple[str, ...] = ()
    sector: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    investment: np.ndarray = field(default_factory=lambda: np.zeros(0))  # yuan
    first_output: np.ndarray = field(default_factory=lambda: np.zeros(0))  # decimal year
    ramp_quarters: np.ndarray = field(default_factory=lambda: np.zeros(0))  # quarters to full output
    land_ha: np.ndarray = field(default_factory=lambda: np.zeros(0))  # land still needed (0: arranged)
    incentive_share: np.ndarray = field(default_factory=lambda: np.zeros(0))  # still owed, share of investment
    delay_hazard: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per quarter


@dataclass(frozen=True)
class RunInputs:
    """The uncertain inputs of one replication."""

    params: Params
    start: StartState
    shocks: np.ndarray  # [year - start.year - 1, sector] log deviation of sector demand growth
    pipeline: KnownProjects
    draws: dict[str, float] = field(default_factory=dict)  # pipeline draws incl. dropped projects

    def shock(self, year: int) -> np.ndarray:
        """Sector demand shocks of `year` (log/yr), SECTOR_IDS order."""
        return self.shocks[year - self.start.year - 1]

    def row(self, years: list[int]) -> dict[str, float]:
        """A flat record for inputs.parquet: parameters (param.*), 2020 sector outputs
        (baseline.*, yuan/yr), shocks of the projected years (shock.<year>.<sector>) and the
        pipeline draws (pipeline.<project>.*)."""
        out: dict[str, float] = {f"param.{k}": v for k, v in self.params.items()}
        out.update({f"baseline.{s}": float(v) for s, v in zip(SECTOR_IDS, self.start.sector_output, strict=True)})
        for y in years[1:]:
            out.update({f"shock.{y}.{s}": float(v) for s, v in zip(SECTOR_IDS, self.shock(y), strict=True)})
        out.update(self.draws)
        return out


def input_streams(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One generator per kind of input, children of the replication's seed that do not touch its
    spawn counter (the model's own stream, `model.rng`, is seeded by the seed itself)."""
    base = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, INPUT_KEY))
    return {
        name: np.random.default_rng(s) for name, s in zip(INPUT_STREAMS, base.spawn(len(INPUT_STREAMS)), strict=True)
    }


PROJECT_DEFAULTS = {"ramp_up_quarters": np.nan, "land_ha": 0.0, "incentive_share": 0.0, "delay_risk": np.nan}
"""Fields a pipeline entry may leave out, with their meaning when left out (NaN: the parameter)."""


def draw_pipeline(
    rng: np.random.Generator, start_year: int, table: Mapping[str, Any] | None = None
) -> tuple[KnownProjects, dict[str, float]]:
    """The known projects of a projection from end-2020 (none for other start years).

    table: the pipeline, name -> entry in the shape of zone_facts.yaml `pipeline` (default: that
    table; a scenario's merged table: `Scenario.pipeline_table`). Three uniforms are drawn per
    entry in order, whatever happens to it, so adding or removing a project leaves the others'
    draws alone."""
    table = facts().get("pipeline", {}) if table is None else table
    names, sector, inv, first, draws = [], [], [], [], {}
    extra: dict[str, list[float]] = {k: [] for k in PROJECT_DEFAULTS}
    for name, p in table.items():
        u = rng.random(3)  # three draws per project whatever happens to it
        lo, hi = float(p["investment_yuan"]["low"]), float(p["investment_yuan"]["high"])
        i = lo + u[0] * (hi - lo)
        lo, hi = float(p["first_output"]["low"]), float(p["first_output"]["high"])
        f = lo + u[1] * (hi - lo)
        in_zone = bool(u[2] < float(p["in_zone_probability"]["value"])) and start_year == 2020
        draws.update({f"pipeline.{name}.investment": i, f"pipeline.{name}.first_output": f})
        draws[f"pipeline.{name}.in_zone"] = float(in_zone)
        if in_zone:
            names.append(name)
            sector.append(SECTOR_INDEX[p["sector"]])
            inv.append(i)
            first.append(f)
            for key, default in PROJECT_DEFAULTS.items():
                extra[key].append(float(p[key]["value"]) if key in p else default)
    known = KnownProjects(
        tuple(names),
        np.array(sector, dtype=np.int8),
        np.array(inv),
        np.array(first),
        *(np.array(extra[k], dtype=float) for k in PROJECT_DEFAULTS),
    )
    return known, draws


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
    if not unc.sector_shocks:
        shocks = np.zeros_like(shocks)
    table = scenario.pipeline_table() if hasattr(scenario, "pipeline_table") else None
    pipeline, draws = draw_pipeline(event_streams["pipeline"], start.year, table)
    return RunInputs(params, start, shocks, pipeline, draws)
