"""Calibration: history mode's 2015 start state and its sampled split, the ABC-SMC engine (exact
posterior of a toy model, the same result on 1 and 2 workers), synthetic recovery on the model,
the distance, the backtest on a tiny configuration, and the calibrated file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from model.calibration import backtest, store
from model.calibration.abc import Simulator, SMCSettings, abc_smc
from model.calibration.fit import CALIBRATED, CalibConfig, calibrate, recovery_table, synthetic_targets
from model.calibration.history import (
    history_scenario,
    run_history,
    sampled_start_2015,
    split_stream,
    start_state_2015,
)
from model.calibration.moments import Metric, Target, targets
from model.cluster_model import ClusterModel
from model.data import fact, facts, file_sha256
from model.executor import local_pool
from model.params import Params, Prior, param_specs
from model.sectors import INDUSTRIAL_MASK, SECTOR_IDS

TINY = 0.03


# ------------------------------------------------------------------------------ history mode
def test_2015_start_state_reproduces_the_2015_figures() -> None:
    st = start_state_2015()
    assert st.year == 2015
    industrial = st.sector_output[np.asarray(INDUSTRIAL_MASK)].sum()
    assert industrial == pytest.approx(fact("zone", "industrial_output_yuan", 2015), rel=1e-9)
    assert st.high_tech_firms == fact("zone", "high_tech_firms", 2015)
    assert st.gdp == fact("zone", "gdp_yuan", 2015)
    f14, f18 = fact("zone", "firms", 2014), fact("zone", "firms", 2018)
    assert st.firms == pytest.approx(f14 * (f18 / f14) ** 0.25, abs=1)


def test_sampled_2015_split_keeps_industrial_output_and_known_firm_shares() -> None:
    central = start_state_2015()
    draws = [sampled_start_2015(split_stream(s)) for s in range(20)]
    ind = np.asarray(INDUSTRIAL_MASK)
    for st in draws:
        assert st.sector_output[ind].sum() == pytest.approx(fact("zone", "industrial_output_yuan", 2015), rel=1e-9)
        (i, benz), (_, benz0) = st.known_firms[0], central.known_firms[0]
        assert benz / st.sector_output[i] == pytest.approx(benz0 / central.sector_output[i], rel=1e-9)
    spread = np.std(np.log([st.sector_output for st in draws]), axis=0)
    sd = np.array([facts()["sectors"][s]["output_2015"].get("log_sd", 0) for s in SECTOR_IDS])
    assert np.all(spread[sd > 0] > 0.05) and np.all(spread < 0.8)
    # the same seed gives the same split; the stream is not the model's
    assert np.array_equal(sampled_start_2015(split_stream(3)).sector_output, draws[3].sector_output)


def test_history_model_starts_at_end_2015_and_runs_to_2020() -> None:
    sc = history_scenario()
    assert (sc.start_year, sc.end_year) == (2015, 2020)
    assert sc.at(2016).policy.special_funds_yuan_per_year < fact("zone", "special_funds_plan_yuan_per_year")
    assert sc.at(2020).policy.special_funds_yuan_per_year == fact("zone", "special_funds_plan_yuan_per_year")
    model = ClusterModel(sc, Params(), rng=3, scale=TINY, start=start_state_2015())
    z = model.record.zone
    assert z["industrial_output"][0] == pytest.approx(fact("zone", "industrial_output_yuan", 2015), rel=1e-6)
    assert z["gdp"][0] == pytest.approx(fact("zone", "gdp_yuan", 2015), rel=1e-6)
    run = run_history(Params(), 3, TINY)
    assert run.record.years == list(range(2015, 2021))
    assert len(run.firm_output) == 6 and run.innovation_stock.shape == (6,)
    assert np.all(run.record.zone["industrial_output"][1:] > 0)


def test_targets_come_from_the_data_file() -> None:
    tg = {t.name: t for t in targets()}
    assert tg["gdp_2019"].observed == fact("zone", "gdp_yuan", 2019)
    assert tg["firms_2018"].observed == fact("zone", "firms", 2018)
    assert tg["patents_per_10k_2020"].observed == fact("zone", "patents_per_10k_people", 2020)
    assert "firms_2015" not in tg  # interpolated start value, never a target
    band = tg["constrained_share"]
    sty = facts()["stylised_facts"]["constrained_share"]
    assert band.kind == "band" and (band.low, band.high) == (sty["low"], sty["high"])
    assert all(t.sd_disc > 0 for t in tg.values() if t.kind != "band")
    assert not tg["share_2020_auto"].in_distance  # implied by the sector outputs
    early = {t.name for t in targets(until=2018)}
    assert "firms_2018" in early and not any(n.endswith(("2019", "2020")) for n in early)


def test_metric_whitens_correlated_moments() -> None:
    """Two perfectly correlated noisy copies of one moment count about once, not twice."""
    tg = [Target("a", 1.0, 0.01, sd_disc=0.0), Target("b", 1.0, 0.01, sd_disc=0.0)]
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.2, 200)
    sims = [{"a": float(np.exp(e)), "b": float(np.exp(e))} for e in noise]
    metric = Metric.from_simulations(tg, sims)
    one = Metric.from_simulations(tg[:1], sims)
    m = {"a": float(np.exp(0.2)), "b": float(np.exp(0.2))}
    assert metric.distance(m) < 1.2 * one.distance(m)
    assert metric.distance({"a": 1.0}) == float("inf")  # a missing moment


# ------------------------------------------------------------------------------ ABC-SMC engine
def _toy(ctx: float, X: np.ndarray, seeds: list) -> list[dict[str, float]]:
    """y = theta + N(0, ctx^2)."""
    return [
        {"y": float(x[0] + ctx * np.random.default_rng(s).standard_normal())} for x, s in zip(X, seeds, strict=True)
    ]


class _ToyMetric:
    def distances(self, ms: list[dict[str, float]]) -> np.ndarray:
        return np.array([abs(m["y"] - 1.0) / 0.3 for m in ms])


def test_abc_smc_recovers_a_known_posterior_and_does_not_depend_on_workers() -> None:
    """theta ~ N(0, 1); y | theta ~ N(theta, 0.3^2); y = 1: posterior N(0.917, 0.287^2)."""
    prior = [Prior(("normal", 0.0, 1.0), -6.0, 6.0)]
    settings = SMCSettings(particles=300, eps_target=0.1, max_generations=12, metric_update_at=0, seed=1)
    res = abc_smc(prior, Simulator(_toy, 0.3, workers=1), _ToyMetric(), settings)
    assert res.reached_target
    var = 1 / (1 + 1 / 0.09)
    mean = var / 0.09
    q = res.population.quantiles([0.05, 0.5, 0.95])[:, 0]
    exact = stats.norm(mean, np.sqrt(var)).ppf([0.05, 0.5, 0.95])
    np.testing.assert_allclose(q, exact, atol=0.12)
    assert all(g.ess > 0.3 * settings.particles for g in res.generations)
    small = replace(settings, particles=24, max_generations=2, max_steps=2, eps_target=0.0)
    one = abc_smc(prior, Simulator(_toy, 0.3, workers=1), _ToyMetric(), small)
    with local_pool(2) as pool:  # one pool for the whole run, as calibrate() does
        two = abc_smc(prior, Simulator(_toy, 0.3, workers=2, pool=pool, chunk=6), _ToyMetric(), small)
    np.testing.assert_array_equal(one.population.x, two.population.x)


# ------------------------------------------------------------------------------ synthetic recovery
def test_synthetic_recovery_narrows_the_informed_parameter() -> None:
    """Firm counts made by the model at a known entry rate: the posterior covers it and is
    clearly narrower than the prior. The other parameters are held at their values (drawn from
    their priors, the entry-side elasticities blur the firm counts so much that a tiny run
    cannot narrow the entry rate reliably: width ratio 0.96 on CI)."""
    cfg = CalibConfig(
        names=("entry_rate",),
        scale=TINY,
        particles=30,
        max_generations=4,
        max_steps=2,
        reps_metric=8,
        ppc_draws=10,
        sample_size=20,
        workers=1,
        max_minutes=10.0,
        seed=5,
        prior_for_rest=False,
    )
    truth = {"entry_rate": 0.3}
    tg = [t for t in synthetic_targets(truth, cfg, seed=9, reps=3) if t.name.startswith("firms_")]
    cal = calibrate(cfg, tg)
    table = recovery_table(truth, cal)
    row = table.set_index("parameter").loc["entry_rate"]
    assert row.truth_in_90 and row.width_ratio < 0.8
    assert len(cal.draws) == 20 and all(set(d) == set(truth) for d in cal.draws)
    assert len(cal.smc.generations) >= 2 and not cal.ppc.empty


# ------------------------------------------------------------------------------ backtest
def test_backtest_tiny_configuration(tmp_path: Path) -> None:
    cfg = backtest.default_config(
        scale=TINY, particles=16, max_generations=1, max_steps=2, reps_metric=6, ppc_draws=12, workers=1, seed=3
    )
    report = backtest.run_backtest(cfg, tmp_path)
    saved = json.loads((tmp_path / "backtest.json").read_text())
    assert (tmp_path / "backtest.png").stat().st_size > 0
    names = {r["target"] for r in saved["scored"]}
    assert {"gdp_2019", "gdp_2020", "firms_2019", "firms_2020", "industrial_output_2020"} <= names
    assert not any(n.startswith("output_2020") for n in names)  # in sample by construction
    s = report["summary"]
    assert s["n"] == len(names) and 0 <= s["inside_50"] <= s["inside_80"] <= 1
    assert s["naive_mean_crps_log"] > 0
    naive = backtest.naive_reference(2018)
    f14, f18 = fact("zone", "firms", 2014), fact("zone", "firms", 2018)
    assert naive["firms"]["growth"] == pytest.approx((f18 / f14) ** 0.25 - 1)


# ------------------------------------------------------------------------------ calibrated file
def test_calibrated_file_matches_current_data_and_feeds_runs() -> None:
    content = store.load_calibrated()
    if content is None:
        pytest.skip("not calibrated yet")
    prov = content["provenance"]
    assert prov["data_sha256"] == file_sha256("zone_facts.yaml")
    assert store.made_with(content, file_sha256("parameters.yaml"))  # or a checked amendment
    assert not store.made_with(content, "0" * 64)  # any other parameter file needs a recalibration
    for amendment in prov.get("parameters_amended", []):
        assert amendment["change"] and amendment["check"]
    specs = param_specs()
    assert set(content["point"]) == set(CALIBRATED)
    for draw in content["sample"]["draws"]:
        assert set(draw) == set(CALIBRATED)
        for k, v in draw.items():
            assert specs[k].low - 1e-9 <= v <= specs[k].high + 1e-9, k
    assert set(prov["fit"]) == {t.name for t in targets()}
    source = store.default_source()
    assert source.posterior and source.prior_for_rest
    rng = np.random.default_rng(0)
    p = source.draw(rng)
    rows = [dict(r) for r in source.posterior]
    assert any(all(p[k] == r[k] for k in CALIBRATED) for r in rows)
