"""Where the uncertainty of a projection comes from (`etown uncertainty SCENARIO.yaml`).

A nested design splits the ensemble variance of each headline outcome into three sources:

  parameters   behavioural parameters (a posterior draw of the calibrated ones, prior draws of
               the rest: store.default_source());
  baseline     the 2020 sector outputs drawn from their published ranges;
  stochastic   the run's own randomness: yearly sector shocks, the known pipeline's draws and
               every random draw of the model (firm growth, entry, projects, talent ...).

P parameter draws; for each, B baseline draws; for each pair, S seeds of the rest (P x B x S
runs). Each run's inputs are assembled from three seeds (inputs.py streams: `params` and
`scenario_params` from the parameter seed, `baseline` from the baseline seed, `shocks`,
`pipeline` and the model's streams from the run seed). Balanced nested random-effects ANOVA
(e.g. Searle, Casella and McCulloch 1992, ch. 5) gives the components:

  sigma2_stochastic = MS_within;  sigma2_baseline = (MS_baseline - MS_within) / S;
  sigma2_parameters = (MS_parameters - MS_baseline) / (B S)   (negative estimates set to 0),

reported as shares of their sum. For the probabilities of crossing 100 bn, the outcome is the
indicator of crossing: its variance p(1-p) is split the same way (the parameter share is then
the share due to Var_theta[P(cross | theta)]). Each (parameter, baseline) cell is a point of
the experiment core (experiments/core.py) whose replications are the S seeds; the outcomes are
the declared ones (model/outcomes.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import outcomes as oc
from ..cluster_model import ClusterModel
from ..ensemble import RunSettings
from ..inputs import ParamSource, RunInputs, compose_inputs, input_streams
from ..io import RESULT_DIGITS, write_json
from ..plots import save_figure, variance_chart
from ..records import RunRecord
from ..scenario import Scenario
from .core import Executor, Point, Runner, hooks, open_store, settings_id

SOURCES = ("parameters", "baseline", "stochastic")
OUTCOMES: tuple[oc.Outcome, ...] = (*oc.HEADLINE, oc.zone("gdp"), oc.zone("industrial_output"))
"""What the variance is split for: P per target and of all four, end-year output per target,
end-year GDP and industrial output."""


def run_seeds(master: int, i: int, j: int, k: int) -> tuple[np.random.SeedSequence, ...]:
    """Parameter seed (i), baseline seed (i, j) and run seed (i, j, k) of one cell."""
    return (
        np.random.SeedSequence(master, spawn_key=(0, i)),
        np.random.SeedSequence(master, spawn_key=(1, i, j)),
        np.random.SeedSequence(master, spawn_key=(2, i, j, k)),
    )


def nested_inputs(
    scenario: Scenario,
    source: ParamSource,
    pseed: np.random.SeedSequence,
    bseed: np.random.SeedSequence,
    sseed: np.random.SeedSequence,
) -> RunInputs:
    """A run's inputs with parameters from `pseed`, 2020 outputs from `bseed` and the shocks
    and pipeline from `sseed` (draws as in inputs.draw_inputs)."""
    return compose_inputs(scenario, source, input_streams(pseed), input_streams(bseed), input_streams(sseed))


def nested_record(scenario: Scenario, settings: RunSettings, master: int, i: int, j: int, k: int) -> RunRecord:
    """Run (i, j, k) of the nested design (its inputs from the three seeds of `run_seeds`)."""
    pseed, bseed, sseed = run_seeds(master, i, j, k)
    inputs = nested_inputs(scenario, settings.param_source, pseed, bseed, sseed)  # type: ignore[arg-type]
    model = ClusterModel(
        scenario, inputs=inputs, rng=sseed, scale=settings.scale, persons_per_agent=settings.persons_per_agent
    )
    return model.run()


def decompose(y: np.ndarray) -> dict[str, float]:
    """Nested ANOVA components of y[P, B, S] (see module doc): variances and shares."""
    P, B, S = y.shape
    m_i = y.mean(axis=(1, 2))
    m_ij = y.mean(axis=2)
    grand = y.mean()
    ms_p = B * S * np.sum((m_i - grand) ** 2) / max(P - 1, 1)
    ms_b = S * np.sum((m_ij - m_i[:, None]) ** 2) / max(P * (B - 1), 1)
    ms_s = np.sum((y - m_ij[:, :, None]) ** 2) / max(P * B * (S - 1), 1)
    comp = {
        "parameters": max((ms_p - ms_b) / (B * S), 0.0),
        "baseline": max((ms_b - ms_s) / S, 0.0),
        "stochastic": float(ms_s),
    }
    total = sum(comp.values())
    out: dict[str, float] = {"mean": float(grand), "variance": float(y.var(ddof=1)), "sum_components": float(total)}
    for k, v in comp.items():
        out[f"var_{k}"] = float(v)
        out[f"share_{k}"] = float(v / total) if total > 0 else float("nan")
    return out


def run_uncertainty(
    scenario: Scenario,
    *,
    source: ParamSource,
    params: int = 30,
    baselines: int = 4,
    seeds: int = 4,
    scale: float = 1.0,
    master: int = 20210201,
    executor: Executor | None = None,
    out: Path | None = None,
    fresh: bool = False,
    progress: Any = None,
) -> pd.DataFrame:
    """Variance components of each outcome (rows): mean, variance, var_/share_ per source."""
    settings = RunSettings(scale=scale, param_source=source)
    points = [Point(scenario, settings, 0, (i, j), f"cell {i},{j}") for i in range(params) for j in range(baselines)]
    store = open_store(out, "uncertainty", {"seed": master, "settings": settings_id(settings)}, fresh)
    with executor or Executor() as ex:
        values = Runner(OUTCOMES, master, ex, store, **hooks(progress)).evaluate(points, seeds)
    y = np.array(values).reshape(params, baselines, seeds, len(OUTCOMES))
    rows = [{"outcome": o.name, "unit": o.unit, **decompose(y[..., c])} for c, o in enumerate(OUTCOMES)]
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    lines = [
        f"{'outcome':24s} {'unit':12s} {'mean':>9s} {'sd':>8s} {'parameters':>11s} {'baseline':>9s} {'stochastic':>11s}"
    ]
    for r in table.itertuples():
        lines.append(
            f"{r.outcome:24s} {r.unit:12s} {r.mean:9.3f} {np.sqrt(r.variance):8.3f} {r.share_parameters:11.2f} "
            f"{r.share_baseline:9.2f} {r.share_stochastic:11.2f}"
        )
    return "\n".join(lines)


def figure(table: pd.DataFrame, title: str) -> Any:
    """Stacked bars: the share of each outcome's ensemble variance from each source."""
    return variance_chart(table, title=title)


def write_outputs(table: pd.DataFrame, meta: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "uncertainty.csv", index=False, float_format="%.6g")
    write_json(out / "uncertainty.json", {**meta, "components": table.to_dict(orient="records")}, digits=RESULT_DIGITS)
    title = (
        f"{meta['scenario']}: variance split, {meta['params']} x {meta['baselines']} x {meta['seeds']} runs, "
        f"scale {meta['scale']}"
    )
    save_figure(figure(table, title), out / "uncertainty.png")
