"""Unit tests of the firm-finance and major-project mechanisms (model/mechanisms/finance.py,
model/mechanisms/projects.py).

Expected numbers are computed by hand (arithmetic in the comment next to each one) or by an
independent route (seeded Monte Carlo against a closed form, scipy.stats); the invariants
(bounds, monotonicity, conservation) are checked on seeded random inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from model.mechanisms import finance, growth, projects

# --------------------------------------------------------------------------------- finance


def test_tangible_share_hand_values_and_clip():
    rd = np.array([0.0, 0.1, 0.2, 0.3, -0.05])
    got = finance.tangible_share(rd, intangible_per_rd=4.0)
    expected = [
        1.0,  # no R&D: all assets tangible
        0.6,  # 1 - 4*0.1 = 0.6
        0.2,  # 1 - 4*0.2 = 0.2
        0.1,  # 4*0.3 = 1.2 clipped at 0.9 -> 1 - 0.9 = 0.1 (never zero collateral)
        1.0,  # negative intensity clipped to 0 intangibles, not above 1
    ]
    assert_allclose(got, expected, rtol=1e-12)


def test_tangible_share_bounded_and_non_increasing_in_rd():
    rd = np.linspace(-0.1, 1.0, 500)
    share = finance.tangible_share(rd, 6.0)
    assert np.all(share >= 0.1 - 1e-12)
    assert np.all(share <= 1.0)
    assert np.all(np.diff(share) <= 0.0)


CI, LTV, RATE, AMORT, DSCR = 0.5, 0.6, 0.05, 0.25, 1.3


def test_credit_limit_hand_values():
    output = np.array([1.0e8, 1.0e8, 1.0e8, 1.0e8])
    margin = np.array([0.10, 0.05, 0.0, -0.10])
    tangible = np.full(4, 0.6)
    got = finance.credit_limit(output, margin, tangible, CI, LTV, RATE, AMORT, DSCR)
    # collateral = 0.6 * 0.6 * 0.5 * 1e8 = 1.8e7 for every firm; debt service per yuan = (0.05 + 0.25) * 1.3 = 0.39
    expected = [
        1.8e7,  # cash flow 0.10*1e8 = 1e7 -> 1e7/0.39 = 2.564103e7 > 1.8e7: collateral binds
        1.2820513e7,  # cash flow 0.05*1e8 = 5e6 -> 5e6/0.39 = 1.282051e7 < 1.8e7: cash flow binds
        0.0,  # no cash flow, no credit
        0.0,  # a loss-making firm gets nothing (not a negative limit)
    ]
    assert_allclose(got, expected, rtol=1e-7)


def test_credit_limit_subsidised_rate_per_firm():
    output = np.array([1.0e8, 1.0e8])
    got = finance.credit_limit(output, np.array([0.05, 0.05]), np.ones(2), CI, LTV, np.array([0.05, 0.02]), AMORT, DSCR)
    # collateral 0.6*1*0.5*1e8 = 3e7 (not binding); 5e6/((0.05+0.25)*1.3) = 5e6/0.39 = 1.282051e7;
    # subsidised rate 0.02: 5e6/((0.02+0.25)*1.3) = 5e6/0.351 = 1.424501e7
    assert_allclose(got, [1.2820513e7, 1.4245014e7], rtol=1e-7)


def test_credit_limit_is_min_of_both_limits_and_monotone():
    rng = np.random.default_rng(41)
    n = 5000
    output = rng.lognormal(17.0, 2.0, n)
    margin = rng.uniform(-0.2, 0.3, n)
    tangible = rng.uniform(0.1, 1.0, n)
    rate = rng.uniform(0.0, 0.08, n)
    limit = finance.credit_limit(output, margin, tangible, CI, LTV, rate, AMORT, DSCR)
    collateral = LTV * tangible * CI * output
    cash_flow = np.maximum(margin, 0.0) * output / ((rate + AMORT) * DSCR)
    assert_allclose(limit, np.minimum(collateral, cash_flow), rtol=1e-12)
    assert np.all(limit >= 0.0)
    # homogeneous of degree one in output (a firm twice the size borrows twice as much)
    assert_allclose(
        finance.credit_limit(2 * output, margin, tangible, CI, LTV, rate, AMORT, DSCR), 2 * limit, rtol=1e-12
    )

    def lim(**kw):
        args = dict(output=output, margin=margin, tangible=tangible, rate=rate)
        args.update(kw)
        return finance.credit_limit(
            args["output"], args["margin"], args["tangible"], CI, LTV, args["rate"], AMORT, DSCR
        )

    assert np.all(lim(margin=margin + 0.01) >= limit)
    assert np.all(lim(tangible=np.minimum(tangible + 0.05, 1.0)) >= limit)
    assert np.all(lim(rate=rate + 0.01) <= limit)


def test_finance_growth_hand_values():
    cash = np.array([5.0e6, 5.0e6, 1.0e6, -2.0e6, 5.0e6, 3.0e6])
    debt = np.array([2.0e6, 2.0e6, 0.0, 5.0e6, 0.0, 1.0e6])
    limit = np.array([6.0e6, 6.0e6, 3.0e6, 4.0e6, 1.0e6, 2.0e6])
    need = np.array([3.0e6, 1.0e7, 6.0e6, 1.0e6, 0.0, 3.5e6])
    floor = np.array([1.0e6, 1.0e6, 2.0e6, 0.0, 0.0, 0.0])
    fill, from_cash, borrowed = finance.finance_growth(cash, debt, limit, need, floor)
    # internal = max(cash - floor, 0), headroom = max(limit - debt, 0)
    # 0: internal 4e6, headroom 4e6, need 3e6 -> fill 1, all from cash (internal funds first)
    # 1: have 4e6 + 4e6 = 8e6 of need 1e7 -> fill 0.8; 4e6 cash + 4e6 credit
    # 2: cash below its floor: internal 0, headroom 3e6 of need 6e6 -> fill 0.5, all borrowed
    # 3: negative cash, debt above the limit: nothing -> fill 0
    # 4: nothing needed -> fill 1, nothing spent
    # 5: internal 3e6 + headroom 1e6 = 4e6 >= 3.5e6 -> fill 1; 3e6 cash, 0.5e6 credit
    assert_allclose(fill, [1.0, 0.8, 0.5, 0.0, 1.0, 1.0], rtol=1e-12)
    assert_allclose(from_cash, [3.0e6, 4.0e6, 0.0, 0.0, 0.0, 3.0e6], rtol=1e-12)
    assert_allclose(borrowed, [0.0, 4.0e6, 3.0e6, 0.0, 0.0, 5.0e5], rtol=1e-12, atol=1e-6)


def test_finance_growth_scalar_floor_as_the_model_calls_it():
    fill, from_cash, borrowed = finance.finance_growth(
        np.array([2.0e6]), np.array([0.0]), np.array([1.0e6]), np.array([4.0e6]), 0.0
    )
    # have 2e6 + 1e6 = 3e6 of 4e6 -> fill 0.75; 2e6 cash, 1e6 credit
    assert_allclose([fill[0], from_cash[0], borrowed[0]], [0.75, 2.0e6, 1.0e6])


def test_finance_growth_invariants_on_random_firms():
    rng = np.random.default_rng(8)
    n = 20_000
    cash = rng.normal(1.0e6, 3.0e6, n)
    debt = rng.uniform(0.0, 5.0e6, n)
    limit = rng.uniform(0.0, 6.0e6, n)
    need = np.where(rng.random(n) < 0.2, 0.0, rng.exponential(4.0e6, n))
    floor = rng.uniform(0.0, 1.0e6, n)
    fill, from_cash, borrowed = finance.finance_growth(cash, debt, limit, need, floor)
    internal = np.maximum(cash - floor, 0.0)
    headroom = np.maximum(limit - debt, 0.0)
    tol = 1e-6
    assert np.all((fill >= 0.0) & (fill <= 1.0))
    assert_allclose(from_cash + borrowed, fill * need, rtol=1e-12, atol=tol)  # financed = fill x need
    assert np.all(from_cash >= 0.0) and np.all(borrowed >= -tol)
    assert np.all(from_cash <= internal + tol)  # never dips below the cash floor
    assert np.all(borrowed <= headroom + tol)  # never borrows beyond the limit
    # internal funds first: a firm borrows only once its cash above the floor is used up
    assert np.all(from_cash[borrowed > tol] >= internal[borrowed > tol] - tol)
    # a constrained firm has used everything it had
    short = fill < 1.0
    assert_allclose(from_cash[short], internal[short], atol=tol)
    assert_allclose(borrowed[short], headroom[short], atol=tol)
    assert short.any() and (~short & (need > 0)).any()  # both regimes occur in the sample


def test_debt_service_hand_values():
    debt = np.array([1.0e7, 1.0e7, 1.0e7, 1.0e7, 0.0])
    limit = np.array([2.0e7, 9.0e6, 9.8e6, 0.0, 0.0])
    interest, principal = finance.debt_service(debt, limit, 0.05, 0.25, 0.25)
    # interest = 0.05 * 1e7 * 0.25 = 1.25e5 on every loan, whatever the limit
    assert_allclose(interest, [1.25e5, 1.25e5, 1.25e5, 1.25e5, 0.0])
    # call-in cap = amortisation * debt * dt = 0.25 * 1e7 * 0.25 = 6.25e5 a quarter
    expected = [
        0.0,  # within the limit: rolled over
        6.25e5,  # 1e6 above the limit, cap 6.25e5
        2.0e5,  # only the 2e5 above the limit is called in (below the cap)
        6.25e5,  # limit withdrawn: cap 6.25e5
        0.0,  # no debt
    ]
    assert_allclose(principal, expected)


def test_debt_service_per_firm_rate():
    interest, _ = finance.debt_service(
        np.array([1.0e6, 1.0e6]), np.array([2e6, 2e6]), np.array([0.04, 0.02]), 0.25, 1.0
    )
    assert_allclose(interest, [4.0e4, 2.0e4])  # 0.04*1e6, 0.02*1e6 over a year


def test_debt_service_runs_debt_down_to_the_limit_without_undershooting():
    debt = np.array([1.0e7, 5.0e6, 3.0e6])
    limit = np.array([4.0e6, 4.99e6, 5.0e6])
    path = [debt]
    for _ in range(200):
        _, principal = finance.debt_service(debt, limit, 0.05, 0.25, 0.25)
        debt = debt - principal
        path.append(debt)
    path = np.array(path)
    assert np.all(np.diff(path, axis=0) <= 0.0)  # repayment only, never new debt
    # converges to the limit from above and never goes below it (or below the starting debt if within it)
    assert_allclose(path[-1], [4.0e6, 4.99e6, 3.0e6], rtol=1e-9)
    assert np.all(path[:, :2] >= limit[:2] - 1e-6)
    # first quarter: 1e7 - min(6e6, 6.25e5) = 9.375e6; 5e6 - min(1e4, 3.125e5) = 4.99e6
    assert_allclose(path[1], [9.375e6, 4.99e6, 3.0e6])


def test_cover_shortfall_hand_values():
    cash = np.array([-3.0e6, -3.0e6, 2.0e6, -1.0e6, 0.0])
    debt = np.array([1.0e6, 1.0e6, 0.0, 5.0e6, 0.0])
    limit = np.array([5.0e6, 2.0e6, 1.0e7, 4.0e6, 1.0e6])
    got = finance.cover_shortfall(cash, debt, limit)
    # min(3e6 short, 4e6 headroom) = 3e6; min(3e6, 1e6) = 1e6; no shortfall; over the limit: 0; zero cash: 0
    assert_allclose(got, [3.0e6, 1.0e6, 0.0, 0.0, 0.0])
    # after drawing, cash is zero or the firm is at its limit
    after_cash, after_debt = cash + got, debt + got
    assert np.all((np.minimum(after_cash, 0.0) == 0.0) | (after_debt >= limit) | (cash >= 0))
    assert np.all(after_cash <= np.maximum(cash, 0.0))  # it never draws to build cash


def test_excess_cash_hand_values():
    got = finance.excess_cash(np.array([5.0e6, 2.0e6, -1.0e6, 3.0e6]), np.array([3.0e6, 3.0e6, 0.0, 3.0e6]))
    # 5e6 - 3e6 = 2e6 paid out; below target: 0; negative cash: 0; exactly at target: 0
    assert_allclose(got, [2.0e6, 0.0, 0.0, 0.0])


def test_constrained_flags():
    fill = np.array([1.0, 1.0 - 1e-12, 0.999, 0.0])
    # rounding below 1 is not a constraint; 0.999 and 0 are
    assert_array_equal(finance.constrained(fill), [False, False, True, True])


# -------------------------------------------------------------------------------- projects


def test_win_probability_hand_values():
    # at the 2020 offer the 2020 probability: logit p = logit 0.5 + 0.8 * (0.1/0.1 - 1) = 0
    assert projects.win_probability(0.1, 0.1, 0.5, 0.8) == pytest.approx(0.5, abs=1e-12)
    # doubling the offer: z = 0 + 0.8*(2 - 1) = 0.8 -> 1/(1 + exp(-0.8)) = 0.6899745
    assert projects.win_probability(0.2, 0.1, 0.5, 0.8) == pytest.approx(0.6899745, rel=1e-7)
    # no offer: z = 0.8*(0 - 1) = -0.8 -> 1 - 0.6899745 = 0.3100255
    assert projects.win_probability(0.0, 0.1, 0.5, 0.8) == pytest.approx(0.3100255, rel=1e-6)
    # p_2020 0.3, effect 2, offer doubled: logit 0.3 = ln(0.3/0.7) = -0.8472979; z = 1.1527021 -> 0.7600041
    assert projects.win_probability(0.2, 0.1, 0.3, 2.0) == pytest.approx(0.7600041, rel=1e-6)


def test_win_probability_odds_ratio_is_exp_effect_times_relative_offer():
    # independent form: odds(p) / odds(p_2020) = exp(effect x (offer/offer_2020 - 1))
    for offer, p0, effect in [(0.05, 0.4, 1.5), (0.3, 0.6, 0.2), (0.5, 0.2, 2.0)]:
        p = projects.win_probability(offer, 0.1, p0, effect)
        odds_ratio = (p / (1 - p)) / (p0 / (1 - p0))
        assert odds_ratio == pytest.approx(math.exp(effect * (offer / 0.1 - 1.0)), rel=1e-9)


@pytest.mark.parametrize("p0", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("effect", [0.2, 0.8, 2.0])
def test_win_probability_rises_with_offer_and_stays_in_unit_interval(p0, effect):
    offers = np.linspace(0.0, 0.5, 51)  # the lever's allowed range; 2020 offer 0.1
    p = np.array([projects.win_probability(o, 0.1, p0, effect) for o in offers])
    assert np.all(np.diff(p) > 0.0)
    assert np.all((p > 0.0) & (p < 1.0))
    assert p[0] < p0 < p[-1]  # zero offer loses projects; the largest offer wins more
    assert p[10] == pytest.approx(p0, abs=1e-12)  # offers[10] = 0.1 is the 2020 offer


def test_win_probability_edge_cases():
    # no 2020 offer: any offer counts as +1 in relative terms, none leaves p_2020
    assert projects.win_probability(0.0, 0.0, 0.4, 1.0) == pytest.approx(0.4)
    # logit 0.4 = ln(0.4/0.6) = -0.4054651; +1 -> 0.5945349 -> 1/(1 + exp(-0.5945349)) = 1/1.5518192 = 0.6444050
    assert projects.win_probability(0.1, 0.0, 0.4, 1.0) == pytest.approx(0.6444050, rel=1e-6)
    # degenerate 2020 probabilities are kept strictly inside (0, 1)
    assert 0.0 < projects.win_probability(0.1, 0.1, 0.0, 1.0) < 1e-5
    assert 1.0 - 1e-5 < projects.win_probability(0.1, 0.1, 1.0, 1.0) < 1.0
    assert isinstance(projects.win_probability(0.1, 0.1, 0.5, 1.0), float)


def test_project_sizes_median_log_sd_and_cap_by_monte_carlo():
    rng = np.random.default_rng(2021)
    n = 100_000
    median, sigma = 3.0e9, 1.0
    uncapped = projects.project_sizes(rng, n, median, sigma, largest=np.inf)
    assert uncapped.shape == (n,) and np.all(uncapped > 0)
    # log-median se = sigma * 1.2533 / sqrt(n) = 0.004; log-sd se = sigma / sqrt(2n) = 0.0022
    assert abs(math.log(np.median(uncapped) / median)) < 0.02
    assert abs(np.log(uncapped).std() - sigma) < 0.011
    # lognormal, not some other heavy tail
    assert stats.kstest(np.log(uncapped[:20_000] / median), stats.norm(scale=sigma).cdf).pvalue > 1e-3
    capped = projects.project_sizes(np.random.default_rng(2022), n, median, sigma, largest=3.0e10)
    assert capped.max() == 3.0e10
    # share at the cap = P(Z > ln(3e10/3e9)/1) = norm.sf(ln 10) = norm.sf(2.302585) = 0.010651
    share = np.mean(capped == 3.0e10)
    assert abs(share - 0.010651) < 5 * math.sqrt(0.010651 * 0.989349 / n)  # 5 se = 0.0016
    # the cap does not move the median
    assert abs(math.log(np.median(capped) / median)) < 0.02


def test_project_sizes_zero_spread_is_the_median():
    assert_allclose(projects.project_sizes(np.random.default_rng(0), 3, 2.0e9, 0.0, 1e11), [2.0e9] * 3)
    assert projects.project_sizes(np.random.default_rng(0), 0, 2.0e9, 1.0, 1e11).shape == (0,)


def test_land_needed_hand_values_and_concavity():
    inv = np.array([1.0e9, 4.0e9, 2.5e8, 0.0, 1.0e10])
    got = projects.land_needed(inv, 10.0)
    # 10*sqrt(1) = 10; 10*sqrt(4) = 20; 10*sqrt(0.25) = 5; 0; 10*sqrt(10) = 31.622777
    assert_allclose(got, [10.0, 20.0, 5.0, 0.0, 31.622777], rtol=1e-7)
    # doubling the investment needs sqrt(2) times the land: land per yuan falls with size
    assert_allclose(projects.land_needed(2 * inv, 10.0), math.sqrt(2) * got, rtol=1e-12)
    # scalar input works
    assert float(projects.land_needed(9.0e9, 7.0)) == pytest.approx(21.0)  # 7*sqrt(9)


def test_allocate_land_first_come_first_served_skips_what_does_not_fit():
    # stock 10: 4 fits (6 left); 7 does not; 3 fits (3 left); 2 fits (1 left); 5 does not
    assert_array_equal(
        projects.allocate_land(10.0, np.array([4.0, 7.0, 3.0, 2.0, 5.0])), [True, False, True, True, False]
    )
    # arrival order, not best fit: 7 first takes the land the 4 + 3 + 2 would have shared
    assert_array_equal(projects.allocate_land(10.0, np.array([7.0, 4.0, 3.0, 2.0])), [True, False, True, False])
    # exact fit is granted; a hair over is not
    assert_array_equal(projects.allocate_land(10.0, np.array([10.0])), [True])
    assert_array_equal(projects.allocate_land(10.0, np.array([10.000001])), [False])
    assert projects.allocate_land(10.0, np.array([])).shape == (0,)
    assert_array_equal(projects.allocate_land(0.0, np.array([1.0, 2.0])), [False, False])


def test_allocate_land_never_exceeds_stock_and_is_greedy():
    rng = np.random.default_rng(13)
    for _ in range(500):
        needs = rng.exponential(20.0, rng.integers(0, 15))
        stock = rng.uniform(0.0, 100.0)
        granted = projects.allocate_land(stock, needs)
        assert needs[granted].sum() <= stock + 1e-9
        # every refused project did not fit in what the earlier grants left
        left_before = stock - np.concatenate([[0.0], np.cumsum(np.where(granted, needs, 0.0))[:-1]])
        assert np.all(needs[~granted] > left_before[~granted])
        assert np.all(needs[granted] <= left_before[granted] + 1e-12)


def test_construction_progress_hand_values():
    paid = np.array([1.0, 0.5, 0.0, 1.3, -0.2, 0.7])
    slipped = np.array([False, False, False, False, False, True])
    # fully paid: a quarter; half paid: half; unpaid: none; over/under-shares clipped; slipped: none
    assert_allclose(projects.construction_progress(paid, slipped), [1.0, 0.5, 0.0, 1.0, 0.0, 0.0])


def test_construction_time_with_delays_matches_negative_binomial():
    # a project of 8 build quarters, fully paid, slips each quarter with probability 0.2: the
    # number of slipped quarters before the 8th working one is NegBin(8, 0.8), mean 8*0.2/0.8 = 2,
    # so construction takes 10 quarters on average (variance 8*0.2/0.8**2 = 2.5)
    rng = np.random.default_rng(77)
    n, build = 40_000, 8.0
    left = np.full(n, build)
    quarters = np.zeros(n)
    while np.any(left > 0):
        active = left > 0
        slipped = rng.random(n) < 0.2
        left[active] -= projects.construction_progress(np.ones(active.sum()), slipped[active])
        quarters[active] += 1
    nb = stats.nbinom(8, 0.8)
    assert abs(quarters.mean() - (build + nb.mean())) < 5 * math.sqrt(nb.var() / n)  # 5 se = 0.04
    assert abs(quarters.var() - nb.var()) < 0.1
    # paid half every quarter and never slipping: exactly twice as long
    left = np.full(3, build)
    q = 0
    while np.any(left > 0):
        left -= projects.construction_progress(np.full(3, 0.5), np.zeros(3, dtype=bool))
        q += 1
    assert q == 16


def test_full_output_hand_values():
    # 2e9 * 0.8 = 1.6e9 yuan/yr; 5e8 * 1.5 = 7.5e8; nothing built, nothing produced
    got = projects.full_output(np.array([2.0e9, 5.0e8, 0.0]), np.array([0.8, 1.5, 2.0]))
    assert_allclose(got, [1.6e9, 7.5e8, 0.0])


def test_ramp_increment_hand_values():
    target = np.array([8.0e8, 8.0e8, 1.0e8])
    left = np.array([3, 0, 1])
    # 8e8/8 = 1e8; finished ramp adds nothing; 1e8/8 = 1.25e7
    assert_allclose(projects.ramp_increment(target, left, 8.0), [1.0e8, 0.0, 1.25e7])
    # a ramp shorter than one step: the whole target at once
    assert_allclose(projects.ramp_increment(target, left, 0.5), [8.0e8, 0.0, 1.0e8])


def test_ramp_reaches_the_target_exactly():
    target = np.array([6.0e8, 1.0e9])
    ramp = 6
    out = np.zeros(2)
    for left in range(ramp, 0, -1):  # quarters left before this step: 6, 5, ..., 1
        out += projects.ramp_increment(target, np.array([left, left]), float(ramp))
    assert_allclose(out, target, rtol=1e-12)
    assert_allclose(projects.ramp_increment(target, np.array([0, 0]), float(ramp)), 0.0)  # then it stops


def test_capacity_built_is_what_the_financed_investment_buys():
    # a firm spends fill x need on capacity: it gets exactly fill x (target - capacity), one yuan of
    # capacity (sales a year) per capital_intensity yuan; what it spends never exceeds what it had
    rng = np.random.default_rng(19)
    n = 10_000
    cap = rng.lognormal(16.0, 1.5, n)
    target = cap * rng.lognormal(0.02, 0.2, n)
    cash, debt, limit = rng.uniform(0, 2e6, n), rng.uniform(0, 3e6, n), rng.uniform(0, 4e6, n)
    need = growth.investment_need(cap, target, 0.5)
    fill, from_cash, borrowed = finance.finance_growth(cash, debt, limit, need, 0.0)
    built = growth.expand_capacity(cap, target, fill) - cap
    assert_allclose(built * 0.5, from_cash + borrowed, rtol=1e-9, atol=1e-6)
    assert np.all(from_cash <= cash + 1e-6) and np.all(borrowed <= np.maximum(limit - debt, 0) + 1e-6)
    assert (fill < 1).sum() > 1000 and (need == 0).sum() > 1000  # both regimes and idle capacity occur
