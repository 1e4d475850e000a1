"""Who pays whom: the run's cash accounts, stock-flow consistent.

Every payment in the model has a payer and a payee among the holders below, and goes through
`Accounts.pay` with a kind that fixes both: a yuan never appears or vanishes. The holders'
balances (net cash received since the start) therefore sum to zero at every step, the firms'
balance equals the change in the cash they hold (tests/test_accounts.py checks both to the yuan
over whole runs), and each kind's yearly total is a recorded flow (who paid the sales, where the
subsidies went, what the guidance fund called and returned).

Holders: treasury (the zone's fiscal source: appropriations in, lapsed money out), government
(the administrative committee's budget), guidance_fund, private_investors (venture funds, project
companies and the buyers of the fund's stakes), banks, owners (founders and parent companies:
start-up capital in, dividends and liquidation proceeds out), firms (the zone's firms), households
(talent), customers (buyers of the zone's output other than the zone government), suppliers
(everyone firms and the government pay for goods, services and labour, firms elsewhere included).
Stocks that are not cash (bank loans, written-off debt, the fund's stakes) are kept alongside.
"""

from __future__ import annotations

import numpy as np

HOLDERS: tuple[str, ...] = (
    "treasury",
    "government",
    "guidance_fund",
    "private_investors",
    "banks",
    "owners",
    "firms",
    "households",
    "customers",
    "suppliers",
)

KINDS: dict[str, tuple[str, str]] = {
    # the zone's budget
    "appropriation": ("treasury", "government"),
    "lapse": ("government", "treasury"),
    # sales: every yuan of a firm's sales is bought by someone
    "sales": ("customers", "firms"),
    "procurement_sales": ("government", "firms"),
    "procurement_elsewhere": ("government", "suppliers"),
    "operating_costs": ("firms", "suppliers"),
    "investment": ("firms", "suppliers"),
    "bad_debts": ("suppliers", "firms"),  # bills a closing firm cannot pay
    # banks
    "credit": ("banks", "firms"),
    "interest": ("firms", "banks"),
    "repayment": ("firms", "banks"),
    # special-fund instruments paid to firms and persons
    "loan_interest": ("government", "firms"),
    "rent": ("government", "firms"),
    "rd_reward": ("government", "firms"),
    "talent": ("government", "households"),
    # equity
    "capital_call": ("government", "guidance_fund"),
    "equity_public": ("guidance_fund", "firms"),
    "equity_private": ("private_investors", "firms"),
    "stake_sale": ("private_investors", "guidance_fund"),
    "startup_founders": ("owners", "firms"),
    "dividends": ("firms", "owners"),
    "liquidation": ("firms", "owners"),
    # major projects
    "project_support": ("government", "private_investors"),
    "project_construction": ("private_investors", "suppliers"),
    "project_capital": ("private_investors", "firms"),
    # programmes: what the government buys from providers
    "programmes": ("government", "suppliers"),
}
"""Kind of payment -> (payer, payee)."""

_HOLDER = {h: i for i, h in enumerate(HOLDERS)}
_KIND = {k: i for i, k in enumerate(KINDS)}
_PAYER = np.array([_HOLDER[p] for p, _ in KINDS.values()])
_PAYEE = np.array([_HOLDER[q] for _, q in KINDS.values()])


class Accounts:
    """Cash flows of one run by kind and year, the holders' balances, and the loan book."""

    def __init__(self, n_years: int) -> None:
        self.year = 0  # row of `flows` payments are booked in (0 = first projected year)
        self.flows = np.zeros((n_years, len(KINDS)))  # yuan paid, [year, kind]
        self.balance = np.zeros(len(HOLDERS))  # net yuan received since the start, per holder
        self.loans = 0.0  # banks' loan book (yuan): credit - repayment - written off
        self.written_off = 0.0  # debt of closed firms the banks wrote off (yuan)

    def pay(self, kind: str, amount: float) -> None:
        """Book a payment of `amount` yuan (>= 0) of `kind` from its payer to its payee."""
        if amount == 0.0:
            return
        if not amount > -1e-6:  # also catches NaN
            raise ValueError(f"{kind}: a payment cannot be negative ({amount!r} yuan)")
        k = _KIND[kind]
        self.flows[self.year, k] += amount
        self.balance[_PAYER[k]] -= amount
        self.balance[_PAYEE[k]] += amount
        if kind == "credit":
            self.loans += amount
        elif kind == "repayment":
            self.loans -= amount

    def write_off(self, debt: float) -> None:
        """Debt of closing firms the banks write off (a loss, not a payment)."""
        self.loans -= debt
        self.written_off += debt

    def held(self, holder: str) -> float:
        """Net yuan `holder` received since the start."""
        return float(self.balance[_HOLDER[holder]])

    def total(self, kind: str, year: int | None = None) -> float:
        """Yuan paid as `kind` in year row `year` (all years if None)."""
        col = self.flows[:, _KIND[kind]]
        return float(col.sum() if year is None else col[year])
