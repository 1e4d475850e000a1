"""The money side of the zone as Mesa agents: the government, its guidance fund and the banks.

Every yuan they move goes through the run's accounts (accounts.py) with a payer and a payee, and
every yuan of the zone's budget through the government's ledger (by budget line, sector, year):

- Government: receives each year's special funds (and the innovation fund) from the treasury
  plus what it carried over, pays claims on its instruments pro rata within what is left for the
  step, pays its programmes at their unit costs, and at the year end carries over or lapses what
  an instrument did not spend (policy.carry_over_share).
- GuidanceFund: writes equity tickets sized to what a firm can use (the investment it plans but
  cannot finance), with private venture money alongside, seeds start-ups that find no other
  money, calls the public money from the government only when it invests, and sells its stakes
  after its holding period to private buyers at an uncertain multiple.
- Bank: rations credit on collateral and cash flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from .mechanisms import finance, funding
from .mechanisms.funding import BUDGET_LINES, INSTRUMENTS, PROGRAMMES
from .population import pick_weighted
from .sectors import N_SECTORS
from .state import ColumnStore, wsum

if TYPE_CHECKING:
    from .cluster_model import ClusterModel
    from .policy import YearPolicy

LINE = {name: i for i, name in enumerate(BUDGET_LINES)}


def per_firm(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """A payout per agent (yuan for all the firms it stands for) as yuan per firm (0 for rows of
    firms that have closed, weight 0)."""
    return np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)


STAKE_COLUMNS: dict[str, type] = {
    "firm": np.int64,  # firm id
    "public": np.float64,  # guidance-fund yuan invested (all the firms the agent stands for)
    "step": np.int32,  # step of the deal
    "output_then": np.float64,  # the firm's sales then, yuan/yr
    "alive": np.bool_,  # still held
}
PROGRAMME_COSTS: dict[str, tuple[str, str]] = {
    "innovation_centres": ("innovation_centres", "cost_innovation_centre"),
    "pilot_bases": ("pilot_bases", "cost_pilot_base"),
    "key_technologies": ("key_technologies", "cost_key_technology"),
    "talent_programmes": ("programme_persons", "cost_talent_programme"),
    "training": ("training_places", "cost_training_place"),
    "housing": ("housing_units", "cost_housing_unit"),
    "school_places": ("school_places", "cost_school_place"),
}
"""Programmes paid every step: budget line -> (YearPolicy quantity a year, unit cost parameter)."""


class Government(mesa.Agent):
    """The zone's administrative committee: its budget, instruments and programmes."""

    def __init__(self, model: ClusterModel, n_years: int) -> None:
        super().__init__(model)
        self.ledger = funding.BudgetLedger(n_years, N_SECTORS)
        self.left = np.zeros(len(INSTRUMENTS))  # special funds left this year (yuan)
        self.carried = np.zeros(len(INSTRUMENTS))  # carried over from last year (yuan)
        self.year = 0
        self.steps_left = 1
        self.procurement_step = np.zeros(N_SECTORS)  # urban-scenario spending the government pays this step

    def open_year(self, year: int, eff: YearPolicy, steps: int) -> None:
        """The year's appropriation from the treasury, added to what was carried over."""
        provided = eff.budgets.copy()
        provided[INSTRUMENTS.index("guidance_equity")] += eff.innovation_fund
        self.ledger.provided[year, : len(INSTRUMENTS)] = provided
        self.ledger.carried_in[year, : len(INSTRUMENTS)] = self.carried
        self.left = provided + self.carried
        self.carried = np.zeros(len(INSTRUMENTS))
        self.model.accounts.pay("appropriation", float(provided.sum()))
        self.year, self.steps_left = year, steps

    def allowance(self, instrument: str) -> float:
        """What `instrument` may pay this step: the rest of its year's money over the steps left."""
        return float(self.left[INSTRUMENTS.index(instrument)]) / self.steps_left

    def pay(self, instrument: str, claims: np.ndarray, sector: np.ndarray, kind: str | None = None) -> np.ndarray:
        """Pay claims (yuan, one per recipient in `sector`) from the instrument's allowance, pro
        rata if it falls short; books the ledger and the accounts (kind: the instrument's own).
        Returns the payouts."""
        i = INSTRUMENTS.index(instrument)
        paid = funding.pay_claims(claims, self.allowance(instrument))
        total = float(paid.sum())
        self.left[i] = max(self.left[i] - total, 0.0)
        self.ledger.record(self.year, i, paid, sector)
        self.model.accounts.pay(kind or instrument, total)
        return paid

    def pay_programme(self, line: str, amount: np.ndarray | float, sector: np.ndarray | int | None = None) -> None:
        """A programme's cost (yuan; per sector where given): appropriated as incurred and paid
        to its providers."""
        amount = np.atleast_1d(np.asarray(amount, dtype=float))
        where = np.zeros(amount.size, dtype=np.int64) if sector is None else np.atleast_1d(sector)
        total = float(amount.sum())
        if total <= 0.0:
            return
        self.ledger.provided[self.year, LINE[line]] += total
        self.ledger.record(self.year, LINE[line], amount, where)
        self.model.accounts.pay("appropriation", total)
        if line != "procurement":  # procurement is paid as sales (see FirmRules.settle)
            self.model.accounts.pay("programmes", total)

    def pay_programmes(self, eff: YearPolicy, params: Any, dt: float) -> None:
        """The step's cost of the programmes that run all year (centres, bases, key technologies,
        talent programmes, training, housing, school places) at their unit costs, and of the
        urban-scenario spending it pays (booked now; paid as zone firms' sales in
        FirmRules.settle and to firms elsewhere in `buy_procurement`)."""
        for line, (quantity, cost) in PROGRAMME_COSTS.items():
            self.pay_programme(line, getattr(eff, quantity) * getattr(params, cost) * dt)
        self.procurement_step = eff.public_spending * dt
        self.pay_programme("procurement", self.procurement_step, np.arange(N_SECTORS))

    def buy_procurement(self, from_zone: float) -> None:
        """The step's procurement not bought from zone firms (`from_zone` yuan were) is bought
        from firms elsewhere."""
        self.model.accounts.pay("procurement_elsewhere", max(float(self.procurement_step.sum()) - from_zone, 0.0))

    def pay_firms(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Subsidies to eligible firms of the targeted sectors, paid in full into their cash
        (whether they change what a firm does depends on its constraints, FirmRules.invest):
        loan-interest subsidies (a share of the interest on their debt; lowers the rate banks
        count next step), rent subsidies for small and young firms, and once a year the R&D-growth
        reward on the increase of a firm's R&D spending over last year."""
        from .mechanisms import talent

        f, p, fb, rules = m.firms, m.params, m.feedback, m.rules
        w = rules.weight
        sector, out = f.sector, f.output
        targeted = eff.targeted[sector]
        cash = f.cash
        claims = funding.interest_claims(f.debt, m.bank.rate, eff.interest_subsidy_share, targeted, m.dt)
        paid = per_firm(self.pay("loan_interest", claims * w, sector), w)
        cash += paid
        owed = np.bincount(sector, weights=w * claims / max(eff.interest_subsidy_share, 1e-12), minlength=N_SECTORS)
        with np.errstate(divide="ignore", invalid="ignore"):
            fb.interest_coverage = np.where(
                owed > 0, np.bincount(sector, weights=w * paid, minlength=N_SECTORS) / owed, 0.0
            )
        small = (rules.young | (out < m.pop["small_firm_output_yuan"])) & targeted
        workers = np.where(small, talent.labour_demand(out, m.output_per_worker[sector], f.productivity), 0.0)
        claims = funding.rent_claims(workers, p.rent_per_worker, eff.rent_subsidy_share, small, m.dt)
        paid = per_firm(self.pay("rent", claims * w, sector), w)
        cash += paid
        total = wsum(w, claims)
        fb.rent_coverage = wsum(w, paid) / total if total > 0 else 1.0
        if m.step_count % m.steps_per_year == 0:
            claims = funding.rd_reward_claims(
                eff.rd_reward_rate, f.rd_year, f.rd_last_year, targeted & (f.rd_last_year > 0)
            )
            paid = per_firm(self.pay("rd_reward", claims * w, sector), w)
            cash += paid
            total = wsum(w, claims)
            fb.rd_payout_ratio = wsum(w, paid) / total if total > 0 else 1.0
            f.rd_last_year[:] = f.rd_year
            f.rd_year[:] = 0.0

    def end_step(self) -> None:
        self.steps_left = max(self.steps_left - 1, 1)

    def close_year(self, carry_over_share: float) -> None:
        """What the instruments did not spend: carried over to next year or lapsed to the treasury."""
        self.ledger.unspent[self.year, : len(INSTRUMENTS)] = self.left
        self.carried = self.left * carry_over_share
        self.model.accounts.pay("lapse", float((self.left - self.carried).sum()))
        self.left = np.zeros(len(INSTRUMENTS))

    @staticmethod
    def lines() -> tuple[str, ...]:
        return INSTRUMENTS + PROGRAMMES


class GuidanceFund(mesa.Agent):
    """The zone's guidance fund (引导基金): equity for young and scaling firms and seed money for
    start-ups of the targeted sectors, with private venture money alongside; its public money is
    called from the government's guidance_equity budget as it invests; it sells its stakes to
    private buyers after its holding period and reinvests what they pay."""

    def __init__(self, model: ClusterModel, holding_steps: int) -> None:
        super().__init__(model)
        self.holding_steps = holding_steps
        self.stakes = ColumnStore(STAKE_COLUMNS, capacity=256)
        self.cash = 0.0  # exit proceeds not yet reinvested (yuan)
        self.public_invested = 0.0  # yuan
        self.private_invested = 0.0  # yuan
        self.returned = 0.0  # yuan paid by buyers of stakes
        self.deals = 0

    def money(self) -> float:
        """Public money the fund can invest this step (yuan): its own proceeds and the
        government's allowance."""
        return self.cash + self.model.government.allowance("guidance_equity")

    def _call(self, public: float, sector: np.ndarray, amounts: np.ndarray) -> None:
        """Use the fund's proceeds first, then call the rest from the government."""
        own = min(self.cash, public)
        self.cash -= own
        if public - own > 0.0:
            share = (public - own) / public
            self.model.government.pay("guidance_equity", amounts * share, sector, kind="capital_call")

    def invest(
        self, rows: np.ndarray, weight: np.ndarray, tickets: np.ndarray, leverage: float, step: int
    ) -> np.ndarray:
        """Equity for candidate firms `rows` in random order with probability proportional to
        `weight` (0 = not a candidate), each firm getting its ticket (yuan per firm, sized to what
        it can use), public and private together, while the public money lasts. Returns the
        equity per firm of each row (0 where none)."""
        model, f = self.model, self.model.firms
        order = pick_weighted(model.streams["funders"], weight, int(np.count_nonzero(weight > 0)))
        w = f.weight[rows[order]]
        public = tickets[order] / (1.0 + leverage) * w
        take = order[np.cumsum(public) <= self.money()]
        equity = np.zeros(rows.size)
        if take.size == 0:
            return equity
        equity[take] = tickets[take]
        picked = rows[take]
        pub = tickets[take] / (1.0 + leverage) * f.weight[picked]
        self._book(picked, pub, leverage, step)
        return equity

    def invest_growth(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Growth equity for young and scaling firms of the targeted sectors (younger than three
        start-up periods, not anchors) that plan investment their cash and credit cannot pay:
        tickets sized to that gap (at most the lever's ticket), chosen with probability
        proportional to the sector's targeting weight and the firm's productivity."""
        f, rules = m.firms, m.rules
        sector = f.sector
        cand = (f.age < 3 * m.startup_steps) & ~f.anchor & eff.targeted[sector] & (rules.gap > 0) & (rules.weight > 0)
        weight = eff.sector_weights[sector] * f.productivity * cand
        tickets = funding.equity_tickets(rules.gap, eff.equity_deal)
        equity = self.invest(np.arange(f.n), weight, tickets, eff.private_leverage, m.step_count)
        f.cash[:] += equity
        m.tally["equity_invested"] += wsum(rules.weight, equity)
        m.tally["equity_deals"] += float(rules.weight[equity > 0].sum())

    def seed(self, sector: np.ndarray, need: np.ndarray, weight: np.ndarray, leverage: float, cap: float) -> np.ndarray:
        """Seed money for would-be entrants (in the given order): each agent's start-up capital
        `need` (yuan per firm) x `weight`, public and private together, while the public money
        lasts (at most `cap` public yuan). Returns the public yuan per agent (0 where not backed);
        the caller books the stakes with `hold` once the firms exist."""
        from .mechanisms.entry_exit import seed_deals

        backed = seed_deals(need / (1.0 + leverage), weight, min(self.money(), cap))
        public = np.where(backed, need / (1.0 + leverage) * weight, 0.0)
        if backed.any():
            self._call(float(public.sum()), sector[backed].astype(np.int64), public[backed])
        return public

    def hold(self, rows: np.ndarray, public: np.ndarray, leverage: float, step: int) -> None:
        """Book new stakes (public yuan per agent) in firms `rows` with private money alongside
        (the public money was called already)."""
        f, acc = self.model.firms, self.model.accounts
        acc.pay("equity_public", float(public.sum()))
        acc.pay("equity_private", float((public * leverage).sum()))
        self.stakes.append(rows.size, firm=f.id[rows], public=public, step=step, output_then=f.output[rows])
        self.public_invested += float(public.sum())
        self.private_invested += float(public.sum()) * leverage
        self.deals += int(f.weight[rows].sum())

    def _book(self, rows: np.ndarray, public: np.ndarray, leverage: float, step: int) -> None:
        self._call(float(public.sum()), self.model.firms.sector[rows].astype(np.int64), public)
        self.hold(rows, public, leverage, step)

    def exit_stakes(self, step: int, valuation_sd: float) -> float:
        """Sell the stakes held for the holding period to private buyers: they pay the public
        stake x the firm's sales growth since the deal x a lognormal valuation factor (median 1;
        nothing for a firm that has closed). Returns the proceeds (yuan), kept for reinvestment."""
        st = self.stakes
        live = st.live_rows()
        due = live[(step - st.step[live]) >= self.holding_steps]
        if due.size == 0:
            return 0.0
        f = self.model.firms
        firm = f.rows_of(st.firm[due])
        growth = np.where(firm >= 0, f.output[firm] / np.maximum(st.output_then[due], 1.0), 0.0)
        noise = np.exp(valuation_sd * self.model.streams["funders"].standard_normal(due.size))
        st.remove(due)
        proceeds = float((st.public[due] * growth * noise).sum())
        self.model.accounts.pay("stake_sale", proceeds)
        self.cash += proceeds
        self.returned += proceeds
        return proceeds


class Bank(mesa.Agent):
    """The banks lending to zone firms (one agent stands for all of them): they ration credit
    on collateral and cash flow (finance.credit_limit)."""

    def __init__(self, model: ClusterModel, params: Any) -> None:
        super().__init__(model)
        self.rate = params.interest_rate  # 1/yr
        self.loan_to_value = params.loan_to_value
        self.amortisation = params.debt_amortisation  # 1/yr
        self.dscr_min = params.dscr_min
        self.capital_intensity = params.capital_intensity
        self.intangible_per_rd = params.intangible_per_rd

    def limit(self, output: np.ndarray, margin: np.ndarray, rd: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """Largest debt (yuan) each firm may carry at the borrowing `rate` it pays (1/yr)."""
        return finance.credit_limit(
            output,
            margin,
            finance.tangible_share(rd, self.intangible_per_rd),
            self.capital_intensity,
            self.loan_to_value,
            rate,
            self.amortisation,
            self.dscr_min,
        )
