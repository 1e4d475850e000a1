"""A cheap stand-in for the model whose answers are known, evaluated through the one experiment
core (experiments/core.py): `use_standin(monkeypatch)` replaces the core's block runner, so
compare, effects, discover and optimize run exactly as with the model, on the same seeds, only
each replication is a few random draws instead of a simulation.

Known truth, from the special funds F (bn yuan/yr) of a point's scenario:
- every 100-bn event (each target cluster, all four) happens with probability P(F) = F / 30,
  capped to [0, 1] (one uniform draw per replication decides them all, so P(all four) = P);
- each end-year output is 100 P(F) + 10 z bn yuan/yr (z standard normal, per replication);
- special funds spent over the projection (`budget_spent`) are 5 F bn yuan;
- every other outcome is z.
Replication r of seed stream s draws (u, z) from `run_seed(seed, s, r)`: points on one stream
share them (paired), points on different streams do not (independent).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.experiments import core
from model.levers import value_at
from model.outcomes import Outcome


def funds_bn(point: core.Point) -> float:
    sc = point.scenario
    return value_at(sc.policy.special_funds_yuan_per_year, sc.end_year) / 1e9


def true_p(funds: float) -> float:
    return float(np.clip(funds / 30.0, 0.0, 1.0))


def standin_block(point: core.Point, outcomes: Sequence[Outcome], seed: int, runs: Sequence[int]) -> np.ndarray:
    f = funds_bn(point)
    p = true_p(f)
    rows = []
    for r in runs:
        rng = np.random.default_rng(core.run_seed(seed, point.stream, r))
        u, z = rng.random(), rng.normal()
        row = []
        for o in outcomes:
            if o.kind == "event":
                row.append(float(u < p))
            elif o.source.startswith("output:"):
                row.append(100 * p + 10 * z)
            elif o.name == "budget_spent":
                row.append(5 * f)
            else:
                row.append(z)
        rows.append(row)
    return np.array(rows, dtype=float).reshape(len(runs), len(outcomes))


def use_standin(monkeypatch) -> list[int]:
    """Route the core through the stand-in; returns a list that grows by the runs of each block."""
    calls: list[int] = []

    def block(point, outcomes, seed, runs):
        calls.append(len(runs))
        return standin_block(point, outcomes, seed, runs)

    monkeypatch.setattr(core, "_run_block", block)
    return calls
