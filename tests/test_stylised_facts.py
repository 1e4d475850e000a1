"""Stylised facts of the simulated firm population: right-skewed sizes with a Zipf-like
tail, fat-tailed growth rates (kurtosis above 3), larger growth variance for small firms,
output concentrated in anchors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from model.cluster_model import ClusterModel


@pytest.fixture(scope="module")
def panel() -> tuple[np.ndarray, np.ndarray]:
    """Output of the same firms at the end of 2021 and 2022 (full scale, one run)."""
    m = ClusterModel(rng=2024)
    for _ in range(4):
        m.step()
    before = m.firms.output.copy()
    alive_before = m.firms.alive.copy()
    for _ in range(4):
        m.step()
    n = before.size
    keep = alive_before & m.firms.alive[:n] & (before > 0)
    return before[keep], m.firms.output[:n][keep]


def test_sizes_right_skewed_with_zipf_tail(panel: tuple[np.ndarray, np.ndarray]) -> None:
    size = panel[0]
    assert stats.skew(size) > 10
    assert np.mean(size) > 5 * np.median(size)
    # Hill estimator of the upper-tail exponent on the top 2%: Zipf-like (about 1)
    top = np.sort(size)[-len(size) // 50 :]
    alpha = 1.0 / np.mean(np.log(top / top[0]))
    assert 0.6 < alpha < 1.6


def test_growth_rates_fat_tailed(panel: tuple[np.ndarray, np.ndarray]) -> None:
    g = np.log(panel[1] / panel[0])
    assert stats.kurtosis(g, fisher=False) > 3.0
    # Laplace-like: the mean absolute deviation / sd ratio is below the Gaussian's 0.798
    assert np.mean(np.abs(g - g.mean())) / g.std() < 0.78


def test_small_firms_more_volatile(panel: tuple[np.ndarray, np.ndarray]) -> None:
    before, after = panel
    g = np.log(after / before)
    small = before < np.quantile(before, 0.25)
    large = before > np.quantile(before, 0.95)
    assert g[small].std() > 1.5 * g[large].std()
