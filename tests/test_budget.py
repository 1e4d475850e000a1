"""Budget conservation over whole runs, property-based over randomly drawn valid scenarios:
payouts never exceed what the scenario provides; every yuan is accounted for."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.cluster_model import ClusterModel
from model.mechanisms.funding import INSTRUMENTS
from model.scenario import parse_scenario

shares = st.lists(st.floats(0.0, 1.0), min_size=len(INSTRUMENTS), max_size=len(INSTRUMENTS)).filter(
    lambda xs: sum(xs) > 0.05
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    raw = draw(shares)
    total = sum(raw)
    normalised = [x / total for x in raw]
    normalised[-1] = 1.0 - sum(normalised[:-1])
    return {
        "name": "prop",
        "end_year": draw(st.integers(2021, 2023)),
        "policy": {
            "special_funds_yuan_per_year": draw(st.floats(0.0, 3.0e10)),
            "budget_shares": dict(zip(INSTRUMENTS, (max(v, 0.0) for v in normalised), strict=True)),
            "rd_reward_rate": draw(st.floats(0.0, 1.0)),
            "interest_subsidy_share": draw(st.floats(0.0, 1.0)),
            "rent_subsidy_share": draw(st.floats(0.0, 0.9)),
            "talent_subsidy_per_person_yuan": draw(st.floats(0.0, 5.0e5)),
            "private_leverage": draw(st.floats(0.0, 5.0)),
        },
        "ecosystem": {"innovation_fund_yuan_per_year": draw(st.floats(0.0, 2.0e9))},
        "clusters": {"anchor_projects_per_year": {"ngit": draw(st.floats(0.0, 3.0))}},
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_budget_conserved(data: dict, seed: int) -> None:
    sc = parse_scenario(data)
    model = ClusterModel(sc, rng=seed, scale=0.02)
    model.run()
    ledger = model.government.ledger
    paid = ledger.paid.sum(axis=2)  # [year, instrument]
    # conservation: provided + returned (exited stakes) == paid + unspent, per year and instrument
    np.testing.assert_allclose(ledger.provided + ledger.returned, paid + ledger.unspent, rtol=1e-9, atol=1.0)
    assert (ledger.paid >= 0).all() and (ledger.unspent >= -1.0).all()
    # provided is exactly what the scenario provides: special funds x share (+ innovation fund)
    years = sc.end_year - sc.start_year
    expected = np.array(
        [np.array(sc.policy.budget_shares.at(y)) * sc.at(y).policy.special_funds_yuan_per_year for y in sc.years[1:]]
    )
    assert expected.shape[0] == years
    expected[:, INSTRUMENTS.index("guidance_equity")] += sc.ecosystem.innovation_fund_yuan_per_year
    np.testing.assert_allclose(ledger.provided, expected, rtol=1e-9, atol=1.0)
    # the yearly budget_spent outcome is the ledger's total
    np.testing.assert_allclose(model.record.zone["budget_spent"][1:], paid.sum(axis=1), rtol=1e-12)
