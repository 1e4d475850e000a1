"""Regenerate the charts committed in docs/img/ (README and docs embed them).

    .venv/bin/python scripts/make_doc_images.py [fan] [fit] [sensitivity]

fan: the five-measures ensemble at full scale (390 runs, the default seed) -> docs/img/fan_chart.png
     (and fan_chart_zh.png in Chinese); results in results/five_measures/ (reused if there).
report: `etown report results/five_measures results/baseline` in both languages (the ensembles
     reused if there, else run) -> results/report/report_{en,zh}.html and screenshots of their
     first screens in Debian's chromium -> docs/img/report_en.png, report_zh.png.
fit: the committed calibration's fit to 2015-2020 -> docs/img/calibration_fit.png.
sensitivity: a Morris screening of the baseline (6 trajectories, 5 runs per point, scale 0.05)
     -> docs/img/sensitivity_morris.png; results in results/sensitivity/baseline/.
The dashboard screenshot (docs/img/dashboard.png) is made by the browser test:
ETOWN_UPDATE_DOCS_IMAGES=1 .venv/bin/python -m pytest tests/test_dashboard_browser.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"


def _ensemble(name: str):
    """results/<name>/ of the scenario at full scale (390 runs, default seed), run if missing."""
    from model.api import load, run

    folder = ROOT / "results" / name
    if (folder / "summary.json").is_file():
        return load(folder)
    return run(ROOT / "scenarios" / f"{name}.yaml", workers=os.cpu_count() or 1, out=folder, progress=False)


def fan() -> None:
    from model.plots import save_figure

    res = _ensemble("five_measures")
    save_figure(res.fan_chart(), IMG / "fan_chart.png", dpi=100)
    save_figure(res.fan_chart(lang="zh"), IMG / "fan_chart_zh.png", dpi=100, lang="zh")
    print(res.table())


def report() -> None:
    from playwright.sync_api import sync_playwright

    from model.report import write_report

    folders = [_ensemble(name).out for name in ("five_measures", "baseline")]
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("ETOWN_CHROMIUM", "/usr/bin/chromium"), args=flags)
        for lang in ("en", "zh"):
            html = write_report(folders, lang, ROOT / "results" / "report" / f"report_{lang}.html")
            page = browser.new_page(viewport={"width": 1280, "height": 2050})
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(IMG / f"report_{lang}.png"))
            print(html)
        browser.close()


def fit() -> None:
    from model.calibration.fit import calibrated_fit_moments, fit_figure
    from model.plots import save_figure

    save_figure(fit_figure(calibrated_fit_moments(per_draw=2)), IMG / "calibration_fit.png", dpi=130)


def sensitivity() -> None:
    from model.calibration import sensitivity as sa
    from model.plots import save_figure
    from model.scenario import load_scenario

    base = load_scenario(ROOT / "scenarios" / "baseline.yaml").scenario
    res = sa.run_sensitivity(base, method="morris", n=6, runs_per_point=5, scale=0.05, workers=os.cpu_count() or 1)
    sa.write_outputs(res, ROOT / "results" / "sensitivity" / "baseline")
    save_figure(sa.morris_chart(res.indices, res.meta), IMG / "sensitivity_morris.png", dpi=100)


if __name__ == "__main__":
    IMG.mkdir(parents=True, exist_ok=True)
    jobs = {"fan": fan, "fit": fit, "sensitivity": sensitivity, "report": report}
    for name in sys.argv[1:] or list(jobs):
        jobs[name]()
