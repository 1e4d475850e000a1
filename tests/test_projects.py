"""`projects:` in scenario files (issue 16): add, change or remove projects of the known pipeline;
validated like levers (one line naming file, line and key); each field acts in the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.cluster_model import ClusterModel
from model.data import facts
from model.inputs import draw_inputs
from model.scenario import ScenarioError, load_scenario, parse_scenario

from .conftest import SCENARIOS

runner = CliRunner()
FAB = {"sector": "ngit", "investment_yuan": 3.0e10, "first_output": 2021.5, "delay_risk": 0.0}


def _scenario(projects: dict[str, Any], **levers: Any):
    return parse_scenario({"name": "fab", "projects": projects, **levers})


def _model(projects: dict[str, Any], quarters: int, **levers: Any) -> tuple[ClusterModel, int]:
    """A small model with `projects`, stepped `quarters`; and the new fab's pipeline row."""
    m = ClusterModel(_scenario(projects, **levers), rng=5, scale=0.01)
    row = m.inputs.pipeline.names.index("new_fab")
    for _ in range(quarters):
        m.step()
    return m, row


def test_pipeline_table_adds_changes_and_removes_projects() -> None:
    known = facts()["pipeline"]
    sc = _scenario(
        {
            "new_fab": {**FAB, "investment_yuan": {"low": 2.0e10, "high": 3.0e10}},
            "smic_jingcheng_fab": {"first_output": {"low": 2023.0, "high": 2024.0}},
            "boe_life_science_base": {"remove": True},
        }
    )
    table = sc.pipeline_table()
    assert list(table) == [*known, "new_fab"]  # known ones first, in the data file's order
    assert table["new_fab"]["investment_yuan"] == {"value": 2.5e10, "low": 2.0e10, "high": 3.0e10}
    assert table["new_fab"]["in_zone_probability"] == {"value": 1.0}
    smic = table["smic_jingcheng_fab"]
    assert (
        smic["first_output"]["low"] == 2023.0
        and smic["investment_yuan"] == known["smic_jingcheng_fab"]["investment_yuan"]
    )
    assert (
        table["boe_life_science_base"]["removed"]
        and table["boe_life_science_base"]["in_zone_probability"]["value"] == 0
    )


def test_other_projects_keep_their_draws_when_one_is_added_or_removed() -> None:
    plain = parse_scenario({"name": "plain"})
    changed = _scenario({"new_fab": FAB, "new_drug_base": {"remove": True}})
    for seed in np.random.SeedSequence(3).spawn(5):
        a, b = draw_inputs(seed, plain).draws, draw_inputs(seed, changed).draws
        for key, value in a.items():
            if "new_drug_base.in_zone" not in key:
                assert b[key] == value, key
        assert b["pipeline.new_drug_base.in_zone"] == 0.0 and b["pipeline.new_fab.in_zone"] == 1.0
        assert b["pipeline.new_fab.first_output"] == 2021.5


def test_each_project_field_acts_in_the_model() -> None:
    # on time: a 2021.5 fab with no delay risk starts producing after two quarters, then ramps up
    m, row = _model({"new_fab": {**FAB, "ramp_up_years": 0.75}}, 1)
    assert m.project_office.pipeline.alive[row]
    m.step()
    assert not m.project_office.pipeline.alive[row]
    f = m.firms
    fab = np.flatnonzero(f.anchor & (f.ramp_steps == 3) & f.alive)  # 0.75 years of quarters
    assert fab.size == 1 and f.ramp_left[fab[0]] == 2  # one step of offtake already ramped in
    # a construction that slips at 10 a year (92% of quarters) has not started after six
    m, row = _model({"new_fab": {**FAB, "delay_risk": 10.0}}, 6)
    assert m.project_office.pipeline.alive[row]
    # land still needed: waits for the zone's supply (none here)
    m, row = _model({"new_fab": {**FAB, "land_ha": 300}}, 2, policy={"land_hectares_per_year": 0})
    assert not m.project_office.pipeline.has_land[row] and m.project_office.pipeline.build_left[row] > 0
    # incentive owed: paid from project support; construction advances only as far as it is paid
    m, row = _model({"new_fab": {**FAB, "incentive_share": 0.5}}, 2)
    pl = m.project_office.pipeline
    assert pl.alive[row] and 0 < pl.incentive_left[row] < 0.5 * 3.0e10 and pl.build_left[row] > 0


@pytest.mark.parametrize(
    ("projects", "words"),
    [
        ({"new_fab": {"sector": "ngit"}}, "new_fab: not in the known pipeline"),
        ({"new_fab": {**FAB, "colour": "red"}}, "projects.new_fab.colour: unknown key"),
        ({"new_fab": {**FAB, "sector": "steel"}}, "projects.new_fab.sector"),
        ({"new_fab": {**FAB, "first_output": 2019.0}}, "projects.new_fab.first_output"),
        ({"new_fab": {**FAB, "first_output": {"low": 2024.0, "high": 2023.0}}}, "must not exceed high"),
        ({"new_fab": {**FAB, "delay_risk": 15.0}}, "projects.new_fab.delay_risk"),
        ({"nope": {"remove": True}}, "nope: not in the known pipeline"),
        ({"new_drug_base": {"remove": True, "land_ha": 3}}, "remove: true takes the project out; drop land_ha"),
        ({"New Fab": FAB}, "a project name is"),
    ],
)
def test_bad_projects_are_one_line_naming_the_key(projects: dict[str, Any], words: str, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="projects") as err:
        _scenario(projects)
    assert words in str(err.value) and "\n" not in str(err.value)
    # from a file: the file and line are named, exit status 2
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"name": "s", "projects": projects}))
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2 and res.stderr.startswith(f"etown: {path}: line ") and words in res.stderr


def test_projects_only_in_projections_from_2020() -> None:
    with pytest.raises(ScenarioError, match="only a projection from 2020"):
        parse_scenario({"name": "h", "start_year": 2015, "end_year": 2020, "projects": {"new_fab": FAB}})


def test_the_readme_fab_validates_and_says_what_it_adds(tmp_path: Path) -> None:
    path = tmp_path / "with_fab.yaml"
    path.write_text(
        f"inherits: {SCENARIOS / 'baseline.yaml'}\nname: with_fab\nprojects:\n"
        "  second_fab:\n    sector: ngit\n    investment_yuan: {low: 2.0e10, high: 3.0e10}\n"
        "    first_output: {low: 2023.5, high: 2024.5}\n    ramp_up_years: 2\n    land_ha: 60\n"
        "    incentive_share: 0.1\n    delay_risk: 0.4\n    in_zone_probability: 0.7\n"
        "  boe_life_science_base: {remove: true}\n"
    )
    assert load_scenario(path).scenario.projects["second_fab"].land_ha == 60
    out = runner.invoke(app, ["validate", str(path)]).stdout
    assert "projects.second_fab: added: sector ngit, investment_yuan 20-30 bn yuan, first_output 2023.5-2024.5" in out
    assert "projects.boe_life_science_base: removed" in out
