"""Firm growth: sector demand trend plus a fat-tailed, size-dependent idiosyncratic shock,
capped by the talent and finance a firm can get."""

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


def log_growth(trend: np.ndarray, sigma: np.ndarray, shock: np.ndarray, dt: float) -> np.ndarray:
    """Unconstrained log change of output over one step.

    trend: expected growth per year (0.1 = +10%/yr); sigma: annual sd (1/sqrt(yr));
    shock: unit-variance Laplace draws. The drift is corrected so that the expected output
    multiplier over a step is exactly (1 + trend) ** dt: for a Laplace shock with scale b,
    E[exp(b*L)] = 1 / (1 - b**2).
    """
    sd = np.minimum(sigma * np.sqrt(dt), MAX_STEP_SD)
    b = sd / np.sqrt(2.0)
    return np.log1p(trend) * dt + np.log1p(-(b**2)) + sd * shock


def constrain_growth(log_g: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Scale positive growth by `fill` in [0, 1] (share of the needed talent and finance a firm
    obtained); declines are not constrained."""
    return np.where(log_g > 0.0, log_g * fill, log_g)


def finance_fill(
    cash: np.ndarray, credit: np.ndarray, added_output: np.ndarray, capital_intensity: float
) -> np.ndarray:
    """Share of the investment needed for growth that a firm can finance, in [0, 1].

    cash, credit: yuan available now; added_output: planned increase of output (yuan/year);
    capital_intensity: yuan of investment per yuan/year of added output.
    """
    need = capital_intensity * np.maximum(added_output, 0.0)
    have = np.maximum(cash, 0.0) + np.maximum(credit, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(need > 0.0, np.minimum(1.0, have / need), 1.0)


def credit_headroom(
    output: np.ndarray,
    loan_to_output: float,
    rate: float,
    effective_rate: np.ndarray | float,
    elasticity: float,
    dt: float,
) -> np.ndarray:
    """New bank credit a firm can draw in one step (yuan).

    Banks lend up to `loan_to_output` x output per year; a lower effective rate (after
    interest subsidies) raises it with the given elasticity.
    """
    return loan_to_output * output * dt * (rate / np.maximum(effective_rate, 1e-6)) ** elasticity


def operating_cash_flow(
    output: np.ndarray, margin: np.ndarray, effective_rate: np.ndarray | float, loan_to_output: float, dt: float
) -> np.ndarray:
    """Cash generated in one step (yuan): operating margin minus interest on debt of
    `loan_to_output` x output, over `dt` years."""
    return (margin - effective_rate * loan_to_output) * output * dt
