"""Entry of start-ups, relocations and anchor projects; exit of failing firms."""

from __future__ import annotations

import numpy as np


def entry_cost_index(
    land_cost_reduction: float,
    rent_subsidy_share: float,
    approval_months: float,
    baseline: tuple[float, float, float],
) -> float:
    """Cost of setting up in the zone relative to 2020 policies (1 = 2020; lower is cheaper).

    Geometric mean of three cost factors: land cost (1 - reduction), rent paid by the firm
    (1 - subsidy share) and the approval delay (months). `baseline` holds the 2020 values of
    the same three levers.
    """
    land0, rent0, months0 = baseline
    land = (1.0 - land_cost_reduction) / (1.0 - land0)
    rent = (1.0 - rent_subsidy_share) / (1.0 - rent0)
    delay = approval_months / months0
    return float((land * rent * delay) ** (1.0 / 3.0))


MAX_ENTRY_PER_YEAR = 1.0
"""Ceiling on gross entry per year as a share of a sector's firms (a guard for extreme lever
values: registration, land and approval capacity cannot double a sector within a year)."""


def expected_entrants(
    firms: np.ndarray,
    entry_rate: float,
    output_ratio: np.ndarray,
    firm_ratio: np.ndarray,
    agglomeration: float,
    cost_index: float,
    cost_elasticity: float,
    fund_ratio: float,
    fund_elasticity: float,
    dt: float,
) -> np.ndarray:
    """Expected new firms per sector in one step (firms).

    firms: current firm count per sector (entry compounds with the population, as the zone's
    firm count did: 8,890 in 2014 to over 30,000 in 2020); entry_rate: gross entry per year as
    a share of it at start-year conditions; output_ratio, firm_ratio: sector output and firm
    count relative to the start year. Entry per incumbent rises with output per firm
    (output_ratio / firm_ratio) ** agglomeration: a growing market draws entrants, a crowded one
    deters them; agglomeration = 1 makes entry proportional to sector output, 0 to firm count.
    cost_index: entry cost vs 2020 policies (entry_cost_index); fund_ratio: venture money
    available vs 2020 policies. Capped at MAX_ENTRY_PER_YEAR x firms per year.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per_firm = np.where(firm_ratio > 0, np.maximum(output_ratio, 0.0) / firm_ratio, 1.0)
    policy = cost_index ** (-cost_elasticity) * max(fund_ratio, 0.0) ** fund_elasticity
    rate = np.minimum(entry_rate * per_firm**agglomeration * policy, MAX_ENTRY_PER_YEAR)
    return firms * rate * dt


def startup_sizes(rng: np.random.Generator, n: int, median_output: np.ndarray | float, sigma: float) -> np.ndarray:
    """Initial output of `n` new firms (yuan/year): lognormal with the given median and log-sd."""
    return median_output * np.exp(sigma * rng.standard_normal(n))


def anchor_arrivals(
    rng: np.random.Generator, rate_per_year: np.ndarray, land_limit_projects: float, dt: float
) -> np.ndarray:
    """Anchor projects arriving per sector in one step (count).

    rate_per_year: projects a year the zone attracts per sector; land_limit_projects: at most
    this many projects fit on the land supplied in the step (the largest sectors first lose
    projects when land binds).
    """
    arrivals = rng.poisson(np.asarray(rate_per_year) * dt)
    excess = int(arrivals.sum() - np.floor(land_limit_projects))
    while excess > 0:
        arrivals[int(np.argmax(arrivals))] -= 1
        excess -= 1
    return arrivals


def ramp_increment(target_output: np.ndarray, ramp_quarters_left: np.ndarray, ramp_quarters: float) -> np.ndarray:
    """Output added this step (yuan/year) by anchor projects still ramping up: a linear ramp
    to `target_output` over `ramp_quarters` steps."""
    return np.where(ramp_quarters_left > 0, target_output / max(ramp_quarters, 1.0), 0.0)


def exits(cash: np.ndarray, output: np.ndarray, min_viable_output: float) -> np.ndarray:
    """Firms that leave: out of cash, or output below the viability floor (yuan/year)."""
    return (cash < 0.0) | (output < min_viable_output)
