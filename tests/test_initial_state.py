"""The 2020 start state reproduces the data file: sector outputs, industrial output, GDP,
firm and high-tech counts, the Benz anchor; agents are real Mesa agents."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from model.agents import Firm, TalentCohort
from model.cluster_model import ClusterModel
from model.data import fact, facts
from model.params import sector_assumptions
from model.scenario import parse_scenario
from model.sectors import INDUSTRIAL_MASK, SECTOR_IDS

CENTRAL = parse_scenario({"name": "central", "uncertainties": {"sample_baseline_ranges": False}})
"""The baseline with the 2020 sector outputs at their central estimates (not drawn from their ranges)."""


@pytest.fixture(scope="module")
def full() -> ClusterModel:
    return ClusterModel(CENTRAL, rng=7)  # full scale: one agent per firm


def test_sector_outputs_match_central_estimates(full: ClusterModel) -> None:
    expected = np.array([fact("sectors", s, "output_2020") for s in SECTOR_IDS])
    np.testing.assert_allclose(full.sector_output(), expected, rtol=0.01)
    np.testing.assert_allclose(full.record.sector_output[0], expected, rtol=0.01)


def test_industrial_output_and_gdp_match_2020(full: ClusterModel) -> None:
    zone = full.record.zone
    assert zone["industrial_output"][0] == pytest.approx(fact("zone", "industrial_output_yuan", 2020), rel=0.01)
    assert zone["gdp"][0] == pytest.approx(fact("zone", "gdp_yuan", 2020), rel=0.01)
    # the four leading industries' share matches the published ~94% (over 93%)
    four = full.sector_output()[[SECTOR_IDS.index(s) for s in ("auto", "ngit", "biotech", "robotics")]].sum()
    assert four / zone["industrial_output"][0] > fact("zone", "four_leading_share_2020") - 0.01


def test_gdp_mapping_uses_value_added_ratios(full: ClusterModel) -> None:
    va = sector_assumptions()["va_ratio"]
    rest = fact("zone", "gdp_yuan", 2020) - va @ full.sector_output()
    assert 0 < rest < fact("zone", "gdp_yuan", 2020) / 2  # the clusters carry most of GDP


def test_firm_and_high_tech_counts(full: ClusterModel) -> None:
    firms = full.agents_by_type[Firm]
    assert len(firms) == fact("zone", "firms", 2020) >= 30000
    assert sum(1 for a in firms if a.high_tech) == fact("zone", "high_tech_firms", 2020)
    assert full.record.zone["high_tech_firms"][0] == fact("zone", "high_tech_firms", 2020)


def test_benz_anchor_and_concentration(full: ClusterModel) -> None:
    benz = facts()["sectors"]["auto"]["known_firms"][0]["output_2020"]["value"]
    auto = np.array([a.output for a in full.agents_by_type[Firm] if a.sector == "auto"])
    assert auto.max() == pytest.approx(benz)
    assert auto.max() / auto.sum() > 0.6  # one anchor carries most of the cluster
    outputs = np.array([a.output for a in full.agents_by_type[Firm]])
    top1pct = np.sort(outputs)[-len(outputs) // 100 :].sum() / outputs.sum()
    assert top1pct > 0.5  # heavy tail: the largest 1% of firms make most of the output


def test_industrial_flags_cover_industrial_output() -> None:
    total = sum(fact("sectors", s, "output_2020") for s, ind in zip(SECTOR_IDS, INDUSTRIAL_MASK, strict=True) if ind)
    assert total == pytest.approx(fact("zone", "industrial_output_yuan", 2020), rel=1e-6)


def test_scale_keeps_totals_and_shrinks_counts() -> None:
    small = ClusterModel(CENTRAL, rng=1, scale=0.05)
    np.testing.assert_allclose(
        small.sector_output().sum(),
        fact("zone", "industrial_output_yuan", 2020)
        + fact("sectors", "industrial_internet", "output_2020")
        + fact("sectors", "xinchuang", "output_2020"),
        rtol=1e-6,
    )
    # the same full-scale population stands behind it: large and known firms are individual agents
    # (the same firms as at full scale), the others a 5% sample weighted to their stratum's count
    f = small.firms
    big = f.weight == 1.0
    full = ClusterModel(CENTRAL, rng=1, scale=1.0).firms
    large = np.sort(full.output[full.anchor | (full.output >= small.pop["individual_output_yuan"])])
    np.testing.assert_array_equal(np.sort(f.output[big]), large)
    # each sector keeps max(5%, min_sampled_agents) agents for its small firms (all, if fewer)
    per_sector = np.bincount(full.sector[~(full.anchor | (full.output >= small.pop["individual_output_yuan"]))])
    expected = np.minimum(per_sector, np.maximum(np.round(0.05 * per_sector), small.pop["min_sampled_agents"]))
    assert (~big).sum() == expected.sum()
    assert len(small.agents_by_type[Firm]) == f.n < 0.15 * fact("zone", "firms", 2020)
    assert small.record.sector_firms[0].sum() == pytest.approx(fact("zone", "firms", 2020))


def test_agents_are_mesa_agents_and_talent_pool_matches_demand(full: ClusterModel) -> None:
    firm = next(iter(full.agents_by_type[Firm]))
    assert isinstance(firm, mesa.Agent) and firm.model is full
    assert firm.stage in {"startup", "growth", "large", "anchor"}
    cohorts = full.agents_by_type[TalentCohort]
    persons = sum(c.persons for c in cohorts)
    employees = full.record.sector_employees[0].sum()
    assert persons == pytest.approx(employees / (1 - full.pop["slack_share"]), rel=0.02)
    assert {c.level for c in cohorts} == {1, 2, 3}


def test_exited_firms_are_removed_from_mesa() -> None:
    m = ClusterModel(rng=3, scale=0.05)
    for _ in range(8):
        m.step()
    alive = int(m.firms.alive.sum())
    assert len(m.agents_by_type[Firm]) == alive
    assert m.record.zone["exits"][1] > 0
    assert all(m.firms.alive[a.row] for a in m.agents_by_type[Firm])


def test_datacollector_reporters_see_agents() -> None:
    m = ClusterModel(rng=5, scale=0.02)
    dc = mesa.DataCollector(
        model_reporters={"firms": lambda mm: len(mm.agents_by_type[Firm])},
        agenttype_reporters={Firm: {"output": "output"}},
    )
    dc.collect(m)
    m.step()
    dc.collect(m)
    frame = dc.get_model_vars_dataframe()
    assert list(frame["firms"]) == [m.n_start_firms, len(m.agents_by_type[Firm])]
    assert dc.get_agenttype_vars_dataframe(Firm)["output"].sum() > 0


def test_2020_outputs_are_drawn_from_their_published_ranges() -> None:
    """By default every run starts from 2020 sector outputs drawn within the data file's ranges."""
    from model.data import fact_range

    draws = np.array([ClusterModel(rng=s, scale=0.01).start.sector_output for s in range(40)])
    for i, s in enumerate(SECTOR_IDS):
        lo, hi = fact_range("sectors", s, "output_2020")
        assert (draws[:, i] >= lo - 1).all() and (draws[:, i] <= hi + 1).all()
        if hi > lo:
            assert draws[:, i].std() > 0.15 * (hi - lo)  # uniform: sd = 0.29 x width


def test_known_large_firms_have_their_sector_margin(full: ClusterModel) -> None:
    """Beijing Benz (and any known firm) keeps its sector's mean margin: no draw can make it a loss-maker."""
    f = full.firms
    anchors = np.flatnonzero(f.anchor)
    assert anchors.size >= 1
    np.testing.assert_allclose(f.margin[anchors], sector_assumptions()["margin"][f.sector[anchors]])


def test_known_firms_and_major_projects_are_never_start_ups() -> None:
    """Regression: Beijing Benz, drawn a young age, used to pay the start-up cash burn and could
    die in a bad run; known firms and major projects are backed by their parents from day one."""
    from model.firm_rules import startup

    m = ClusterModel(CENTRAL, rng=3, scale=0.02)
    f = m.firms
    f.age[:] = 0
    assert not startup(f.age, f.anchor, m.startup_steps)[f.anchor].any()
    assert startup(f.age, f.anchor, m.startup_steps)[~f.anchor].all()
