"""Sector demand: yearly shocks common to a sector (correlated across sectors), and spending from
urban application scenarios (autonomous-driving zone, smart city and government procurement,
smart healthcare) for the sectors they serve. How firms share demand is in market.py."""

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


def scenario_spending(
    road_km_added: float,
    procurement_added: np.ndarray,
    healthcare_added: float,
    demand_per_road_km: float,
    road_public_share: float,
    sector_index: dict[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Spending per sector (yuan/year) over 2020 from urban application scenarios, as
    (total, paid by the zone government).

    road_km_added: equipped road-km beyond 2020 (spending per road-km split between vehicles and
    IT/roadside units; the government pays `road_public_share` of it, fleets and operators the
    rest); procurement_added: smart-city and government procurement beyond 2020, yuan/year per
    sector; healthcare_added: smart-healthcare spending beyond 2020 (yuan/year, biotech). Zone
    firms win part of it (the rest is bought from firms elsewhere, see ClusterModel).
    """
    public = np.asarray(procurement_added, dtype=float).copy()
    public[sector_index["biotech"]] += healthcare_added
    total = public.copy()
    for sector, share in ROAD_KM_SPLIT.items():
        road = share * demand_per_road_km * max(road_km_added, 0.0)
        total[sector_index[sector]] += road
        public[sector_index[sector]] += road_public_share * road
    return total, public
