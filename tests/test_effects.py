"""`etown effects` (issue 15): signs are the effect of the measure (with it minus without it);
on the stand-in model with known answers (tests/standin.py) the effects, the extra money spent
and the effects per yuan come out right, every variant reaches its precision target, and two
seeds agree; the command writes a rounded CSV a planner can paste and a forest plot."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.ensemble import RunSettings
from model.experiments.core import Precision
from model.experiments.effects import lever_variants, measure_variants, run_effects, write_effects
from model.levers import lever_specs, with_levers
from model.scenario import Scenario

from .conftest import SCENARIOS
from .standin import true_p, use_standin

FUNDS = "policy.special_funds_yuan_per_year"


def _scenario() -> Scenario:
    return with_levers(Scenario(name="more_funds"), {FUNDS: 15e9})  # 2020: 10 bn/yr


def test_variants_say_which_side_has_the_measure() -> None:
    sc = _scenario()
    by = {v.name: v for v in lever_variants(sc)}
    funds = by[FUNDS]  # the scenario sets it: the variant is the scenario without it
    assert funds.sign == -1 and funds.basis == "the scenario's setting"
    assert funds.changes == ((FUNDS, 10e9, 15e9),) and funds.scenario.policy.special_funds_yuan_per_year == 10e9
    months = by["policy.approval_months"]  # kept at 2020: the variant is the documented alternative
    assert months.sign == 1 and months.basis == "the documented alternative"
    assert months.scenario.policy.approval_months == next(
        s.info.alternative for s in lever_specs() if s.path == "policy.approval_months"
    )
    assert funds.costs_money and not months.costs_money
    m5 = next(v for v in measure_variants(sc) if v.measure == 5)
    assert m5.sign == -1 and m5.costs_money and m5.name.isascii()


@pytest.mark.parametrize("seed", [5, 6])
def test_effects_on_the_standin(monkeypatch, seed: int) -> None:
    use_standin(monkeypatch)
    res = run_effects(_scenario(), seed=seed, settings=RunSettings(scale=0.01), precision=Precision(0.05, 1.0, 1000))
    assert not res.capped  # every variant reached the target
    t = res.table.set_index(["variant", "cluster"])
    dp = true_p(15) - true_p(10)
    row = t.loc[(FUNDS, "biotech")]
    assert row["output_effect_bn"] == pytest.approx(100 * dp)  # paired: exactly, the noise cancels
    assert abs(row["p_effect"] - dp) <= 1.5 * (row["p_hi"] - row["p_lo"]) / 2 and row["p_hi"] - row["p_lo"] <= 0.1
    assert not row["no_detectable_effect"]
    other = t.loc[("policy.approval_months", "biotech")]  # the stand-in ignores it: exactly no effect
    assert other["output_effect_bn"] == 0 and other["p_effect"] == 0 and other["no_detectable_effect"]
    money = res.money.set_index("variant")
    m = money.loc[FUNDS]
    assert m["extra_spent_bn"] == pytest.approx(5 * (15 - 10))  # the stand-in spends 5 F bn over the years
    assert m["output_per_yuan"] == pytest.approx(100 * dp / 25) and m["output_per_yuan_lo"] <= m["output_per_yuan"]
    assert m["value_added_per_yuan"] == pytest.approx(0, abs=1e-12)
    assert pd.isna(money.loc["policy.approval_months", "output_per_yuan"])  # not a spending lever
    text = res.format()
    assert "effects of each lever" in text and "scenario with the lever minus scenario without it" in text
    assert "per extra yuan" in text


def test_cli_effects_writes_a_table_to_paste_and_a_forest_plot(tmp_path: Path) -> None:
    out = tmp_path / "fx"
    args = ["effects", str(SCENARIOS / "measure5_policy.yaml"), "--by", "measure", "--max-runs", "10"]
    result = CliRunner().invoke(app, [*args, "--scale", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "the cap (--max-runs 10) stopped" in result.stdout and "measure 5" in result.stdout
    table = pd.read_csv(out / "effects.csv")
    assert len(table) == 5 * 4 and (table["runs"] == 10).all()
    for col in ("output_effect_bn", "output_lo_bn", "p_effect"):  # rounded: no 15-digit numbers
        assert table[col].map(lambda x: len(f"{x}".split(".")[-1]) <= 3).all()
    numbers = table.drop(columns=["variant", "change", "basis", "cluster", "metric", "metric_unit"]).to_csv()
    assert "e+" not in numbers and "e-" not in numbers
    money = pd.read_csv(out / "effects_money.csv")
    assert {"extra_spent_bn", "output_per_yuan", "value_added_per_yuan", "entry_share"} <= set(money.columns)
    data = json.loads((out / "effects.json").read_text())
    assert data["sign"].startswith("effect of the measure") and data["units"]["extra_spent_bn"].startswith("bn yuan")
    assert (out / "effects.png").read_bytes()[:4] == b"\x89PNG"
    # resumed from its parts: the same numbers
    again = CliRunner().invoke(app, [*args, "--scale", "0.01", "--out", str(out)])
    assert again.exit_code == 0 and pd.read_csv(out / "effects.csv").equals(table)
    bad = CliRunner().invoke(app, [*args, "--scale", "0.01", "--out", str(out), "--seed", "1"])
    assert bad.exit_code == 2 and "--fresh" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_write_effects_rounds(tmp_path: Path, monkeypatch) -> None:
    use_standin(monkeypatch)
    res = run_effects(_scenario(), seed=1, settings=RunSettings(scale=0.01), precision=Precision(0.05, 1.0, 40))
    write_effects(res, tmp_path)
    money = pd.read_csv(tmp_path / "effects_money.csv").set_index("variant")
    assert money.loc[FUNDS, "output_per_yuan"] == round(100 * (true_p(15) - true_p(10)) / 25, 3)
