"""Unit tests of the initial population, the parameter sets and the column stores."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import model.calibration.store as calibration_store
from model.data import load_yaml
from model.levers import Range
from model.params import (
    Params,
    apply_uncertainties,
    default_params,
    param_specs,
    population_assumptions,
    sector_assumptions,
)
from model.population import StartState, firm_counts, firm_sizes, pick_weighted
from model.sectors import SECTOR_IDS
from model.state import COHORT_COLUMNS, FIRM_COLUMNS, ColumnStore

# ------------------------------------------------------------------------------ population


def test_firm_counts_largest_remainder_hand_values():
    # raw 7 * [0.5, 0.3, 0.2] = [3.5, 2.1, 1.4]: floors [3, 2, 1], 1 left -> largest remainder 0.5 (sector 0)
    assert_array_equal(firm_counts(7, np.array([0.5, 0.3, 0.2]), np.zeros(3, int)), [4, 2, 1])
    # unnormalised shares: 10 * [2, 1, 1]/4 = [5, 2.5, 2.5]: 1 left, tie -> first sector in order
    assert_array_equal(firm_counts(10, np.array([2.0, 1.0, 1.0]), np.zeros(3, int)), [5, 3, 2])
    # 10 * [1/3]*3 = 3.33 each: floors 9, one left to the first
    assert_array_equal(firm_counts(10, np.ones(3), np.zeros(3, int)), [4, 3, 3])


def test_firm_counts_sum_to_total_and_respect_minimum():
    rng = np.random.default_rng(0)
    for _ in range(200):
        shares = rng.dirichlet(np.ones(7))
        total = int(rng.integers(100, 50_000))
        counts = firm_counts(total, shares, np.ones(7, int))
        if np.all(total * shares >= 1.0):  # minimum not binding
            assert counts.sum() == total
        assert np.all(counts >= 1)
        assert np.all(np.abs(counts - total * shares) < 1.0 + 1e-9)  # rounding moves each by < 1 firm
    # a binding minimum lifts the small sector: raw [9, 1, 0] -> sector 2 gets its minimum of 2
    counts = firm_counts(10, np.array([0.9, 0.1, 0.0]), np.array([1, 1, 2]))
    assert counts[2] == 2
    assert np.all(counts >= [1, 1, 2])


def test_firm_sizes_sum_to_total_and_keep_known_firms_first():
    rng = np.random.default_rng(1)
    known = [1.697e11, 5.0e9]
    sizes = firm_sizes(rng, 500, 2.4e11, known, zipf_alpha=1.05, size_sigma=1.6, floor=1.0e5)
    assert sizes.shape == (500,)
    assert_array_equal(sizes[:2], known)
    assert sizes.sum() == pytest.approx(2.4e11, rel=1e-12)
    assert np.all(sizes[2:] >= 1.0e5)
    # heavy tail: the largest unknown firm is far above the median one
    assert sizes[2:].max() > 20 * np.median(sizes[2:])


def test_firm_sizes_many_random_cases_sum_exactly():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = int(rng.integers(2, 300))
        total = float(rng.uniform(1e8, 1e11))
        known = [float(total * 0.3)] if rng.random() < 0.5 else []
        sizes = firm_sizes(rng, n, total, known, 1.05, 1.6, floor=float(rng.uniform(0, 1e6)))
        assert sizes.size == n
        assert sizes.sum() == pytest.approx(total, rel=1e-12)
        assert np.all(sizes > 0)


def test_firm_sizes_equal_shares_without_dispersion():
    # size_sigma 0 and a huge Pareto exponent: every draw is ~1, so the 4 unknown firms split
    # the rest equally: (100 - 40)/4 = 15 each
    sizes = firm_sizes(np.random.default_rng(3), 5, 100.0, [40.0], zipf_alpha=1e9, size_sigma=0.0)
    assert_allclose(sizes, [40.0, 15.0, 15.0, 15.0, 15.0], rtol=1e-6)


def test_firm_sizes_floor_is_capped_at_half_the_mean_share():
    # floor 50 asked for, but rest/m = 60/4 = 15 per firm: floor capped at 0.5*15 = 7.5
    sizes = firm_sizes(np.random.default_rng(4), 5, 100.0, [40.0], 1.05, 1.6, floor=50.0)
    assert np.all(sizes[1:] >= 7.5)
    assert sizes.sum() == pytest.approx(100.0, rel=1e-12)
    # the floored part is 4*7.5 = 30, the random part 30: not all firms sit at the floor
    assert np.any(sizes[1:] > 7.5 + 1e-9)


def test_firm_sizes_scale_with_total():
    a = firm_sizes(np.random.default_rng(5), 50, 1.0e9, [], 1.05, 1.6)
    b = firm_sizes(np.random.default_rng(5), 50, 3.0e9, [], 1.05, 1.6)
    assert_allclose(b, 3.0 * a, rtol=1e-12)


def test_firm_sizes_errors():
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="at least one firm"):
        firm_sizes(rng, 1, 100.0, [40.0], 1.05, 1.6)
    with pytest.raises(ValueError, match="exceed"):
        firm_sizes(rng, 3, 100.0, [60.0, 50.0], 1.05, 1.6)


def test_pick_weighted_distinct_and_positive_only():
    rng = np.random.default_rng(7)
    weights = np.array([0.0, 1.0, 5.0, 0.0, 2.0, -3.0, 0.5])
    for k in range(0, 5):
        picked = pick_weighted(rng, weights, k)
        assert picked.size == k
        assert np.unique(picked).size == k
        assert np.all(weights[picked] > 0)
    # asking for more than the positive-weight firms returns all of them
    assert sorted(pick_weighted(rng, weights, 10).tolist()) == [1, 2, 4, 6]
    assert pick_weighted(rng, np.zeros(4), 2).size == 0
    assert pick_weighted(rng, weights, 0).dtype.kind == "i"


def test_pick_weighted_single_draw_frequencies():
    rng = np.random.default_rng(8)
    weights = np.array([1.0, 2.0, 3.0, 0.0])
    n = 20_000
    hits = np.bincount([pick_weighted(rng, weights, 1)[0] for _ in range(n)], minlength=4) / n
    # P(i) = w_i / sum(w) = 1/6, 2/6, 3/6, 0; binomial se <= sqrt(0.25/20000) = 0.0035
    assert_allclose(hits, [1 / 6, 2 / 6, 3 / 6, 0.0], atol=0.015)


def test_pick_weighted_equal_weights_inclusion():
    rng = np.random.default_rng(9)
    n = 10_000
    hits = np.zeros(4)
    for _ in range(n):
        hits[pick_weighted(rng, np.ones(4), 2)] += 1
    # two of four equally weighted firms: each included with probability 2/4 = 0.5
    assert_allclose(hits / n, 0.5, atol=0.02)


def test_start_state_from_facts_and_sampling():
    st = StartState.from_facts()
    assert st.year == 2020
    assert st.firms == 30000  # zone_facts: over 30,000 firms at end-2020
    assert st.sector_output[SECTOR_IDS.index("auto")] == pytest.approx(240.0e9)
    assert (SECTOR_IDS.index("auto"), 169.7e9) in st.known_firms  # Beijing Benz
    with pytest.raises(ValueError):
        StartState.from_facts(2017)  # only 2015 (history mode) and 2020 exist
    sampled = st.with_sampled_outputs(np.random.default_rng(10))
    # published ranges: auto 200-260 bn, xinchuang 5-30 bn
    assert 200.0e9 <= sampled.sector_output[SECTOR_IDS.index("auto")] <= 260.0e9
    assert 5.0e9 <= sampled.sector_output[SECTOR_IDS.index("xinchuang")] <= 30.0e9
    assert not np.allclose(sampled.sector_output, st.sector_output)
    assert (sampled.firms, sampled.known_firms) == (st.firms, st.known_firms)


# ---------------------------------------------------------------------------------- params


def test_param_specs_match_the_yaml_file():
    free = load_yaml("parameters.yaml")["free"]
    specs = param_specs()
    assert list(specs) == list(free)
    spec = specs["sigma_ref"]
    assert (spec.value, spec.low, spec.high, spec.unit) == (0.30, 0.15, 0.50, "1/sqrt(yr)")
    for s in specs.values():
        assert s.low <= s.value <= s.high, s.name


def test_params_defaults_overrides_and_errors():
    p = Params()
    assert p.sigma_ref == 0.30
    assert p["vol_size_beta"] == 0.18
    assert len(p) == len(param_specs())
    q = Params({"sigma_ref": 0.2}, vol_size_beta=0.1)
    assert (q.sigma_ref, q.vol_size_beta) == (0.2, 0.1)
    # keyword overrides win over the mapping
    assert Params({"sigma_ref": 0.2}, sigma_ref=0.4).sigma_ref == 0.4
    with pytest.raises(KeyError):
        Params(not_a_parameter=1.0)
    with pytest.raises(AttributeError):
        _ = p.not_a_parameter
    r = p.replace(sigma_ref=0.45)
    assert r.sigma_ref == 0.45
    assert p.sigma_ref == 0.30  # original unchanged
    assert r.trend_auto == p.trend_auto


def test_params_trend_in_sector_order():
    # defaults: trend_auto 0.04, industrial_internet 0.13, ngit 0.10, biotech 0.09, xinchuang 0.25,
    # robotics 0.08, other 0.06 (parameters.yaml)
    assert_allclose(Params().trend(), [0.04, 0.13, 0.10, 0.09, 0.25, 0.08, 0.06])
    assert Params(trend_ngit=0.2).trend()[SECTOR_IDS.index("ngit")] == 0.2


def test_params_survive_pickle_round_trip():
    # regression: Params.__getattr__ used to recurse forever on an unpickled instance
    p = Params(sigma_ref=0.2)
    q = pickle.loads(pickle.dumps(p))
    assert q.sigma_ref == 0.2
    assert dict(q) == dict(p)


def test_params_can_be_copied():
    p = Params(sigma_ref=0.2)
    assert dict(copy.copy(p)) == dict(p)
    assert dict(copy.deepcopy(p)) == dict(p)


def test_column_store_survives_pickle_round_trip():
    store = ColumnStore(FIRM_COLUMNS)
    store.append(3, output=np.array([1.0, 2.0, 3.0]))
    back = pickle.loads(pickle.dumps(store))
    assert back.n == 3
    assert_array_equal(back.output, [1.0, 2.0, 3.0])


def test_default_params_uses_calibrated_point(monkeypatch):
    monkeypatch.setattr(calibration_store, "calibrated_point", lambda: {"sigma_ref": 0.22})
    p = default_params()
    assert p.sigma_ref == 0.22
    assert p.vol_size_beta == 0.18  # not calibrated -> default
    monkeypatch.setattr(calibration_store, "calibrated_point", dict)
    assert dict(default_params()) == dict(Params())


def test_sector_and_population_assumptions():
    sa = sector_assumptions()
    assert_allclose(sa["rd_intensity"], [0.025, 0.06, 0.07, 0.10, 0.10, 0.05, 0.015])
    # firm shares add up: 0.03 + 0.15 + 0.08 + 0.08 + 0.02 + 0.06 + 0.58 = 1.00
    assert sa["firm_share"].sum() == pytest.approx(1.0)
    assert sa["output_per_worker"][0] == 4.0e6
    pa = population_assumptions()
    assert (pa["zipf_alpha"], pa["size_sigma"]) == (1.05, 1.6)


def test_apply_uncertainties_fixed_values_and_ranges():
    p = Params()
    # no settings: the very same parameters
    assert apply_uncertainties(p, {}, np.random.default_rng(0)) is p
    # insertion order differs from sorted order on purpose
    settings = {"vol_size_beta": Range(low=0.1, high=0.2), "sigma_ref": Range(low=0.2, high=0.4), "agglomeration": 0.7}
    got = apply_uncertainties(p, settings, np.random.default_rng(123))
    # independent route: sorted names agglomeration (fixed), sigma_ref, vol_size_beta get u1, u2 in that order
    u1, u2 = np.random.default_rng(123).random(2)
    assert got.agglomeration == 0.7
    assert got.sigma_ref == pytest.approx(0.2 + 0.2 * u1, rel=1e-12)
    assert got.vol_size_beta == pytest.approx(0.1 + 0.1 * u2, rel=1e-12)
    assert got.trend_auto == p.trend_auto
    assert p.sigma_ref == 0.30  # original unchanged


def test_apply_uncertainties_draws_cover_the_range():
    rng = np.random.default_rng(1)
    draws = np.array(
        [apply_uncertainties(Params(), {"sigma_ref": Range(low=0.2, high=0.4)}, rng).sigma_ref for _ in range(4000)]
    )
    assert draws.min() >= 0.2
    assert draws.max() <= 0.4
    # uniform on [0.2, 0.4]: mean 0.3, sd 0.2/sqrt(12) = 0.057735
    assert abs(draws.mean() - 0.3) < 5 * 0.057735 / math.sqrt(4000)
    assert abs(draws.std() - 0.057735) < 0.003


# ----------------------------------------------------------------------------------- state


def test_column_store_append_defaults_and_rows():
    store = ColumnStore(FIRM_COLUMNS, capacity=4)
    rows = store.append(3, sector=2, output=np.array([1.0, 2.0, 3.0]))
    assert_array_equal(rows, [0, 1, 2])
    assert store.n == 3
    assert_array_equal(store.output, [1.0, 2.0, 3.0])
    assert_array_equal(store.sector, [2, 2, 2])
    assert store.sector.dtype == np.int8
    assert_array_equal(store.cash, [0.0, 0.0, 0.0])  # unset columns are zero
    assert_array_equal(store.alive, [True, True, True])
    rows = store.append(2, output=5.0)
    assert_array_equal(rows, [3, 4])
    assert_array_equal(store.output, [1.0, 2.0, 3.0, 5.0, 5.0])


def test_column_store_append_grows_capacity_and_keeps_earlier_rows():
    store = ColumnStore(COHORT_COLUMNS, capacity=1)  # minimum capacity 16
    assert len(store._data["alive"]) == 16
    store.append(10, field=np.arange(10), persons=np.arange(10) * 1.5)
    store.alive[3] = False
    store.append(10, field=7, persons=100.0)  # 20 rows > 16: grows to max(20, 2*16) = 32
    assert len(store._data["persons"]) == 32
    assert store.n == 20
    assert_array_equal(store.field[:10], np.arange(10))
    assert_allclose(store.persons[:10], np.arange(10) * 1.5)
    assert_array_equal(store.field[10:], [7] * 10)
    assert not store.alive[3]  # earlier state survives the copy
    store.append(100, persons=1.0)  # 120 rows > 32: grows to exactly 120
    assert len(store._data["level"]) == 120
    assert store.n == 120
    assert_allclose(store.persons[:10], np.arange(10) * 1.5)


def test_column_store_views_live_rows_and_errors():
    store = ColumnStore(FIRM_COLUMNS)
    store.append(5, output=1.0)
    store.output[2] = 7.0  # the attribute is a view: writes go to the store
    assert store.output[2] == 7.0
    store.alive[[1, 3]] = False
    assert_array_equal(store.live_rows(), [0, 2, 4])
    with pytest.raises(KeyError):
        store.append(1, not_a_column=1.0)
    with pytest.raises(AttributeError):
        _ = store.not_a_column
