"""Charts: library code never picks a matplotlib backend; the fan chart carries what a report needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from matplotlib.figure import Figure

from model import plots
from model.api import run
from model.sectors import SECTORS

from .conftest import ROOT, SMALL_SCALE

BACKEND_PROBE = textwrap.dedent(
    """
    import json, sys
    import matplotlib
    before = matplotlib.rcParams._get("backend")
    import model.api, model.plots, model.calibration.fit, model.calibration.sensitivity
    from model.api import EnsembleResult
    after_import = matplotlib.rcParams._get("backend")
    # building and saving a chart does not pick one either
    from model.plots import fan_chart, save_figure
    res = EnsembleResult(json.load(open(sys.argv[1] + "/summary.json")), __import__("pathlib").Path(sys.argv[1]))
    save_figure(fan_chart(res.sectors, res.summary), sys.argv[1] + "/probe.png")
    print(json.dumps({
        "before": str(before),
        "after_import": str(after_import),
        "after_plot": str(matplotlib.rcParams._get("backend")),
        "pyplot": "matplotlib.pyplot" in sys.modules,
    }))
    """
)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("fan") / "five"
    return run(ROOT / "scenarios" / "five_measures.yaml", runs=8, seed=5, scale=SMALL_SCALE, out=out, progress=False)


@pytest.mark.parametrize("backend", ["svg", "module://matplotlib_inline.backend_inline"])
def test_importing_the_api_and_plotting_leave_the_backend_alone(small_run, backend: str) -> None:
    """A fresh interpreter whose user chose a backend (a notebook's inline one, or any other)
    keeps it after importing the API and building and saving a chart."""
    env = {**os.environ, "MPLBACKEND": backend}
    proc = subprocess.run(
        [sys.executable, "-c", BACKEND_PROBE, str(small_run.out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["before"] == backend
    assert seen["after_import"] == backend and seen["after_plot"] == backend
    assert not seen["pyplot"], "library code imported pyplot (global figure state, backend resolution)"
    assert (small_run.out / "probe.png").read_bytes()[:4] == b"\x89PNG"


def _texts(fig: Figure) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), *(t.get_text() for t in ax.texts)]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return out


def test_fan_chart_is_report_ready(small_run) -> None:
    fig = small_run.fan_chart()
    assert isinstance(fig, Figure)
    s = small_run.summary
    texts = "\n".join(_texts(fig))
    # footer: scenario, runs, seed, scale
    assert "scenario five_measures · 8 runs · seed 5 · scale 0.05" in texts
    panels = [ax for ax in fig.axes if ax.axison]
    ordered = sorted(SECTORS, key=lambda x: not x.target_2025)
    assert len(panels) == len(SECTORS)
    # the four targets together on the first row, the others below
    first_row = {round(ax.get_position().y0, 3) for ax in panels[:4]}
    assert len(first_row) == 1 and all(ax.get_position().y0 < min(first_row) for ax in panels[4:])
    assert [ax.get_title().split("\n")[0] for ax in panels[:4]] == [f"{x.name_en} (2025 target)" for x in ordered[:4]]
    fig.canvas.draw()
    for ax, sector in zip(panels, ordered, strict=True):
        c = s["clusters"][sector.id]
        title = ax.get_title()
        lo, hi = c["p_ci95"]
        assert f"P(≥100 bn by 2025) = {c['p_100bn_by_2025']:.2f} [{lo:.2f}, {hi:.2f}]" in title
        cy = c["median_cross_year"]
        assert (f"median crossing year {cy}" if cy else "median run does not cross") in title
        # the 100-bn line is inside the frame, with room above it
        assert ax.get_ylim()[1] >= 100 * 1.15
        # the 2015-2020 history from the data file is drawn: x from 2015
        assert ax.get_xlim()[0] < 2015 < 2025 < ax.get_xlim()[1]
        assert "2025 target" in [t.get_text().strip() for t in ax.texts]
        # year labels on every panel
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_visible()]
        assert labels == [str(y) for y in range(2015, 2026)]
    assert any("data 2015-2020" in t for t in texts.splitlines())


def test_start_year_median_away_from_its_data_point_gets_a_footnote() -> None:
    # xinchuang: 2020 data point 10 bn, published range 5-30 bn (middle 17.5): runs draw uniformly
    notes = plots.start_notes({"xinchuang": 17.5, "ngit": 83.5, "biotech": 50.0}, 2020)
    assert set(notes) == {"xinchuang", "biotech"}  # ngit within 5% of its 83 bn
    assert "the 2020 median (17.5 bn yuan) lies above the 2020 data point (10.0 bn yuan)" in notes["xinchuang"]
    assert "published range 5-30 bn yuan, whose middle is 17.5 bn yuan" in notes["xinchuang"]
    assert "lies below" in notes["biotech"] and "published range" not in notes["biotech"]  # the middle is not why
    zh = plots.start_notes({"xinchuang": 17.5}, 2020, "zh")["xinchuang"]
    assert "175亿元" in zh and "100亿元" in zh and "50–300亿元" in zh


def test_history_points_come_from_the_data_file() -> None:
    hist = plots.sector_history()
    from model.data import fact

    a15 = fact("sectors", "auto", "output_2015") / 1e9
    assert hist["auto"][0] == (2015, pytest.approx(a15), pytest.approx(a15), pytest.approx(a15))
    year, value, lo, hi = hist["auto"][-1]
    assert (year, value, lo, hi) == (2020, pytest.approx(240.0), pytest.approx(200.0), pytest.approx(260.0))


def test_chinese_chart_is_chinese_throughout_or_falls_back_to_english(
    small_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    font = plots.cjk_font()
    if font is not None:
        fig = small_run.fan_chart(lang="zh")
        texts = "\n".join(_texts(fig) + [ax.get_ylabel() for ax in fig.axes if ax.axison])
        ngit = next(x for x in SECTORS if x.id == "ngit")
        assert fig.axes[0].get_title().startswith(ngit.name_zh + "（2025年目标）")
        for english in ("target", "median", "band", "runs", "seed", "scenario", "output", "bn yuan", "data"):
            assert english not in texts, english
        assert "产值（亿元/年）" in texts and "1,000亿元（千亿）" in texts
        # money in 亿元: the 100-bn line at 1,000
        assert any(line.get_ydata()[0] == 1000 for line in fig.axes[0].lines if len(set(line.get_ydata())) == 1)
    # no CJK font on the machine: English and one warning, no missing-glyph boxes
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    plots._warn_no_cjk.cache_clear()
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        fig = small_run.fan_chart(names="zh")
    assert fig.axes[0].get_title().startswith("new-generation IT")


def _bands(level: float) -> dict:
    return {str(y): {"p10": level * 0.8, "p50": level + (y - 2020), "p90": level * 1.2} for y in range(2020, 2026)}


def test_compare_chart_names_scenarios_and_shows_output_and_probability_differences() -> None:
    from model.sectors import TARGET_SECTORS

    labels = ["baseline", "five_measures", "funding_cut"]
    summaries = {
        lab: {"clusters": {s: {"output_bn": _bands(50 + 10 * i)} for s in TARGET_SECTORS}}
        for i, lab in enumerate(labels)
    }
    rows = []
    for i, lab in enumerate(labels):
        for c in [*TARGET_SECTORS, "all_four"]:
            d = 0.0 if i == 0 else (i * 2.0 - 3.0)
            row = {
                "scenario": lab,
                "cluster": c,
                "p_diff": d / 20,
                "p_diff_lo": d / 20 - 0.05,
                "p_diff_hi": d / 20 + 0.05,
            }
            if c != "all_four":
                row |= {"output_diff_bn": d, "output_diff_lo_bn": d - 1, "output_diff_hi_bn": d + 1}
            rows.append(row)
    fig = plots.compare_chart(pd.DataFrame(rows), summaries, labels=labels, baseline="baseline", end_year=2025)
    legend = fig.subfigs[0].legends[0]
    assert [t.get_text() for t in legend.get_texts()] == labels
    styles = {
        line.get_label(): (line.get_color(), line.get_linestyle())
        for line in fig.subfigs[0].axes[0].lines
        if line.get_label() in labels
    }
    assert len(set(styles.values())) == 3  # each scenario its own colour and line style
    out_ax, p_ax = fig.subfigs[1].axes
    assert "2025 output" in out_ax.get_title() and "P(≥100 bn by 2025)" in p_ax.get_title()
    ticks = [t.get_text() for t in p_ax.get_yticklabels()]
    assert ticks == [
        "new-generation IT",
        "biotech & health",
        "xinchuang (IT innovation)",
        "robotics & equipment",
        "all four targets",
    ]  # names, not ids
    # one dot with its interval per scenario that is not the baseline, on each panel
    assert len(out_ax.containers) == 2 and len(p_ax.containers) == 2
    x = out_ax.containers[1].lines[0].get_xdata()
    assert list(x) == [1.0, 1.0, 1.0, 1.0]  # funding_cut: +1 bn on each cluster


def test_discovery_chart_draws_each_lever_range_its_box_and_the_points() -> None:
    levers = [
        {"path": "policy.special_funds_yuan_per_year", "low": 5e9, "high": 3e10, "unit": "yuan/yr"},
        {"path": "clusters.anchor_projects_per_year.targets", "low": 0, "high": 3, "unit": "projects/yr"},
    ]
    points = pd.DataFrame(
        {
            levers[0]["path"]: [6e9, 1.5e10, 2.5e10, 2.9e10],
            levers[1]["path"]: [0.5, 1, 2, 2.5],
            "passes": [False, False, True, True],
        }
    )
    boxes = [{"coverage": 1.0, "density": 1.0, "restricted": {levers[0]["path"]: (2e10, 3e10)}}]
    fig = plots.discovery_chart(levers, boxes, points, event="P(all four)", p_min=0.5, replications=8)
    ax = fig.axes[0]
    bars = [p for p in ax.patches]
    assert len(bars) == 3  # two explored ranges, one box range
    box = next(b for b in bars if b.get_width() < 1)
    assert box.get_x() == pytest.approx(0.6) and box.get_width() == pytest.approx(0.4)  # 20-30 of 5-30 bn
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(labels) == ["box 1 range", "explored range", "fails", "passes"]
    texts = [t.get_text() for t in ax.texts]
    assert "5.0 bn" in texts and "30.0 bn" in texts and "20.0 bn" in texts
    assert "2 of 4 lever combinations pass" in fig._suptitle.get_text()
    assert "box 1: 100% of passing points inside" in fig._suptitle.get_text()
