"""Talent: labour demand, the "three helps" (find, train, retain) and flows of people."""

from __future__ import annotations

import numpy as np


def labour_demand(output: np.ndarray, output_per_worker: np.ndarray, productivity: np.ndarray) -> np.ndarray:
    """Workers a firm needs (persons): output (yuan/yr) / (output per worker x productivity)."""
    return output / (output_per_worker * productivity)


def talent_fill(pool: np.ndarray, demand: np.ndarray, slack_share: float) -> np.ndarray:
    """Share of labour demand that the talent pool can fill, in [0, 1], per sector.

    pool: persons in the zone with the sector's skill field; slack_share: frictional
    unemployment (persons between jobs are not available)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        fill = np.where(demand > 0, pool * (1.0 - slack_share) / demand, 1.0)
    return np.clip(fill, 0.0, 1.0)


def retention_multiplier(
    housing_units: float,
    school_places: float,
    pool: float,
    services_effect: float,
    baseline_per_person: float,
) -> float:
    """How much better the zone keeps talent than with 2020 services (1 = 2020).

    Housing units and school places per person in the talent pool ("help retain"),
    relative to their 2020 ratio `baseline_per_person`."""
    per_person = (housing_units + school_places) / max(pool, 1.0)
    return float((1.0 + services_effect * per_person / max(baseline_per_person, 1e-12)) / (1.0 + services_effect))


def inflow(
    pool: np.ndarray,
    demand: np.ndarray,
    inflow_rate: float,
    vacancy_pull: float,
    slack_share: float,
    programme_persons: float,
    subsidy_multiplier: float,
    dt: float,
) -> np.ndarray:
    """Persons arriving per sector in one step ("help find").

    Gross in-migration (inflow_rate x pool per year) plus vacancies pulled in at
    `vacancy_pull` per year, times the talent-subsidy multiplier; plus the talent programme's
    persons a year, spread over sectors by labour demand."""
    vacancies = np.maximum(demand - pool * (1.0 - slack_share), 0.0)
    organic = (inflow_rate * pool + vacancy_pull * vacancies) * subsidy_multiplier * dt
    share = demand / max(demand.sum(), 1.0)
    return organic + programme_persons * dt * share


def outflow_probability(
    pool: np.ndarray,
    demand: np.ndarray,
    outflow_rate: float,
    retention: float,
    slack_share: float,
    excess_exit_rate: float,
    dt: float,
) -> np.ndarray:
    """Per-sector probability that a person (cohort) leaves the zone in one step.

    Base attrition (1/yr) divided by the retention multiplier, plus the unemployed share above
    the frictional slack leaving at `excess_exit_rate` (1/yr)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(pool > 0, np.maximum(pool - demand, 0.0) / pool - slack_share, 0.0)
    hazard = outflow_rate / max(retention, 1e-6) + excess_exit_rate * np.maximum(excess, 0.0)
    return -np.expm1(-hazard * dt)


def subsidy_multiplier(paid_per_arrival: float, baseline_per_arrival: float, scale: float) -> float:
    """Inflow multiplier of talent subsidies vs 2020 (1 = 2020): (1 + s/scale) / (1 + s0/scale)
    with s the subsidy actually paid per arriving person (yuan)."""
    return (1.0 + paid_per_arrival / scale) / (1.0 + baseline_per_arrival / scale)


def skill_productivity(mean_level: np.ndarray, baseline_level: np.ndarray, premium: float) -> np.ndarray:
    """Output-per-worker multiplier from training: +premium per skill level above 2020."""
    return 1.0 + premium * (mean_level - baseline_level)
