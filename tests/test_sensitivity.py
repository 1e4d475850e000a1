"""`etown sensitivity`: SALib wrappers rank a dominant input first (toy function and the model),
design points map to scenarios and parameters, results do not depend on the worker count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.calibration import sensitivity as sa
from model.cli import app
from model.params import param_specs
from model.scenario import load_scenario, parse_scenario
from model.sectors import TARGET_SECTORS

from .conftest import SMALL_SCALE

TOY = [sa.Input("big", "param", 0, 1, "-"), sa.Input("small", "param", 0, 1, "-"), sa.Input("none", "param", 0, 1, "-")]


def _toy(X: np.ndarray) -> np.ndarray:
    y1 = 10 * X[:, 0] + 1 * X[:, 1] + 0 * X[:, 2]
    y2 = X[:, 0] ** 2 + 0.3 * X[:, 1] * X[:, 2]
    return np.column_stack([y1, y2, np.ones(len(X))])  # a constant outcome is skipped


def test_toy_function_ranks_dominant_input_first() -> None:
    prob = sa.problem(TOY)
    outcomes = ["y1", "y2", "const"]
    X = sa.morris_sample(prob, 20, seed=1)
    morris = sa.morris_indices(prob, X, _toy(X), outcomes, seed=1)
    assert set(morris["outcome"]) == {"y1", "y2"}
    rank = sa.ranking(morris)
    assert list(rank["input"]) == ["big", "small", "none"]
    y1 = morris[morris["outcome"] == "y1"].set_index("input")
    assert y1.loc["big", "mu_star"] == pytest.approx(10) and y1.loc["none", "mu_star"] == pytest.approx(0)

    Xs = sa.sobol_sample(prob, 512, seed=1)
    sobol = sa.sobol_indices(prob, _toy(Xs), outcomes, seed=1)
    s1 = sobol[sobol["outcome"] == "y1"].set_index("input")
    # linear y1: S1 = ST = a_i^2 / sum a^2 -> 100/101 and 1/101
    assert s1.loc["big", "S1"] == pytest.approx(100 / 101, abs=0.03)
    assert s1.loc["big", "ST"] == pytest.approx(100 / 101, abs=0.03)
    assert s1.loc["small", "ST"] == pytest.approx(1 / 101, abs=0.01)
    assert sa.ranking(sobol)["input"].iloc[0] == "big"


def test_design_point_maps_levers_and_params() -> None:
    base = parse_scenario(
        {"name": "x", "uncertainties": {"parameters": {"sigma_ref": {"low": 0.2, "high": 0.4}, "vp_effect": 0.7}}}
    )
    point = {
        "trend_xinchuang": 0.4,
        "sigma_ref": 0.25,
        "lever.special_funds_bn": 5.0,
        "lever.anchor_projects_per_target": 1.5,
        "lever.innovation_centres": 12.6,
        "lever.road_km": 100.0,
    }
    sc, params = sa.design_point_run(base, point)
    assert sc.policy.special_funds_yuan_per_year == 5e9
    assert sc.ecosystem.innovation_centres == 13
    assert sc.urban_scenarios.autonomous_driving_road_km == 100.0
    assert {s: sc.clusters.anchor_projects_per_year[s] for s in TARGET_SECTORS} == dict.fromkeys(TARGET_SECTORS, 1.5)
    assert sc.clusters.anchor_projects_per_year["auto"] == base.clusters.anchor_projects_per_year["auto"]
    assert (params.trend_xinchuang, params.sigma_ref) == (0.4, 0.25)
    # the design value wins over the scenario's sampled range; other uncertainties stay
    assert "sigma_ref" not in sc.uncertainties.parameters and sc.uncertainties.parameters["vp_effect"] == 0.7
    # nominal values: the scenario's levers in display units
    nominal = sa.nominal_point(base)
    assert nominal["lever.special_funds_bn"] == pytest.approx(base.policy.special_funds_yuan_per_year / 1e9)
    assert sa.select_inputs(None)[: len(param_specs())] == [
        sa.Input(s.name, "param", s.low, s.high, s.unit) for s in param_specs().values()
    ]
    with pytest.raises(ValueError, match="unknown input 'nope'"):
        sa.select_inputs(["nope"])
    # every lever range lies within what the scenario schema accepts
    for name, lv in sa.LEVERS_BY_NAME.items():
        for v in (lv.low, lv.high):
            sa.design_point_run(base, {name: v})


def test_model_end_to_end_dominant_trend_and_worker_independence(tmp_path: Path, baseline_path: Path) -> None:
    inputs = ["trend_ngit", "interest_rate", "lever.approval_months"]
    out = tmp_path / "sa"
    args = ["sensitivity", str(baseline_path), "--inputs", ",".join(inputs), "--out", str(out), "--workers", "1"]
    args += ["--n", "3", "--sobol-n", "8", "--sobol-top", "3", "--runs-per-point", "2", "--seed", "11"]
    result = CliRunner().invoke(app, [*args, "--scale", str(SMALL_SCALE), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "ten most influential inputs" in result.stdout
    for name in ("indices.csv", "sensitivity.json", "indices_morris.png", "indices_sobol.png", "design_sobol.csv"):
        assert (out / name).stat().st_size > 0
    table = pd.read_csv(out / "indices.csv")
    # the ngit demand trend (x1.2-2.3 over five years) dominates ngit output under both methods
    for method in ("morris", "sobol"):
        d = table[(table["method"] == method) & (table["outcome"] == "output_bn_ngit")]
        assert d.sort_values("index", ascending=False)["input"].iloc[0] == "trend_ngit"
    meta = json.loads((out / "sensitivity.json").read_text())
    assert meta["ranking_method"] == "sobol" and meta["sobol"]["points"] == 8 * (3 + 2)
    assert meta["morris"]["points"] == 3 * (3 + 1)
    # the same outcomes with two workers (a few design points, in chunks spread over the pool)
    design = pd.read_csv(out / "design_sobol.csv").iloc[: sa.POINTS_PER_TASK + 2]
    outcomes = sa.outcome_names(2025)
    again = sa.evaluate_design(
        load_scenario(baseline_path).scenario,
        inputs,
        design[inputs].to_numpy(),
        runs_per_point=2,
        seed=11,
        scale=SMALL_SCALE,
        workers=2,
    )
    np.testing.assert_allclose(again, design[outcomes].to_numpy(), rtol=1e-12)


def test_cli_errors_one_line_exit_2(baseline_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for args, expected in (
        (["--inputs", "trend_xinchuang,bogus"], "--inputs: unknown input 'bogus'"),
        (["--method", "fast"], "--method: must be morris, sobol or both"),
        (["--sobol-n", "12"], "--sobol-n must be a power of two"),
    ):
        result = runner.invoke(app, ["sensitivity", str(baseline_path), "--out", str(tmp_path / "x"), *args])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0]
    result = runner.invoke(app, ["sensitivity", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.stderr
