"""The dashboard's lever table, scenario building and live-plot readings (no browser)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.scenario import load_scenario

from .conftest import SCENARIOS, SMALL_SCALE

dash = pytest.importorskip("model.dashboard")


@pytest.mark.parametrize("name", ["baseline", "five_measures", "measure3_urban"])
def test_sliders_round_trip_the_scenario(name: str) -> None:
    """Building the scenario from the sliders' start values gives the file's levers back."""
    base = load_scenario(SCENARIOS / f"{name}.yaml").scenario
    rebuilt = dash.scenario_for(base, dash.lever_values(base))
    a, b = base.model_dump(), rebuilt.model_dump()
    shares_a, shares_b = a["policy"].pop("budget_shares"), b["policy"].pop("budget_shares")
    assert a == b
    assert shares_b == shares_a


def test_every_slider_names_a_lever_and_starts_on_its_grid() -> None:
    base = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    params = dash.slider_settings(base)
    data = base.model_dump()
    for s in dash.LEVER_SLIDERS:
        section, field, *_ = s.path.split(".")
        assert section in data and field in data[section], f"{s.path}: no such lever in the scenario schema"
        p = params[s.path]
        assert p["min"] <= p["value"] <= p["max"]
        k = (p["value"] - p["min"]) / p["step"]
        assert math.isclose(k, round(k), abs_tol=1e-9), (s.path, p)
        assert p["label"].endswith(f"[{s.unit}]")
    # a lever given per year starts at its end-year value (150 road-km by 2025 in five_measures)
    assert params["urban_scenarios.autonomous_driving_road_km"]["value"] == pytest.approx(
        base.at(base.end_year).urban_scenarios.autonomous_driving_road_km
    )
    assert params["urban_scenarios.autonomous_driving_road_km"]["mode"] == (
        "2025 value; moving it scales the 2021-2025 schedule"
    )
    assert params["talent.training_places_per_year"]["mode"] == "the same every year 2021-2025"


def test_slider_ranges_come_from_the_lever_declarations() -> None:
    from model.levers import lever_specs

    specs = {s.path: s.info for s in lever_specs()}
    for s in dash.LEVER_SLIDERS:
        head = ".".join(s.path.split(".")[:2])
        if head == "policy.budget_shares":
            assert (s.min, s.max, s.unit) == (0.0, 1.0, "share of the budget")
            continue
        lo, hi = specs[head].plausible
        assert (s.min * s.factor, s.max * s.factor) == (lo, hi), s.path
        assert s.unit.removeprefix("bn ") == specs[head].unit
        assert (s.max - s.min) / 100 <= s.step <= (s.max - s.min) / 20 or s.integer
    funds = next(s for s in dash.LEVER_SLIDERS if s.path == "policy.special_funds_yuan_per_year")
    assert (funds.unit, funds.factor, funds.step) == ("bn yuan/yr", 1e9, 0.5)


def test_a_slider_scales_a_schedule_instead_of_flattening_it() -> None:
    base = load_scenario(SCENARIOS / "funding_cut.yaml").scenario  # 10 bn in 2021, 5 bn from 2022
    sc = dash.scenario_for(base, {"policy.special_funds_yuan_per_year": 6.0})
    funds = sc.policy.special_funds_yuan_per_year
    assert [funds.at(y) for y in (2021, 2022, 2025)] == pytest.approx([12e9, 6e9, 6e9])
    ramp = load_scenario(SCENARIOS / "five_measures.yaml").scenario  # road-km: a ramp to 150 by 2025
    km = dash.scenario_for(ramp, {"urban_scenarios.autonomous_driving_road_km": 300.0})
    road = km.urban_scenarios.autonomous_driving_road_km
    old = ramp.urban_scenarios.autonomous_driving_road_km
    assert [road.at(y) for y in range(2021, 2026)] == pytest.approx([2 * old.at(y) for y in range(2021, 2026)])


def test_moved_sliders_change_levers_and_shares_are_rescaled() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml").scenario
    values = {
        "policy.special_funds_yuan_per_year": 15.0,
        "policy.budget_shares.talent": 0.6,
        "clusters.anchor_projects_per_year.robotics": 2.0,
        "ecosystem.innovation_centres": 25,
        "urban_scenarios.smart_city_procurement_yuan_per_year.xinchuang": 3.0,
    }
    sc = dash.scenario_for(base, values)
    assert sc.policy.special_funds_yuan_per_year == 15e9
    shares = sc.policy.budget_shares
    assert sum(shares.at(2021)) == pytest.approx(1.0)
    total = 1.0 - base.policy.budget_shares.talent + 0.6
    assert shares.talent == pytest.approx(0.6 / total)
    assert shares.guidance_equity == pytest.approx(base.policy.budget_shares.guidance_equity / total)
    assert sc.clusters.anchor_projects_per_year["robotics"] == 2.0
    assert sc.clusters.anchor_projects_per_year["ngit"] == base.clusters.anchor_projects_per_year["ngit"]
    assert sc.ecosystem.innovation_centres == 25
    assert sc.urban_scenarios.smart_city_procurement_yuan_per_year["xinchuang"] == 3e9
    assert sc.urban_scenarios.smart_city_procurement_yuan_per_year["ngit"] == 0.0


def test_dashboard_model_records_what_the_plots_show() -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml").scenario
    state = dash.LeverState({"ecosystem.pilot_bases": 9})  # what the page's sliders hold
    m = dash.DashboardModel(base, scale=SMALL_SCALE, rng=3, scenario=object(), levers=state)
    assert m.policy_scenario.ecosystem.pilot_bases == 9
    while m.running:
        m.step()
    t = m.trace
    assert len(t.time) == m.n_steps + 1 and t.time[0] == 2020.0 and t.time[-1] == 2025.0
    assert m.step_count == m.n_steps
    # the output plot reads the model's own run rate; the budget the government's ledger
    assert np.allclose(t.output[-1], m.sector_output())
    assert t.paid[-1].sum() == pytest.approx(m.government.ledger.paid.sum())
    assert np.all(np.diff(np.array(t.paid).sum(axis=1)) >= 0)
    assert dash.talent_pool(m) == pytest.approx(m.record.zone["talent_persons"][-1])
    sizes = dash.firm_sizes(m)
    assert sizes.size == int(m.firms.alive.sum()) and (sizes >= 0).all() and (sizes > 0).mean() > 0.99
    for make in (
        dash.cluster_output_figure,
        dash.clusters_past_figure,
        dash.firm_size_figure,
        dash.talent_figure,
        dash.budget_figure,
    ):
        assert dash.png(make(m))[:4] == b"\x89PNG"


def test_dashboard_command_rejects_a_bad_scenario_with_one_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from model.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\npolicy: {special_funds_yuan_per_year: -1}\n")
    result = CliRunner().invoke(app, ["dashboard", str(bad), "--port", "0"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("etown: ") and "special_funds_yuan_per_year" in lines[0]
