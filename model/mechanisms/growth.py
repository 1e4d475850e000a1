"""Firm growth: sector demand (trend, yearly sector shock, procurement) plus a fat-tailed,
size-dependent idiosyncratic shock; positive growth is capped by the talent and finance a firm
can get."""

from __future__ import annotations

import numpy as np

REF_OUTPUT = 1.0e7
"""Reference firm size (yuan/year) at which the growth volatility equals `sigma_ref`."""

MAX_STEP_SD = 1.0
"""Largest per-step shock standard deviation (log units); keeps the Laplace mean finite."""


def size_volatility(output: np.ndarray, sigma_ref: float, beta: float, floor: float) -> np.ndarray:
    """Annual sd of log growth (1/sqrt(year)) for firms of `output` (yuan/year).

    sigma = max(floor, sigma_ref * (output / REF_OUTPUT) ** -beta): small firms are more
    volatile (Stanley et al. 1996).
    """
    ratio = np.maximum(output, 1.0) / REF_OUTPUT
    return np.maximum(floor, sigma_ref * ratio ** (-beta))


def laplace_shocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` Laplace draws with mean 0 and variance 1 (fat-tailed, kurtosis 6)."""
    return rng.laplace(0.0, 1.0 / np.sqrt(2.0), n)


def log_growth(drift: np.ndarray, sigma: np.ndarray, shock: np.ndarray, dt: float) -> np.ndarray:
    """Unconstrained log change of output over one step.

    drift: expected log growth per year of the firm's market (sector trend, sector shock and
    procurement demand, see demand.py); sigma: annual sd of the idiosyncratic shock
    (1/sqrt(yr)); shock: unit-variance Laplace draws. The idiosyncratic part is mean-corrected
    so that the expected output multiplier over a step is exp(drift x dt): for a Laplace shock
    with scale b, E[exp(b*L)] = 1 / (1 - b**2).
    """
    sd = np.minimum(sigma * np.sqrt(dt), MAX_STEP_SD)
    b = sd / np.sqrt(2.0)
    return drift * dt + np.log1p(-(b**2)) + sd * shock


def constrain_growth(log_g: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Scale positive growth by `fill` in [0, 1] (share of the needed talent and finance a firm
    obtained); declines are not constrained."""
    return np.where(log_g > 0.0, log_g * fill, log_g)


def investment_need(output: np.ndarray, log_g: np.ndarray, capital_intensity: float) -> np.ndarray:
    """Investment (yuan) a planned log growth `log_g` of `output` (yuan/year) requires:
    capital_intensity yuan per yuan/year of added output."""
    return capital_intensity * output * np.maximum(np.expm1(log_g), 0.0)
