"""Estimates with 95% intervals: what every experiment reports and decides on.

- `wilson`: a probability from k successes in n independent runs (Wilson score interval);
- `mean_ci`: a mean (or the mean of paired differences of a continuous outcome) with its
  t-interval;
- `paired_p_diff`: the difference of two probabilities measured on the same runs (0/1 pairs),
  with the Agresti-Min interval (a Wald interval after adding half a pair to each cell of the
  2x2 table: it does not collapse to zero width when few runs disagree);
- `ratio_ci`: a ratio of two paired mean differences (effect per yuan spent), delta method.

An `Estimate` is (value, lo, hi, n); `half_width` is what a precision target is checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval, from n runs."""

    value: float
    lo: float
    hi: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the interval's width (inf when there is no interval)."""
        w = (self.hi - self.lo) / 2
        return w if math.isfinite(w) else math.inf

    def below(self, level: float) -> bool:
        """The whole interval lies below `level`."""
        return self.hi < level

    def above(self, level: float) -> bool:
        """The whole interval lies at or above `level`."""
        return self.lo >= level

    def text(self, digits: int = 2, sign: bool = False) -> str:
        f = f"{{:{'+' if sign else ''}.{digits}f}}"
        return f"{f.format(self.value)} [{f.format(self.lo)}, {f.format(self.hi)}]"


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ((0, 1) for n = 0)."""
    if n == 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def probability(hits: np.ndarray) -> Estimate:
    """P from 0/1 outcomes of independent runs, with its Wilson interval."""
    hits = np.asarray(hits, dtype=float)
    n = hits.size
    k = round(float(hits.sum()))
    lo, hi = wilson(k, n)
    return Estimate(k / n if n else math.nan, lo, hi, n)


def mean_ci(x: np.ndarray, confidence: float = 0.95) -> Estimate:
    """Mean with its t-interval (NaN bounds for fewer than two values)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n)


def paired_p_diff(a: np.ndarray, b: np.ndarray) -> Estimate:
    """P(b) - P(a) from 0/1 outcomes of the same runs: the plain mean difference, with the
    Agresti-Min (2005) interval (half a pair added to each cell of the 2x2 table)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    n = a.size
    if n == 0:
        return Estimate(math.nan, -1.0, 1.0, 0)
    gained = float(np.count_nonzero(b & ~a))  # reached only in b
    lost = float(np.count_nonzero(a & ~b))
    m = n + 2.0
    centre = (gained - lost) / m
    var = ((gained + 0.5) + (lost + 0.5) - (gained - lost) ** 2 / m) / m**2
    half = Z95 * math.sqrt(max(var, 0.0))
    return Estimate((gained - lost) / n, max(-1.0, centre - half), min(1.0, centre + half), n)


def unpaired_half_width(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> float:
    """Half-width of the Welch t-interval of mean(b) - mean(a) as if the runs were independent
    (what the comparison would cost without common random numbers)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return 0.0
    dof = (va + vb) ** 2 / ((va**2 / (len(a) - 1) if va else 0) + (vb**2 / (len(b) - 1) if vb else 0))
    return float(stats.t.ppf(0.5 + confidence / 2, dof) * se)


def ratio_ci(dy: np.ndarray, dx: np.ndarray) -> Estimate:
    """mean(dy) / mean(dx) over paired runs, with a delta-method interval (t quantile); NaN
    when mean(dx) is zero. For an effect per yuan: dy the paired effect, dx the extra spending."""
    dy, dx = np.asarray(dy, dtype=float), np.asarray(dx, dtype=float)
    n = dy.size
    mx = float(dx.mean()) if n else 0.0
    if n < 2 or mx == 0:
        return Estimate(math.nan, math.nan, math.nan, n)
    r = float(dy.mean()) / mx
    resid = dy - r * dx
    half = float(stats.t.ppf(0.975, n - 1) * resid.std(ddof=1) / math.sqrt(n) / abs(mx))
    return Estimate(r, r - half, r + half, n)
