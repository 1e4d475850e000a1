"""A replication's uncertain inputs (inputs.py): drawn from its own seed, the same for any worker
and any scenario (common random numbers), from the posterior and the priors as documented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model import api
from model.data import facts
from model.inputs import ParamSource, draw_inputs
from model.params import Params, param_specs
from model.scenario import load_scenario, parse_scenario

from .conftest import SCENARIOS

TINY = 0.02


def _seeds(n: int = 30) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(11).spawn(n)


def test_inputs_are_a_function_of_the_seed_and_leave_it_untouched() -> None:
    sc = parse_scenario({"name": "x"})
    seeds = _seeds()
    a = [draw_inputs(s, sc, ParamSource()) for s in seeds]
    b = [draw_inputs(s, sc, ParamSource()) for s in _seeds()]
    for x, y in zip(a, b, strict=True):
        assert dict(x.params) == dict(y.params)
        np.testing.assert_array_equal(x.shocks, y.shocks)
        np.testing.assert_array_equal(x.start.sector_output, y.start.sector_output)
    assert all(s.n_children_spawned == 0 for s in seeds)
    assert len({x.params.entry_rate for x in a}) == len(a)  # each run its own draw


def test_inputs_are_common_across_scenarios() -> None:
    """Two scenarios with different levers draw the same parameters, 2020 outputs, shocks, pipeline."""
    base = load_scenario(SCENARIOS / "baseline.yaml").scenario
    five = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    for s in _seeds(5):
        a, b = draw_inputs(s, base, ParamSource()), draw_inputs(s, five, ParamSource())
        assert dict(a.params) == dict(b.params)
        np.testing.assert_array_equal(a.shocks, b.shocks)
        np.testing.assert_array_equal(a.pipeline.investment, b.pipeline.investment)
        assert a.row(base.years) == b.row(five.years)


def test_posterior_rows_then_priors_for_the_rest() -> None:
    rows = tuple(tuple(sorted({"sigma_ref": v, "entry_rate": 0.2}.items())) for v in (0.2, 0.3, 0.4))
    src = ParamSource(posterior=rows)
    sc = parse_scenario({"name": "x"})
    draws = [draw_inputs(s, sc, src).params for s in _seeds(60)]
    assert {d.sigma_ref for d in draws} == {0.2, 0.3, 0.4}
    assert {d.entry_rate for d in draws} == {0.2}
    specs = param_specs()
    trends = np.array([d.trend_ngit for d in draws])
    assert ((trends >= specs["trend_ngit"].low) & (trends <= specs["trend_ngit"].high)).all()
    assert trends.std() > 0.01  # drawn from its prior (sd 0.03), not fixed


def test_prior_draws_follow_the_declared_priors() -> None:
    """Means of many prior draws match the truncated prior's mean (uniform: the midpoint)."""
    rng = np.random.default_rng(3)
    specs = param_specs()
    for name in ("entry_rate", "trend_ngit", "shock_sd_robotics", "deadweight_talent"):
        prior = specs[name].prior
        x = prior.sample(rng, 20000)
        grid = np.linspace(specs[name].low, specs[name].high, 4001)
        dens = np.exp(prior.logpdf(grid))
        mean = (grid * dens).sum() / dens.sum()
        assert x.mean() == pytest.approx(mean, rel=0.02), name
        assert (x >= specs[name].low).all() and (x <= specs[name].high).all()


def test_fixed_parameters_and_scenario_overrides() -> None:
    sc = parse_scenario({"name": "x", "uncertainties": {"parameters": {"entry_rate": 0.25}}})
    inp = draw_inputs(_seeds(1)[0], sc, Params(sigma_ref=0.2))
    assert inp.params.sigma_ref == 0.2 and inp.params.entry_rate == 0.25


def test_sector_shocks_off_and_baseline_central_when_asked() -> None:
    sc = parse_scenario({"name": "x", "uncertainties": {"sector_shocks": False, "sample_baseline_ranges": False}})
    inp = draw_inputs(_seeds(1)[0], sc, ParamSource())
    assert not inp.shocks.any()
    central = [facts()["sectors"][s]["output_2020"]["value"] for s in facts()["sectors"]]
    np.testing.assert_allclose(inp.start.sector_output, central)


def test_known_pipeline_drawn_within_its_ranges() -> None:
    sc = parse_scenario({"name": "x"})
    table = facts()["pipeline"]
    exposed = set(facts()["early_2021"]["entity_list"]["exposed_projects"]["value"])
    kept = {name: 0 for name in table}
    delayed = 0
    for s in _seeds(200):
        inputs = draw_inputs(s, sc, ParamSource(prior_for_rest=False))
        kp, p = inputs.pipeline, inputs.params
        for name, inv, first, ramp in zip(kp.names, kp.investment, kp.first_output, kp.ramp_factor, strict=True):
            spec = table[name]
            assert spec["investment_yuan"]["low"] <= inv <= spec["investment_yuan"]["high"]
            hit = inputs.draws.get(f"pipeline.{name}.export_control_delay", 0.0) == 1.0
            assert hit <= (name in exposed)
            delay = p.fab_control_delay_years if hit else 0.0
            assert spec["first_output"]["low"] + delay <= first <= spec["first_output"]["high"] + delay
            assert ramp == (p.fab_control_ramp_factor if hit else 1.0)
            delayed += hit
            kept[name] += 1
    for name, n in kept.items():
        prob = table[name]["in_zone_probability"]["value"]
        assert n / 200 == pytest.approx(prob, abs=0.1), name
    # the export-control risk hits the exposed fab with its declared probability (default 0.5)
    n_exposed = sum(kept[n] for n in exposed)
    assert delayed / n_exposed == pytest.approx(param_specs()["fab_control_delay_prob"].value, abs=0.1)


def test_vaccine_sales_follow_their_declared_uncertainties() -> None:
    """The vaccine plant's sales: planned doses x share sold x price, kept at `vaccine_persistence`
    a year, booked in the zone with probability `vaccine_booked_prob`; none for history runs."""
    sc = parse_scenario({"name": "x"})
    planned = facts()["early_2021"]["vaccine_plant"]["planned_doses_2021"]["value"]
    booked = 0
    for s in _seeds(200):
        inputs = draw_inputs(s, sc, ParamSource())
        p, sales = inputs.params, inputs.vaccine_sales
        if inputs.draws["vaccine.booked"]:
            booked += 1
            first = planned * p.vaccine_doses_share * p.vaccine_price_yuan
            assert sales[0] == pytest.approx(first)
            np.testing.assert_allclose(sales[:5], first * p.vaccine_persistence ** np.arange(5))
        else:
            assert not sales.any()
    assert booked / 200 == pytest.approx(0.5, abs=0.12)  # the prior of the booking probability is uniform
    history = parse_scenario({"name": "h", "start_year": 2015, "end_year": 2020})
    assert not draw_inputs(_seeds(1)[0], history, ParamSource()).vaccine_sales.any()


def test_run_draws_identically_for_1_and_2_workers(tmp_path: Path, baseline_path: Path) -> None:
    one = api.run(baseline_path, runs=4, seed=3, workers=1, out=tmp_path / "a", scale=TINY, progress=False)
    two = api.run(baseline_path, runs=4, seed=3, workers=2, out=tmp_path / "b", scale=TINY, progress=False)
    pd.testing.assert_frame_equal(one.zone, two.zone)
    point = api.run(baseline_path, runs=4, seed=3, out=tmp_path / "c", scale=TINY, progress=False, point_estimate=True)
    assert point.summary["parameter_uncertainty"] in ("point estimate", "uncalibrated defaults")
    assert not one.zone.equals(point.zone)


def test_building_a_model_does_not_advance_the_callers_seed() -> None:
    """Regression: spawning the model's mechanism streams used to advance the caller's
    SeedSequence, so a second model built from the same seed object differed."""
    from model.cluster_model import ClusterModel

    seed = np.random.SeedSequence(5, spawn_key=(2,))
    a = ClusterModel(rng=seed, scale=0.02).run().sector_output
    b = ClusterModel(rng=seed, scale=0.02).run().sector_output
    np.testing.assert_array_equal(a, b)
    assert seed.n_children_spawned == 0
