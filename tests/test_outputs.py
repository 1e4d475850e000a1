"""Per-run inputs and output hygiene (issue 9): inputs.parquet holds one row per run that a
re-draw from the run's seed reproduces, with the levers resolved per year; result files are
created with the user's umask; JSON figures are rounded; summary keys name the end year used;
`etown export` writes CSV files and an Excel workbook."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model import api
from model.calibration.store import default_source
from model.cli import app
from model.ensemble import EnsembleSpec
from model.inputs import draw_inputs
from model.io import round_sig, rounded, write_json
from model.levers import value_at
from model.scenario import load_scenario

from .conftest import SCENARIOS

runner = CliRunner()
TINY = 0.01


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> api.EnsembleResult:
    out = tmp_path_factory.mktemp("cut")
    return api.run(SCENARIOS / "funding_cut.yaml", runs=3, seed=9, out=out, scale=TINY, progress=False)


def test_inputs_parquet_rows_match_a_redraw(cut: api.EnsembleResult) -> None:
    table = pd.read_parquet(cut.out / "inputs.parquet")
    assert table["run"].tolist() == [0, 1, 2]
    sc = load_scenario(SCENARIOS / "funding_cut.yaml").scenario
    spec = EnsembleSpec(sc, 3, 9)
    for r in range(3):
        row = draw_inputs(spec.run_seed(r), sc, default_source()).row(sc.years)
        got = table.iloc[r]
        assert {k: got[k] for k in row} == pytest.approx(row, rel=0, abs=0)
    # levers: the per-year special funds resolved year by year (halved from 2022), the rest once
    funds = [table[f"lever.policy.special_funds_yuan_per_year.{y}"].iloc[0] for y in range(2021, 2026)]
    assert funds[0] == 2 * funds[1] and len(set(funds[1:])) == 1
    # a sector mapping: one column a sector, the scenario's (here the 2020) value
    ngit_2020 = value_at(sc.clusters.anchor_projects_per_year["ngit"], 2021)
    assert ngit_2020 > 0 and table["lever.clusters.anchor_projects_per_year.ngit"].iloc[0] == ngit_2020
    assert {c for c in table.columns if c.startswith("shock.2025.")}  # shocks of every projected year
    assert not table.isna().any().any()


def test_result_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o644
        os.umask(0o077)
        write_json(tmp_path / "b.json", {"x": 1})
        assert stat.S_IMODE(os.stat(tmp_path / "b.json").st_mode) == 0o600
    finally:
        os.umask(old)


def test_ensemble_files_readable_by_others_and_figures_rounded(cut: api.EnsembleResult) -> None:
    for name in ("summary.json", "runs.parquet", "zone.parquet", "inputs.parquet", "fan_chart.png"):
        assert stat.S_IMODE(os.stat(cut.out / name).st_mode) & 0o044 == 0o044, name
    s = json.loads((cut.out / "summary.json").read_text())
    p50 = s["clusters"]["ngit"]["output_bn"]["2025"]["p50"]
    assert p50 == round_sig(p50) and len(repr(p50).replace(".", "").lstrip("0")) <= 6
    assert s["end_year"] == 2025 and "p_100bn_by_2025" in s["clusters"]["ngit"]


def test_rounding_keeps_types_and_significant_digits() -> None:
    data = {"p": 0.38333333333333336, "n": 12, "ok": True, "xs": [123456.789, 0.0, float("nan")], "s": "a"}
    r = rounded(data)
    assert r["p"] == 0.38333 and r["n"] == 12 and r["ok"] is True and r["s"] == "a"
    assert r["xs"][:2] == [123460.0, 0.0] and np.isnan(r["xs"][2])


def test_summary_keys_named_for_the_end_year(tmp_path: Path) -> None:
    scenario = tmp_path / "long.yaml"
    scenario.write_text(f"inherits: {SCENARIOS / 'baseline.yaml'}\nname: long\nend_year: 2027\n")
    res = api.run(scenario, runs=2, seed=1, out=tmp_path / "out", scale=TINY, progress=False)
    c = res.summary["clusters"]["ngit"]
    assert "p_100bn_by_2027" in c and "p_100bn_by_2025" not in c
    assert "P(>=100bn by 2027)" in res.table()


def test_export_csv_and_xlsx(cut: api.EnsembleResult, tmp_path: Path) -> None:
    csv_dir = tmp_path / "csv"
    result = runner.invoke(app, ["export", str(cut.out), "--format", "csv", "--out", str(csv_dir)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in csv_dir.iterdir() if not p.name.startswith(".")} == {
        f"{n}.csv" for n in ("clusters", "output_bands", "zone_bands", "runs", "zone", "inputs", "units")
    }
    clusters = pd.read_csv(csv_dir / "clusters.csv")
    assert (
        clusters.set_index("cluster").loc["ngit", "p_100bn_by_2025"]
        == cut.summary["clusters"]["ngit"]["p_100bn_by_2025"]
    )
    runs = pd.read_csv(csv_dir / "runs.csv")
    assert len(runs) == 3 * 6 and "output_bn.biotech" in runs
    units = pd.read_csv(csv_dir / "units.csv")
    assert units["unit"].notna().all() and len(units) == sum(
        len(pd.read_csv(csv_dir / f"{n}.csv", nrows=0).columns) for n in set(units["sheet"])
    )
    xlsx = tmp_path / "cut.xlsx"
    result = runner.invoke(app, ["export", str(cut.out), "--format", "xlsx", "--out", str(xlsx)])
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(xlsx, sheet_name=None, skiprows=[1])  # row 2: units
    assert list(sheets) == ["about", "clusters", "output_bands", "zone_bands", "runs", "zone", "inputs"]
    pd.testing.assert_frame_equal(sheets["runs"], runs, check_dtype=False)
    bad = runner.invoke(app, ["export", str(tmp_path / "nothing"), "--format", "csv"])
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nothing").exists()


def test_workbook_is_formatted_for_planners(cut: api.EnsembleResult, tmp_path: Path) -> None:
    """Opened with openpyxl: the about sheet first (scenario, seed, runs, scale, version), a unit
    for every column, money in bn yuan everywhere, frozen headers, widths and number formats."""
    import openpyxl

    from model.export import export

    wb = openpyxl.load_workbook(export(cut.out, "xlsx", tmp_path / "w.xlsx"))
    assert wb.sheetnames[0] == "about"
    about = {}
    for key, value in wb["about"].iter_rows(min_row=2, max_col=2, values_only=True):
        if key is None:  # the column table follows
            break
        about[key] = value
    s = cut.summary
    assert about["scenario"] == s["scenario"] and about["seed"] == s["seed"] and about["runs"] == s["runs"]
    assert about["scale (share of firms simulated)"] == s["settings"]["scale"]
    assert about["model version"] == s["model_version"]
    for name in wb.sheetnames[1:]:
        ws = wb[name]
        names = [c.value for c in ws[1]]
        units = [c.value for c in ws[2]]
        assert all(isinstance(u, str) and u for u in units), (name, names, units)
        assert ws.freeze_panes == "A3" and ws[1][0].font.bold
        assert all(ws.column_dimensions[c.column_letter].width >= 8 for c in ws[1])
    zone = wb["zone"]
    names = [c.value for c in zone[1]]
    gdp = names.index("gdp_bn")
    assert zone.cell(2, gdp + 1).value == "bn yuan/yr"
    values = [r[gdp] for r in zone.iter_rows(min_row=3, values_only=True)]
    assert all(50 < v < 2000 for v in values)  # bn yuan (204.5 in 2020), not raw yuan
    assert zone.cell(3, gdp + 1).number_format == "#,##0.00"
    assert zone.cell(3, names.index("firms") + 1).number_format == "#,##0"
    clusters = wb["clusters"]
    p_col = [c.value for c in clusters[1]].index("p_100bn_by_2025") + 1
    assert clusters.cell(2, p_col).value == "probability" and clusters.cell(3, p_col).number_format == "0.000"
    inputs = [c.value for c in wb["inputs"][1]]
    row = next(wb["inputs"].iter_rows(min_row=3, max_row=3, values_only=True))
    funds = "lever.policy.special_funds_yuan_per_year_bn"  # funding_cut: 10 bn in 2021, halved from 2022
    assert row[inputs.index(f"{funds}.2021")] == pytest.approx(10.0)
    assert row[inputs.index(f"{funds}.2022")] == pytest.approx(5.0)
    assert wb["inputs"].cell(2, inputs.index(f"{funds}.2022") + 1).value == "bn yuan/yr"
    assert 60 < row[inputs.index("baseline.ngit_bn")] < 100


def test_run_warns_about_implausible_values(tmp_path: Path) -> None:
    scenario = tmp_path / "twenty.yaml"
    scenario.write_text(
        f"inherits: {SCENARIOS / 'baseline.yaml'}\nname: twenty\npolicy:\n  special_funds_yuan_per_year: 20\n"
    )
    result = runner.invoke(
        app, ["run", str(scenario), "--runs", "1", "--scale", str(TINY), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "warning: twenty: policy.special_funds_yuan_per_year: 20 yuan/yr is outside the plausible range" in (
        result.stderr
    )
