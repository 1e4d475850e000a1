"""Sector markets, prices, entry finance and capacity: hand-computed cases of the pure functions
(mechanisms/market.py, prices.py, entry_exit.py, growth.py) and their invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from model.mechanisms import demand, entry_exit, growth, market, prices
from model.sectors import SECTOR_IDS, SECTOR_INDEX

# ------------------------------------------------------------------------------ CES shares


def test_desired_sales_are_ces_shares_of_the_market():
    # sector 0: market 100, attraction 1, 3 (weights 1, 2): A = 1 + 6 = 7 -> 100/7 and 300/7
    # sector 1: market 50, one firm of attraction 4 standing for 5 firms: A = 20 -> 50 * 4/20 = 10
    a = np.array([1.0, 3.0, 4.0])
    w = np.array([1.0, 2.0, 5.0])
    sector = np.array([0, 0, 1])
    total = market.total_attraction(a, w, sector, 2)
    assert_allclose(total, [7.0, 20.0])
    d = market.desired_sales(np.array([100.0, 50.0]), a, sector, total)
    assert_allclose(d, [100 / 7, 300 / 7, 10.0])
    # the sector's firms (with their weights) want exactly its market
    assert_allclose(np.bincount(sector, weights=w * d), [100.0, 50.0])


def test_an_entrant_takes_its_sales_from_the_incumbents():
    # market 100 shared 60/40 by two incumbents (attraction = sales); an entrant wanting 10
    a = np.array([60.0, 40.0])
    a_new = market.entrant_attraction(np.array([10.0]), np.array([1.0]), 100.0, a.sum())
    # a_new = 10 * 100 / (100 - 10) = 11.111...; A = 111.111
    assert a_new[0] == pytest.approx(100 / 9)
    d = market.desired_sales(
        np.array([100.0]), np.append(a, a_new), np.zeros(3, dtype=int), np.array([a.sum() + a_new[0]])
    )
    # the entrant gets 10, the incumbents lose in proportion: 60 * 0.9 = 54, 40 * 0.9 = 36
    assert_allclose(d, [54.0, 36.0, 10.0])
    assert d.sum() == pytest.approx(100.0)  # nobody's sales come from nowhere


def test_weighted_entrants_take_their_joint_sales():
    a = np.array([50.0])
    new = market.entrant_attraction(np.array([2.0, 3.0]), np.array([5.0, 10.0]), 100.0, 50.0)
    total = a.sum() + (np.array([5.0, 10.0]) * new).sum()
    d = market.desired_sales(np.array([100.0]), np.append(a, new), np.zeros(3, dtype=int), np.array([total]))
    # entrants want 2 and 3 each; with weights 5 and 10 they take 40 of the 100; the incumbent keeps 60
    assert_allclose(d, [60.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="exceed the market"):
        market.entrant_attraction(np.array([20.0]), np.array([6.0]), 100.0, 50.0)


def test_exit_frees_share_in_proportion():
    a = np.array([10.0, 30.0, 60.0])
    sector = np.zeros(3, dtype=int)
    before = market.desired_sales(np.array([100.0]), a, sector, np.array([a.sum()]))
    alive = np.array([True, True, False])
    after = market.desired_sales(np.array([100.0]), a * alive, sector, np.array([(a * alive).sum()]))
    # the exit's 60 goes 1:3 to the survivors: 10 -> 25, 30 -> 75
    assert_allclose(before, [10.0, 30.0, 60.0])
    assert_allclose(after[:2], [25.0, 75.0])


def test_added_attraction_brings_its_own_demand():
    # a plant whose offtake (20) joins a market of 100: market 120, everyone else keeps theirs
    a = np.array([60.0, 40.0])
    a_new = market.added_attraction(np.array([20.0]), 100.0, a.sum())
    d = market.desired_sales(
        np.array([120.0]), np.append(a, a_new), np.zeros(3, dtype=int), np.array([a.sum() + a_new[0]])
    )
    assert_allclose(d, [60.0, 40.0, 20.0])


def test_delivery_update_replicator():
    a = np.array([10.0, 10.0, 10.0, 10.0])
    sales = np.array([10.0, 5.0, 0.0, 4.0])
    desired = np.array([10.0, 10.0, 10.0, 0.0])
    # served all: unchanged; half: 10 * 0.5**0.5 = 7.0711; none: 0; no demand: unchanged
    assert_allclose(market.delivery_update(a, sales, desired, 0.5), [10.0, 7.0710678, 0.0, 10.0], rtol=1e-7)
    assert_allclose(market.delivery_update(a, sales, desired, 0.0), a)  # customers never switch


def test_quality_index_is_a_sales_weighted_geometric_mean():
    q = np.array([1.0, 4.0, 2.0])
    sales = np.array([1.0, 1.0, 3.0])
    w = np.array([1.0, 1.0, 1.0])
    sector = np.array([0, 0, 1])
    # sector 0: exp((ln 1 + ln 4) / 2) = 2; sector 1: 2; an empty sector: 1
    assert_allclose(market.quality_index(q, sales, w, sector, 3), [2.0, 2.0, 1.0])


def test_market_log_growth_hand_values():
    # trend 0.05, shock -0.02, prices +0.01 a year over a quarter: 0.04 * 0.25 = 0.01;
    # quality up 2% (log 0.0198026) with elasticity 1.5: + 0.0297039
    got = market.market_log_growth(
        np.array([0.05]), np.array([-0.02]), np.array([0.01]), np.array([math.log(1.02)]), 1.5, 0.25
    )
    assert got[0] == pytest.approx(0.01 + 1.5 * math.log(1.02))


# ----------------------------------------------------------------------------------- prices


def test_price_growth_uses_published_indices_then_trends():
    industrial = np.array([True, False])
    rel = np.array([-0.01, 0.005])
    shocks = np.array([0.0, 0.04])
    got = prices.price_growth([2020, 2021], industrial, {2020: -0.018}, {2020: 0.025}, 0.013, 0.022, rel, shocks)
    # 2020 published: ln(1 - 0.018) - 0.01 = -0.0281635; ln(1.025) + 0.005 = 0.0296924
    # 2021 trend + shock: 0.013 + 0.04 - 0.01 = 0.043; services half the shock: 0.022 + 0.02 + 0.005 = 0.047
    assert_allclose(got, [[math.log(0.982) - 0.01, math.log(1.025) + 0.005], [0.043, 0.047]])
    assert_allclose(prices.cpi_growth([2020, 2021], {2020: 0.025}, 0.022, shocks), [math.log(1.025), 0.042])
    assert_allclose(prices.deflate(np.array([110.0]), np.array([1.1])), [100.0])


# ---------------------------------------------------------------------- urban-scenario spending


def test_scenario_spending_hand_values_and_who_pays():
    procurement = np.zeros(len(SECTOR_IDS))
    procurement[SECTOR_INDEX["ngit"]] = 1.0e8
    total, public = demand.scenario_spending(10.0, procurement, 2.0e8, 5.0e7, 0.6, SECTOR_INDEX)
    # roads: 10 km x 5e7 = 5e8 a year, 70% vehicles, 30% IT; the government pays 60% of it
    assert total[SECTOR_INDEX["auto"]] == pytest.approx(3.5e8)
    assert total[SECTOR_INDEX["ngit"]] == pytest.approx(1.0e8 + 1.5e8)
    assert total[SECTOR_INDEX["biotech"]] == pytest.approx(2.0e8)
    assert public[SECTOR_INDEX["auto"]] == pytest.approx(0.6 * 3.5e8)
    assert public[SECTOR_INDEX["ngit"]] == pytest.approx(1.0e8 + 0.6 * 1.5e8)
    assert public[SECTOR_INDEX["biotech"]] == pytest.approx(2.0e8)  # procurement and healthcare: all public
    # fewer roads than in 2020 add nothing
    t2, p2 = demand.scenario_spending(-5.0, np.zeros(len(SECTOR_IDS)), 0.0, 5.0e7, 0.6, SECTOR_INDEX)
    assert t2.sum() == 0.0 and p2.sum() == 0.0


# ------------------------------------------------------------------------- entry and capacity


def test_potential_entrants_hand_values():
    got = entry_exit.potential_entrants(
        firms=np.array([100.0, 200.0, 80.0]),
        entry_rate=0.2,
        market_ratio=np.array([1.0, 4.0, 2.0]),
        firm_ratio=np.array([1.0, 1.0, 4.0]),
        agglomeration=0.5,
        cost_index=0.8,
        cost_elasticity=0.5,
        dt=0.25,
    )
    f = 0.8**-0.5  # cheaper set-up: 1.118034
    # 100 * 0.2 * 1 * f * 0.25; 200 * 0.2 * 2 * f * 0.25; 80 * 0.2 * (2/4)**0.5 * f * 0.25
    assert_allclose(got, [5.0 * f, 20.0 * f, 4.0 * math.sqrt(0.5) * f], rtol=1e-12)
    # costs move would-be entry at most by MAX_COST_FACTOR either way
    free = entry_exit.potential_entrants(np.array([100.0]), 0.2, np.ones(1), np.ones(1), 0.5, 1e-6, 1.0, 1.0)
    assert free[0] == pytest.approx(100 * 0.2 * entry_exit.MAX_COST_FACTOR)


def test_startup_capital_and_sources():
    # sales 1e6: capacity 1e6 * 1.15 at 0.5 yuan per yuan/yr = 5.75e5, cash 0.5 yr = 5e5
    assert entry_exit.startup_capital(np.array([1.0e6]), 0.5, 0.15, 0.5)[0] == pytest.approx(1.075e6)
    src = entry_exit.finance_sources(np.array([0.1, 0.7, 0.7, 0.9]), np.array([0.9, 0.3, 0.6, 0.5]), 0.6, 0.5)
    # founders pay when u < 0.6; of the rest venture funds when u < 0.5; else nobody
    assert src.tolist() == [0, 1, 2, 2]  # u_vc = 0.5 is not below 0.5


def test_seed_deals_back_entrants_while_money_lasts():
    need = np.array([1.0, 2.0, 3.0, 1.0])
    w = np.array([1.0, 1.0, 2.0, 1.0])
    # cumulative cost 1, 3, 9, 10: money 9 backs the first three
    assert entry_exit.seed_deals(need, w, 9.0).tolist() == [True, True, True, False]
    assert not entry_exit.seed_deals(need, w, 0.5).any()


def test_capacity_investment_hand_values():
    cap = np.array([100.0, 100.0, 100.0])
    target = growth.capacity_target(np.array([100.0, 130.0, 80.0]), 0.1)
    assert_allclose(target, [110.0, 143.0, 88.0])
    need = growth.investment_need(cap, target, 0.5)
    assert_allclose(need, [5.0, 21.5, 0.0])  # idle capacity is kept: no negative need
    assert_allclose(growth.expand_capacity(cap, target, np.array([1.0, 0.5, 1.0])), [110.0, 121.5, 100.0])


def test_entrants_joint_sales_are_capped_at_a_share_of_their_market() -> None:
    """Two sectors: the first sector's entrants want 2 x 30 + 1 x 40 = 100 against a market of
    100 (cap 0.5 -> 50: scaled by one half); the second's want 10 of 100 (left alone)."""
    sales = np.array([30.0, 40.0, 10.0])
    weight = np.array([2.0, 1.0, 1.0])
    sector = np.array([0, 0, 1])
    capped = market.cap_joint_sales(sales, weight, sector, np.array([100.0, 100.0]), 0.5)
    np.testing.assert_allclose(capped, [15.0, 20.0, 10.0])
    # their attraction then takes exactly the capped sales from the incumbents (total 7)
    a = market.entrant_attraction(capped[:2], weight[:2], 100.0, 7.0)
    np.testing.assert_allclose(a, capped[:2] * 7.0 / 50.0)
    # a sector with no market gets start-ups without sales, and no attraction
    none = market.cap_joint_sales(sales, weight, sector, np.array([0.0, 100.0]), 0.5)
    np.testing.assert_allclose(none, [0.0, 0.0, 10.0])
    assert not market.entrant_attraction(none[:2], weight[:2], 0.0, 7.0).any()
