"""Funding instruments, programmes and the conserved budget.

The zone's special funds are split over six instruments by the scenario's shares; programmes
(innovation centres, pilot bases, key technologies, technology vice-presidents, incubation,
talent programmes, training, housing, school places, urban procurement) are paid from the zone's
general budget at their unit costs. Each year every budget line receives its appropriation plus
what was carried over; each step it pays claims pro rata up to what is left for the step (the
rest of the year's money spread over the steps left), and at the year end the unspent rest of
the special funds is carried over or lapses as the scenario says. A ledger records every yuan
by budget line, sector and year, so that provided + carried in == paid + unspent holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INSTRUMENTS: tuple[str, ...] = ("guidance_equity", "loan_interest", "rent", "rd_reward", "talent", "project_support")
"""Special-fund instruments: guidance-fund equity (引导基金), loan-interest subsidies (贷款贴息), rent
subsidies (房租补贴), R&D-growth rewards and talent subsidies (奖励扶持), and support for major
projects (incentives and co-investment offered to win them)."""
PROGRAMMES: tuple[str, ...] = (
    "procurement",
    "innovation_centres",
    "pilot_bases",
    "key_technologies",
    "tech_vp",
    "incubation",
    "talent_programmes",
    "training",
    "housing",
    "school_places",
)
"""Programmes the zone pays from its general budget (unit costs in parameters.yaml)."""
BUDGET_LINES: tuple[str, ...] = INSTRUMENTS + PROGRAMMES


def pay_claims(claims: np.ndarray, budget: float) -> np.ndarray:
    """Payouts (yuan) for non-negative `claims` (yuan): all of them if the budget allows,
    otherwise pro rata so that the total equals the budget exactly."""
    total = float(claims.sum())
    if total <= budget or total <= 0.0:
        return claims.astype(float, copy=True)
    return claims * (budget / total)


def equity_tickets(gap: np.ndarray, ticket: float) -> np.ndarray:
    """Equity each candidate firm can use (yuan): its financing gap (investment it plans but
    cannot pay from cash or credit), at most one ticket."""
    return np.minimum(np.maximum(gap, 0.0), ticket)


def effective_share(paid: np.ndarray | float, deadweight: float) -> np.ndarray | float:
    """The part of a payout (yuan) that changes what the recipient does: a share `deadweight`
    goes to firms or persons that would have acted anyway (it leaves the zone's firms as
    windfall) and moves nothing."""
    return paid * (1.0 - deadweight)


@dataclass
class BudgetLedger:
    """Every yuan of the zone's budget by line (BUDGET_LINES), sector and year: provided
    (appropriated), carried in from the year before, paid, unspent (carried on or lapsed).

    Arrays are indexed [year offset, line] and [year offset, line, sector].
    """

    n_years: int
    n_sectors: int
    provided: np.ndarray = field(init=False)
    carried_in: np.ndarray = field(init=False)
    paid: np.ndarray = field(init=False)
    unspent: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        k = len(BUDGET_LINES)
        self.provided = np.zeros((self.n_years, k))
        self.carried_in = np.zeros((self.n_years, k))
        self.paid = np.zeros((self.n_years, k, self.n_sectors))
        self.unspent = np.zeros((self.n_years, k))

    def record(self, year: int, line: int, paid: np.ndarray, sector: np.ndarray) -> None:
        """Book payouts (yuan per recipient) to recipients in `sector` (index per recipient)."""
        self.paid[year, line] += np.bincount(sector, weights=paid, minlength=self.n_sectors)

    def spent_by_year(self) -> np.ndarray:
        """Total paid per year (yuan)."""
        return self.paid.sum(axis=(1, 2))

    def paid_by_line(self) -> np.ndarray:
        """[year, line] paid (yuan)."""
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
