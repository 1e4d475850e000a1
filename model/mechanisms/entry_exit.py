"""Entry of start-ups and relocations; exit of firms that lose viability."""

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
MAX_POLICY_FACTOR = 2.0
"""Policy can at most double or halve entry against 2020 policies (bounded elasticities: the
firm-location literature finds cost and finance elasticities of entry well below one)."""


def policy_entry_factor(
    cost_index: float, cost_elasticity: float, venture_ratio: float, fund_elasticity: float
) -> float:
    """Entry multiplier from policy against 2020 policies (1 = 2020), bounded to
    [1/MAX_POLICY_FACTOR, MAX_POLICY_FACTOR].

    cost_index: entry cost vs 2020 (entry_cost_index); venture_ratio: venture equity available
    to start-ups vs 2020 (public + private + innovation fund). Constant elasticities within the
    bound, so no venture money lowers entry by a bounded amount instead of stopping it.
    """
    log_factor = -cost_elasticity * np.log(max(cost_index, 1e-9)) + fund_elasticity * np.log(max(venture_ratio, 1e-9))
    bound = np.log(MAX_POLICY_FACTOR)
    return float(np.exp(np.clip(log_factor, -bound, bound)))


def expected_entrants(
    firms: np.ndarray,
    entry_rate: float,
    output_ratio: np.ndarray,
    firm_ratio: np.ndarray,
    agglomeration: float,
    policy_factor: float,
    dt: float,
) -> np.ndarray:
    """Expected new firms per sector in one step (firms).

    firms: current firm count per sector (entry compounds with the population, as the zone's
    firm count did: 8,890 in 2014 to over 30,000 in 2020); entry_rate: gross entry per year as
    a share of it at the reference conditions; output_ratio, firm_ratio: sector output and firm
    count relative to the reference (the end of 2020 in the data, for history and projection
    runs alike). Entry per incumbent rises with output per firm
    (output_ratio / firm_ratio) ** agglomeration: a growing market draws entrants, a crowded one
    deters them. policy_factor: policy_entry_factor. Capped at MAX_ENTRY_PER_YEAR x firms a year.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per_firm = np.where(firm_ratio > 0, np.maximum(output_ratio, 0.0) / firm_ratio, 1.0)
    rate = np.minimum(entry_rate * per_firm**agglomeration * policy_factor, MAX_ENTRY_PER_YEAR)
    return firms * rate * dt


def startup_sizes(
    rng: np.random.Generator, n: int, median_output: np.ndarray | float, sigma: float, floor: float = 0.0
) -> np.ndarray:
    """Initial output of `n` new firms (yuan/year): lognormal with the given median and log-sd,
    at least `floor` (a firm too small to be viable does not register in the first place)."""
    return np.maximum(median_output * np.exp(sigma * rng.standard_normal(n)), floor)


def distress(cash: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """Quarters in a row a firm has had negative cash after drawing all the credit it could."""
    return np.where(cash < 0.0, counter + 1, 0)


def exits(
    distress_quarters: np.ndarray, patience: np.ndarray | float, output: np.ndarray, min_viable_output: float
) -> np.ndarray:
    """Firms that leave: in distress for `patience` quarters in a row (a sustained loss of
    viability; large established firms have more patience: a parent recapitalises them), or
    output below the viability floor (yuan/year)."""
    return (distress_quarters >= patience) | (output < min_viable_output)
