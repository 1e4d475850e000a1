"""Report charts of sensitivity and calibration: plain-word names, one unit per axis, legible size."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.calibration import fit
from model.calibration import sensitivity as sa


def _texts(fig) -> list[str]:
    out = []
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_yticklabels()]
    return [t for t in out if t]


def _indices(method: str) -> tuple[pd.DataFrame, dict]:
    """Indices of every input for every outcome, as run_sensitivity returns them (made up)."""
    rng = np.random.default_rng(0)
    outcomes = sa.outcome_names(2025)
    rows = []
    for o in outcomes:
        for i in sa.all_inputs():
            v = float(rng.random())
            if method == "morris":
                rows.append({"method": method, "outcome": o, "input": i.name, "mu_star": v, "mu_star_conf": 0.1 * v,
                             "mu": v, "sigma": float(rng.random()), "index": v, "index_conf": 0.1})  # fmt: skip
            else:
                rows.append({"method": method, "outcome": o, "input": i.name, "S1": 0.5 * v, "S1_conf": 0.05,
                             "ST": v, "ST_conf": 0.05, "index": v, "index_conf": 0.05})  # fmt: skip
    meta = {
        "scenario": "baseline",
        "end_year": 2025,
        "runs_per_point": 10,
        "scale": 0.05,
        "seed": 1,
        "outcomes": outcomes,
    }
    return pd.DataFrame(rows), meta


def test_every_input_has_a_plain_word_name() -> None:
    missing = [i.name for i in sa.all_inputs() if i.name not in sa.INPUT_LABELS]
    assert not missing, f"add plain-word names to INPUT_LABELS in model/calibration/sensitivity.py: {missing}"
    assert len(set(sa.INPUT_LABELS.values())) == len(sa.INPUT_LABELS)  # no two inputs read alike


def test_morris_chart_plots_mu_star_against_sigma_in_one_unit_per_panel() -> None:
    indices, meta = _indices("morris")
    fig = sa.morris_chart(indices, meta)
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == len(meta["outcomes"])
    for ax, outcome in zip(panels, meta["outcomes"], strict=True):
        unit = "probability" if outcome.startswith("p_") else "bn yuan/yr"
        assert ax.get_xlabel().startswith("mu*") and ax.get_xlabel().endswith(unit)
        assert ax.get_ylabel().startswith("sigma") and ax.get_ylabel().endswith(unit)
        assert "2025" in ax.get_title() and "_" not in ax.get_title()
        # the most influential inputs are named in plain words
        top = indices[indices["outcome"] == outcome].nlargest(5, "mu_star")["input"]
        named = "\n".join(t.get_text() for t in ax.texts)
        assert all(sa.input_label(n) in named for n in top)
    assert not [t for t in _texts(fig) if "_" in t]


def test_sobol_chart_uses_plain_names_and_variance_shares() -> None:
    indices, meta = _indices("sobol")
    fig = sa.sobol_chart(indices, meta)
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == len(meta["outcomes"])
    for ax in panels:
        assert ax.get_xlabel() == "share of the outcome's variance"
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == 10 and set(labels) <= set(sa.INPUT_LABELS.values())


def test_fit_plot_is_legible_and_has_the_observations_in_its_legend() -> None:
    sims = fit.calibrated_fit_moments(per_draw=1, max_draws=3)
    assert len(sims) == 3
    fig = fit.fit_figure(sims)
    width, height = fig.get_size_inches() * 130
    assert width >= 1500 and 0.4 < height / width < 0.8  # not a strip
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)
    labels = [t.get_text() for t in legend.get_texts()]
    assert any("published" in lab for lab in labels) and any("simulated" in lab for lab in labels)
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    assert titles[:5] == [
        m.replace("_", " ") + (", bn yuan" if m in ("gdp", "industrial_output") else "") for m in fit.TRAJECTORY
    ]
