"""`etown discover` (issues 9, 15): PRIM finds a planted box; levers files are checked with
one-line errors; on the stand-in model with known P (tests/standin.py) every point is decided
as the truth says or left undecided near the boundary, at the precision asked, under two seeds,
and the boxes agree; a tiny discovery of the model runs end to end, writes its files and
resumes from its saved parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.ensemble import RunSettings
from model.experiments import core
from model.experiments import discover as dsc
from model.experiments.discover import DiscoveryError, apply_levers, prim_boxes, read_levers_file
from model.stats import probability

from .conftest import SCENARIOS
from .standin import true_p, use_standin

pytest.importorskip("ema_workbench")
runner = CliRunner()


def test_prim_finds_a_planted_box() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.random((600, 4)), columns=["funds", "anchors", "noise1", "noise2"])
    y = ((x["funds"] > 0.6) & (x["anchors"] < 0.5)).to_numpy()
    boxes = prim_boxes(x, y, min_density=0.9, max_boxes=1)
    assert len(boxes) == 1
    b = boxes[0]
    assert set(b.restricted) == {"funds", "anchors"}
    assert b.restricted["funds"][0] == pytest.approx(0.6, abs=0.1)
    assert b.restricted["anchors"][1] == pytest.approx(0.5, abs=0.1)
    assert b.density >= 0.9 and b.coverage >= 0.8
    assert prim_boxes(x, np.zeros(len(x), dtype=bool)) == []


def test_example_levers_file_and_lever_paths() -> None:
    spec = read_levers_file(SCENARIOS / "discovery" / "levers.yaml")
    assert spec.scenario.name == "baseline" and spec.points >= 2 and len(spec.levers) >= 3
    assert spec.event() == "P(all four >= 100 bn by 2025)"
    assert read_levers_file(SCENARIOS / "discovery" / "biotech.yaml").clusters == ("biotech",)
    sc = apply_levers(spec.scenario, {"clusters.anchor_projects_per_year.targets": 2.0, "policy.approval_months": 3})
    assert all(sc.clusters.anchor_projects_per_year[s] == 2.0 for s in ("ngit", "biotech", "xinchuang", "robotics"))
    assert sc.clusters.anchor_projects_per_year["auto"] == spec.scenario.clusters.anchor_projects_per_year["auto"]
    assert sc.policy.approval_months == 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("levers: {policy.nope: [0, 1]}\n", "line 1: levers.policy.nope: unknown lever"),
        ("levers:\n  policy.approval_months: [5, 2]\n", "line 2: levers.policy.approval_months: give [low, high]"),
        ("levers: {clusters.anchor_projects_per_year: [0, 1]}\n", "is given per sector"),
        ("levers: {policy.approval_months: [0, 100]}\n", "within the allowed"),
        ("points: 1\nlevers: {policy.approval_months: [2, 3]}\n", "line 1: points: must be an integer"),
        ("scenario: missing.yaml\nlevers: {policy.approval_months: [2, 3]}\n", "line 1: scenario"),
        ("levers: {}\n", "at least one lever"),
        ("clusters: [auto]\nlevers: {policy.approval_months: [2, 3]}\n", "line 1: clusters: give a list of target"),
        ("replications: 8\nlevers: {policy.approval_months: [2, 3]}\n", "line 1: replications: replaced by precision"),
        ("precision: 0\nlevers: {policy.approval_months: [2, 3]}\n", "line 1: precision: must be a number"),
    ],
)
def test_bad_levers_files_are_one_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "levers.yaml"
    path.write_text(text)
    with pytest.raises(DiscoveryError, match=None) as err:
        read_levers_file(path)
    assert words in str(err.value) and "\n" not in str(err.value)
    result = runner.invoke(app, ["discover", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("seed", [3, 4])
def test_decisions_on_the_standin_agree_with_the_truth(tmp_path: Path, monkeypatch, seed: int) -> None:
    use_standin(monkeypatch)
    levers = tmp_path / "levers.yaml"
    levers.write_text(
        f"scenario: {SCENARIOS / 'baseline.yaml'}\npoints: 30\np_min: 0.5\nprecision: 0.05\nmax_runs: 2000\n"
        "clusters: [biotech]\nlevers:\n  policy.special_funds_yuan_per_year: [0, 3.0e10]\n"
    )
    spec = read_levers_file(levers)
    res = dsc.run_discovery(spec, seed=seed, settings=RunSettings(scale=0.01))
    t = res.table
    truth = t["policy.special_funds_yuan_per_year"].map(lambda f: true_p(f / 1e9))
    assert (truth[t["decision"] == "pass"] >= 0.5 - 0.05).all() and (truth[t["decision"] == "fail"] < 0.5 + 0.05).all()
    far = (truth - 0.5).abs() > 0.1
    assert (t.loc[far, "decision"] != "undecided").all()  # far from the level: always decided
    assert ((truth >= 0.5) == (t["decision"] == "pass"))[far].all()
    undecided = t[t["decision"] == "undecided"]
    assert ((undecided["p_event_hi"] - undecided["p_event_lo"]) / 2 <= 0.05).all()  # precise, on the boundary
    assert res.capped == 0 and "PRIM on the" in res.format()
    box = res.boxes[0].restricted["policy.special_funds_yuan_per_year"]
    assert box[0] == pytest.approx(15e9, abs=2e9)  # P >= 0.5 from 15 bn/yr


def test_tiny_discovery_end_to_end_and_resume(tmp_path: Path, monkeypatch) -> None:
    levers = tmp_path / "levers.yaml"
    levers.write_text(
        f"scenario: {SCENARIOS / 'baseline.yaml'}\npoints: 4\nmax_runs: 10\np_min: 0.0\n"
        "levers:\n  policy.special_funds_yuan_per_year: [5.0e9, 2.0e10]\n  policy.approval_months: [2, 12]\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["discover", str(levers), "--scale", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 Latin-hypercube points, 40 runs" in result.stdout and "box 1" in result.stdout
    assert "4 pass, 0 fail, 0 undecided" in result.stdout  # P >= 0 always: decided at once
    data = json.loads((out / "discover.json").read_text())
    assert data["points"] == 4 and data["passing_points"] == 4 and data["boxes"]
    table = pd.read_csv(out / "discover.csv")
    assert len(table) == 4 and {"p_all_four", "passes", "decision", "runs", "policy.approval_months"} <= set(table)
    assert (out / "boxes.png").read_bytes()[:4] == b"\x89PNG" and (out / "discover.md").is_file()
    for _, row in table.iterrows():  # the interval is the Wilson interval of the point's runs
        est = probability(
            np.r_[
                np.ones(round(row["p_event"] * row["runs"])),
                np.zeros(row["runs"] - round(row["p_event"] * row["runs"])),
            ]
        )
        assert row["p_event_lo"] == pytest.approx(est.lo, abs=1e-3)
    # resumed: every block is read back from its part, none runs again
    monkeypatch.setattr(core, "_run_block", None)  # would fail if called
    spec = read_levers_file(levers)
    again = dsc.run_discovery(spec, seed=20210201, settings=_settings(), out=out)
    pd.testing.assert_series_equal(again.table["p_all_four"], table["p_all_four"], check_dtype=False, atol=1e-4)


def _settings() -> RunSettings:
    from model.calibration.store import default_source

    return RunSettings(scale=0.01, param_source=default_source())
