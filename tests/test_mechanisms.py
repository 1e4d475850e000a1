"""Unit tests of the growth, innovation, entry/exit and demand mechanisms.

Expected numbers are computed by hand (arithmetic in the comment next to each one) or by an
independent route (Monte Carlo with a seeded generator, a twin generator, scipy.stats).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from model.mechanisms import demand, entry_exit, growth, innovation
from model.sectors import SECTOR_IDS, SECTOR_INDEX

# ---------------------------------------------------------------------------------- growth


def test_size_volatility_hand_values():
    output = np.array([1.0e7, 1.0e8, 1.0e6, 1.0e12, 0.0])
    got = growth.size_volatility(output, sigma_ref=0.3, beta=0.18, floor=0.04)
    expected = [
        0.3,  # reference size: 0.3 * 1**-0.18 = 0.3
        0.198208,  # 0.3 * (1e8/1e7)**-0.18 = 0.3 * 10**-0.18 = 0.3 * 0.660693 = 0.198208
        0.454068,  # 0.3 * (1e6/1e7)**-0.18 = 0.3 * 10**0.18 = 0.3 * 1.513561 = 0.454068
        0.04,  # 0.3 * (1e12/1e7)**-0.18 = 0.3 * 10**-0.9 = 0.037768 < floor 0.04 -> 0.04
        5.459103,  # output clamped to 1 yuan: 0.3 * (1/1e7)**-0.18 = 0.3 * 10**1.26 = 0.3 * 18.19701 = 5.459103
    ]
    assert_allclose(got, expected, rtol=1e-5)


def test_size_volatility_decreases_with_size_above_floor():
    output = np.geomspace(1e5, 1e11, 50)
    sigma = growth.size_volatility(output, sigma_ref=0.3, beta=0.18, floor=0.01)
    assert np.all(np.diff(sigma) < 0)


def test_laplace_shocks_moments_and_shape():
    rng = np.random.default_rng(12345)
    n = 1_000_000
    x = growth.laplace_shocks(rng, n)
    assert x.shape == (n,)
    # mean 0 and variance 1: standard errors 1/sqrt(n) = 0.001 and sqrt((6-1)/n) = 0.0022
    assert abs(x.mean()) < 0.005
    assert abs(x.var() - 1.0) < 0.012
    # Laplace kurtosis (non-excess) = 4! b^4 / (2 b^2)^2 = 24/4 = 6; sd of the estimate ~ sqrt(2484/n) = 0.05
    assert abs(stats.kurtosis(x, fisher=False) - 6.0) < 0.25
    # the shape is Laplace with scale 1/sqrt(2) (not e.g. a normal with variance 1)
    sub = x[:20_000]
    assert stats.kstest(sub, stats.laplace(scale=1 / math.sqrt(2)).cdf).pvalue > 1e-3
    assert stats.kstest(sub, stats.norm.cdf).pvalue < 1e-6


def test_log_growth_hand_values():
    trend = np.array([0.1, 0.1, 0.0])
    sigma = np.array([0.4, 0.4, 4.0])
    shock = np.array([0.0, 0.5, 0.3])
    got = growth.log_growth(trend, sigma, shock, dt=0.25)
    expected = [
        # sd = 0.4*sqrt(0.25) = 0.2, b^2 = 0.2^2/2 = 0.02:
        # ln(1.1)*0.25 + ln(0.98) = 0.02382754 - 0.02020271 = 0.00362484
        0.00362484,
        # same drift + sd*shock = 0.00362484 + 0.2*0.5 = 0.10362484
        0.10362484,
        # sd = 4*0.5 = 2 capped at MAX_STEP_SD = 1, b^2 = 0.5:
        # ln(1)*0.25 + ln(0.5) + 1*0.3 = -0.693147 + 0.3 = -0.393147
        -0.3931472,
    ]
    assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    ("trend", "sigma", "dt"),
    [
        (0.10, 0.3, 0.25),  # small shock: drift correction ln(1 - 0.15^2/2) = -1.1% must be there
        (0.25, 1.0, 0.25),  # larger shock, b = 0.5/sqrt(2) = 0.354 (variance of exp(b L) still finite)
        (-0.03, 0.5, 1.0),  # a shrinking sector, annual step
    ],
)
def test_log_growth_expected_multiplier_is_trend(trend, sigma, dt):
    rng = np.random.default_rng(2024)
    n = 400_000
    shock = growth.laplace_shocks(rng, n)
    mult = np.exp(growth.log_growth(np.full(n, trend), np.full(n, sigma), shock, dt))
    # independent check: E[exp(b L)] = 1/(1-b^2) and E[exp(2 b L)] = 1/(1-4 b^2) for Laplace scale b
    b = sigma * math.sqrt(dt) / math.sqrt(2.0)
    rel_var = (1 - b**2) ** 2 / (1 - 4 * b**2) - 1.0  # Var(mult)/E(mult)^2
    target = (1.0 + trend) ** dt  # e.g. 1.1**0.25 = 1.024114
    se = target * math.sqrt(rel_var / n)
    assert abs(mult.mean() - target) < 5 * se
    # and the correction matters: without it the mean would be target / (1 - b^2), far outside the error
    assert abs(target / (1 - b**2) - target) > 20 * se


def test_constrain_growth_scales_only_gains():
    log_g = np.array([0.2, 0.2, -0.1, 0.0, 0.05])
    fill = np.array([0.5, 0.0, 0.3, 0.7, 1.0])
    # 0.2*0.5 = 0.1; 0.2*0 = 0; decline -0.1 untouched; 0 stays 0; 0.05*1 = 0.05
    assert_allclose(growth.constrain_growth(log_g, fill), [0.1, 0.0, -0.1, 0.0, 0.05])


def test_finance_fill_hand_values():
    cash = np.array([1.0e6, 1.0e6, -5.0e5, 0.0, 1.0e6])
    credit = np.array([5.0e5, 5.0e6, 5.0e5, 0.0, 0.0])
    added = np.array([4.0e6, 4.0e6, 4.0e6, -1.0e6, 0.0])
    got = growth.finance_fill(cash, credit, added, capital_intensity=0.5)
    expected = [
        0.75,  # need 0.5*4e6 = 2e6, have 1e6 + 5e5 = 1.5e6 -> 1.5/2 = 0.75
        1.0,  # have 6e6 > need 2e6 -> capped at 1
        0.25,  # negative cash counts as 0: have 5e5 / need 2e6 = 0.25
        1.0,  # shrinking firm needs nothing
        1.0,  # no growth planned
    ]
    assert_allclose(got, expected)


def test_credit_headroom_hand_values():
    output = np.array([1.0e8, 2.0e7])
    # 0.3 * 1e8 * 0.25 * (0.05/0.035)**1 = 7.5e6 * 1.428571 = 1.0714286e7; 0.3*2e7*0.25*1.428571 = 2.142857e6
    assert_allclose(growth.credit_headroom(output, 0.3, 0.05, 0.035, 1.0, 0.25), [1.0714286e7, 2.142857e6], rtol=1e-6)
    # elasticity 2, rate halved by subsidy: 0.3 * 1e8 * 1 * (0.05/0.025)**2 = 3e7 * 4 = 1.2e8
    assert_allclose(growth.credit_headroom(output[:1], 0.3, 0.05, 0.025, 2.0, 1.0), [1.2e8])
    # no subsidy: effective rate == rate -> plain loan_to_output * output * dt = 0.3*1e8*0.25 = 7.5e6
    assert_allclose(growth.credit_headroom(output[:1], 0.3, 0.05, 0.05, 1.7, 0.25), [7.5e6])
    # a zero effective rate must not blow up to inf
    assert np.all(np.isfinite(growth.credit_headroom(output, 0.3, 0.05, 0.0, 1.0, 0.25)))


def test_operating_cash_flow_hand_values():
    output = np.array([1.0e8, 1.0e6])
    margin = np.array([0.08, 0.0])
    got = growth.operating_cash_flow(output, margin, 0.05, 0.3, 0.25)
    # (0.08 - 0.05*0.3) * 1e8 * 0.25 = 0.065 * 2.5e7 = 1.625e6; (0 - 0.015) * 1e6 * 0.25 = -3750
    assert_allclose(got, [1.625e6, -3750.0])


# ------------------------------------------------------------------------------ innovation


def test_ecosystem_multiplier_hand_values():
    got = innovation.ecosystem_multiplier(
        centres_and_bases=20,
        baseline_centres_and_bases=10,
        key_technologies_in_sector=np.array([3, 0]),
        has_vp=np.array([True, False]),
        ecosystem_effect=0.015,
        key_tech_effect=0.05,
        vp_effect=0.5,
    )
    # centres: (1 + 0.015*20)/(1 + 0.015*10) = 1.3/1.15; key tech (1 + 0.05*3) = 1.15; vp 1.5
    # firm 0: 1.3/1.15 * 1.15 * 1.5 = 1.3 * 1.5 = 1.95; firm 1: 1.3/1.15 = 1.130435
    assert_allclose(got, [1.95, 1.130435], rtol=1e-6)


def test_ecosystem_multiplier_is_one_at_2020_policies():
    got = innovation.ecosystem_multiplier(12, 12, 0, False, 0.015, 0.05, 0.5)
    assert_allclose(got, 1.0)


def test_innovation_probability_hand_values():
    rd = np.array([0.10, 0.05, 0.0])
    got = innovation.innovation_probability(rd, 0.05, 0.1, 0.8, 1.5, 0.25)
    expected = [
        # hazard = 0.1 * (0.10/0.05)**0.8 * 1.5 = 0.1 * 1.741101 * 1.5 = 0.2611652; p = 1 - exp(-0.0652913) = 0.0632055
        0.0632055,
        # hazard = 0.1 * 1 * 1.5 = 0.15; p = 1 - exp(-0.0375) = 0.0368056
        0.0368056,
        0.0,  # no R&D, no innovation
    ]
    assert_allclose(got, expected, rtol=1e-5, atol=1e-12)


def test_innovation_probability_matches_simulated_poisson_process():
    # independent route: probability of at least one event of a Poisson process over dt
    rng = np.random.default_rng(7)
    hazard, dt = 0.4, 0.25  # base 0.2 at twice the reference, elasticity 1, multiplier 1
    p = innovation.innovation_probability(np.array([0.1]), 0.05, 0.2, 1.0, 1.0, dt)[0]
    first_event = rng.exponential(1.0 / hazard, 200_000)
    freq = np.mean(first_event < dt)
    assert abs(p - freq) < 5 * math.sqrt(freq * (1 - freq) / 200_000)


BOUNDS = np.array([5.0e7, 2.0e8])
MIN_RD = np.array([0.05, 0.04, 0.03])


def test_high_tech_rd_threshold_bands():
    output = np.array([4.0e7, 1.0e8, 5.0e8])
    assert_allclose(innovation.high_tech_rd_threshold(output, BOUNDS, MIN_RD), [0.05, 0.04, 0.03])


def test_high_tech_rd_threshold_band_edges_follow_2016_measures():
    # 2016 measures: "<= 50 m" -> 5%, "50-200 m (inclusive)" -> 4%, "above 200 m" -> 3%
    output = np.array([0.0, 5.0e7, 5.0e7 + 1.0, 2.0e8, 2.0e8 + 1.0])
    assert_allclose(innovation.high_tech_rd_threshold(output, BOUNDS, MIN_RD), [0.05, 0.05, 0.04, 0.04, 0.03])


def test_update_high_tech_hand_cases():
    # p_gain = 1 - exp(-0.35*0.25) = 1 - exp(-0.0875) = 0.083781; p_lose = 1 - exp(-0.1*0.25) = 0.024690
    status = np.array([False, False, True, True, True, False, True, False])
    eligible = np.array([True, True, False, False, True, False, False, True])
    uniform = np.array([0.08, 0.09, 0.024, 0.026, 0.0, 0.0, 0.999, 0.0])
    got = innovation.update_high_tech(status, eligible, uniform, 0.35, 0.1, 0.25)
    expected = [
        True,  # eligible, 0.08 < 0.083781 -> certified
        False,  # eligible, 0.09 > 0.083781 -> not yet
        False,  # not eligible, 0.024 < 0.024690 -> loses status
        True,  # not eligible, 0.026 > 0.024690 -> keeps it this step
        True,  # eligible and certified: keeps it whatever the draw
        False,  # not eligible, no status: never certified
        True,  # draw too high to lose
        True,  # u = 0 always certifies an eligible firm
    ]
    assert_array_equal(got, expected)


def test_update_high_tech_gains_only_eligible_loses_only_ineligible():
    rng = np.random.default_rng(99)
    n = 200_000
    status = rng.random(n) < 0.4
    status_before = status.copy()
    eligible = rng.random(n) < 0.6
    new = innovation.update_high_tech(status, eligible, rng.random(n), 0.35, 0.1, 0.25)
    gained = new & ~status
    lost = status & ~new
    assert not np.any(gained & ~eligible)
    assert not np.any(lost & eligible)
    # rates: P(gain | eligible, no status) = 0.083781, P(lose | ineligible, status) = 0.024690
    cand_gain = eligible & ~status
    cand_lose = ~eligible & status
    assert abs(gained[cand_gain].mean() - 0.083781) < 5 * math.sqrt(0.084 * 0.916 / cand_gain.sum())
    assert abs(lost[cand_lose].mean() - 0.024690) < 5 * math.sqrt(0.0247 * 0.9753 / cand_lose.sum())
    assert_array_equal(status, status_before)  # input not modified in place


def test_rd_intensity_step_hand_values():
    rd = np.array([0.05, 0.0525, 0.08])
    base = np.array([0.05, 0.05, 0.05])
    got = innovation.rd_intensity_step(rd, base, 0.1, 0.5, 0.5, 0.25)
    # target = 0.05 * (1 + 0.5*0.1) = 0.0525; decay exp(-0.5*0.25) = exp(-0.125) = 0.882497
    expected = [
        0.0502938,  # 0.0525 + (0.05 - 0.0525)*0.882497 = 0.0525 - 0.0022062 = 0.0502938
        0.0525,  # already at target
        0.0767687,  # 0.0525 + (0.08 - 0.0525)*0.882497 = 0.0525 + 0.0242687 = 0.0767687
    ]
    assert_allclose(got, expected, rtol=1e-6)


def test_rd_intensity_step_two_half_steps_equal_one_full_step():
    rd = np.array([0.02, 0.09])
    base = np.array([0.04, 0.04])
    half = innovation.rd_intensity_step(
        innovation.rd_intensity_step(rd, base, 0.2, 1.0, 0.7, 0.5), base, 0.2, 1.0, 0.7, 0.5
    )
    full = innovation.rd_intensity_step(rd, base, 0.2, 1.0, 0.7, 1.0)
    assert_allclose(half, full, rtol=1e-12)
    # after a very long time the intensity reaches the target 0.04 * (1 + 1.0*0.2) = 0.048
    assert_allclose(innovation.rd_intensity_step(rd, base, 0.2, 1.0, 0.7, 100.0), [0.048, 0.048])


# ------------------------------------------------------------------------------ entry/exit

BASELINE_COSTS = (0.1, 0.3, 6.0)


def test_entry_cost_index_is_one_at_baseline():
    assert entry_exit.entry_cost_index(0.1, 0.3, 6.0, BASELINE_COSTS) == pytest.approx(1.0, abs=1e-12)


def test_entry_cost_index_hand_value_and_falls_with_costs():
    # land (1-0.3)/(1-0.1) = 0.777778; rent (1-0.5)/(1-0.3) = 0.714286; delay 3/6 = 0.5
    # (0.777778 * 0.714286 * 0.5)**(1/3) = 0.277778**(1/3) = 0.652478
    assert entry_exit.entry_cost_index(0.3, 0.5, 3.0, BASELINE_COSTS) == pytest.approx(0.652478, rel=1e-6)
    # one lever at a time: (0.7/0.9)**(1/3) = 0.919641, (0.5/0.7)**(1/3) = 0.893904, 0.5**(1/3) = 0.793701
    assert entry_exit.entry_cost_index(0.3, 0.3, 6.0, BASELINE_COSTS) == pytest.approx(0.919641, rel=1e-6)
    assert entry_exit.entry_cost_index(0.1, 0.5, 6.0, BASELINE_COSTS) == pytest.approx(0.893904, rel=1e-6)
    assert entry_exit.entry_cost_index(0.1, 0.3, 3.0, BASELINE_COSTS) == pytest.approx(0.793701, rel=1e-6)
    # dearer than 2020: longer approvals raise it, 12/6 = 2 -> 2**(1/3) = 1.259921
    assert entry_exit.entry_cost_index(0.1, 0.3, 12.0, BASELINE_COSTS) == pytest.approx(1.259921, rel=1e-6)


def test_expected_entrants_hand_values():
    got = entry_exit.expected_entrants(
        firms=np.array([100.0, 200.0, 50.0, 80.0]),
        entry_rate=0.2,
        output_ratio=np.array([1.0, 4.0, -1.0, 2.0]),
        firm_ratio=np.array([1.0, 1.0, 1.0, 4.0]),
        agglomeration=0.5,
        cost_index=0.5,
        cost_elasticity=0.6,
        fund_ratio=2.0,
        fund_elasticity=0.3,
        dt=0.25,
    )
    # policy = 0.5**-0.6 * 2**0.3 = 2**0.9 = 1.866066
    # sector 0: 100*0.2*0.25 * (1/1)**0.5 * 1.866066 = 5 * 1.866066 = 9.330330
    # sector 1: 200*0.2*0.25 * (4/1)**0.5 * 1.866066 = 10 * 2 * 1.866066 = 37.321320
    # sector 2: negative output ratio clamped to 0 -> no entry
    # sector 3: crowded (firms x4, output x2): 80*0.2*0.25 * (2/4)**0.5 * 1.866066 = 4*0.707107*1.866066 = 5.278033
    assert_allclose(got, [9.330330, 37.321320, 0.0, 5.278033], rtol=1e-6)


def test_expected_entrants_at_2020_conditions():
    # ratios 1, cost 1, fund 1: plain gross entry 300 * 0.2 * 1 = 60
    got = entry_exit.expected_entrants(
        np.array([300.0]), 0.2, np.array([1.0]), np.array([1.0]), 0.7, 1.0, 0.6, 1.0, 0.3, 1.0
    )
    assert_allclose(got, [60.0])


def test_expected_entrants_agglomeration_nests_linear_and_compounding():
    # agglomeration 1: entry proportional to output, whatever the firm count (40 * 0.25 * 3/2 * 2 = ...)
    a1 = entry_exit.expected_entrants(np.array([40.0]), 0.25, np.array([3.0]), np.array([2.0]), 1.0, 1, 0, 1, 0, 1.0)
    # 40 firms * 0.25 * (3/2) = 15 = 20 start firms * 0.25 * 3 (output x3)
    assert_allclose(a1, [15.0])
    a0 = entry_exit.expected_entrants(np.array([40.0]), 0.25, np.array([3.0]), np.array([2.0]), 0.0, 1, 0, 1, 0, 1.0)
    assert_allclose(a0, [10.0])  # 40 * 0.25: compounding with the firm count only


def test_expected_entrants_capped_for_extreme_levers():
    # approval in days and free land: cost index 0.01 -> 0.01**-1.2 = 251 x entry, capped at 1/yr
    got = entry_exit.expected_entrants(
        np.array([100.0]), 0.2, np.array([1.0]), np.array([1.0]), 0.5, 0.01, 1.2, 1, 0, 0.25
    )
    assert_allclose(got, [100.0 * entry_exit.MAX_ENTRY_PER_YEAR * 0.25])


def test_startup_sizes_median_and_log_sd():
    rng = np.random.default_rng(5)
    sizes = entry_exit.startup_sizes(rng, 40_001, 1.0e6, 1.2)
    assert sizes.shape == (40_001,)
    assert np.all(sizes > 0)
    # log-median se = 1.2 * 1.2533 / sqrt(40001) = 0.0075 -> within 4% of 1e6
    assert abs(math.log(np.median(sizes) / 1.0e6)) < 0.04
    assert abs(np.log(sizes).std() - 1.2) < 0.02
    # per-firm medians and zero spread
    assert_allclose(entry_exit.startup_sizes(rng, 3, np.array([1.0, 2.0, 3.0]), 0.0), [1.0, 2.0, 3.0])


def test_anchor_arrivals_unconstrained_equals_poisson_draw():
    rates = np.array([0.0, 4.0, 12.0, 2.0])
    got = entry_exit.anchor_arrivals(np.random.default_rng(11), rates, 1e6, 0.25)
    twin = np.random.default_rng(11).poisson(rates * 0.25)  # same stream, no land limit
    assert_array_equal(got, twin)


def test_anchor_arrivals_trims_largest_sector_first():
    rates = np.array([0.0, 400.0, 40.0])
    dt = 0.25
    untrimmed = np.random.default_rng(3).poisson(rates * dt)
    got = entry_exit.anchor_arrivals(np.random.default_rng(3), rates, 50.7, dt)
    # the land fits floor(50.7) = 50 projects; sector 1 (~100 arrivals) loses them all, sector 2 (~10) keeps its own
    assert untrimmed[1] - (untrimmed.sum() - 50) > untrimmed[2]  # premise of the hand case
    assert_array_equal(got, [0, 50 - untrimmed[2], untrimmed[2]])


def test_anchor_arrivals_ties_are_levelled():
    rates = np.array([0.0, 400.0, 36.0])
    untrimmed = np.random.default_rng(8).poisson(rates * 0.25)
    got = entry_exit.anchor_arrivals(np.random.default_rng(8), rates, 10.0, 0.25)
    assert untrimmed[2] > 5  # premise: both sectors must be trimmed
    # 10 projects shared by the two largest sectors: 5 + 5
    assert_array_equal(got, [0, 5, 5])


def test_anchor_arrivals_never_exceed_land_limit():
    rng = np.random.default_rng(2)
    for _ in range(300):
        rates = rng.uniform(0.0, 20.0, 7)
        limit = rng.uniform(0.0, 15.0)
        got = entry_exit.anchor_arrivals(rng, rates, limit, 0.25)
        assert got.sum() <= math.floor(limit)
        assert np.all(got >= 0)
    assert_array_equal(entry_exit.anchor_arrivals(rng, np.full(3, 100.0), 0.0, 1.0), [0, 0, 0])


def test_ramp_increment_hand_values():
    target = np.array([8.0e8, 8.0e8, 1.0e8])
    left = np.array([3, 0, 1])
    # 8e8/8 = 1e8; finished ramp adds nothing; 1e8/8 = 1.25e7
    assert_allclose(entry_exit.ramp_increment(target, left, 8.0), [1.0e8, 0.0, 1.25e7])
    # ramp shorter than one step: the whole target at once
    assert_allclose(entry_exit.ramp_increment(target, left, 0.5), [8.0e8, 0.0, 1.0e8])


def test_exits_hand_cases():
    cash = np.array([-1.0, 0.0, 10.0, 10.0])
    output = np.array([1.0e6, 1.0e6, 1.0e4, 5.0e4])
    # out of cash; zero cash is not negative; below 5e4 floor; exactly at the floor survives
    assert_array_equal(entry_exit.exits(cash, output, 5.0e4), [True, False, True, False])


# ---------------------------------------------------------------------------------- demand


def test_phase_in_is_clipped_linear():
    assert demand.phase_in(-0.5) == 0.0
    assert demand.phase_in(0.0) == 0.0
    assert demand.phase_in(0.4) == pytest.approx(0.4)
    assert demand.phase_in(1.0) == 1.0
    assert demand.phase_in(1.7) == 1.0


def test_scenario_demand_hand_values():
    procurement = np.zeros(len(SECTOR_IDS))
    procurement[SECTOR_INDEX["ngit"]] = 1.0e8
    procurement[SECTOR_INDEX["xinchuang"]] = 4.0e7
    before = procurement.copy()
    got = demand.scenario_demand(10.0, procurement, 2.0e8, 5.0e7, 0.5, SECTOR_INDEX)
    expected = np.zeros(len(SECTOR_IDS))
    expected[SECTOR_INDEX["auto"]] = 1.75e8  # 0.5 * 0.7 * 5e7 * 10 km = 0.5 * 3.5e8
    expected[SECTOR_INDEX["ngit"]] = 1.25e8  # 0.5 * (1e8 + 0.3 * 5e7 * 10) = 0.5 * 2.5e8
    expected[SECTOR_INDEX["biotech"]] = 1.0e8  # 0.5 * 2e8 healthcare
    expected[SECTOR_INDEX["xinchuang"]] = 2.0e7  # 0.5 * 4e7 procurement
    assert_allclose(got, expected)
    assert_array_equal(procurement, before)  # input not modified


def test_scenario_demand_conserves_road_spending():
    got = demand.scenario_demand(3.0, np.zeros(len(SECTOR_IDS)), 0.0, 2.0e7, 1.0, SECTOR_INDEX)
    # the whole road-km spending 3 * 2e7 = 6e7 lands in auto + ngit, nothing elsewhere
    assert got.sum() == pytest.approx(6.0e7)
    assert got[SECTOR_INDEX["auto"]] + got[SECTOR_INDEX["ngit"]] == pytest.approx(6.0e7)
