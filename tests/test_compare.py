"""`etown compare` (issue 9): scenarios run with common random numbers; a scenario compared with
itself differs by exactly zero; pairing makes the intervals of differences narrower than an
unpaired comparison of the same runs; the command writes its table, CSV, JSON and chart and
prints the table; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from model.cli import app
from model.experiments.compare import run_compare
from model.experiments.paired import ci, unpaired_half_width
from model.scenario import load_scenario
from model.sectors import TARGET_SECTORS

from .conftest import SCENARIOS

runner = CliRunner()
RUNS, SCALE = 8, 0.01


def test_self_comparison_is_exactly_zero_and_crn_narrows_intervals(tmp_path: Path) -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    more = load_scenario(SCENARIOS / "measure5_policy.yaml")
    cmp = run_compare([base, base, more], tmp_path, runs=RUNS, seed=5, scale=SCALE, point_estimate=False)
    assert cmp.labels == ["baseline", "baseline-2", "measure5_policy"] and cmp.baseline == "baseline"
    t = cmp.table
    same = t[t["scenario"] == "baseline-2"]
    cols = ["p_diff", "p_diff_lo", "p_diff_hi", "output_diff_bn", "output_diff_lo_bn", "output_diff_hi_bn"]
    assert (same[cols].fillna(0.0).to_numpy() == 0.0).all()  # exactly zero, not approximately
    assert (same["p"].to_numpy() == t[t["scenario"] == "baseline"]["p"].to_numpy()).all()
    # the two ensembles are the same replications, bit for bit
    a = pd.read_parquet(cmp.folders["baseline"] / "runs.parquet")
    b = pd.read_parquet(cmp.folders["baseline-2"] / "runs.parquet")
    pd.testing.assert_frame_equal(a, b)
    # and share their sampled inputs with the other scenario (common random numbers)
    ia = pd.read_parquet(cmp.folders["baseline"] / "inputs.parquet")
    im = pd.read_parquet(cmp.folders["measure5_policy"] / "inputs.parquet")
    sampled = [c for c in ia.columns if not c.startswith("lever.")]
    pd.testing.assert_frame_equal(ia[sampled], im[sampled])
    other = t[(t["scenario"] == "measure5_policy") & t["cluster"].isin(TARGET_SECTORS)]
    paired_hw = (other["output_diff_hi_bn"] - other["output_diff_lo_bn"]) / 2
    assert (paired_hw < other["output_diff_unpaired_halfwidth_bn"]).all()


def test_paired_interval_narrower_than_unpaired_for_correlated_outcomes() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(100, 20, 200)  # what the two scenarios share (the same seeds)
    a, b = common + rng.normal(0, 1, 200), common + 3 + rng.normal(0, 1, 200)
    _, lo, hi = ci(b - a)
    assert lo < 3 < hi and (hi - lo) / 2 < unpaired_half_width(a, b) / 5


def test_cli_compare_writes_and_prints(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", str(SCENARIOS / "funding_cut.yaml"), str(SCENARIOS / "baseline.yaml"), "--baseline", "baseline"]
    result = runner.invoke(app, [*args, "--runs", "4", "--scale", str(SCALE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "comparison against baseline" in result.stdout and "funding_cut" in result.stdout
    table = pd.read_csv(out / "compare.csv")
    assert set(table["cluster"]) == {*TARGET_SECTORS, "all_four"} and len(table) == 2 * 5
    data = json.loads((out / "compare.json").read_text())
    assert data["baseline"] == "baseline" and data["probability_key"] == "p_100bn_by_2025"
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "scenarios" / "funding_cut" / "summary.json").is_file()


def test_cli_compare_bad_input_one_line_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    base = str(SCENARIOS / "baseline.yaml")
    for args, words in [
        ([base], "at least two"),
        ([base, base, "--baseline", "nope"], "--baseline"),
        ([base, str(tmp_path / "missing.yaml")], "file not found"),
    ]:
        result = runner.invoke(app, ["compare", *args, "--out", str(out), "--runs", "2"])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], result.stderr
    assert not out.exists()
