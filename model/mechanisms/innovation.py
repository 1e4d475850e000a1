"""Innovation and high-tech certification.

R&D, technology innovation centres, pilot bases, technology vice-presidents and the
key-technology list raise each firm's innovation hazard; an innovation lifts productivity;
national high-tech status follows R&D intensity and an innovation record.
"""

from __future__ import annotations

import numpy as np


def ecosystem_multiplier(
    centres_and_bases: float,
    baseline_centres_and_bases: float,
    key_technologies_in_sector: np.ndarray | float,
    has_vp: np.ndarray | bool,
    ecosystem_effect: float,
    key_tech_effect: float,
    vp_effect: float,
) -> np.ndarray:
    """Innovation-hazard multiplier (dimensionless, 1 at 2020 policies) from the ecosystem.

    centres_and_bases: technology innovation centres + pilot-scale bases (count) serving the
    firm's sector; relative to the 2020 count. key_technologies_in_sector: items of the
    key-technology list aimed at the sector (count). has_vp: firm hosts a technology VP.
    """
    centres = (1.0 + ecosystem_effect * centres_and_bases) / (1.0 + ecosystem_effect * baseline_centres_and_bases)
    return (
        centres
        * (1.0 + key_tech_effect * np.asarray(key_technologies_in_sector))
        * (1.0 + vp_effect * np.asarray(has_vp))
    )


def innovation_probability(
    rd_intensity: np.ndarray,
    rd_ref: float,
    base_hazard: float,
    elasticity: float,
    multiplier: np.ndarray | float,
    dt: float,
) -> np.ndarray:
    """Probability that a firm innovates within one step of `dt` years.

    hazard (1/yr) = base_hazard * (rd_intensity / rd_ref) ** elasticity * multiplier;
    p = 1 - exp(-hazard * dt).
    """
    hazard = base_hazard * (np.maximum(rd_intensity, 0.0) / rd_ref) ** elasticity * multiplier
    return -np.expm1(-hazard * dt)


def high_tech_rd_threshold(output: np.ndarray, revenue_bounds: np.ndarray, min_rd: np.ndarray) -> np.ndarray:
    """Minimum R&D intensity for national high-tech status by revenue band (yuan/year).

    revenue_bounds: ascending band edges (yuan/year); min_rd: one threshold per band
    (len(revenue_bounds) + 1), from the 2016 recognition measures.
    """
    return np.asarray(min_rd)[np.searchsorted(revenue_bounds, output, side="left")]


def update_high_tech(
    status: np.ndarray,
    cert_age: np.ndarray,
    eligible: np.ndarray,
    uniform: np.ndarray,
    certification_rate: float,
    renewal_pass_rate: float,
    validity_quarters: int,
    dt: float,
) -> tuple[np.ndarray, np.ndarray]:
    """High-tech status and certificate age (quarters) after one step, under the real rules: a
    certificate is valid for three years (`validity_quarters`), then the firm must re-apply.

    Eligible firms without status apply and pass with hazard `certification_rate` (1/yr); a
    certificate is kept while valid; at expiry an eligible firm renews with probability
    `renewal_pass_rate`, others lose it. `uniform` are U(0,1) draws, one per firm.
    """
    p_gain = -np.expm1(-certification_rate * dt)
    gain = ~status & eligible & (uniform < p_gain)
    age = np.where(status, cert_age + 1, 0)
    expiring = status & (age >= validity_quarters)
    renewed = expiring & eligible & (uniform < renewal_pass_rate)
    keep = status & (~expiring | renewed)
    new_status = keep | gain
    new_age = np.where(renewed | gain, 0, np.where(keep, age, 0))
    return new_status, new_age


def rd_intensity_step(
    rd: np.ndarray, base_rd: np.ndarray, reward_rate: float, elasticity: float, adjust_rate: float, dt: float
) -> np.ndarray:
    """R&D intensity after one step: moves towards base * (1 + elasticity * reward_rate).

    reward_rate: R&D-growth reward per yuan of R&D increase that moves firms (yuan/yuan: the
    rate paid, net of deadweight);
    adjust_rate: share of the gap closed per year (continuous-time).
    """
    target = base_rd * (1.0 + elasticity * reward_rate)
    return target + (rd - target) * np.exp(-adjust_rate * dt)
