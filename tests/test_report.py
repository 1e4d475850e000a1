"""`etown report`, `etown show` and `api.load` (issue 16): a self-contained bilingual report from
finished results, read tolerantly; a finished result reopened and redrawn without rerunning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model import report
from model.api import EnsembleResult, compare, load, run
from model.cli import app
from model.ensemble import EnsembleError
from model.i18n import TEXT, tr
from model.sectors import TARGET_SECTORS

from .conftest import SCENARIOS

runner = CliRunner()
RUNS, SCALE, SEED = 6, 0.01, 11


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two small ensembles on the same seed (paired), a comparison, and effects, uncertainty and
    backtest results in the shapes their commands write (synthetic numbers)."""
    root = tmp_path_factory.mktemp("report")
    out = {}
    for name in ("baseline", "five_measures"):
        out[name] = run(
            SCENARIOS / f"{name}.yaml", runs=RUNS, seed=SEED, scale=SCALE, out=root / name, progress=False
        ).out
    out["compare"] = root / "cmp"
    compare(
        [SCENARIOS / "baseline.yaml", SCENARIOS / "funding_cut.yaml"],
        max_runs=10,  # one block of runs (the experiment core's unit)
        seed=SEED,
        scale=SCALE,
        out=out["compare"],
        progress=False,
    )
    effects = root / "effects"
    effects.mkdir()
    rows = [
        {
            "variant": "measure 4: talent",
            "change": "talent.training_places_per_year 10000 -> 5000",
            "cluster": c,
            "output_diff_bn": -1.5,
            "output_lo_bn": -2.5,
            "output_hi_bn": -0.5,
            "p_diff": -0.05,
            "p_lo": -0.1,
            "p_hi": 0.0,
            "no_detectable_effect": False,
        }
        for c in TARGET_SECTORS
    ]
    (effects / "effects.json").write_text(
        json.dumps({"scenario": "five_measures", "by": "measure", "runs": 40, "seed": 1, "scale": 0.1, "effects": rows})
    )
    unc = root / "unc"
    unc.mkdir()
    comps = [
        {
            "outcome": "p_100bn:ngit",
            "mean": 0.9,
            "share_parameters": 0.2,
            "share_baseline": 0.1,
            "share_stochastic": 0.7,
        },
        {
            "outcome": "output_2025_bn:biotech",
            "mean": 96.0,
            "share_parameters": 0.5,
            "share_baseline": 0.3,
            "share_stochastic": 0.2,
        },
    ]
    (unc / "uncertainty.json").write_text(
        json.dumps(
            {"scenario": "baseline", "params": 30, "baselines": 4, "seeds": 4, "scale": 1.0, "components": comps}
        )
    )
    back = root / "backtest"
    back.mkdir()
    summary = {"n": 8, "inside_50": 0.25, "inside_80": 0.75, "mean_crps_log": 0.165, "naive_mean_crps_log": 0.224}
    (back / "backtest.json").write_text(json.dumps({"summary": summary, "settings": {"until": 2018}}))
    out.update({"effects": effects, "unc": unc, "backtest": back})
    return out


def _images(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def test_report_has_every_section_and_embeds_every_image(results: dict[str, Path]) -> None:
    paths = [results[k] for k in ("baseline", "five_measures", "compare", "effects", "unc", "backtest")]
    html = report.build_report(paths, "en")
    images = _images(html)
    # fan chart, two comparisons (the ensembles given, the compare folder), effects, variance split
    assert len(images) == 5 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in html and "https://" not in html  # self-contained
    summary = json.loads((results["baseline"] / "summary.json").read_text())
    for sid in TARGET_SECTORS:
        c = summary["clusters"][sid]
        lo, hi = c["p_ci95"]
        assert f"{c['p_100bn_by_2025']:.2f}" in html and f"[{lo:.2f}, {hi:.2f}]" in html
    for key in ("question_h", "fan_h", "uncertainty_h", "fit_h", "provenance_h", "effects_h"):
        assert tr(key, "en") in html
    assert tr("compare_h", "en", baseline="baseline") in html
    assert "Runs are paired (same seed 11" in html  # same seed, runs and scale: common random numbers
    assert "Out-of-sample test (calibrated to 2018, scored on 8 later values): 25% inside the 50% band" in html
    assert "+0.2 bn yuan" not in html and "-1.5 [-2.5, -0.5] bn yuan" in html  # differences with their CIs
    assert "@media print" in html and "@page" in html
    for field in (str(SEED), str(RUNS), str(SCALE), summary["model_version"], summary["scenario_sha256"][:12]):
        assert field in html


def test_chinese_report_translates_every_heading(results: dict[str, Path]) -> None:
    paths = [results[k] for k in ("baseline", "five_measures", "effects", "unc")]
    html = report.build_report(paths, "zh")
    assert '<html lang="zh-CN">' in html
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S))
    for key in (
        "question_h",
        "headline_h",
        "col_cluster",
        "col_ci",
        "col_words",
        "col_cross",
        "fan_h",
        "uncertainty_h",
        "fit_h",
        "provenance_h",
        "prov_seed",
        "col_dp",
        "effects_h",
    ):
        assert tr(key, "zh", end=2025) in visible, key
        assert tr(key, "en", end=2025) not in visible, key
    summary = json.loads((results["baseline"] / "summary.json").read_text())
    own_words = report._description(summary).replace("&", "&amp;")  # the scenario file's own text stays as written
    assert own_words in visible
    assert "亿元" in visible and "bn yuan" not in visible.replace(own_words, "")  # money in the planners' unit
    assert len(_images(html)) == 4


def test_sections_appear_only_for_the_results_given(results: dict[str, Path]) -> None:
    html = report.build_report([results["baseline"]], "en")
    assert len(_images(html)) == 1
    assert tr("effects_h", "en") not in html and "Comparison with" not in html
    assert tr("no_backtest", "en") in html
    # a comparison folder holds no ensemble of its own: a run folder is needed as the main result
    with pytest.raises(EnsembleError, match="give at least one etown run folder"):
        report.build_report([results["compare"]], "en")
    html = report.build_report([results["baseline"], results["compare"]], "en")
    assert "E-Town cluster projection: baseline" in html and len(_images(html)) == 2


def test_reader_is_tolerant_of_missing_fields(results: dict[str, Path], tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "effects.json").write_text(json.dumps({"effects": [{"variant": "v", "cluster": "ngit"}]}))
    html = report.build_report([results["baseline"], odd], "en")
    assert tr("effects_h", "en") in html  # shown with what is there (no chart without differences)
    assert len(_images(html)) == 1


def test_cli_report_writes_the_file_and_bad_input_is_one_line(results: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(results["baseline"]), "--lang", "zh", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    for args, words in [
        (["report", str(tmp_path)], "no result of etown run"),
        (["report", str(results["baseline"]), "--lang", "fr"], "--lang: must be en or zh"),
        (["report", str(results["effects"])], "give at least one result of etown run"),
    ]:
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and words in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_load_and_show_reopen_a_result_without_rerunning(results: dict[str, Path], tmp_path: Path) -> None:
    res = load(results["baseline"])
    assert isinstance(res, EnsembleResult)
    assert res.summary == json.loads((results["baseline"] / "summary.json").read_text())
    cmp = load(results["compare"])
    written = pd.read_csv(results["compare"] / "compare.csv")
    assert cmp.labels == ["baseline", "funding_cut"] and cmp.baseline == "baseline"
    pd.testing.assert_series_equal(cmp.table["p_diff"], written["p_diff"].astype(float), check_exact=False, rtol=1e-4)
    shown = runner.invoke(app, ["show", str(results["baseline"]), "--lang", "zh", "--out", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert tr("col_cluster", "zh") in shown.stdout and "新一代信息技术" in shown.stdout
    assert (tmp_path / "fan_chart_zh.png").read_bytes()[:4] == b"\x89PNG"
    shown = runner.invoke(app, ["show", str(results["compare"]), "--out", str(tmp_path)])
    assert shown.exit_code == 0 and "comparison against baseline" in shown.stdout
    assert (tmp_path / "compare.png").is_file()
    bad = runner.invoke(app, ["show", str(tmp_path / "nothing")])
    assert bad.exit_code == 2 and "not a folder" in bad.stderr


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    for key, (en, zh) in TEXT.items():
        assert en and zh, key
        names = [set(re.findall(r"{(\w+)", s)) for s in (en, zh)]
        assert names[0] == names[1], key
