"""Paired differences over common random numbers.

Two points on the same seed stream (experiments/core.py) run the same replications: replication
r of each has the same parameter draws, 2020 draws, sector shocks and project pipeline
(model/inputs.py), and within the run per-firm draws are keyed by firm id and step
(`ClusterModel.uniforms`, `model/draws.py`). The difference of an outcome is then taken run by
run: for an event (0/1) the difference of probabilities with the Agresti-Min interval, for a
quantity the mean paired difference with its t-interval (model/stats.py). Both are far narrower than the
difference of two independent ensembles, and a point compared with itself differs by exactly
zero. `unpaired_half_width` is what the same runs would give without pairing.
"""

from __future__ import annotations

import numpy as np

from ..outcomes import Outcome
from ..stats import Estimate, mean_ci, paired_p_diff, unpaired_half_width

__all__ = ["difference", "unpaired_half_width"]


def difference(outcome: Outcome, base: np.ndarray, other: np.ndarray) -> Estimate:
    """other - base over paired runs (per-run values of `outcome`, same runs in the same order)."""
    if len(base) != len(other):
        raise ValueError(f"paired runs differ in number: {len(base)} and {len(other)}")
    if outcome.kind == "event":
        return paired_p_diff(base, other)
    return mean_ci(np.asarray(other, dtype=float) - np.asarray(base, dtype=float))
