"""History mode: the zone from the end-2015 state to end-2020 under 2016-2020 policies.

The start state is `StartState.from_facts(2015)` (2015 figures of zone_facts.yaml; the derived
ones state their basis there); the policies are scenarios/history_2016_2020.yaml. The 2015 sector
split is not published: by default each history run draws it around its central value
(`sampled_start_2015`, log-sd `log_sd` per sector in zone_facts.yaml; manufacturing renormalised
to the published 2015 industrial output) from a stream of its own seed. A history run steps the
model step by step and, at each year end, also reads the firm-level state the calibration
moments need (firm outputs, the stock of innovations held by living firms), which `RunRecord`
does not carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..cluster_model import ClusterModel, RunRecord
from ..data import fact, facts
from ..inputs import ParamSource
from ..params import Params
from ..population import StartState
from ..scenario import Scenario, load_scenario
from ..sectors import INDUSTRIAL_MASK, SECTOR_IDS

HISTORY_START_YEAR = 2015
SPLIT_KEY = 2**32 - 3
"""Spawn-key suffix of the stream that draws a history run's 2015 sector split (distinct from the
model's streams and the input streams of inputs.py)."""
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


def sampled_start_2015(rng: np.random.Generator) -> StartState:
    """The end-2015 state with its (unpublished) sector split drawn: each sector's output is its
    central 2015 value x exp(log_sd x N(0, 1)); the manufacturing sectors are then rescaled to sum
    to the published 2015 industrial output; known firms keep their share of their sector."""
    st = start_state_2015()
    sectors = facts()["sectors"]
    sd = np.array([float(sectors[s]["output_2015"].get("log_sd", 0.0)) for s in SECTOR_IDS])
    out = st.sector_output * np.exp(sd * rng.standard_normal(len(SECTOR_IDS)))
    ind = np.asarray(INDUSTRIAL_MASK)
    out[ind] *= fact("zone", "industrial_output_yuan", HISTORY_START_YEAR) / out[ind].sum()
    factor = out / st.sector_output
    known = tuple((i, o * float(factor[i])) for i, o in st.known_firms)
    return StartState(st.year, out, st.firms, st.high_tech_firms, st.gdp, known)


def split_stream(seed: int | np.random.SeedSequence) -> np.random.Generator:
    """The generator that draws a history run's 2015 split: a child of its seed that touches
    neither the seed's spawn counter nor the model's or the inputs' streams."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, SPLIT_KEY)))


@dataclass
class HistoryRun:
    """One history replication: the yearly record plus year-end firm-level snapshots.

    firm_output[t]: sales run rate (yuan/year per firm) of every firm row at the end of year t (0
    for rows not alive or not yet born); firm_weight[t]: firms each row stands for (1 at scale 1);
    innovation_stock[t]: innovations held by living firms (zone-equivalent count).
    """

    record: RunRecord
    firm_output: list[np.ndarray]
    innovation_stock: np.ndarray
    scale: float
    firm_weight: list[np.ndarray]


def run_history(
    params: Params | ParamSource | None,
    seed: int | np.random.SeedSequence,
    scale: float = 0.1,
    scenario: Scenario | None = None,
    sample_split: bool = True,
) -> HistoryRun:
    """Run the model from end-2015 to end-2020 with `params` (values, or a source to draw them
    from, e.g. calibrated values plus prior draws for the rest); one replication. sample_split:
    draw the 2015 sector split (default) instead of using its central values."""
    sc = scenario or history_scenario()
    start = sampled_start_2015(split_stream(seed)) if sample_split else start_state_2015()
    model = ClusterModel(sc, params, rng=seed, scale=scale, start=start)
    snaps, stock, weights = [], [], []

    def snapshot() -> None:
        f = model.firms
        snaps.append(np.where(f.alive, f.output, 0.0).copy())
        weights.append(f.weight.copy())
        stock.append(float((f.weight * f.innovations)[f.alive].sum()))

    snapshot()
    while model.step_count < model.n_steps:
        model.step()
        if model.step_count % model.steps_per_year == 0:
            snapshot()
    return HistoryRun(model.record, snaps, np.asarray(stock), scale, weights)
