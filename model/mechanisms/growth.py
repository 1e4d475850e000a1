"""Firm growth: a firm's attraction takes fat-tailed, size-dependent idiosyncratic shocks (its
share of its market follows Gibrat's law), and its capacity grows towards the sales its customers
want as far as the finance and talent it gets allow (see market.py for how demand is shared)."""

from __future__ import annotations

import numpy as np

REF_OUTPUT = 1.0e7
"""Reference firm size (yuan/year) at which the growth volatility equals `sigma_ref`."""

MAX_STEP_SD = 1.0
"""Largest per-step shock standard deviation (log units); keeps the Laplace mean finite."""


def size_volatility(output: np.ndarray, sigma_ref: float, beta: float, floor: float) -> np.ndarray:
    """Annual sd of log growth (1/sqrt(year)) for firms of `output` (yuan/year, per firm).

    sigma = max(floor, sigma_ref * (output / REF_OUTPUT) ** -beta): small firms are more
    volatile (Stanley et al. 1996).
    """
    ratio = np.maximum(output, 1.0) / REF_OUTPUT
    return np.maximum(floor, sigma_ref * ratio ** (-beta))


def laplace_shocks(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` Laplace draws with mean 0 and variance 1 (fat-tailed, kurtosis 6)."""
    return rng.laplace(0.0, 1.0 / np.sqrt(2.0), n)


def log_growth(drift: np.ndarray | float, sigma: np.ndarray, shock: np.ndarray, dt: float) -> np.ndarray:
    """Log change over one step of a quantity with expected growth `drift` (log/yr) and an
    idiosyncratic shock of annual sd `sigma` (1/sqrt(yr); `shock`: unit-variance Laplace draws).
    The shock is mean-corrected so that the expected multiplier over a step is exp(drift x dt):
    for a Laplace shock with scale b, E[exp(b*L)] = 1 / (1 - b**2)."""
    sd = np.minimum(sigma * np.sqrt(dt), MAX_STEP_SD)
    b = sd / np.sqrt(2.0)
    return drift * dt + np.log1p(-(b**2)) + sd * shock


def capacity_target(desired: np.ndarray, spare: float) -> np.ndarray:
    """Capacity (yuan/yr of sales) a firm plans for: its desired sales plus its usual spare."""
    return desired * (1.0 + spare)


def investment_need(capacity: np.ndarray, target: np.ndarray, capital_intensity: float) -> np.ndarray:
    """Investment (yuan) to raise capacity (yuan/yr) to `target`: capital_intensity yuan per
    yuan/yr of added capacity; nothing when capacity suffices (idle capacity is kept)."""
    return capital_intensity * np.maximum(target - capacity, 0.0)


def expand_capacity(capacity: np.ndarray, target: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Capacity after the step's investment: a share `fill` in [0, 1] (finance and talent
    obtained) of the planned expansion is built."""
    return capacity + fill * np.maximum(target - capacity, 0.0)
