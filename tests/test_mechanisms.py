"""Unit tests of the growth, entry/exit, innovation, demand, funding and talent mechanisms
(model/mechanisms/). Finance and major projects are in test_mechanisms_finance_projects.py;
the hand values of the talent mechanisms and of pay_claims, deal_amounts and the ledger are in
test_talent_funding.py (this file adds what that one does not cover).

Expected numbers are computed by hand (arithmetic in the comment next to each one) or by an
independent route (seeded Monte Carlo against a closed form, scipy.stats).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from model.mechanisms import demand, entry_exit, funding, growth, innovation, talent

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


def test_size_volatility_decreases_with_size_down_to_the_floor():
    output = np.geomspace(1e5, 1e11, 50)
    sigma = growth.size_volatility(output, sigma_ref=0.3, beta=0.18, floor=0.01)
    assert np.all(np.diff(sigma) < 0)  # floor not reached in this range
    # a doubling of size lowers volatility by 2**-0.18 = 0.882703 (Stanley et al. scaling)
    assert_allclose(
        growth.size_volatility(2 * output, 0.3, 0.18, 0.0) / growth.size_volatility(output, 0.3, 0.18, 0.0),
        0.882703,
        rtol=1e-6,
    )
    floored = growth.size_volatility(np.geomspace(1e5, 1e15, 50), 0.3, 0.18, 0.05)
    assert np.all(np.diff(floored) <= 0) and floored.min() == 0.05


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
    drift = np.array([0.1, 0.1, 0.0, 0.08])
    sigma = np.array([0.4, 0.4, 4.0, 0.0])
    shock = np.array([0.0, 0.5, 0.3, 1.7])
    got = growth.log_growth(drift, sigma, shock, dt=0.25)
    expected = [
        # sd = 0.4*sqrt(0.25) = 0.2, b^2 = 0.2^2/2 = 0.02: 0.1*0.25 + ln(0.98) = 0.025 - 0.0202027 = 0.0047973
        0.0047972927,
        # same + sd*shock = 0.0047973 + 0.2*0.5 = 0.1047973
        0.1047972927,
        # sd = 4*0.5 = 2 capped at MAX_STEP_SD = 1, b^2 = 0.5: 0 + ln(0.5) + 1*0.3 = -0.6931472 + 0.3 = -0.3931472
        -0.3931471806,
        # no idiosyncratic risk: drift in log units only, 0.08*0.25 = 0.02 (shock ignored)
        0.02,
    ]
    assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    ("drift", "sigma", "dt"),
    [
        (0.10, 0.3, 0.25),  # small shock: correction ln(1 - 0.15^2/2) = -1.1% must be there
        (0.25, 1.0, 0.25),  # larger shock, b = 0.5/sqrt(2) = 0.354 (variance of exp(b L) still finite)
        (-0.05, 0.5, 1.0),  # a shrinking market, annual step
    ],
)
def test_log_growth_expected_multiplier_is_exp_drift(drift, sigma, dt):
    rng = np.random.default_rng(2024)
    n = 400_000
    shock = growth.laplace_shocks(rng, n)
    mult = np.exp(growth.log_growth(np.full(n, drift), np.full(n, sigma), shock, dt))
    # independent check: E[exp(b L)] = 1/(1-b^2) and E[exp(2 b L)] = 1/(1-4 b^2) for Laplace scale b
    b = sigma * math.sqrt(dt) / math.sqrt(2.0)
    rel_var = (1 - b**2) ** 2 / (1 - 4 * b**2) - 1.0  # Var(mult)/E(mult)^2
    target = math.exp(drift * dt)  # e.g. exp(0.1*0.25) = 1.025315 (drift is in log units now)
    se = target * math.sqrt(rel_var / n)
    assert abs(mult.mean() - target) < 5 * se
    # and the correction matters: without it the mean would be target / (1 - b^2), far outside the error
    assert abs(target / (1 - b**2) - target) > 20 * se


def test_log_growth_compounds_over_a_year_of_quarters():
    # four independent quarterly steps: E[prod exp(g_q)] = exp(4 * drift * 0.25) = exp(drift)
    rng = np.random.default_rng(99)
    n, drift, sigma = 200_000, 0.12, 0.4
    total = sum(
        growth.log_growth(np.full(n, drift), np.full(n, sigma), growth.laplace_shocks(rng, n), 0.25) for _ in range(4)
    )
    b2 = (0.4 * 0.5) ** 2 / 2  # 0.02 per quarter
    # relative variance of one quarter (1-b^2)^2/(1-4b^2) - 1 = 0.9604/0.92 - 1 = 0.04391;
    # of a year 1.04391^4 - 1 = 0.18755
    se = math.exp(drift) * math.sqrt(((1 - b2) ** 2 / (1 - 4 * b2)) ** 4 / n - 1 / n)
    assert abs(np.exp(total).mean() - math.exp(drift)) < 5 * se  # exp(0.12) = 1.127497
    # Laplace sums are symmetric: median log growth = drift + 4 ln(1 - b^2) = 0.12 + 4 ln 0.98
    # = 0.12 - 0.080811 = 0.039189
    assert abs(np.median(total) - 0.039189) < 0.005  # se ~ 0.0011


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


def test_startup_sizes_median_and_log_sd():
    rng = np.random.default_rng(5)
    sizes = entry_exit.startup_sizes(rng, 40_001, 1.0e6, 1.2)
    assert sizes.shape == (40_001,)
    assert np.all(sizes > 0)
    # log-median se = 1.2 * 1.2533 / sqrt(40001) = 0.0075 -> within 4% of 1e6
    assert abs(math.log(np.median(sizes) / 1.0e6)) < 0.04
    # log-sd se = 1.2 / sqrt(2 * 40001) = 0.0042
    assert abs(np.log(sizes).std() - 1.2) < 0.02
    # per-firm medians and zero spread
    assert_allclose(entry_exit.startup_sizes(rng, 3, np.array([1.0, 2.0, 3.0]), 0.0), [1.0, 2.0, 3.0])


def test_distress_counts_quarters_in_a_row():
    cash = np.array([-1.0, 0.0, 5.0, -1e-9])
    counter = np.array([2, 5, 3, 0])
    # negative cash: +1; zero cash is not distress and resets; positive resets; tiny deficit counts
    assert_array_equal(entry_exit.distress(cash, counter), [3, 0, 0, 1])
    # a path: -, -, +, -, -, - -> 1, 2, 0, 1, 2, 3
    c = np.array([0])
    seen = []
    for x in [-1.0, -1.0, 1.0, -1.0, -1.0, -1.0]:
        c = entry_exit.distress(np.array([x]), c)
        seen.append(int(c[0]))
    assert seen == [1, 2, 0, 1, 2, 3]


def test_exits_hand_cases():
    distress = np.array([3, 2, 11, 0, 12, 0])
    patience = np.array([3.0, 3.0, 12.0, 3.0, 12.0, 3.0])  # anchors: 3 * 4 = 12 quarters
    output = np.array([1.0e6, 1.0e6, 1.0e6, 1.0e4, 1.0e6, 5.0e4])
    got = entry_exit.exits(distress, patience, output, 5.0e4)
    expected = [
        True,  # 3 quarters of distress reach the patience of 3
        False,  # 2 < 3: still hanging on
        False,  # an anchor after 11 quarters: patience 12
        True,  # below the viability floor 5e4, whatever its cash
        True,  # the anchor's patience runs out
        False,  # exactly at the floor survives
    ]
    assert_array_equal(got, expected)
    # scalar patience
    assert_array_equal(entry_exit.exits(np.array([0, 4]), 4, np.array([1e6, 1e6]), 5.0e4), [False, True])


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
    # time-consistent: surviving two half steps = surviving one full step
    half = innovation.innovation_probability(np.array([0.1]), 0.05, 0.2, 1.0, 1.0, dt / 2)[0]
    assert 1 - (1 - half) ** 2 == pytest.approx(p, rel=1e-12)


BOUNDS = np.array([5.0e7, 2.0e8])
MIN_RD = np.array([0.05, 0.04, 0.03])


def test_high_tech_rd_threshold_bands():
    output = np.array([4.0e7, 1.0e8, 5.0e8])
    assert_allclose(innovation.high_tech_rd_threshold(output, BOUNDS, MIN_RD), [0.05, 0.04, 0.03])


def test_high_tech_rd_threshold_band_edges_follow_2016_measures():
    # 2016 measures: "<= 50 m" -> 5%, "50-200 m (inclusive)" -> 4%, "above 200 m" -> 3%
    output = np.array([0.0, 5.0e7, 5.0e7 + 1.0, 2.0e8, 2.0e8 + 1.0])
    assert_allclose(innovation.high_tech_rd_threshold(output, BOUNDS, MIN_RD), [0.05, 0.05, 0.04, 0.04, 0.03])


HT = dict(certification_rate=0.35, renewal_pass_rate=0.8, validity_quarters=12, dt=0.25)
P_GAIN = 0.083781  # 1 - exp(-0.35*0.25) = 1 - exp(-0.0875) = 0.083781


def test_update_high_tech_hand_cases():
    status = np.array([False, False, False, True, True, True, True, True, False, True])
    age = np.array([0, 0, 0, 5, 10, 11, 11, 11, 7, 20])
    eligible = np.array([True, True, False, False, True, True, True, False, True, True])
    uniform = np.array([0.08, 0.09, 0.0, 0.99, 0.0, 0.5, 0.85, 0.0, 0.5, 0.1])
    new_status, new_age = innovation.update_high_tech(status, age, eligible, uniform, **HT)
    expected = [
        (True, 0),  # eligible, 0.08 < 0.083781 -> certified, a fresh certificate
        (False, 0),  # eligible, 0.09 > 0.083781 -> not yet
        (False, 0),  # not eligible: never certified, even with u = 0
        (True, 6),  # ineligible but the certificate is still valid (age 6 < 12): kept, ages
        (True, 11),  # eligible, valid: kept; not renewed early (age not reset)
        (True, 0),  # expires now (age 12), eligible, 0.5 < 0.8 -> renewed, age reset
        (False, 0),  # expires, eligible, but 0.85 >= 0.8 -> fails renewal
        (False, 0),  # expires and no longer eligible: lost even with u = 0
        (False, 0),  # no status: a stale age is cleared; 0.5 > 0.083781 -> not certified
        (True, 0),  # over-age certificate (initial data): at expiry now, renewed (0.1 < 0.8)
    ]
    assert_array_equal(new_status, [s for s, _ in expected])
    assert_array_equal(new_age, [a for _, a in expected])


def test_update_high_tech_certificate_lasts_exactly_validity_quarters():
    # granted at step 0 (u = 0), then draws too high to renew: held for 12 steps, lost at step 12
    status, age = np.array([False]), np.array([0])
    held = []
    for step in range(20):
        u = np.array([0.0 if step == 0 else 0.99])
        status, age = innovation.update_high_tech(status, age, np.array([True]), u, **HT)
        held.append(bool(status[0]))
    assert held[:12] == [True] * 12
    assert held[12] is False
    # an ineligible holder keeps it to the end of its validity too
    status, age = np.array([True]), np.array([0])
    kept = 0
    while status[0]:
        status, age = innovation.update_high_tech(status, age, np.array([False]), np.array([0.0]), **HT)
        kept += int(status[0])
    assert kept == 11  # ages 1..11 held after the grant step; lost at age 12


def test_update_high_tech_rates_by_monte_carlo():
    rng = np.random.default_rng(99)
    n = 200_000
    status = rng.random(n) < 0.5
    age = np.where(status, rng.integers(0, 12, n), 0)
    eligible = rng.random(n) < 0.6
    status_before, age_before = status.copy(), age.copy()
    new, new_age = innovation.update_high_tech(status, age, eligible, rng.random(n), **HT)
    assert_array_equal(status, status_before)  # inputs not modified in place
    assert_array_equal(age, age_before)
    gained = new & ~status
    lost = status & ~new
    assert not np.any(gained & ~eligible)
    assert not np.any(lost & (age + 1 < 12))  # nobody loses a valid certificate
    # P(gain | eligible, no status) = 0.083781
    cand = eligible & ~status
    assert abs(gained[cand].mean() - P_GAIN) < 5 * math.sqrt(P_GAIN * (1 - P_GAIN) / cand.sum())
    # P(renew | expiring, eligible) = 0.8; about 1/12 of holders expire now
    expiring = status & (age == 11)
    renew = new[expiring & eligible].mean()
    assert abs(renew - 0.8) < 5 * math.sqrt(0.16 / (expiring & eligible).sum())
    assert not np.any(new[expiring & ~eligible])
    assert np.all(new_age[~new] == 0)


def test_update_high_tech_steady_state_share_matches_renewal_theory():
    # an always-eligible firm alternates waits of G ~ Geometric(p_gain) uncertified steps (mean
    # 1/0.083781 = 11.936) and certified spells of 12 K steps, K ~ Geometric(1 - 0.8) (mean 60):
    # long-run certified share = 60 / (60 + 11.936) = 0.834076
    rng = np.random.default_rng(3)
    n = 20_000
    status, age, eligible = np.zeros(n, dtype=bool), np.zeros(n, dtype=int), np.ones(n, dtype=bool)
    share = []
    for step in range(600):
        status, age = innovation.update_high_tech(status, age, eligible, rng.random(n), **HT)
        if step >= 200:
            share.append(status.mean())
    # a validity off by one quarter gives 55/66.9 = 0.822 or 65/76.9 = 0.845
    assert abs(np.mean(share) - 0.834076) < 0.004


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


# ---------------------------------------------------------------------------------- demand


def test_sector_shocks_sd_and_correlation_by_monte_carlo():
    rng = np.random.default_rng(404)
    sd = np.array([0.05, 0.10, 0.20, 0.08])
    n_years = 40_000
    x = demand.sector_shocks(rng, n_years, sd, common_share=0.4)
    assert x.shape == (n_years, 4)
    # mean 0 (se = sd/200); sd per sector (se of sd = sd/sqrt(2n) = 0.35% of sd)
    assert np.all(np.abs(x.mean(axis=0)) < 5 * sd / math.sqrt(n_years))
    assert_allclose(x.std(axis=0), sd, rtol=0.02)
    # cross-sector correlation = common_share (se = (1 - 0.16)/sqrt(n) = 0.0042)
    corr = np.corrcoef(x, rowvar=False)
    off = corr[~np.eye(4, dtype=bool)]
    assert np.all(np.abs(off - 0.4) < 0.02)
    # independent across years: lag-one autocorrelation ~ 0 (se = 1/sqrt(n) = 0.005)
    lag1 = [np.corrcoef(x[1:, j], x[:-1, j])[0, 1] for j in range(4)]
    assert np.all(np.abs(lag1) < 0.025)
    # normal margins
    assert stats.kstest(x[:5000, 2] / 0.20, stats.norm.cdf).pvalue > 1e-3


def test_sector_shocks_extreme_common_shares():
    sd = np.array([0.1, 0.3, 0.2])
    same = demand.sector_shocks(np.random.default_rng(1), 100, sd, common_share=1.0)
    # all common: every sector moves with the one factor, scaled by its sd
    assert_allclose(same / sd, np.repeat(same[:, :1] / 0.1, 3, axis=1), rtol=1e-12)
    own = demand.sector_shocks(np.random.default_rng(2), 40_000, sd, common_share=0.0)
    off = np.corrcoef(own, rowvar=False)[~np.eye(3, dtype=bool)]
    assert np.all(np.abs(off) < 0.025)
    assert_allclose(own.std(axis=0), sd, rtol=0.02)


# --------------------------------------------------------------------------------- funding
# (pay_claims, deal_amounts and the ledger's basic settle are in test_talent_funding.py)


def test_effective_share_hand_values():
    # 1e6 paid, 30% deadweight: 7e5 changes behaviour
    assert funding.effective_share(1.0e6, 0.3) == pytest.approx(7.0e5)
    assert_allclose(funding.effective_share(np.array([1.0e6, 2.0e5, 0.0]), 0.25), [7.5e5, 1.5e5, 0.0])
    assert funding.effective_share(5.0e5, 0.0) == 5.0e5  # no deadweight: all of it
    assert funding.effective_share(5.0e5, 1.0) == 0.0  # pure windfall: nothing


def test_interest_claims_hand_values():
    debt = np.array([1.0e7, 2.0e7, 5.0e6])
    eligible = np.array([True, False, True])
    got = funding.interest_claims(debt, 0.05, 0.3, eligible, 0.25)
    # 0.3 * 0.05 * 1e7 * 0.25 = 3.75e4; not targeted: 0; 0.3 * 0.05 * 5e6 * 0.25 = 1.875e4
    assert_allclose(got, [3.75e4, 0.0, 1.875e4])
    # four quarters make a year's subsidy: 0.3 * 0.05 * 1e7 = 1.5e5
    annual = funding.interest_claims(debt, 0.05, 0.3, eligible, 1.0)[0]
    assert annual == pytest.approx(1.5e5)
    assert 4 * got[0] == pytest.approx(annual)


def test_rent_claims_hand_values():
    workers = np.array([40.0, 10.0, 3.0])
    got = funding.rent_claims(workers, 2.0e4, 0.5, np.array([True, True, False]), 0.25)
    # 0.5 * 2e4 * 40 * 0.25 = 1e5; 0.5 * 2e4 * 10 * 0.25 = 2.5e4; ineligible: 0
    assert_allclose(got, [1.0e5, 2.5e4, 0.0])


def test_rd_reward_claims_hand_values():
    now = np.array([1.2e6, 8.0e5, 5.0e5, 2.0e6])
    before = np.array([1.0e6, 1.0e6, 5.0e5, 1.0e6])
    eligible = np.array([True, True, True, False])
    got = funding.rd_reward_claims(0.1, now, before, eligible)
    # 0.1 * (1.2e6 - 1e6) = 2e4; a cut earns nothing (not a negative claim); no change: 0; ineligible: 0
    assert_allclose(got, [2.0e4, 0.0, 0.0, 0.0])


def test_rd_reward_is_on_the_yearly_increase_not_on_quarterly_noise(tmp_path):
    """Regression: the reward used to be claimed on every quarterly rise of the R&D run rate
    without netting the falls, so noise alone drew 10-20% of annual R&D spending. It is now
    claimed once a year on this year's spending over last year's."""
    from model.cluster_model import ClusterModel

    m = ClusterModel(rng=4, scale=0.02)
    f = m.firms
    paid_quarters = []
    for _ in range(4):
        before = m.government.ledger.paid[0, funding.INSTRUMENTS.index("rd_reward")].sum()
        m.step()
        paid_quarters.append(m.government.ledger.paid[0, funding.INSTRUMENTS.index("rd_reward")].sum() - before)
    assert paid_quarters[:3] == [0.0, 0.0, 0.0] and paid_quarters[3] > 0
    rows = f.live_rows()
    assert (f.rd_year[rows] == 0).all() and (f.rd_last_year[rows] > 0).any()
    # the year's claims compare four quarters of R&D with last year's: a rise of a few percent
    # (R&D intensity drifting up with the reward, output growth), not a fraction of all R&D
    paid = paid_quarters[3]
    assert 0 < paid < 0.1 * f.rd_last_year[rows].sum()


# ---------------------------------------------------------------------------------- talent
# (hand values of every talent function are in test_talent_funding.py; these are invariants)


def test_talent_fill_bounded_and_monotone():
    rng = np.random.default_rng(31)
    pool = rng.uniform(0.0, 2000.0, 1000)
    need = rng.uniform(0.0, 2000.0, 1000)
    fill = talent.talent_fill(pool, need, 0.05)
    assert np.all((fill >= 0.0) & (fill <= 1.0))
    assert np.all(talent.talent_fill(pool * 1.1, need, 0.05) >= fill)  # more people, no less fill
    assert np.all(talent.talent_fill(pool, need * 1.1, 0.05) <= fill)  # more demand, no more fill
    assert np.all(talent.talent_fill(pool, need, 0.10) <= fill)  # more friction, no more fill


def test_outflow_probability_bounded_and_monotone():
    pool = np.linspace(100.0, 3000.0, 60)
    need = np.full(60, 1000.0)
    p = talent.outflow_probability(pool, need, 0.07, 1.2, 0.05, 1.0, 0.25)
    assert np.all((p > 0.0) & (p < 1.0))
    assert np.all(np.diff(p) >= 0.0)  # a bigger surplus of people: more leave
    # below the frictional slack only base attrition: 1 - exp(-0.07/1.2 * 0.25) = 0.0144775
    assert_allclose(p[pool * 0.95 <= need], 0.0144775, rtol=1e-5)
    assert np.all(talent.outflow_probability(pool, need, 0.07, 2.0, 0.05, 1.0, 0.25) < p)  # better retention


def test_inflow_monotone_in_subsidy_and_places_programme_persons():
    pool = np.array([1000.0, 500.0, 200.0])
    need = np.array([1200.0, 400.0, 400.0])
    low = talent.inflow(pool, need, 0.08, 1.5, 0.05, 0.0, 1.0, 0.25)
    high = talent.inflow(pool, need, 0.08, 1.5, 0.05, 0.0, 1.3, 0.25)
    assert_allclose(high, 1.3 * low)  # the subsidy multiplier scales organic inflow only
    with_prog = talent.inflow(pool, need, 0.08, 1.5, 0.05, 2000.0, 1.0, 0.25)
    # the programme's 2000 persons/yr * 0.25 = 500 are all placed, by demand share 1200:400:400
    assert_allclose(with_prog - low, [300.0, 100.0, 100.0])
