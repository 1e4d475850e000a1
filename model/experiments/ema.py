"""The EMA Workbench connector: the model as an EMA Workbench `Model` (the `discovery` extra).

    from model.experiments.ema import ema_model
    from ema_workbench import perform_experiments
    experiments, outcomes = perform_experiments(ema_model(replications=20), scenarios=50, policies=8)

Declared once, derived here:
- levers: every numeric lever of `levers.lever_specs()` over its plausible range, named by its
  path with `__` for the dots (EMA names are Python identifiers:
  `policy__special_funds_yuan_per_year`); sector-mapping levers one per sector
  (`clusters__anchor_projects_per_year__robotics`); per-year values are not explored (a lever
  set here is constant over the years);
- uncertainties: the behavioural parameters of `params.param_specs()` over their documented
  ranges (by name; `parameters=` picks a subset);
- outcomes: the declared headline outcomes (model/outcomes.py `HEADLINE`): for each target
  cluster P(>= 100 bn by the end year) (`p_100bn_<cluster>`) and the median end-year output in
  bn yuan (`output_bn_<cluster>`), and P(all four) (`p_all_four`), each reduced over the
  replications as declared (P: share of runs; output: median).

An experiment runs `replications` replications through the experiment core (experiments/core.py)
on seed stream 0, i.e. seeded as `etown run --seed SEED` seeds them (replication r:
`SeedSequence(SEED, spawn_key=(r,))`), of the base scenario with the experiment's
levers and with its parameters fixed (`uncertainties.parameters`); every other input (2020 draws,
sector shocks, pipeline, parameters not given) is drawn as `etown run` draws it. So an experiment
equals `etown run` of a scenario file that sets those levers and parameters, with the same seed,
runs and scale (tests/test_ema.py checks it).
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import outcomes as oc
from ..ensemble import RunSettings
from ..levers import lever_specs, with_levers
from ..params import param_specs
from ..scenario import Scenario
from ..sectors import SECTOR_IDS
from .core import Point, Replications, evaluate

OUTCOMES = oc.HEADLINE

DEFAULT_SEED = 20210201  # api.DEFAULT_SEED (not imported: api pulls in the plotting stack)


SEP = "__"
"""Replaces the dots of a lever path in its EMA name."""


def ema_name(path: str) -> str:
    """`policy.approval_months` -> `policy__approval_months`."""
    return path.replace(".", SEP)


def lever_ranges() -> dict[str, tuple[float, float]]:
    """Every numeric lever (per sector for mappings), by EMA name, with its plausible range."""
    out: dict[str, tuple[float, float]] = {}
    for spec in lever_specs():
        lo, hi = spec.info.plausible
        if spec.mapping:
            out.update({ema_name(f"{spec.path}.{s}"): (float(lo), float(hi)) for s in SECTOR_IDS})
        else:
            out[ema_name(spec.path)] = (float(lo), float(hi))
    return out


def experiment_scenario(base: Scenario, values: dict[str, float]) -> Scenario:
    """`base` with the levers and parameters of one experiment: lever paths set, every other
    name a behavioural parameter fixed in `uncertainties.parameters`."""
    specs = param_specs()
    params = {k: float(v) for k, v in values.items() if k in specs}
    levers = {k.replace(SEP, "."): float(v) for k, v in values.items() if k not in specs}
    scenario = with_levers(base, levers)
    unc = scenario.uncertainties
    fixed = {**unc.parameters, **params}
    return scenario.model_copy(update={"uncertainties": unc.model_copy(update={"parameters": fixed})})


def outcomes_of(scenario: Scenario, replications: int, seed: int, settings: RunSettings) -> dict[str, float]:
    """The outcomes of one experiment (see the module docstring), through the experiment core."""
    values = evaluate([Point(scenario, settings, 0)], OUTCOMES, Replications(seed, replications))[0]
    return {o.name: oc.reduce(o, values[:, i]).value for i, o in enumerate(OUTCOMES)}


def ema_model(
    scenario: Scenario | None = None,
    *,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    scale: float = 0.1,
    levers: list[str] | None = None,
    parameters: list[str] | None = None,
    name: str = "etown",
) -> Any:
    """An EMA Workbench `Model` of `scenario` (default: the baseline) whose levers, uncertainties
    and outcomes are the model's own. levers / parameters: subsets by name (default: all)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import Model, RealParameter, ScalarOutcome
    from ..calibration.store import default_source

    base = scenario or Scenario(name="baseline")
    ranges = lever_ranges()
    specs = param_specs()
    chosen_levers = list(ranges) if levers is None else levers
    chosen_params = list(specs) if parameters is None else parameters
    unknown = [n for n in chosen_levers if n not in ranges] + [n for n in chosen_params if n not in specs]
    if unknown:
        raise ValueError(f"unknown lever or parameter {unknown[0]!r}")
    settings = RunSettings(scale=scale, param_source=default_source())

    def function(**values: float) -> dict[str, float]:
        return outcomes_of(experiment_scenario(base, values), replications, seed, settings)

    model = Model(name, function=function)
    model.levers = [RealParameter(n, *ranges[n]) for n in chosen_levers]
    model.uncertainties = [RealParameter(n, specs[n].low, specs[n].high) for n in chosen_params]
    model.outcomes = [ScalarOutcome(o.name, kind=ScalarOutcome.MAXIMIZE) for o in OUTCOMES]
    return model
