"""Demand from urban application scenarios (autonomous-driving zone, smart city and
government procurement, smart healthcare) for the sectors they serve."""

from __future__ import annotations

import numpy as np

ROAD_KM_SPLIT = {"auto": 0.7, "ngit": 0.3}
"""How spending per equipped road-km divides between vehicles and the IT/roadside units."""


def phase_in(year_fraction: float) -> float:
    """Share of a scenario's 2025 level reached after `year_fraction` of the plan period:
    linear from 0 (2020 level) to 1 (end of plan)."""
    return float(np.clip(year_fraction, 0.0, 1.0))


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
        extra[sector_index[sector]] += share * demand_per_road_km * road_km_added
    extra[sector_index["biotech"]] += healthcare_added
    return capture * extra
