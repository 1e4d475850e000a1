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
    (1 - the share of rent the subsidy actually covers: the lever's share times the share of
    claims the rent budget paid) and the approval delay (months). `baseline` holds the 2020
    values of the same three.
    """
    land0, rent0, months0 = baseline
    land = (1.0 - land_cost_reduction) / (1.0 - land0)
    rent = (1.0 - rent_subsidy_share) / (1.0 - rent0)
    delay = approval_months / months0
    return float((land * rent * delay) ** (1.0 / 3.0))


MAX_ENTRY_PER_YEAR = 1.0
"""Ceiling on gross entry per year as a share of a sector's firms (a guard for extreme lever
values: registration, land and approval capacity cannot double a sector within a year)."""
MAX_COST_FACTOR = 2.0
"""Lower set-up costs can at most double or halve would-be entry against 2020 costs (bounded
elasticities: the firm-location literature finds cost elasticities of entry well below one)."""


def potential_entrants(
    firms: np.ndarray,
    entry_rate: float,
    market_ratio: np.ndarray,
    firm_ratio: np.ndarray,
    agglomeration: float,
    cost_index: float,
    cost_elasticity: float,
    dt: float,
) -> np.ndarray:
    """Expected would-be entrants per sector in one step (firms): founders who find entry
    worthwhile before they look for money.

    firms: current firm count per sector (entry compounds with the population, as the zone's
    firm count did: 8,890 in 2014 to over 30,000 in 2020); entry_rate: gross entry per year as a
    share of it at the reference conditions; market_ratio, firm_ratio: the sector's market and
    firm count relative to the reference (the end of 2020 in the data). Expected profit per
    entrant rises with the market per firm, (market_ratio / firm_ratio) ** agglomeration (a
    growing market draws entrants, a crowded one deters them), and falls with the cost of setting
    up, cost_index ** -cost_elasticity (bounded by MAX_COST_FACTOR). Capped at
    MAX_ENTRY_PER_YEAR x firms a year. Whether a would-be entrant enters depends on the money it
    finds (entry_finance)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_firm = np.where(firm_ratio > 0, np.maximum(market_ratio, 0.0) / firm_ratio, 1.0)
    bound = np.log(MAX_COST_FACTOR)
    cost_factor = np.exp(np.clip(-cost_elasticity * np.log(max(cost_index, 1e-9)), -bound, bound))
    rate = np.minimum(entry_rate * per_firm**agglomeration * cost_factor, MAX_ENTRY_PER_YEAR)
    return firms * rate * dt


def startup_capital(sales: np.ndarray, capital_intensity: float, spare: float, cash_years: float) -> np.ndarray:
    """Money a start-up of `sales` (yuan/yr) needs to open (yuan): the capacity it builds
    (capital_intensity x sales x (1 + spare)) and its founding cash (cash_years x sales)."""
    return sales * (capital_intensity * (1.0 + spare) + cash_years)


def finance_sources(u_founder: np.ndarray, u_vc: np.ndarray, founder_coverage: float, vc_coverage: float) -> np.ndarray:
    """Who pays each would-be entrant's start-up capital without public money: 0 = its founders
    (a share `founder_coverage` can), 1 = private venture funds (a share `vc_coverage` of the rest),
    2 = nobody yet (it enters only if public seed money backs it). u_*: U(0,1) draws per entrant."""
    return np.where(u_founder < founder_coverage, 0, np.where(u_vc < vc_coverage, 1, 2))


def seed_deals(need: np.ndarray, weight: np.ndarray, money: float) -> np.ndarray:
    """Which unfunded would-be entrants (in the given order) public seed money backs: each agent
    costs need x weight (yuan; it stands for `weight` start-ups) and is backed while the money
    (yuan) lasts. Returns a bool mask."""
    cost = np.cumsum(need * weight)
    return cost <= money


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
