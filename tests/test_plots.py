"""Charts: library code never picks a matplotlib backend; the fan chart carries what a report needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
    assert len(panels) == len(SECTORS)
    for ax, sector in zip(panels, SECTORS, strict=True):
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
    assert any("data 2015-2020" in t for t in texts.splitlines())


def test_history_points_come_from_the_data_file() -> None:
    hist = plots.sector_history()
    from model.data import fact

    a15 = fact("sectors", "auto", "output_2015") / 1e9
    assert hist["auto"][0] == (2015, pytest.approx(a15), pytest.approx(a15), pytest.approx(a15))
    year, value, lo, hi = hist["auto"][-1]
    assert (year, value, lo, hi) == (2020, pytest.approx(240.0), pytest.approx(200.0), pytest.approx(260.0))


def test_chinese_names_use_a_cjk_font_or_fall_back_to_english(small_run, monkeypatch: pytest.MonkeyPatch) -> None:
    font = plots.cjk_font()
    if font is not None:
        fig = small_run.fan_chart(names="zh")
        title = fig.axes[0].get_title()
        assert SECTORS[0].name_zh in title and SECTORS[0].name_en in title
        assert Path(fig.axes[0].title.get_fontproperties().get_file()).exists()
    # no CJK font on the machine: English names and one warning, no missing-glyph boxes
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    plots._warn_no_cjk.cache_clear()
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        fig = small_run.fan_chart(names="zh")
    assert fig.axes[0].get_title().startswith(SECTORS[0].name_en)
