"""A small-scale run answers the same question as a full-scale one.

Paired test: the same replications (same seeds, so the same parameters, 2020 draws, shocks and
full-scale start population) at scale 0.1 and at scale 1. At scale 0.1 the large firms are the
same agents and the small ones a weighted 10% sample, entrants and suppliers arrive as weighted
agents, tickets and counts are per firm: run by run, each target cluster's 2025 output agrees
(median ratio within 2%; the ratio of the two ensembles' medians is not used: with 40 runs and
a bimodal cluster such as xinchuang it moves by several per cent when one run crosses the
gap), P(>= 100 bn by 2025) within 0.05, and the paired intervals are narrow enough to show it.
benchmarks/scale_check.py prints the same figures for 200 runs.
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
    ratio = np.median(small / full, axis=0)
    assert np.all(np.abs(ratio - 1.0) < 0.02), dict(zip(TARGET_SECTORS, ratio.round(4), strict=True))
    # P within 0.05: at most 2 of the 40 runs cross on one side only, net (counted: no float edge)
    net_flips = (small >= threshold).sum(axis=0) - (full >= threshold).sum(axis=0)
    assert np.all(np.abs(net_flips) <= 0.05 * RUNS), net_flips
    # paired: the mean log ratio of each run's 2025 output, with its 95% interval inside +-3%
    d = np.log(small / full)
    half = 1.96 * d.std(axis=0, ddof=1) / np.sqrt(RUNS)
    assert np.all(np.abs(d.mean(axis=0)) + half < 0.03), (d.mean(axis=0), half)
