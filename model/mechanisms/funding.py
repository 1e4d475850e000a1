"""Funding instruments and the conserved budget.

The zone's special funds are split over instruments by the scenario's shares. Each step an
instrument receives its budget, pays claims pro rata up to that budget, and the rest lapses.
The guidance fund also reinvests what its exited stakes return. A ledger records every yuan by
instrument, sector and year, so that provided + returned == paid + unspent holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INSTRUMENTS: tuple[str, ...] = ("guidance_equity", "loan_interest", "rent", "rd_reward", "talent", "project_support")
"""Funding instruments: guidance-fund equity (引导基金), loan-interest subsidies (贷款贴息), rent
subsidies (房租补贴), R&D-growth rewards and talent subsidies (奖励扶持), and support for major
projects (incentives and co-investment offered to win them)."""


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
    n_full = min(int(budget // deal_size), n_candidates)
    amounts = np.full(n_full, deal_size)
    rest = budget - n_full * deal_size
    if rest > 0.0 and n_full < n_candidates:
        amounts = np.append(amounts, rest)
    return amounts


def effective_share(paid: np.ndarray | float, deadweight: float) -> np.ndarray | float:
    """The part of a payout (yuan) that changes what the recipient does: a share `deadweight`
    goes to firms or persons that would have acted anyway (it leaves the zone's firms as
    windfall) and moves nothing."""
    return paid * (1.0 - deadweight)


@dataclass
class BudgetLedger:
    """Every yuan of the special funds: provided, returned (stakes exited), paid (by
    instrument, sector, year), unspent.

    Arrays are indexed [year offset, instrument] and [year offset, instrument, sector].
    """

    n_years: int
    n_sectors: int
    provided: np.ndarray = field(init=False)
    returned: np.ndarray = field(init=False)
    paid: np.ndarray = field(init=False)
    unspent: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        k = len(INSTRUMENTS)
        self.provided = np.zeros((self.n_years, k))
        self.returned = np.zeros((self.n_years, k))
        self.paid = np.zeros((self.n_years, k, self.n_sectors))
        self.unspent = np.zeros((self.n_years, k))

    def settle(
        self,
        year: int,
        instrument: int,
        budget: float,
        paid: np.ndarray,
        sector: np.ndarray,
        returned: float = 0.0,
    ) -> None:
        """Record one step of one instrument: `budget` provided (plus `returned` by exited
        stakes), `paid` (yuan per recipient) to recipients in `sector` (index per recipient);
        the rest is unspent."""
        total = float(paid.sum())
        available = budget + returned
        if total > available * (1.0 + 1e-9) + 1e-6:
            raise ValueError(f"{INSTRUMENTS[instrument]} paid {total:.0f} yuan from {available:.0f} available")
        self.provided[year, instrument] += budget
        self.returned[year, instrument] += returned
        self.paid[year, instrument] += np.bincount(sector, weights=paid, minlength=self.n_sectors)
        self.unspent[year, instrument] += available - total

    def spent_by_year(self) -> np.ndarray:
        """Total paid per year (yuan)."""
        return self.paid.sum(axis=(1, 2))

    def paid_by_instrument(self) -> np.ndarray:
        """[year, instrument] paid (yuan)."""
        return self.paid.sum(axis=2)


def interest_claims(debt: np.ndarray, rate: float, share: float, eligible: np.ndarray, dt: float) -> np.ndarray:
    """Loan-interest subsidy claimed in a step (yuan): `share` of the interest on each eligible
    firm's debt (yuan) at the bank `rate` (1/yr)."""
    return share * rate * debt * dt * eligible


def rent_claims(
    workers: np.ndarray, rent_per_worker: float, share: float, eligible: np.ndarray, dt: float
) -> np.ndarray:
    """Rent subsidy claimed in a step (yuan): `share` of the rent of each eligible firm's
    workers (persons x yuan/yr per person)."""
    return share * rent_per_worker * workers * dt * eligible


def rd_reward_claims(
    rate: float, rd_this_year: np.ndarray, rd_last_year: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    """R&D-growth reward claimed at the end of a year (yuan): `rate` per yuan by which a firm's
    R&D spending this year exceeds last year's (yuan)."""
    return rate * np.maximum(rd_this_year - rd_last_year, 0.0) * eligible
