"""History mode: the zone from the end-2015 state to end-2020 under 2016-2020 policies.

The start state is `StartState.from_facts(2015)` (2015 figures of zone_facts.yaml; the derived
ones state their basis there); the policies are scenarios/history_2016_2020.yaml. A history run
steps the model quarter by quarter and, at each year end, also reads the firm-level state the
calibration moments need (firm outputs, the stock of innovations held by living firms), which
`RunRecord` does not carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..cluster_model import ClusterModel, RunRecord
from ..params import Params
from ..population import StartState
from ..scenario import Scenario, load_scenario

HISTORY_START_YEAR = 2015
HISTORY_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "history_2016_2020.yaml"
"""The 2016-2020 policy scenario (in the repository's scenarios/ folder)."""


@cache
def history_scenario(path: Path = HISTORY_SCENARIO) -> Scenario:
    """The validated history scenario (start_year 2015, end_year 2020)."""
    sc = load_scenario(path).scenario
    if sc.start_year != HISTORY_START_YEAR:
        raise ValueError(f"{path}: a history scenario must start in {HISTORY_START_YEAR}")
    return sc


def start_state_2015() -> StartState:
    """The end-2015 state history mode starts from."""
    return StartState.from_facts(HISTORY_START_YEAR)


@dataclass
class HistoryRun:
    """One history replication: the yearly record plus year-end firm-level snapshots.

    firm_output[t]: output run rate (yuan/year, at model scale) of every firm row at the end of
    year t (0 for rows not alive or not yet born); innovation_stock[t]: innovations held by
    living firms (zone-equivalent count); age_quarters: firm age at the end of the run.
    """

    record: RunRecord
    firm_output: list[np.ndarray]
    innovation_stock: np.ndarray
    scale: float


def run_history(
    params: Params | None,
    seed: int | np.random.SeedSequence,
    scale: float = 0.1,
    scenario: Scenario | None = None,
) -> HistoryRun:
    """Run the model from end-2015 to end-2020 with `params`; one replication."""
    sc = scenario or history_scenario()
    model = ClusterModel(sc, params, rng=seed, scale=scale, start=start_state_2015())
    snaps, stock = [], []

    def snapshot() -> None:
        f = model.firms
        snaps.append(np.where(f.alive, f.output, 0.0).copy())
        stock.append(float(f.innovations[f.alive].sum()) / scale)

    snapshot()
    while model.quarter < model.n_steps:
        model.step()
        if model.quarter % model.steps_per_year == 0:
            snapshot()
    return HistoryRun(model.record, snaps, np.asarray(stock), scale)
