"""Scenario files: the shipped ones validate; each kind of mistake gives one line on stderr
naming the file and key, exit status 2, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.cli import app
from model.levers import BASELINE_LEVERS
from model.mechanisms.funding import INSTRUMENTS
from model.scenario import ScenarioError, load_scenario

from .conftest import SCENARIOS

runner = CliRunner()


@pytest.mark.parametrize("name", ["baseline", "five_measures", "no_policy"])
def test_shipped_scenarios_validate(name: str) -> None:
    loaded = load_scenario(SCENARIOS / f"{name}.yaml")
    assert loaded.scenario.name == name
    assert loaded.scenario.years == [2020, 2021, 2022, 2023, 2024, 2025]
    assert len(loaded.sha256) == 64


def test_baseline_is_2020_policies() -> None:
    sc = load_scenario(SCENARIOS / "baseline.yaml").scenario
    assert sc.policy == BASELINE_LEVERS.policy
    assert sc.policy.special_funds_yuan_per_year >= 10e9
    assert sc.clusters == BASELINE_LEVERS.clusters


def test_five_measures_reads_the_article() -> None:
    sc = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    end = sc.at(2025).ecosystem
    assert end.innovation_centres >= 20 and end.pilot_bases >= 10
    assert sc.ecosystem.key_technologies == 10
    assert sc.policy.special_funds_yuan_per_year >= 10e9
    assert sc.policy.approval_months < BASELINE_LEVERS.policy.approval_months


BAD = {
    "unknown_key": ("name: x\npolicy:\n  special_fundz: 1\n", "policy.special_fundz: unknown key; allowed: "),
    "wrong_type": ("name: x\necosystem:\n  innovation_centres: many\n", "ecosystem.innovation_centres: "),
    "out_of_range": (
        "name: x\npolicy:\n  special_funds_yuan_per_year: -5\n",
        "policy.special_funds_yuan_per_year: must be within [0, 2e+11] yuan/yr, got -5",
    ),
    "shares": (
        "name: x\npolicy:\n  budget_shares: {guidance_equity: 0.5, loan_interest: 0.5, rent: 0.5, "
        "rd_reward: 0, talent: 0, project_support: 0}\n",
        "policy.budget_shares: shares must sum to 1, got 1.5",
    ),
    "sector": (
        "name: x\nclusters:\n  anchor_projects_per_year: {steel: 1}\n",
        "clusters.anchor_projects_per_year.steel",
    ),
    "param": ("name: x\nuncertainties:\n  parameters: {no_such: 1}\n", "unknown parameter; allowed: trend_auto"),
    "yaml": ("name: x\npolicy: [1, 2\n", "not valid YAML at line"),
    "years": ("name: x\nstart_year: 2020\nend_year: 2019\n", "end_year"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_scenario_one_line_error_exit_2(tmp_path: Path, case: str) -> None:
    text, expected = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)
    for command in (["validate", str(path)], ["run", str(path), "--runs", "2", "--out", str(tmp_path / "out")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing written


def test_missing_file_and_real_process_exit_status(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", "validate", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"etown: {tmp_path / 'nope.yaml'}: file not found"


def test_inheritance_overrides_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("name: parent\npolicy:\n  approval_months: 2\n  rd_reward_rate: 0.3\n")
    (tmp_path / "child.yaml").write_text("inherits: parent.yaml\nname: child\npolicy:\n  approval_months: 4\n")
    sc = load_scenario(tmp_path / "child.yaml").scenario
    assert (sc.name, sc.policy.approval_months, sc.policy.rd_reward_rate) == ("child", 4, 0.3)
    (tmp_path / "loop.yaml").write_text("inherits: loop.yaml\n")
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(tmp_path / "loop.yaml")


ALL_SCENARIOS = sorted(SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("path", ALL_SCENARIOS, ids=[p.stem for p in ALL_SCENARIOS])
def test_every_shipped_scenario_validates_and_runs(path: Path) -> None:
    from model.cluster_model import ClusterModel

    sc = load_scenario(path).scenario
    assert sc.name == path.stem
    if sc.start_year != 2020:
        return  # history scenarios start from their own state (tests/test_calibration.py)
    model = ClusterModel(sc, rng=1, scale=0.02)
    for _ in range(4):
        model.step()
    assert model.record.sector_output[1].sum() > 0
    ledger = model.government.ledger
    first = sc.at(2021)
    special = ledger.paid[0, : len(INSTRUMENTS)].sum()  # the instruments: at most the special funds
    assert special <= first.policy.special_funds_yuan_per_year + first.ecosystem.innovation_fund_yuan_per_year
    assert ledger.paid[0, len(INSTRUMENTS) :].sum() == pytest.approx(ledger.provided[0, len(INSTRUMENTS) :].sum())


def test_stress_scenarios_inherit_five_measures() -> None:
    five = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    talent = load_scenario(SCENARIOS / "stress_talent_outflow.yaml").scenario
    assert talent.uncertainties.talent_outflow_shock > 0
    assert talent.ecosystem == five.ecosystem and talent.policy == five.policy


def test_funding_cut_halves_the_funds_from_2022() -> None:
    cut = load_scenario(SCENARIOS / "funding_cut.yaml").scenario
    base = BASELINE_LEVERS.policy.special_funds_yuan_per_year
    assert cut.at(2021).policy.special_funds_yuan_per_year == base
    assert [cut.at(y).policy.special_funds_yuan_per_year for y in (2022, 2025)] == [base / 2, base / 2]


def test_anchor_project_delay_pursues_nothing_until_2024() -> None:
    sc = load_scenario(SCENARIOS / "anchor_project_delay.yaml").scenario
    for y in (2021, 2022, 2023):
        assert not any(sc.at(y).clusters.anchor_projects_per_year.values())
    assert sc.at(2024).clusters.anchor_projects_per_year == BASELINE_LEVERS.clusters.anchor_projects_per_year
