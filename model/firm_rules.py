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
cash, debt) are one firm's; totals, payments and counts multiply by the weight.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .mechanisms import entry_exit, finance, growth, innovation, market, projects
from .population import pick_weighted
from .sectors import N_SECTORS, SECTOR_INDEX

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
    """Firm-level rules of one step, vectorised over the firm column store."""

    def __init__(self) -> None:
        self.rows = np.zeros(0, dtype=np.int64)  # live rows this step (nobody enters or exits in between)
        self.weight = np.zeros(0)  # firms each live row stands for
        self.desired = np.zeros(0)  # sales each firm's customers want this step (yuan/yr)
        self.need = np.zeros(0)  # investment each firm plans this step (yuan)
        self.gap = np.zeros(0)  # of it, what cash and credit cannot pay (yuan)
        self.target = np.zeros(0)  # capacity each firm plans for (yuan/yr)
        self.rate = np.zeros(0)  # borrowing rate each firm pays after subsidies (1/yr)
        self.limit = np.zeros(0)  # credit limit of each firm this step (yuan)
        self.margin = np.zeros(0)  # operating margin of each firm this step (operating_margin)

    # ------------------------------------------------------------------ R&D and innovation
    def innovate(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Technology VPs placed (the government pays each placement), innovations drawn (a
        firm's productivity and quality rise, and with quality its attraction: CES demand with
        elasticity `quality_elasticity`), R&D intensity moves towards the target the R&D-growth
        reward sets; the step's R&D spending is booked."""
        f, p = m.firms, m.params
        rows = f.live_rows()
        sector = f.sector[rows]
        weight = f.weight[rows]
        vp = m.streams["vp"]
        n_vp = vp.poisson(eff.vp_per_year * m.dt)
        if n_vp:
            w = f.rd_intensity[rows] * (sector != OTHER) * ~f.has_vp[rows]
            picked = rows[pick_firms(vp, w, weight, n_vp)]
            f.has_vp[picked] = True
            m.government.pay_programme("tech_vp", f.weight[picked] * p.cost_tech_vp, f.sector[picked])
        mult = eff.innovation_multiplier[sector] * (1.0 + p.vp_effect * f.has_vp[rows])
        prob = innovation.innovation_probability(
            f.rd_intensity[rows], m.pop["hightech_rd_ref"], p.innovation_hazard, p.innovation_rd_elasticity, mult, m.dt
        )
        hit = rows[m.row_draws("innovation").random(f.n)[rows] < prob]
        f.productivity[hit] *= 1.0 + p.innovation_jump
        f.attraction[hit] *= (1.0 + p.innovation_jump) ** p.quality_elasticity
        f.innovations[hit] += 1
        m.tally["innovations"] += float(f.weight[hit].sum())
        reward = eff.rd_reward_rate * m.feedback.rd_payout_ratio * (1.0 - p.deadweight_rd_reward)
        f.rd_intensity[rows] = innovation.rd_intensity_step(
            f.rd_intensity[rows],
            f.base_rd[rows],
            reward * eff.targeted[sector],
            p.rd_reward_elasticity,
            p.rd_adjust_rate,
            m.dt,
        )
        f.rd_year[rows] += f.rd_intensity[rows] * f.output[rows] * m.dt  # R&D spent this step, yuan

    # ------------------------------------------------------------------ demand
    def compete(self, m: ClusterModel) -> None:
        """Idiosyncratic shocks to each firm's attraction (fat-tailed, larger for small firms:
        Gibrat-type share dynamics), then the sales its customers want: its CES share of its
        sector's market part plus its contract demand."""
        f, p = m.firms, m.params
        self.rows = rows = f.live_rows()
        self.weight = weight = f.weight[rows]
        sector = f.sector[rows]
        sigma = growth.size_volatility(f.output[rows], p.sigma_ref, p.vol_size_beta, p.sigma_floor)
        shock = growth.laplace_shocks(m.row_draws("growth"), f.n)[rows]
        a = f.attraction[rows] * np.exp(growth.log_growth(0.0, sigma, shock, m.dt))
        f.attraction[rows] = a
        total = market.total_attraction(a, weight, sector, N_SECTORS)
        self.desired = market.desired_sales(m.markets.market, a, sector, total) + f.contract[rows]

    # ------------------------------------------------------------------ plans and their finance
    def plan(self, m: ClusterModel) -> None:
        """Capacity each firm plans for (its desired sales plus the usual spare), the investment
        that needs, its operating margin, borrowing rate and credit limit, and the financing gap
        (investment its cash above the precautionary floor and its credit headroom cannot pay:
        what equity can be used for)."""
        f, p = m.firms, m.params
        rows = self.rows
        out = f.output[rows]
        young = startup(f.age[rows], f.anchor[rows], m.startup_steps)
        self.margin = (
            operating_margin(f.margin[rows], young, f.rd_intensity[rows], f.base_rd[rows], p.startup_margin_penalty)
            - p.induced_margin_penalty * f.induced[rows]
        )
        sector = f.sector[rows]
        self.rate = m.bank.rate * (1.0 - m.feedback.interest_coverage[sector])
        self.limit = m.bank.limit(out, self.margin, f.rd_intensity[rows], self.rate)
        self.target = growth.capacity_target(self.desired, m.pop["spare_capacity"])
        self.need = growth.investment_need(f.capacity[rows], self.target, p.capital_intensity)
        internal = np.maximum(f.cash[rows] - p.precautionary_cash_years * out, 0.0)
        headroom = np.maximum(self.limit - f.debt[rows], 0.0)
        self.gap = np.maximum(self.need - internal - headroom, 0.0)

    def invest(self, m: ClusterModel) -> None:
        """Each firm builds the capacity it can finance (cash above its floor, then new credit)
        and staff (its sector's talent fill), and sells its desired sales up to its capacity;
        customers of firms that cannot deliver turn to rivals. Demand no zone firm can serve
        leaks to firms elsewhere (recorded)."""
        f, p, acc = m.firms, m.params, m.accounts
        rows, w = self.rows, self.weight
        sector = f.sector[rows]
        out = f.output[rows]
        cash, debt = f.cash[rows], f.debt[rows]
        floor = p.precautionary_cash_years * out
        fin_fill, _, _ = finance.finance_growth(cash, debt, self.limit, self.need, floor)
        fill = np.minimum(fin_fill, m.feedback.talent_fill[sector] ** p.talent_constraint)
        spend = fill * self.need
        _, borrowed = finance.split_funding(spend, cash, floor)
        f.cash[rows] = cash + borrowed - spend  # the investment is paid from cash and new credit
        f.debt[rows] = debt + borrowed
        acc.pay("credit", float((w * borrowed).sum()))
        acc.pay("investment", float((w * spend).sum()))
        capacity = growth.expand_capacity(f.capacity[rows], self.target, fill)
        f.capacity[rows] = capacity
        sales = np.minimum(self.desired, capacity)
        f.attraction[rows] = market.delivery_update(f.attraction[rows], sales, self.desired, p.delivery_switching)
        f.output[rows] = sales
        m.tally["unserved_demand"] += float((w * (self.desired - sales)).sum()) * m.dt
        m.tally["credit_granted"] += float((w * borrowed).sum())
        m.tally["investment"] += float((w * spend).sum())
        m.tally["constrained_firm_quarters"] += float((w * (finance.constrained(fin_fill) & (self.need > 0))).sum())
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
        rows, w = self.rows, self.weight
        out = f.output[rows]
        sector = f.sector[rows]
        young = startup(f.age[rows], f.anchor[rows], m.startup_steps)
        revenue = out * m.dt
        by_sector = np.bincount(sector, weights=w * np.maximum(out - f.contract[rows], 0.0), minlength=N_SECTORS)
        public = float((by_sector * m.markets.public_fraction()).sum()) * m.dt
        acc.pay("sales", float((w * revenue).sum()) - public)
        acc.pay("procurement_sales", public)
        m.government.buy_procurement(public)
        acc.pay("operating_costs", float((w * (1.0 - self.margin) * revenue).sum()))
        cash, debt = f.cash[rows], f.debt[rows]
        interest, principal = finance.debt_service(debt, self.limit, m.bank.rate, m.bank.amortisation, m.dt)
        acc.pay("interest", float((w * interest).sum()))
        acc.pay("repayment", float((w * principal).sum()))
        cash = cash + self.margin * revenue - interest - principal
        debt = debt - principal
        draw = finance.cover_shortfall(cash, debt, self.limit)
        acc.pay("credit", float((w * draw).sum()))
        cash, debt = cash + draw, debt + draw
        m.tally["credit_granted"] += float((w * draw).sum())
        f.distress[rows] = entry_exit.distress(cash, f.distress[rows])
        patience = p.distress_years * m.steps_per_year * np.where(f.anchor[rows], p.anchor_patience, 1.0)
        gone = entry_exit.exits(f.distress[rows], patience, out, p.min_viable_output) & (f.ramp_left[rows] == 0)
        gone &= f.contract[rows] <= 0.0  # a plant with firm orders is not closed
        payout = finance.excess_cash(cash, p.cash_target_years * out) * ~young * ~gone
        acc.pay("dividends", float((w * payout).sum()))
        cash = cash - payout
        acc.pay("liquidation", float((w * np.maximum(cash, 0.0) * gone).sum()))
        acc.pay("bad_debts", float((w * np.maximum(-cash, 0.0) * gone).sum()))
        written_off = float((w * debt * gone).sum())
        acc.write_off(written_off)
        m.tally["debt_written_off"] += written_off
        f.cash[rows] = np.where(gone, 0.0, cash)
        f.debt[rows] = np.where(gone, 0.0, debt)
        return rows[gone]

    # ------------------------------------------------------------------ major projects ramp up
    def ramp_up(self, m: ClusterModel) -> None:
        """Major projects ramp up: their contracted offtake rises by a step of their full-ramp
        sales each step; at full ramp the offtake joins the sector's market (its customers stay,
        so demand and the plant's attraction rise together: nobody else's share changes)."""
        f = m.firms
        rows = f.live_rows()
        ramping = rows[f.ramp_left[rows] > 0]
        if ramping.size == 0:
            return
        f.contract[ramping] += projects.ramp_increment(
            f.ramp_target[ramping], f.ramp_left[ramping], f.ramp_steps[ramping]
        )
        f.ramp_left[ramping] -= 1
        done = ramping[f.ramp_left[ramping] == 0]
        for s in np.unique(f.sector[done]):
            these = done[f.sector[done] == s]
            total = float((f.weight[rows] * f.attraction[rows])[f.sector[rows] == s].sum())
            f.attraction[these] += market.added_attraction(f.contract[these], float(m.markets.market[s]), total)
            m.markets.market[s] += float((f.weight[these] * f.contract[these]).sum())
            f.contract[these] = 0.0

    # ------------------------------------------------------------------ certification
    def certify(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Incubation lifts some innovating firms to the R&D threshold (the government pays per
        firm incubated); high-tech certificates are granted, kept for three years and renewed or
        lost at expiry."""
        f, p = m.firms, m.params
        rows = f.live_rows()
        threshold = m.ht_threshold(f.output[rows])
        inc = m.streams["incubation"]
        n_inc = inc.poisson(eff.incubation_per_year * m.dt)
        if n_inc:
            w = (~f.high_tech[rows] & (f.rd_intensity[rows] < threshold) & (f.innovations[rows] > 0)).astype(float)
            picked = rows[pick_firms(inc, w, f.weight[rows], n_inc)]
            f.base_rd[picked] = np.maximum(f.base_rd[picked], threshold[np.searchsorted(rows, picked)])
            f.rd_intensity[picked] = f.base_rd[picked]
            m.government.pay_programme("incubation", f.weight[picked] * p.cost_incubation, f.sector[picked])
        eligible = (
            (f.rd_intensity[rows] >= threshold) & (f.innovations[rows] > 0) & (f.age[rows] >= m.high_tech_min_age)
        )
        status, age = innovation.update_high_tech(
            f.high_tech[rows],
            f.cert_age[rows],
            eligible,
            m.row_draws("certify").random(f.n)[rows],
            p.certification_rate,
            p.renewal_pass_rate,
            m.ht_validity_steps,
            m.dt,
        )
        f.high_tech[rows] = status
        f.cert_age[rows] = age
