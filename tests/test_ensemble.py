"""Ensembles: same seed -> identical results with 1 or 2 workers; different seeds differ;
`etown run` writes runs.parquet, summary.json (documented shape) and fan_chart.png."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model import api
from model.analysis import wilson_interval
from model.cli import app
from model.ensemble import default_runs
from model.sectors import SECTOR_IDS, TARGET_SECTORS

from .conftest import SMALL_SCALE

VOLATILE = {"wall_time_s", "settings"}


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory, baseline_path: Path) -> api.EnsembleResult:
    out = tmp_path_factory.mktemp("w1")
    return api.run(baseline_path, runs=12, seed=11, workers=1, out=out, scale=SMALL_SCALE, progress=False)


def test_same_seed_identical_across_workers(
    one_worker: api.EnsembleResult, baseline_path: Path, tmp_path: Path
) -> None:
    two = api.run(baseline_path, runs=12, seed=11, workers=2, out=tmp_path, scale=SMALL_SCALE, progress=False)
    assert _stable(two.summary) == _stable(one_worker.summary)
    pd.testing.assert_frame_equal(two.sectors, one_worker.sectors)
    assert (tmp_path / "runs.parquet").read_bytes() == (one_worker.out / "runs.parquet").read_bytes()


def test_different_seeds_differ(one_worker: api.EnsembleResult, baseline_path: Path, tmp_path: Path) -> None:
    other = api.run(baseline_path, runs=12, seed=12, workers=1, out=tmp_path, scale=SMALL_SCALE, progress=False)
    a = one_worker.sectors.query("year == 2025")["output_yuan"].to_numpy()
    b = other.sectors.query("year == 2025")["output_yuan"].to_numpy()
    assert (a != b).all()
    # the 2020 start state is drawn per run from the published ranges: it differs between seeds too
    a20 = one_worker.sectors.query("year == 2020")["output_yuan"].to_numpy()
    b20 = other.sectors.query("year == 2020")["output_yuan"].to_numpy()
    assert not np.allclose(a20, b20)


def test_default_runs_give_five_point_intervals() -> None:
    n = default_runs()
    lo, hi = wilson_interval(n // 2, n)
    assert hi - lo <= 0.10
    lo, hi = wilson_interval(n // 2, n - 20)
    assert hi - lo > 0.0995  # and it is not grossly more than needed


def test_cli_run_end_to_end(tmp_path: Path, baseline_path: Path) -> None:
    out = tmp_path / "e2e"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(baseline_path),
            "--runs",
            "6",
            "--seed",
            "3",
            "--out",
            str(out),
            "--scale",
            str(SMALL_SCALE),
            "--workers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "P(>=100bn by 2025)" in result.stdout and "xinchuang" in result.stdout
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 6 * 6 * len(SECTOR_IDS)  # run x year x sector
    assert {"run", "year", "sector", "output_yuan", "firms", "employees"} <= set(runs.columns)
    png = (out / "fan_chart.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    s = json.loads((out / "summary.json").read_text())
    assert (s["scenario"], s["seed"], s["runs"], s["years"]) == ("baseline", 3, 6, list(range(2020, 2026)))
    assert len(s["scenario_sha256"]) == 64 and isinstance(s["model_version"], str)
    assert set(s["clusters"]) == set(SECTOR_IDS)
    for sid, c in s["clusters"].items():
        assert c["target"] == (sid in TARGET_SECTORS)
        assert 0.0 <= c["p_ci95"][0] <= c["p_100bn_by_2025"] <= c["p_ci95"][1] <= 1.0
        assert c["median_cross_year"] is None or 2021 <= c["median_cross_year"] <= 2025  # projected years
        assert set(c["output_bn"]) == {str(y) for y in range(2020, 2026)}
        for band in c["output_bn"].values():
            assert band["p10"] <= band["p50"] <= band["p90"]
    # formed 100-bn cluster in 2020: the start year does not count, it stays above from the first projected year
    assert s["clusters"]["auto"]["median_cross_year"] == 2021 and s["clusters"]["auto"]["p_100bn_by_2025"] == 1.0
    assert 0.0 <= s["p_all_four_targets"] <= min(s["clusters"][t]["p_100bn_by_2025"] for t in TARGET_SECTORS)
    for key in ("gdp_bn", "industrial_output_bn", "high_tech_firms", "talent_persons", "budget_spent_bn"):
        assert key in s["zone"]
    assert s["zone"]["gdp_bn"]["2020"]["p50"] == pytest.approx(204.54, rel=0.01)
    assert set(s["zone"]["budget_spent_bn"]) == {str(y) for y in range(2021, 2026)}  # projection years
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporaries
