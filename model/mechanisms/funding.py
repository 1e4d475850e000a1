"""Funding instruments and the conserved budget.

The zone's special funds are split over instruments by the scenario's shares. Each step an
instrument receives its budget, pays firms' claims pro rata up to that budget, and the rest
lapses. A ledger records every yuan by instrument, sector and year, so that
provided == paid + unspent holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INSTRUMENTS: tuple[str, ...] = ("guidance_equity", "loan_interest", "rent", "rd_reward", "talent")
"""Funding instruments (guidance fund equity, loan-interest subsidies, rent subsidies,
R&D-growth rewards, talent subsidies)."""


def pay_claims(claims: np.ndarray, budget: float) -> np.ndarray:
    """Payouts (yuan) for non-negative `claims` (yuan): all of them if the budget allows,
    otherwise pro rata so that the total equals the budget exactly."""
    total = float(claims.sum())
    if total <= budget or total <= 0.0:
        return claims.astype(float, copy=True)
    return claims * (budget / total)


def deal_amounts(budget: float, deal_size: float, n_candidates: int) -> np.ndarray:
    """Equity tickets (yuan) the guidance fund writes with `budget`: full tickets of
    `deal_size` and one partial ticket for the remainder, at most one per candidate firm."""
    if budget <= 0.0 or n_candidates <= 0:
        return np.zeros(0)
    n_full = int(budget // deal_size)
    amounts = np.full(n_full, deal_size)
    rest = budget - n_full * deal_size
    if rest > 0.0:
        amounts = np.append(amounts, rest)
    return amounts[:n_candidates]


@dataclass
class BudgetLedger:
    """Every yuan of the special funds: provided, paid (by instrument, sector, year), unspent.

    Arrays are indexed [year offset, instrument] and [year offset, instrument, sector].
    """

    n_years: int
    n_sectors: int
    provided: np.ndarray = field(init=False)
    paid: np.ndarray = field(init=False)
    unspent: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        k = len(INSTRUMENTS)
        self.provided = np.zeros((self.n_years, k))
        self.paid = np.zeros((self.n_years, k, self.n_sectors))
        self.unspent = np.zeros((self.n_years, k))

    def settle(self, year: int, instrument: int, budget: float, paid: np.ndarray, sector: np.ndarray) -> None:
        """Record one step of one instrument: `budget` provided, `paid` (yuan per recipient)
        to recipients in `sector` (index per recipient); the rest is unspent."""
        total = float(paid.sum())
        if total > budget * (1.0 + 1e-9) + 1e-6:
            raise ValueError(f"{INSTRUMENTS[instrument]} paid {total:.0f} yuan from a budget of {budget:.0f}")
        self.provided[year, instrument] += budget
        self.paid[year, instrument] += np.bincount(sector, weights=paid, minlength=self.n_sectors)
        self.unspent[year, instrument] += budget - total

    def spent_by_year(self) -> np.ndarray:
        """Total paid per year (yuan)."""
        return self.paid.sum(axis=(1, 2))
