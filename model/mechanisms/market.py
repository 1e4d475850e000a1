"""Sector markets: the demand (current yuan a year) that a sector's firms compete for.

A sector's demand is its market part M plus contract demand tied to particular firms (a major
project's offtake while it ramps up, the vaccine plant's doses). The market part follows the
sector's real trend and yearly shocks, its price level, and the zone's quality relative to
its 2020 path; the government's procurement is part of it, bought by the government.

Firms share the market part by a CES (Armington / Melitz-type) rule: a firm's desired sales are
    d_i = M x a_i / A,   A = sum_j w_j a_j,
where a_i is the firm's attraction (quality-adjusted competitiveness: persistent idiosyncratic
demand shocks and the quality its innovations add, raised to the demand elasticity) and w_j the
number of firms an agent stands for. An entrant therefore takes share from the incumbents unless
demand grows, and an exit frees its share for the others in proportion to theirs. A firm sells
its desired sales up to its capacity; customers of a firm that cannot deliver turn to its rivals
(replicator dynamics on delivery, as in the Keynes+Schumpeter models of Dosi, Fagiolo and
Roventini 2010): its attraction falls to (sales / desired)^k of what it was. Demand no firm can
serve leaks to firms outside the zone.

Every function is a pure function of arrays; money in yuan, flows in yuan a year.
"""

from __future__ import annotations

import numpy as np


def total_attraction(attraction: np.ndarray, weight: np.ndarray, sector: np.ndarray, n_sectors: int) -> np.ndarray:
    """A_s = sum of w x a over the firms of each sector (the CES denominator)."""
    return np.bincount(sector, weights=weight * attraction, minlength=n_sectors)


def desired_sales(market: np.ndarray, attraction: np.ndarray, sector: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Sales each firm's customers want from it (yuan/yr): its CES share M_s x a_i / A_s of its
    sector's market part (`market` per sector, yuan/yr; `total` = total_attraction)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(total > 0, market / total, 0.0)
    return per_unit[sector] * attraction


def delivery_update(attraction: np.ndarray, sales: np.ndarray, desired: np.ndarray, switching: float) -> np.ndarray:
    """Attraction after customers of firms that could not deliver turn elsewhere: a x
    (sales / desired)^switching (unchanged for firms that served all their demand)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        served = np.where(desired > 0, np.clip(sales / desired, 0.0, 1.0), 1.0)
    return attraction * served**switching


def cap_joint_sales(
    sales: np.ndarray, weight: np.ndarray, sector: np.ndarray, market: np.ndarray, max_share: float
) -> np.ndarray:
    """Start-up sales (yuan/yr per firm) scaled down, sector by sector, so that the new firms of
    one step (each agent standing for `weight` firms) want at most `max_share` of their sector's
    market part (`market` per sector, yuan/yr) between them: a cohort of entrants cannot expect
    to win most of a market within a quarter, however strong the pull to enter."""
    joint = np.bincount(sector, weights=sales * weight, minlength=market.size)
    limit = max_share * market
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(joint > limit, limit / joint, 1.0)
    return sales * factor[sector]


def entrant_attraction(sales: np.ndarray, weight: np.ndarray, market: float, total: float) -> np.ndarray:
    """Attraction of new firms (one value per agent, each standing for `weight` firms) whose
    desired sales are `sales` (yuan/yr each) once they have joined a sector whose market part
    is `market` (yuan/yr) and total attraction `total`: they take that share from the
    incumbents. The new firms' joint desired sales must stay below the market."""
    sw = float(np.sum(sales * weight))
    if sw <= 0.0:
        return np.zeros_like(sales, dtype=float)
    if sw >= market:
        raise ValueError(f"entrants' desired sales ({sw:.3g}) exceed the market ({market:.3g})")
    return sales * total / (market - sw)


def added_attraction(sales: np.ndarray, market: float, total: float) -> np.ndarray:
    """Attraction of firms that bring their own demand (a major project's offtake joining the
    market): with the market raised by their `sales` (yuan/yr), everyone else's desired sales
    are unchanged and theirs equal `sales`."""
    if market <= 0.0 or total <= 0.0:
        return np.asarray(sales, dtype=float).copy()
    return np.asarray(sales, dtype=float) * total / market


def quality_index(quality: np.ndarray, sales: np.ndarray, weight: np.ndarray, sector: np.ndarray, n: int) -> np.ndarray:
    """Sales-weighted geometric mean of the firms' quality per sector (1 where a sector has no
    sales): the zone's competitiveness against firms elsewhere."""
    w = weight * sales
    tot = np.bincount(sector, weights=w, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.where(tot > 0, np.bincount(sector, weights=w * np.log(quality), minlength=n) / tot, 0.0)
    return np.exp(log_q)


def market_log_growth(
    real_trend: np.ndarray,
    shock: np.ndarray,
    price_growth: np.ndarray,
    quality_change: np.ndarray,
    elasticity: float,
    dt: float,
) -> np.ndarray:
    """Log change of each sector's market part over one step: real trend and this year's shock
    (log/yr), the price level's growth (log/yr), and the zone's quality index change over the
    step (log units) raised to the demand elasticity: zone firms that improve faster than the
    history's pace (absorbed in the trend and share gain) win share from firms elsewhere."""
    return (real_trend + shock + price_growth) * dt + elasticity * quality_change
