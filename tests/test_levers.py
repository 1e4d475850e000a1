"""Every lever moves its own mechanism: with common random numbers, moving a lever from its 2020
value to its documented alternative moves the intermediate quantity it acts through (its
`metric`: credit granted, equity invested, innovations, entrants, talent inflow, projects won ...)
in the documented direction. A lever cut off from its mechanism fails here."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from model import outcomes as oc
from model.ensemble import RunSettings
from model.experiments.core import Point, Runner
from model.experiments.effects import Variant, lever_variants
from model.levers import BASELINE_LEVERS, Schedule, lever_specs
from model.scenario import load_scenario

from .conftest import SCENARIOS

RUNS = 16
SCALE = 0.05
SEED = 424242
BASE = load_scenario(SCENARIOS / "baseline.yaml").scenario
VARIANTS = {v.name: v for v in lever_variants(BASE)}


def _size(value: object) -> float:
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, Schedule):
        return sum(value.values())
    if hasattr(value, "loan_interest"):
        return float(value.loan_interest)  # budget shares: the loan-interest share moves
    return float(value)


METRICS = tuple(oc.zone(m) for m in sorted({v.metric for v in VARIANTS.values()}))
SETTINGS = RunSettings(scale=SCALE)
DIRECTION = {s.path: s.info.sign for s in lever_specs()} | {"policy.budget_shares": 1}
"""The documented direction of each lever's metric (budget shares: moving budget to loan-interest
subsidies, whose claims exceed their budget, raises what they pay)."""


@functools.cache
def _runner() -> Runner:
    """One runner for every comparison: the baseline's runs are made once (common seeds, stream 0)."""
    return Runner(METRICS, SEED)


def _metric_runs(variant: Variant) -> tuple[np.ndarray, np.ndarray]:
    col = [m.name for m in METRICS].index(variant.metric)
    base, moved = _runner().evaluate([Point(BASE, SETTINGS, 0), Point(variant.scenario, SETTINGS, 0)], RUNS)
    return base[:, col], moved[:, col]


def test_every_lever_is_tested() -> None:
    assert set(VARIANTS) == {s.path for s in lever_specs()} | {"policy.budget_shares"}
    assert all(v.scenario != BASE for v in VARIANTS.values())


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_lever_moves_its_mechanism(name: str) -> None:
    v = VARIANTS[name]
    ((_, without, with_),) = v.changes  # the measure: from `without` to `with_`
    direction = np.sign(_size(with_) - _size(without)) * DIRECTION[name]
    assert direction != 0
    base, moved = _metric_runs(v)
    diff = v.sign * (moved - base) * direction  # (with - without), signed by the documented direction
    # paired differences: positive in the typical run and clearly so (one-sided Wilcoxon signed-rank
    # test at 1%: a run whose populations diverge far does not mask the other fifteen)
    assert np.median(diff) > 0, f"{name}: {v.metric} moved {np.median(diff):+.4g} against the documented direction"
    if np.ptp(diff) > 0:
        assert stats.wilcoxon(diff, alternative="greater").pvalue < 0.01, (name, diff)


def test_baseline_is_2020_levers() -> None:
    for section in ("clusters", "ecosystem", "urban_scenarios", "talent", "policy"):
        assert getattr(BASE, section) == getattr(BASELINE_LEVERS, section)


def test_lever_docs_are_generated_from_the_declarations() -> None:
    from pathlib import Path

    from model.levers import format_lever_table

    doc = Path(__file__).resolve().parents[1] / "docs" / "levers.md"
    assert doc.read_text() == format_lever_table(markdown=True) + "\n", (
        "regenerate: etown levers --markdown > docs/levers.md"
    )


def test_effects_command_writes_the_table(tmp_path) -> None:
    """etown effects by measure on a tiny configuration: one block per measure (the effect of the
    measure the scenario changed is measured against 2020), a CSV and JSON; a bad --by is one
    line, exit 2."""
    import json

    from typer.testing import CliRunner

    from model.cli import app

    out = tmp_path / "fx"
    args = ["effects", str(SCENARIOS / "measure4_talent.yaml"), "--by", "measure", "--max-runs", "10"]
    result = CliRunner().invoke(app, [*args, "--scale", "0.02", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "effects.json").read_text())
    variants = {r["variant"] for r in report["effects"]}
    assert len(variants) == 5 and all(v.startswith("measure ") for v in variants)
    rows = [r for r in report["effects"] if r["variant"].startswith("measure 4")]
    assert "talent.programme_persons_per_year 2000 -> 5000" in rows[0]["change"]  # 2020 -> the scenario's
    assert rows[0]["basis"] == "the scenario's setting"
    assert {r["cluster"] for r in rows} == {"ngit", "biotech", "xinchuang", "robotics"}
    assert "measure 4" in result.stdout and (out / "effects.csv").stat().st_size > 0
    bad = CliRunner().invoke(app, ["effects", str(SCENARIOS / "baseline.yaml"), "--by", "sector"])
    assert bad.exit_code == 2 and "--by: must be lever or measure" in bad.stderr
