"""Sector demand: trends and yearly shocks common to a sector (correlated across sectors), and
demand from urban application scenarios (autonomous-driving zone, smart city and government
procurement, smart healthcare) for the sectors they serve."""

from __future__ import annotations

import numpy as np

ROAD_KM_SPLIT = {"auto": 0.7, "ngit": 0.3}
"""How spending per equipped road-km divides between vehicles and the IT/roadside units."""


def sector_shocks(rng: np.random.Generator, n_years: int, sd: np.ndarray, common_share: float) -> np.ndarray:
    """[year, sector] log deviations of each sector's demand growth from its trend in each year.

    sd: per-sector annual sd (log units); common_share: share of each sector's shock variance
    that is common to all sectors (a one-factor model: the correlation between two sectors'
    shocks is common_share). Shocks are independent across years, so a sector's level follows
    a random walk around its trend.
    """
    sd = np.asarray(sd, dtype=float)
    common = rng.standard_normal((n_years, 1))
    own = rng.standard_normal((n_years, sd.size))
    return sd * (np.sqrt(common_share) * common + np.sqrt(1.0 - common_share) * own)


def scenario_demand(
    road_km_added: float,
    procurement_added: np.ndarray,
    healthcare_added: float,
    demand_per_road_km: float,
    capture: float,
    sector_index: dict[str, int],
) -> np.ndarray:
    """Extra annual demand per sector (yuan/year) over 2020 from urban application scenarios.

    road_km_added: equipped road-km beyond 2020; procurement_added: smart-city and government
    procurement beyond 2020, yuan/year per sector; healthcare_added: smart-healthcare spending
    beyond 2020 (yuan/year, to biotech); capture: share that zone firms win.
    """
    extra = np.asarray(procurement_added, dtype=float).copy()
    for sector, share in ROAD_KM_SPLIT.items():
        extra[sector_index[sector]] += share * demand_per_road_km * max(road_km_added, 0.0)
    extra[sector_index["biotech"]] += healthcare_added
    return capture * extra


def reallocation_growth(lost_output: np.ndarray, sector_output: np.ndarray, capture: float) -> np.ndarray:
    """Log growth of the surviving firms' demand per sector (per step) when exiting firms'
    customers move to them: a share `capture` of the lost sales (yuan/yr) over the survivors'
    output (yuan/yr)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(sector_output > 0, capture * lost_output / sector_output, 0.0)
    return np.log1p(np.clip(rel, 0.0, 1.0))


def demand_growth(extra_now: np.ndarray, extra_before: np.ndarray, sector_output: np.ndarray) -> np.ndarray:
    """Log growth of each sector's demand (per step) from a change in scenario demand (yuan/year):
    log(1 + change / current sector output). Firms grow into it subject to their constraints."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(sector_output > 0, (extra_now - extra_before) / sector_output, 0.0)
    return np.log1p(np.maximum(rel, -0.5))
