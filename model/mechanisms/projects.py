"""Major projects (a fab, a vehicle plant, a drug factory): won against other regions, built on
land the zone supplies, paid incentives during construction, delayed, then ramped up.

A project the zone pursues is won with a probability that the incentive offer raises (a
logistic response: other regions compete); its size is heavy-tailed (lognormal around the
median investment pursued, so projects of tens of billions of yuan occur). A won project waits
for approval and land, then builds for some quarters; each quarter it may slip (delay hazard),
and while the zone owes it incentive money that the project-support budget cannot pay, it
advances only by the share paid. At full ramp it produces investment x asset turnover a year.
Known projects of the start-of-2021 pipeline (zone_facts.yaml) enter already signed.
"""

from __future__ import annotations

import numpy as np


def win_probability(offer: float, offer_2020: float, p_2020: float, offer_effect: float) -> float:
    """Probability that a pursued project chooses the zone (not another region).

    Logistic in the offer: logit p = logit p_2020 + offer_effect x (offer / offer_2020 - 1);
    offer: incentives and co-investment as a share of the project's investment. With no offer
    the zone still wins some projects on location; a large offer saturates below 1.
    """
    p0 = min(max(p_2020, 1e-6), 1.0 - 1e-6)
    rel = offer / offer_2020 - 1.0 if offer_2020 > 0 else (offer > 0) * 1.0
    z = np.log(p0 / (1.0 - p0)) + offer_effect * rel
    return float(1.0 / (1.0 + np.exp(-z)))


def project_sizes(rng: np.random.Generator, n: int, median: float, sigma: float, largest: float) -> np.ndarray:
    """Investment (yuan) of `n` won projects: lognormal with `median` and log-sd `sigma`,
    capped at `largest` (the largest project a zone like this can host)."""
    return np.minimum(median * np.exp(sigma * rng.standard_normal(n)), largest)


def land_needed(investment: np.ndarray, ha_per_sqrt_bn: float) -> np.ndarray:
    """Industrial land (ha) a project needs: rises with the square root of its investment
    (large plants are denser per yuan): ha_per_sqrt_bn x sqrt(investment / 1 bn yuan)."""
    return ha_per_sqrt_bn * np.sqrt(np.asarray(investment) / 1e9)


def allocate_land(stock_ha: float, needs: np.ndarray) -> np.ndarray:
    """First come, first served: which waiting projects (in arrival order) get their land from
    the stock (ha); a project that does not fit waits while later, smaller ones may fit."""
    granted = np.zeros(len(needs), dtype=bool)
    left = stock_ha
    for i, need in enumerate(np.asarray(needs, dtype=float)):
        if need <= left:
            granted[i] = True
            left -= need
    return granted


def construction_progress(paid_share: np.ndarray, slipped: np.ndarray) -> np.ndarray:
    """Quarters of construction completed in one step: the share of the incentive instalment
    the zone paid (1 when nothing is owed), nothing in a quarter that slipped."""
    return np.where(slipped, 0.0, np.clip(paid_share, 0.0, 1.0))


def full_output(investment: np.ndarray, turnover: np.ndarray) -> np.ndarray:
    """Output at full ramp (yuan/year): investment x asset turnover (yuan/yr per yuan)."""
    return np.asarray(investment) * np.asarray(turnover)


def ramp_increment(target_output: np.ndarray, steps_left: np.ndarray, ramp_steps: np.ndarray | float) -> np.ndarray:
    """Offtake added this step (yuan/year) by projects still ramping up: a linear ramp to
    `target_output` over `ramp_steps` steps (per project or one for all)."""
    return np.where(steps_left > 0, target_output / np.maximum(ramp_steps, 1.0), 0.0)
