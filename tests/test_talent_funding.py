"""Unit tests of the talent and funding mechanisms (hand-computed values and invariants)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from model.mechanisms import funding, talent

# ---------------------------------------------------------------------------------- talent


def test_labour_demand_hand_values():
    output = np.array([1.0e8, 3.0e6])
    per_worker = np.array([2.0e6, 1.5e6])
    productivity = np.array([1.25, 1.0])
    # 1e8 / (2e6 * 1.25) = 1e8 / 2.5e6 = 40; 3e6 / 1.5e6 = 2
    assert_allclose(talent.labour_demand(output, per_worker, productivity), [40.0, 2.0])


def test_talent_fill_hand_values():
    pool = np.array([100.0, 50.0, 10.0, 0.0])
    demand = np.array([90.0, 100.0, 0.0, 10.0])
    got = talent.talent_fill(pool, demand, 0.05)
    expected = [
        1.0,  # 100 * 0.95 = 95 available >= 90 needed -> capped at 1
        0.475,  # 50 * 0.95 / 100 = 0.475
        1.0,  # nothing needed
        0.0,  # nobody available
    ]
    assert_allclose(got, expected)


def test_retention_multiplier_hand_values():
    # (3000 + 1000) / 20000 = 0.2 per person, twice the 2020 ratio 0.1: (1 + 0.5*2) / (1 + 0.5) = 2/1.5 = 1.333333
    assert talent.retention_multiplier(3000, 1000, 20000, 0.5, 0.1) == pytest.approx(4.0 / 3.0)
    # at the 2020 ratio: 2000/20000 = 0.1 -> (1 + 0.5)/(1 + 0.5) = 1
    assert talent.retention_multiplier(1500, 500, 20000, 0.5, 0.1) == pytest.approx(1.0)
    # no services at all: (1 + 0)/(1 + 0.5) = 0.666667
    assert talent.retention_multiplier(0, 0, 20000, 0.5, 0.1) == pytest.approx(2.0 / 3.0)
    # empty pool counts as one person: (1 + 0.5 * (10/1)/0.1)/1.5 = (1 + 50)/1.5 = 34
    assert talent.retention_multiplier(10, 0, 0, 0.5, 0.1) == pytest.approx(34.0)


def test_inflow_hand_values():
    pool = np.array([1000.0, 500.0])
    demand = np.array([1100.0, 400.0])
    got = talent.inflow(pool, demand, 0.08, 1.5, 0.05, 1000.0, 1.2, 0.25)
    # vacancies: 1100 - 1000*0.95 = 150; 400 - 475 < 0 -> 0
    # organic: (0.08*1000 + 1.5*150) * 1.2 * 0.25 = 305 * 0.3 = 91.5; (0.08*500 + 0) * 0.3 = 12
    # programme 1000*0.25 = 250 by demand share 1100/1500, 400/1500: 183.3333, 66.6667
    assert_allclose(got, [91.5 + 183.333333, 12.0 + 66.666667], rtol=1e-8)


def test_inflow_programme_persons_are_all_placed():
    # with no organic inflow, the programme's persons are spread in full over sectors
    demand = np.array([300.0, 0.0, 700.0])
    got = talent.inflow(np.array([400.0, 10.0, 800.0]), demand, 0.0, 0.0, 0.05, 800.0, 1.0, 0.5)
    assert got.sum() == pytest.approx(400.0)  # 800 persons/yr * 0.5 yr
    assert_allclose(got, [120.0, 0.0, 280.0])  # 400 * 0.3, 0, 400 * 0.7


def test_outflow_probability_hand_values():
    pool = np.array([1000.0, 1000.0, 0.0])
    demand = np.array([800.0, 1200.0, 10.0])
    got = talent.outflow_probability(pool, demand, 0.07, 1.4, 0.05, 1.0, 0.25)
    # base hazard 0.07/1.4 = 0.05
    # sector 0: unemployed 200/1000 = 0.2, minus slack 0.05 = 0.15 -> hazard 0.2, p = 1 - exp(-0.05) = 0.0487706
    # sector 1: no unemployment -> hazard 0.05, p = 1 - exp(-0.0125) = 0.0124222
    # sector 2: empty pool -> base hazard only, 0.0124222
    assert_allclose(got, [0.0487706, 0.0124222, 0.0124222], rtol=1e-5)


def test_outflow_probability_falls_with_retention():
    pool = np.array([500.0])
    demand = np.array([500.0])
    p1 = talent.outflow_probability(pool, demand, 0.07, 1.0, 0.05, 1.0, 1.0)[0]
    p2 = talent.outflow_probability(pool, demand, 0.07, 2.0, 0.05, 1.0, 1.0)[0]
    # 1 - exp(-0.07) = 0.0676058; 1 - exp(-0.035) = 0.0343944
    assert p1 == pytest.approx(0.0676058, rel=1e-5)
    assert p2 == pytest.approx(0.0343944, rel=1e-5)


def test_subsidy_multiplier_hand_values():
    # (1 + 1e5/2e5) / (1 + 5e4/2e5) = 1.5 / 1.25 = 1.2
    assert talent.subsidy_multiplier(1.0e5, 5.0e4, 2.0e5) == pytest.approx(1.2)
    assert talent.subsidy_multiplier(5.0e4, 5.0e4, 2.0e5) == pytest.approx(1.0)
    # no subsidy paid: 1 / 1.25 = 0.8
    assert talent.subsidy_multiplier(0.0, 5.0e4, 2.0e5) == pytest.approx(0.8)


def test_skill_productivity_hand_values():
    got = talent.skill_productivity(np.array([2.0, 1.5, 1.0]), np.array([1.5, 1.5, 1.5]), 0.1)
    # 1 + 0.1*0.5 = 1.05; 1 + 0 = 1; 1 + 0.1*(-0.5) = 0.95
    assert_allclose(got, [1.05, 1.0, 0.95])


# --------------------------------------------------------------------------------- funding


def test_pay_claims_pro_rata_hand_values():
    claims = np.array([10.0, 30.0, 60.0])
    # total 100 > budget 50: everybody gets 50/100 = half
    assert_allclose(funding.pay_claims(claims, 50.0), [5.0, 15.0, 30.0])
    # budget 200 covers all claims
    assert_allclose(funding.pay_claims(claims, 200.0), [10.0, 30.0, 60.0])
    # budget exactly equal to claims
    assert_allclose(funding.pay_claims(claims, 100.0), [10.0, 30.0, 60.0])
    # no budget: nothing paid
    assert_allclose(funding.pay_claims(claims, 0.0), [0.0, 0.0, 0.0])
    # no claims
    assert_allclose(funding.pay_claims(np.zeros(3), 10.0), [0.0, 0.0, 0.0])


def test_pay_claims_returns_a_float_copy():
    claims = np.array([1, 2, 3])
    paid = funding.pay_claims(claims, 100.0)
    assert paid.dtype == np.float64
    paid[0] = 99.0
    assert claims[0] == 1


def test_pay_claims_never_pays_more_than_budget_and_exhausts_it_when_short():
    rng = np.random.default_rng(31)
    for _ in range(2000):
        claims = rng.pareto(1.0, rng.integers(1, 300)) * 1.0e5
        budget = float(claims.sum() * rng.uniform(0.0, 2.0))
        paid = funding.pay_claims(claims, budget)
        assert np.all(paid >= 0.0)
        assert np.all(paid <= claims * (1 + 1e-12))
        # never more than the budget (floating-point rounding of the pro rata sum allowed)
        assert paid.sum() <= budget * (1 + 1e-12)
        if claims.sum() > budget:
            assert paid.sum() == pytest.approx(budget, rel=1e-12)
            # pro rata: every claimant gets the same share
            share = budget / claims.sum()
            assert_allclose(paid, claims * share, rtol=1e-12)
        else:
            assert_array_equal(paid, claims)


def test_equity_tickets_are_sized_to_the_gap_up_to_one_ticket():
    gap = np.array([5.0e6, 4.0e7, 0.0, -1.0e6, 3.0e7])
    # a firm gets what it can use (its gap), at most a 3e7 ticket; nothing without a gap
    assert_allclose(funding.equity_tickets(gap, 3.0e7), [5.0e6, 3.0e7, 0.0, 0.0, 3.0e7])


def test_ledger_records_payouts_by_line_sector_and_year():
    ledger = funding.BudgetLedger(n_years=2, n_sectors=3)
    g = funding.BUDGET_LINES.index("guidance_equity")
    proc = funding.BUDGET_LINES.index("procurement")
    assert funding.BUDGET_LINES[: len(funding.INSTRUMENTS)] == funding.INSTRUMENTS
    ledger.record(0, g, np.array([60.0, 70.0, 5.0]), np.array([0, 2, 0]))
    ledger.record(1, proc, np.array([30.0]), np.array([1]))
    assert_array_equal(ledger.paid[0, g], [65.0, 0.0, 70.0])
    assert_allclose(ledger.spent_by_year(), [135.0, 30.0])
    expected = np.zeros((2, len(funding.BUDGET_LINES)))
    expected[0, g], expected[1, proc] = 135.0, 30.0
    assert_allclose(ledger.paid_by_line(), expected)
