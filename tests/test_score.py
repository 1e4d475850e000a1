"""`etown score`: ensemble CRPS against closed forms, hand-checked coverage and Brier scores on a
synthetic ensemble, the shipped made-up observations file end to end, one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from model.cli import app
from model.data import fact
from model.score import ObservationsError, crps_ensemble, crps_normal, load_observations, score_ensemble

from .conftest import SMALL_SCALE

DATA = Path(__file__).parent / "data"
BN = 1e9
runner = CliRunner()


# ---------------------------------------------------------------------- CRPS
def test_crps_normal_closed_form_matches_quantile_ensemble() -> None:
    m = 20_000
    mu, sigma = 3.0, 2.0
    members = mu + sigma * stats.norm.ppf((np.arange(1, m + 1) - 0.5) / m)
    for y in (-4.0, 0.0, 3.0, 5.5, 12.0):
        assert crps_ensemble(members, y) == pytest.approx(crps_normal(mu, sigma, y), rel=2e-3, abs=1e-3)
    # closed form at the mean: sigma * (sqrt(2) - 1) / sqrt(pi)
    assert crps_normal(mu, sigma, mu) == pytest.approx(sigma * (math.sqrt(2) - 1) / math.sqrt(math.pi))


def test_crps_ensemble_matches_pairwise_definition_and_broadcasts() -> None:
    rng = np.random.default_rng(0)
    ens = rng.normal(size=(5, 7))
    obs = rng.normal(size=5)
    brute = [
        np.mean(np.abs(e - y)) - 0.5 * np.mean(np.abs(e[:, None] - e[None, :])) for e, y in zip(ens, obs, strict=True)
    ]
    np.testing.assert_allclose(crps_ensemble(ens, obs), brute, rtol=1e-12)
    assert crps_ensemble(np.array([4.0]), 1.5) == pytest.approx(2.5)  # one member: absolute error
    assert crps_ensemble(np.full(9, 2.0), 2.0) == pytest.approx(0.0)


# ---------------------------------------------------------------------- synthetic ensemble, by hand
def _synthetic(folder: Path) -> Path:
    """10 runs, 2020-2022. ngit output: (r+1) x 5 / 10 / 20 bn; gdp 204.54 bn then 200 bn flat."""
    rows = []
    for r in range(10):
        for year, step in ((2020, 5), (2021, 10), (2022, 20)):
            rows.append({"run": r, "year": year, "sector": "ngit", "output_yuan": (r + 1) * step * BN})
    sectors = pd.DataFrame(rows)
    zone = pd.DataFrame(
        [{"run": r, "year": y, "gdp": (fact("zone", "gdp_yuan", 2020) if y == 2020 else 200 * BN)}
         for r in range(10) for y in (2020, 2021, 2022)]
    )  # fmt: skip
    folder.mkdir()
    sectors.to_parquet(folder / "runs.parquet", index=False)
    zone.to_parquet(folder / "zone.parquet", index=False)
    return folder


def test_score_hand_checked(tmp_path: Path) -> None:
    results = _synthetic(tmp_path / "res")
    obs = tmp_path / "obs.yaml"
    obs.write_text(
        "description: made-up\n"
        "sectors:\n  ngit: {2021: 5.0e10, 2022: 6.0e10, 2019: 1.0e10}\n"
        "zone:\n  gdp: {2021: 2.1e11}\n"
        "events:\n"
        "  - {cluster: ngit, year: 2021, passed: false}\n"
        "  - {cluster: ngit, year: 2022, passed: true}\n"
    )
    rep = score_ensemble(results, obs)
    ngit, gdp = rep["metrics"]["output:ngit"], rep["metrics"]["gdp"]
    # 2021 ensemble 10..100 bn: p25 32.5, p75 77.5 -> 50 bn inside both bands;
    # 2022 ensemble 20..200 bn: p10 38, p25 65 -> 60 bn inside 80% only
    assert (ngit["n"], ngit["inside_50"], ngit["inside_80"]) == (2, 0.5, 1.0)
    o21 = next(o for o in rep["observations"] if o["metric"] == "output:ngit" and o["year"] == 2021)
    assert (o21["p25"], o21["p50"], o21["p75"]) == pytest.approx((32.5 * BN, 55 * BN, 77.5 * BN))
    # ensemble median 55 and 110 bn vs 50 and 60: MALE = median(log 1.1, log(110/60))
    assert ngit["male"] == pytest.approx(np.median([math.log(1.1), math.log(110 / 60)]))
    # constant gdp ensemble (200 bn) vs 210 bn: CRPS is the absolute error, outside both bands
    assert gdp["crps"] == pytest.approx(10 * BN)
    assert (gdp["inside_50"], gdp["inside_80"]) == (0.0, 0.0)
    assert gdp["male"] == pytest.approx(math.log(1.05))
    assert rep["overall"] == {"n": 3, "inside_50": pytest.approx(1 / 3), "inside_80": pytest.approx(2 / 3)}
    # naive reference: ngit grows at the median first-year growth (x2) from its median 2020 value
    # (27.5 bn): 55 and 110 bn -> errors 5 and 50 bn
    assert ngit["reference_growth"] == pytest.approx(1.0)
    assert ngit["crps_reference"] == pytest.approx(27.5 * BN)
    # gdp uses 2015-2020 compound growth of the zone facts, from the 2020 median
    g = (fact("zone", "gdp_yuan", 2020) / fact("zone", "gdp_yuan", 2015)) ** 0.2 - 1
    assert gdp["reference_growth"] == pytest.approx(g)
    assert gdp["crps_reference"] == pytest.approx(abs(fact("zone", "gdp_yuan", 2020) * (1 + g) - 210 * BN))
    # events: P(ngit >= 100 bn by 2021) = 1/10 (run 9), by 2022 = 6/10 (runs 4-9)
    ev = rep["events"]
    assert [i["probability"] for i in ev["items"]] == pytest.approx([0.1, 0.6])
    assert ev["brier"] == pytest.approx((0.1**2 + 0.4**2) / 2)
    assert [i["probability_reference"] for i in ev["items"]] == [0.0, 1.0]  # 55 bn, then 110 bn
    assert ev["brier_reference"] == 0.0
    assert len(rep["skipped"]) == 1 and "2019" in rep["skipped"][0]


def test_cli_score_on_made_up_file(tmp_path: Path, baseline_path: Path) -> None:
    out = tmp_path / "ens"
    ran = runner.invoke(
        app, ["run", str(baseline_path), "--runs", "10", "--seed", "5", "--scale", str(SMALL_SCALE), "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    result = runner.invoke(app, ["score", str(out), str(DATA / "observations_made_up.yaml")])
    assert result.exit_code == 0, result.output
    rep = json.loads((out / "score.json").read_text())
    assert set(rep["metrics"]) == {
        "output:ngit",
        "output:biotech",
        "output:xinchuang",
        "gdp",
        "industrial_output",
        "high_tech_firms",
    }
    assert rep["overall"]["n"] == 9 and rep["events"]["n"] == 3
    assert 0 <= rep["events"]["brier"] <= 1
    assert rep["skipped"] == ["talent_persons 2030: outside the scored years 2021-2025"]
    assert "output:ngit" in result.stdout and "Brier" in result.stdout


BAD = {
    "unknown_key": ("sector:\n  ngit: {2021: 1.0}\n", "sector: unknown key; allowed: description, sectors"),
    "bad_metric": ("zone:\n  gdpp: {2021: 1.0}\n", "zone.gdpp.[key]: Input should be 'gdp'"),
    "bad_sector": ("sectors:\n  chips: {2021: 1.0}\n", "sectors.chips.[key]"),
    "negative": ("sectors:\n  ngit: {2021: -5}\n", "sectors.ngit.2021: Input should be greater than or equal to 0"),
    "event_bool": ("events:\n  - {cluster: ngit, year: 2022, passed: maybe}\n", "events.0.passed"),
    "event_key": ("events:\n  - {cluster: ngit, yr: 2022, passed: true}\n", "allowed: cluster, year, passed"),
    "empty": ("description: nothing\n", "no observations"),
    "yaml": ("sectors: [1, 2\n", "not valid YAML at line"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_observations_one_line_error_exit_2(tmp_path: Path, case: str) -> None:
    results = _synthetic(tmp_path / "res")
    text, expected = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ObservationsError) as info:
        load_observations(path)
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)
    result = runner.invoke(app, ["score", str(results), str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.output
    assert not (results / "score.json").exists()


def test_missing_results_and_observations(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(tmp_path), str(DATA / "observations_made_up.yaml")])
    assert result.exit_code == 2 and "no runs.parquet" in result.stderr
    results = _synthetic(tmp_path / "res")
    result = runner.invoke(app, ["score", str(results), str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and result.stderr.strip() == f"etown: {tmp_path / 'nope.yaml'}: file not found"
