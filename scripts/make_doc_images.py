"""Regenerate the charts committed in docs/img/ (README and docs embed them).

    .venv/bin/python scripts/make_doc_images.py [fan] [fit] [sensitivity]

fan: the five-measures ensemble at full scale (390 runs, the default seed) -> docs/img/fan_chart.png
     (and fan_chart_zh.png with Chinese cluster names); results in results/five_measures/.
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


def fan() -> None:
    from model.api import run
    from model.plots import save_figure

    res = run(ROOT / "scenarios" / "five_measures.yaml", workers=os.cpu_count() or 1, progress=False)
    save_figure(res.fan_chart(), IMG / "fan_chart.png", dpi=100)
    save_figure(res.fan_chart(names="zh"), IMG / "fan_chart_zh.png", dpi=100)
    print(res.table())


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
    jobs = {"fan": fan, "fit": fit, "sensitivity": sensitivity}
    for name in sys.argv[1:] or list(jobs):
        jobs[name]()
