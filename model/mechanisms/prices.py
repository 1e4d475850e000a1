"""Sector price levels: outputs and the 100-bn threshold are in current yuan, growth trends are real.

Industrial sectors follow the producer price index, service sectors the consumer price index,
each plus its own relative drift. In years the data file holds (2016-2020) the national index
is its published value; after that it is the trend plus a yearly shock common to all sectors
(services take half of it: consumer prices swing less than producer prices).
"""

from __future__ import annotations

import numpy as np


def price_growth(
    years: list[int],
    industrial: np.ndarray,
    known_ppi: dict[int, float],
    known_cpi: dict[int, float],
    ppi_trend: float,
    cpi_trend: float,
    relative: np.ndarray,
    common_shock: np.ndarray,
) -> np.ndarray:
    """[year, sector] log growth of each sector's price level in each of `years` (1/yr).

    industrial: [sector] bool, PPI-linked sectors; known_*: published growth rates by year;
    relative: [sector] drift against the national index (1/yr); common_shock: [year] unit-free
    shocks in log/yr (sd already applied), used in years without published values.
    """
    out = np.empty((len(years), len(relative)))
    for i, y in enumerate(years):
        ppi = np.log1p(known_ppi[y]) if y in known_ppi else ppi_trend + common_shock[i]
        cpi = np.log1p(known_cpi[y]) if y in known_cpi else cpi_trend + 0.5 * common_shock[i]
        out[i] = np.where(industrial, ppi, cpi) + relative
    return out


def cpi_growth(years: list[int], known_cpi: dict[int, float], cpi_trend: float, common_shock: np.ndarray) -> np.ndarray:
    """[year] log growth of the national consumer price index (1/yr): published where known,
    trend plus half the common shock after (as price_growth uses it for service sectors)."""
    return np.array(
        [np.log1p(known_cpi[y]) if y in known_cpi else cpi_trend + 0.5 * common_shock[i] for i, y in enumerate(years)]
    )


def deflate(nominal: np.ndarray, price_level: np.ndarray) -> np.ndarray:
    """Real values (start-year prices) of `nominal` values at `price_level` (1 at the start)."""
    return np.asarray(nominal) / np.asarray(price_level)
