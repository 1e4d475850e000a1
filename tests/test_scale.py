"""A small-scale run answers the same question as a full-scale one.

Paired test: the same replications (same seeds, so the same parameters, 2020 draws, shocks and
full-scale start population) at scale 0.1 and at scale 1. At scale 0.1 the large firms are the
same agents and the small ones a weighted 10% sample, entrants and suppliers arrive as weighted
agents, tickets and counts are per firm: each target cluster's median 2025 output agrees within
2% and P(>= 100 bn by 2025) within 0.05, and the paired intervals are narrow enough to show it.
"""

from __future__ import annotations

import numpy as np

from model.calibration.store import default_source
from model.cluster_model import ClusterModel
from model.sectors import SECTOR_INDEX, TARGET_SECTORS

RUNS = 40
SEED = 20210201
TARGETS = [SECTOR_INDEX[s] for s in TARGET_SECTORS]


def _outputs(scale: float) -> np.ndarray:
    source = default_source()
    seeds = np.random.SeedSequence(SEED).spawn(RUNS)
    return np.array([ClusterModel(None, source, rng=s, scale=scale).run().sector_output[-1] for s in seeds])


def test_small_scale_answers_the_full_scale_question() -> None:
    small, full = _outputs(0.1)[:, TARGETS], _outputs(1.0)[:, TARGETS]
    threshold = 1.0e11
    ratio = np.median(small, axis=0) / np.median(full, axis=0)
    assert np.all(np.abs(ratio - 1.0) < 0.02), dict(zip(TARGET_SECTORS, ratio.round(4), strict=True))
    p_small, p_full = (small >= threshold).mean(axis=0), (full >= threshold).mean(axis=0)
    assert np.all(np.abs(p_small - p_full) <= 0.05), (p_small, p_full)
    # paired: the mean log ratio of each run's 2025 output, with its 95% interval inside +-3%
    d = np.log(small / full)
    half = 1.96 * d.std(axis=0, ddof=1) / np.sqrt(RUNS)
    assert np.all(np.abs(d.mean(axis=0)) + half < 0.03), (d.mean(axis=0), half)
