"""`etown uncertainty`: the nested ANOVA recovers known variance components; a cell's inputs
share what they should (parameters, baseline) and differ in the rest; a tiny run end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.experiments import uncertainty as unc
from model.inputs import ParamSource
from model.scenario import load_scenario

from .conftest import SCENARIOS


def test_decompose_recovers_known_components() -> None:
    rng = np.random.default_rng(1)
    P, B, S = 200, 6, 6
    y = (
        rng.normal(0, 2.0, (P, 1, 1))  # parameters: var 4
        + rng.normal(0, 1.0, (P, B, 1))  # baseline: var 1
        + rng.normal(0, 0.5, (P, B, S))  # stochastic: var 0.25
    )
    d = unc.decompose(y)
    assert d["var_parameters"] == pytest.approx(4.0, rel=0.2)
    assert d["var_baseline"] == pytest.approx(1.0, rel=0.15)
    assert d["var_stochastic"] == pytest.approx(0.25, rel=0.05)
    assert sum(d[f"share_{s}"] for s in unc.SOURCES) == pytest.approx(1.0)
    assert d["sum_components"] == pytest.approx(d["variance"], rel=0.1)


def test_nested_inputs_fix_what_they_should() -> None:
    sc = load_scenario(SCENARIOS / "baseline.yaml").scenario
    source = ParamSource(posterior=(), prior_for_rest=True)
    a = unc.nested_inputs(sc, source, *unc.run_seeds(7, 0, 0, 0))
    b = unc.nested_inputs(sc, source, *unc.run_seeds(7, 0, 0, 1))  # same parameters and baseline
    c = unc.nested_inputs(sc, source, *unc.run_seeds(7, 0, 1, 0))  # same parameters
    d = unc.nested_inputs(sc, source, *unc.run_seeds(7, 1, 0, 0))
    assert dict(a.params) == dict(b.params) == dict(c.params) != dict(d.params)
    assert np.array_equal(a.start.sector_output, b.start.sector_output)
    assert not np.array_equal(a.start.sector_output, c.start.sector_output)
    assert not np.array_equal(a.shocks, b.shocks)


def test_uncertainty_command_tiny(tmp_path: Path) -> None:
    out = tmp_path / "u"
    args = ["uncertainty", str(SCENARIOS / "baseline.yaml"), "--params", "2", "--baselines", "2", "--seeds", "2"]
    result = CliRunner().invoke(app, [*args, "--scale", "0.02", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("uncertainty.csv", "uncertainty.json", "uncertainty.png"):
        assert (out / name).stat().st_size > 0
    assert "p_100bn_biotech" in result.stdout and "stochastic" in result.stdout
