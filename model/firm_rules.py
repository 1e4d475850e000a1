"""What every firm does in a step, applied to all firms at once.

`FirmRules` is the seam between the model's schedule and the firm-level rules: ClusterModel
calls, in order, `innovate`, `compete`, `plan`, (funders pay), `invest`, `settle`, `ramp_up` and
`certify` on it each step. This class runs the rules vectorised over the firm column store; the
per-agent reference (benchmarks/reference_model.py) passes its own rules object with the same
methods, each firm agent running them as scalar Python. Everything a firm decides is here: R&D
and innovation; its customers' demand (its CES share of its sector's market, mechanisms/
market.py); the capacity it plans and can finance and staff; what it sells; cash flow, debt
service and exit; certification. The economics are the pure functions of `model/mechanisms/`.

Each agent stands for `weight` identical firms (1 at scale 1): per-firm quantities (sales,
cash, debt) are one firm's; totals, payments and counts multiply by the weight. The rules run on
whole columns of the firm store: rows of firms that have closed have weight, sales, capacity,
attraction, cash and debt zeroed (ClusterModel.remove_members), so they add nothing to any sum
until the store is compacted; random draws are per firm id (ClusterModel.uniforms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .mechanisms import entry_exit, finance, growth, innovation, market, projects
from .population import pick_weighted
from .sectors import N_SECTORS, SECTOR_INDEX
from .state import wsum

if TYPE_CHECKING:
    from .cluster_model import ClusterModel
    from .policy import YearPolicy

OTHER = SECTOR_INDEX["other"]


def startup(age: np.ndarray, anchor: np.ndarray | bool, startup_steps: float) -> np.ndarray:
    """Start-ups: firms younger than `startup_steps` that are not known large firms or major
    projects (those are backed by their parent or investor from the first day)."""
    return (age < startup_steps) & ~np.asarray(anchor, dtype=bool)


def operating_margin(
    margin: np.ndarray, young: np.ndarray, rd: np.ndarray, base_rd: np.ndarray, penalty: float
) -> np.ndarray:
    """Cash margin on sales before interest: the firm's margin, less the start-up burn for
    young firms and the R&D it spends above what it would without rewards."""
    return margin - penalty * young - (rd - base_rd)


def pick_firms(rng: np.random.Generator, per_firm: np.ndarray, agent_weight: np.ndarray, n_firms: float) -> np.ndarray:
    """Agents picked so that about `n_firms` firms are chosen, each firm with probability
    proportional to `per_firm` (agents standing for several firms are chosen whole): agents in
    Efraimidis-Spirakis order until their weights reach n_firms, the last one with the
    probability that keeps the expected count exact."""
    order = pick_weighted(rng, per_firm * agent_weight, int(np.count_nonzero(per_firm > 0)))
    cum = np.cumsum(agent_weight[order])
    k = int(np.searchsorted(cum, n_firms, side="left"))
    if k < order.size:
        before = cum[k - 1] if k else 0.0
        if rng.random() < (n_firms - before) / agent_weight[order[k]]:
            k += 1
    return order[:k]


class FirmRules:
    """Firm-level rules of one step, vectorised over the whole firm store."""

    def __init__(self) -> None:
        self.weight = np.zeros(0)  # firms each row stands for (0: closed)
        self.desired = np.zeros(0)  # sales each firm's customers want this step (yuan/yr)
        self.need = np.zeros(0)  # investment each firm plans this step (yuan)
        self.gap = np.zeros(0)  # of it, what cash and credit cannot pay (yuan)
        self.target = np.zeros(0)  # capacity each firm plans for (yuan/yr)
        self.rate = np.zeros(0)  # borrowing rate each firm pays after subsidies (1/yr)
        self.limit = np.zeros(0)  # credit limit of each firm this step (yuan)
        self.margin = np.zeros(0)  # operating margin of each firm this step (operating_margin)
        self.young = np.zeros(0, dtype=bool)  # start-ups this step (startup)
        self.limit_total = 0.0  # what banks would lend the firms that remain after this step's exits (yuan)

    # ------------------------------------------------------------------ R&D and innovation
    def innovate(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Technology VPs placed (the government pays each placement), innovations drawn (a
        firm's productivity and quality rise, and with quality its attraction: CES demand with
        elasticity `quality_elasticity`), R&D intensity moves towards the target the R&D-growth
        reward sets; the step's R&D spending is booked."""
        f, p = m.firms, m.params
        sector = f.sector
        vp = m.streams["vp"]
        n_vp = vp.poisson(eff.vp_per_year * m.dt)
        if n_vp:
            w = f.rd_intensity * (sector != OTHER) * ~f.has_vp
            picked = pick_firms(vp, w, f.weight, n_vp)
            f.has_vp[picked] = True
            m.government.pay_programme("tech_vp", f.weight[picked] * p.cost_tech_vp, sector[picked])
        mult = eff.innovation_multiplier[sector] * (1.0 + p.vp_effect * f.has_vp)
        prob = innovation.innovation_probability(
            f.rd_intensity, m.pop["hightech_rd_ref"], p.innovation_hazard, p.innovation_rd_elasticity, mult, m.dt
        )
        hit = np.flatnonzero(m.uniforms("innovation", f.id) < prob)
        f.productivity[hit] *= 1.0 + p.innovation_jump
        f.attraction[hit] *= (1.0 + p.innovation_jump) ** p.quality_elasticity
        f.innovations[hit] += 1
        m.tally["innovations"] += float(f.weight[hit].sum())
        reward = eff.rd_reward_rate * m.feedback.rd_payout_ratio * (1.0 - p.deadweight_rd_reward)
        f.rd_intensity[:] = innovation.rd_intensity_step(
            f.rd_intensity, f.base_rd, reward * eff.targeted[sector], p.rd_reward_elasticity, p.rd_adjust_rate, m.dt
        )
        f.rd_year[:] += f.rd_intensity * f.output * m.dt  # R&D spent this step, yuan

    # ------------------------------------------------------------------ demand
    def compete(self, m: ClusterModel) -> None:
        """Idiosyncratic shocks to each firm's attraction (fat-tailed, larger for small firms:
        Gibrat-type share dynamics), then the sales its customers want: its CES share of its
        sector's market part plus its contract demand."""
        f, p = m.firms, m.params
        self.weight = f.weight.copy()
        sigma = growth.size_volatility(f.output, p.sigma_ref, p.vol_size_beta, p.sigma_floor)
        shock = m.laplace("growth", f.id)
        a = f.attraction
        a *= np.exp(growth.log_growth(0.0, sigma, shock, m.dt))
        total = market.total_attraction(a, self.weight, f.sector, N_SECTORS)
        self.desired = market.desired_sales(m.markets.market, a, f.sector, total) + f.contract

    # ------------------------------------------------------------------ plans and their finance
    def plan(self, m: ClusterModel) -> None:
        """Capacity each firm plans for (its desired sales plus the usual spare), the investment
        that needs, its operating margin, borrowing rate and credit limit, and the financing gap
        (investment its cash above the precautionary floor and its credit headroom cannot pay:
        what equity can be used for)."""
        f, p = m.firms, m.params
        out = f.output
        self.young = young = startup(f.age, f.anchor, m.startup_steps)
        self.margin = (
            operating_margin(f.margin, young, f.rd_intensity, f.base_rd, p.startup_margin_penalty)
            - p.induced_margin_penalty * f.induced
        )
        self.rate = m.bank.rate * (1.0 - m.feedback.interest_coverage[f.sector])
        self.limit = m.bank.limit(out, self.margin, f.rd_intensity, self.rate)
        self.target = growth.capacity_target(self.desired, m.pop["spare_capacity"])
        self.need = growth.investment_need(f.capacity, self.target, p.capital_intensity)
        internal = np.maximum(f.cash - p.precautionary_cash_years * out, 0.0)
        headroom = np.maximum(self.limit - f.debt, 0.0)
        self.gap = np.maximum(self.need - internal - headroom, 0.0)

    def invest(self, m: ClusterModel) -> None:
        """Each firm builds the capacity it can finance (cash above its floor, then new credit)
        and staff (its sector's talent fill), and sells its desired sales up to its capacity;
        customers of firms that cannot deliver turn to rivals. Demand no zone firm can serve
        leaks to firms elsewhere (recorded)."""
        f, p, acc = m.firms, m.params, m.accounts
        w = self.weight
        cash, debt = f.cash, f.debt
        floor = p.precautionary_cash_years * f.output
        fin_fill, _, _ = finance.finance_growth(cash, debt, self.limit, self.need, floor)
        fill = np.minimum(fin_fill, m.feedback.talent_fill[f.sector] ** p.talent_constraint)
        spend = fill * self.need
        _, borrowed = finance.split_funding(spend, cash, floor)
        cash += borrowed - spend  # the investment is paid from cash and new credit
        debt += borrowed
        acc.pay("credit", wsum(w, borrowed))
        acc.pay("investment", wsum(w, spend))
        capacity = growth.expand_capacity(f.capacity, self.target, fill)
        f.capacity[:] = capacity
        sales = np.minimum(self.desired, capacity)
        f.attraction[:] = market.delivery_update(f.attraction, sales, self.desired, p.delivery_switching)
        f.output[:] = sales
        m.tally["unserved_demand"] += wsum(w, (self.desired - sales)) * m.dt
        m.tally["credit_granted"] += wsum(w, borrowed)
        m.tally["investment"] += wsum(w, spend)
        m.tally["constrained_firm_quarters"] += wsum(w, (finance.constrained(fin_fill) & (self.need > 0)))
        m.tally["firm_quarters"] += float(w.sum())

    # ------------------------------------------------------------------ cash flow and exit
    def settle(self, m: ClusterModel) -> np.ndarray:
        """Sales revenue (paid by customers, or by the government for the procurement it buys
        from zone firms), operating costs, interest and repayment of debt above the limit, credit
        drawn to cover a shortfall, distress and exit (a closing firm's remaining cash goes to its
        owners, its unpaid bills are its suppliers' loss, its debt the banks' write-off); cash
        above the target is paid out to owners (start-ups keep theirs). Returns the rows of firms
        that exit."""
        f, p, acc = m.firms, m.params, m.accounts
        w = self.weight
        out = f.output
        young = self.young
        revenue = out * m.dt
        market_sales = np.bincount(f.sector, weights=w * np.maximum(out - f.contract, 0.0), minlength=N_SECTORS)
        public = float(market_sales @ m.markets.public_fraction()) * m.dt
        acc.pay("sales", wsum(w, revenue) - public)
        acc.pay("procurement_sales", public)
        m.government.buy_procurement(public)
        acc.pay("operating_costs", wsum(w, ((1.0 - self.margin) * revenue)))
        interest, principal = finance.debt_service(f.debt, self.limit, m.bank.rate, m.bank.amortisation, m.dt)
        acc.pay("interest", wsum(w, interest))
        acc.pay("repayment", wsum(w, principal))
        cash = f.cash + self.margin * revenue - interest - principal
        debt = f.debt - principal
        draw = finance.cover_shortfall(cash, debt, self.limit)
        acc.pay("credit", wsum(w, draw))
        cash += draw
        debt += draw
        m.tally["credit_granted"] += wsum(w, draw)
        f.distress[:] = entry_exit.distress(cash, f.distress)
        patience = p.distress_years * m.steps_per_year * np.where(f.anchor, p.anchor_patience, 1.0)
        gone = entry_exit.exits(f.distress, patience, out, p.min_viable_output) & (f.ramp_left == 0)
        gone &= (f.contract <= 0.0) & f.alive  # a plant with firm orders is not closed
        payout = finance.excess_cash(cash, p.cash_target_years * out) * ~young * ~gone
        acc.pay("dividends", wsum(w, payout))
        cash -= payout
        acc.pay("liquidation", wsum(w, (np.maximum(cash, 0.0) * gone)))
        acc.pay("bad_debts", wsum(w, (np.maximum(-cash, 0.0) * gone)))
        written_off = wsum(w, (debt * gone))
        acc.write_off(written_off)
        m.tally["debt_written_off"] += written_off
        f.cash[:] = cash
        f.debt[:] = debt
        self.limit_total = wsum(w, (self.limit * ~gone))
        return np.flatnonzero(gone)

    # ------------------------------------------------------------------ major projects ramp up
    def ramp_up(self, m: ClusterModel) -> None:
        """Major projects ramp up: their contracted offtake rises by a step of their full-ramp
        sales each step; at full ramp the offtake joins the sector's market (its customers stay,
        so demand and the plant's attraction rise together: nobody else's share changes)."""
        f = m.firms
        ramping = np.flatnonzero(f.ramp_left > 0)
        if ramping.size == 0:
            return
        f.contract[ramping] += projects.ramp_increment(
            f.ramp_target[ramping], f.ramp_left[ramping], f.ramp_steps[ramping]
        )
        f.ramp_left[ramping] -= 1
        done = ramping[f.ramp_left[ramping] == 0]
        for s in np.unique(f.sector[done]):
            these = done[f.sector[done] == s]
            total = wsum(f.weight[f.sector == s], f.attraction[f.sector == s])
            f.attraction[these] += market.added_attraction(f.contract[these], float(m.markets.market[s]), total)
            m.markets.market[s] += wsum(f.weight[these], f.contract[these])
            f.contract[these] = 0.0

    # ------------------------------------------------------------------ certification
    def certify(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Incubation lifts some innovating firms to the R&D threshold (the government pays per
        firm incubated); high-tech certificates are granted, kept for three years and renewed or
        lost at expiry."""
        f, p = m.firms, m.params
        threshold = m.ht_threshold(f.output)
        inc = m.streams["incubation"]
        n_inc = inc.poisson(eff.incubation_per_year * m.dt)
        if n_inc:
            w = (~f.high_tech & (f.rd_intensity < threshold) & (f.innovations > 0)).astype(float)
            picked = pick_firms(inc, w, f.weight, n_inc)
            f.base_rd[picked] = np.maximum(f.base_rd[picked], threshold[picked])
            f.rd_intensity[picked] = f.base_rd[picked]
            m.government.pay_programme("incubation", f.weight[picked] * p.cost_incubation, f.sector[picked])
        eligible = (f.rd_intensity >= threshold) & (f.innovations > 0) & (f.age >= m.high_tech_min_age)
        status, age = innovation.update_high_tech(
            f.high_tech,
            f.cert_age,
            eligible,
            m.uniforms("certify", f.id),
            p.certification_rate,
            p.renewal_pass_rate,
            m.ht_validity_steps,
            m.dt,
        )
        f.high_tech[:] = status
        f.cert_age[:] = age
