"""`etown compare` (issues 9, 15): scenarios run on common seeds, the seeds of `etown run` (each
scenario's P equals that of `etown run` with the same seed and runs); a scenario compared with
itself differs by exactly zero; pairing makes the intervals of differences narrower than an
unpaired comparison of the same runs; the command writes its table, CSV, JSON and chart and
prints the table with its precision; bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model import api
from model.calibration.store import default_source
from model.cli import app
from model.ensemble import RunSettings
from model.experiments.compare import run_compare
from model.experiments.core import Precision
from model.scenario import load_scenario
from model.sectors import TARGET_SECTORS
from model.stats import mean_ci, unpaired_half_width

from .conftest import SCENARIOS

runner = CliRunner()
RUNS, SCALE = 10, 0.01


def test_self_comparison_is_exactly_zero_crn_narrows_intervals_and_seeds_are_etown_runs(tmp_path: Path) -> None:
    base = load_scenario(SCENARIOS / "baseline.yaml")
    more = load_scenario(SCENARIOS / "measure5_policy.yaml")
    settings = RunSettings(scale=SCALE, param_source=default_source())  # as etown run and etown compare draw them
    cmp = run_compare([base, base, more], tmp_path / "c", seed=5, settings=settings, precision=Precision(max_runs=RUNS))
    assert cmp.labels == ["baseline", "baseline-2", "measure5_policy"] and cmp.baseline == "baseline"
    assert cmp.runs == RUNS and cmp.capped
    t = cmp.table
    same = t[t["scenario"] == "baseline-2"]
    cols = ["p_diff", "output_diff_bn", "output_diff_lo_bn", "output_diff_hi_bn"]
    assert (same[cols].fillna(0.0).to_numpy() == 0.0).all()  # exactly zero, not approximately
    assert (same["p"].to_numpy() == t[t["scenario"] == "baseline"]["p"].to_numpy()).all()
    other = t[(t["scenario"] == "measure5_policy") & t["cluster"].isin(TARGET_SECTORS)]
    paired_hw = (other["output_diff_hi_bn"] - other["output_diff_lo_bn"]) / 2
    assert (paired_hw < other["output_diff_unpaired_halfwidth_bn"]).all()
    # replication r is `etown run --seed 5`'s run r: the same P and median output
    run = api.run(
        SCENARIOS / "measure5_policy.yaml", runs=RUNS, seed=5, scale=SCALE, out=tmp_path / "r", progress=False
    )
    for cluster in TARGET_SECTORS:
        row = t[(t["scenario"] == "measure5_policy") & (t["cluster"] == cluster)].iloc[0]
        c = run.summary["clusters"][cluster]
        assert row["p"] == c["p_100bn_by_2025"]
        assert row["median_output_bn"] == pytest.approx(c["output_bn"]["2025"]["p50"], rel=1e-4)
    all_four = t[(t["scenario"] == "measure5_policy") & (t["cluster"] == "all_four")].iloc[0]
    assert all_four["p"] == run.summary["p_all_four_targets"]


def test_paired_interval_narrower_than_unpaired_for_correlated_outcomes() -> None:
    rng = np.random.default_rng(0)
    common = rng.normal(100, 20, 200)  # what the two scenarios share (the same seeds)
    a, b = common + rng.normal(0, 1, 200), common + 3 + rng.normal(0, 1, 200)
    d = mean_ci(b - a)
    lo, hi = d.lo, d.hi
    assert lo < 3 < hi and (hi - lo) / 2 < unpaired_half_width(a, b) / 5


def test_cli_compare_writes_and_prints(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    args = ["compare", str(SCENARIOS / "funding_cut.yaml"), str(SCENARIOS / "baseline.yaml"), "--baseline", "baseline"]
    result = runner.invoke(app, [*args, "--max-runs", "10", "--scale", str(SCALE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "comparison against baseline" in result.stdout and "funding_cut" in result.stdout
    assert "the cap stopped it at 10 runs" in result.stdout and "etown run --seed" in result.stdout
    table = pd.read_csv(out / "compare.csv")
    assert set(table["cluster"]) == {*TARGET_SECTORS, "all_four"} and len(table) == 2 * 5
    data = json.loads((out / "compare.json").read_text())
    assert data["baseline"] == "baseline" and data["probability_key"] == "p_100bn_by_2025"
    assert data["stopped_by_cap"] and data["precision_target"]["p"] == 0.05 and data["runs"] == 10
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_compare_bad_input_one_line_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    base = str(SCENARIOS / "baseline.yaml")
    for args, words in [
        ([base], "at least two"),
        ([base, base, "--baseline", "nope"], "--baseline"),
        ([base, str(tmp_path / "missing.yaml")], "file not found"),
    ]:
        result = runner.invoke(app, ["compare", *args, "--out", str(out), "--max-runs", "10"])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], result.stderr
    assert not out.exists()
