"""What every firm does in a step, applied to all firms at once.

`FirmRules` is the seam between the model's schedule and the firm-level rules: ClusterModel
calls `innovate`, `grow`, `settle` and `certify` on it each step (funders pay in between). This
class runs the rules vectorised over the firm column store; the per-agent reference
(benchmarks/reference_model.py) passes its own rules object with the same four methods, each
firm agent running them as scalar Python. Everything a firm decides is here: R&D and
innovation, growth under its finance and talent constraints, cash flow and debt service, exit,
certification. The economics are the pure functions of `model/mechanisms/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .mechanisms import entry_exit, finance, growth, innovation, projects
from .population import pick_weighted
from .sectors import SECTOR_INDEX

if TYPE_CHECKING:
    from .cluster_model import ClusterModel
    from .policy import YearPolicy

STARTUP_QUARTERS = 12
"""Firms younger than this (quarters) are start-ups (start-up margin penalty, rent subsidies,
guidance-fund deals)."""


def startup(age: np.ndarray, anchor: np.ndarray | bool = False) -> np.ndarray:
    """Start-ups: firms younger than STARTUP_QUARTERS that are not known large firms or major
    projects (those are backed by their parent or investor from the first day)."""
    return (age < STARTUP_QUARTERS) & ~np.asarray(anchor, dtype=bool)


def operating_margin(
    margin: np.ndarray, young: np.ndarray, rd: np.ndarray, base_rd: np.ndarray, penalty: float
) -> np.ndarray:
    """Cash margin on output before interest: the firm's margin, less the start-up burn for
    young firms and the R&D it spends above what it would without rewards."""
    return margin - penalty * young - (rd - base_rd)


class FirmRules:
    """Firm-level rules of one step, vectorised over the firm column store."""

    def __init__(self) -> None:
        self.rate = np.zeros(0)  # borrowing rate each live firm pays this step, after subsidies (1/yr)
        self.limit = np.zeros(0)  # credit limit of each live firm this step (yuan)
        self.margin = np.zeros(0)  # operating margin of each live firm this step (operating_margin)

    # ------------------------------------------------------------------ R&D and innovation
    def innovate(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Technology VPs placed, innovations drawn (productivity up), R&D intensity moves
        towards the target the R&D-growth reward sets; the quarter's R&D spending is booked."""
        f, p = m.firms, m.params
        rows = f.live_rows()
        sector = f.sector[rows]
        vp = m.streams["vp"]
        n_vp = vp.poisson(eff.vp_per_year * m.dt * m.scale)
        if n_vp:
            w = f.rd_intensity[rows] * (sector != SECTOR_INDEX["other"]) * ~f.has_vp[rows]
            f.has_vp[rows[pick_weighted(vp, w, n_vp)]] = True
        mult = eff.innovation_multiplier[sector] * (1.0 + p.vp_effect * f.has_vp[rows])
        prob = innovation.innovation_probability(
            f.rd_intensity[rows], m.pop["hightech_rd_ref"], p.innovation_hazard, p.innovation_rd_elasticity, mult, m.dt
        )
        hit = rows[m.row_draws("innovation").random(f.n)[rows] < prob]
        f.productivity[hit] *= 1.0 + p.innovation_jump
        f.output[hit] *= 1.0 + p.innovation_jump
        f.innovations[hit] += 1
        m.tally["innovations"] += hit.size
        reward = eff.rd_reward_rate * m.feedback.rd_payout_ratio * (1.0 - p.deadweight_rd_reward)
        f.rd_intensity[rows] = innovation.rd_intensity_step(
            f.rd_intensity[rows],
            f.base_rd[rows],
            reward * eff.targeted[sector],
            p.rd_reward_elasticity,
            p.rd_adjust_rate,
            m.dt,
        )
        f.rd_year[rows] += f.rd_intensity[rows] * f.output[rows] * m.dt  # R&D spent this quarter, yuan

    # ------------------------------------------------------------------ growth and its finance
    def grow(self, m: ClusterModel, eff: YearPolicy, drift: np.ndarray, demand_shift: np.ndarray) -> None:
        """Planned growth (sector drift and demand shift, idiosyncratic shock), capped by the
        finance (cash, bank credit) and talent the firm can get; major projects ramp up.

        drift: [sector] log growth per year of demand (trend + this year's shock); demand_shift:
        [sector] log change of demand this step from urban application scenarios.
        """
        f, p = m.firms, m.params
        rows = f.live_rows()
        sector = f.sector[rows]
        out = f.output[rows]
        sigma = growth.size_volatility(out * m.scale, p.sigma_ref, p.vol_size_beta, p.sigma_floor)
        shock = growth.laplace_shocks(m.row_draws("growth"), f.n)[rows]
        lg = growth.log_growth(drift[sector], sigma, shock, m.dt) + demand_shift[sector]
        ramping = f.ramp_left[rows] > 0
        lg[ramping] = 0.0
        young = startup(f.age[rows], f.anchor[rows])
        self.margin = margin = operating_margin(
            f.margin[rows], young, f.rd_intensity[rows], f.base_rd[rows], p.startup_margin_penalty
        )
        self.rate = m.bank.rate * (1.0 - m.feedback.interest_coverage[sector] * (1.0 - p.deadweight_interest))
        self.limit = m.bank.limit(out, margin, f.rd_intensity[rows], self.rate)
        cash, debt = f.cash[rows], f.debt[rows]
        need = growth.investment_need(out, lg, p.capital_intensity)
        floor = p.precautionary_cash_years * out
        fin_fill, _, _ = finance.finance_growth(cash, debt, self.limit, need, floor)
        fill = np.minimum(fin_fill, m.feedback.talent_fill[sector] ** p.talent_constraint)
        lg = growth.constrain_growth(lg, fill)
        spend = growth.investment_need(out, lg, p.capital_intensity)
        from_cash, borrowed = finance.split_funding(spend, cash, floor)
        from_cash[ramping] = borrowed[ramping] = 0.0  # major projects arrive financed by their investors
        f.cash[rows] = cash - from_cash
        f.debt[rows] = debt + borrowed
        new = out * np.exp(lg)
        if ramping.any():
            r = rows[ramping]
            new[ramping] += projects.ramp_increment(f.ramp_target[r], f.ramp_left[r], f.ramp_quarters[r])
            f.ramp_left[r] -= 1
        f.output[rows] = new
        m.tally["credit_granted"] += float(borrowed.sum())
        m.tally["investment"] += float(spend.sum())
        m.tally["constrained_firm_quarters"] += int(np.count_nonzero(finance.constrained(fin_fill) & ~ramping))
        m.tally["firm_quarters"] += rows.size

    # ------------------------------------------------------------------ cash flow and exit
    def settle(self, m: ClusterModel) -> np.ndarray:
        """Operating cash flow, interest and repayment of debt above the limit, credit drawn to
        cover a shortfall, distress and exit; cash above the target is paid out. Returns the
        rows of firms that exit. Start-ups keep their founding cash for the burn."""
        f, p = m.firms, m.params
        rows = f.live_rows()  # the rows of `grow` (funders pay in between, nobody enters or exits)
        out = f.output[rows]
        young = startup(f.age[rows], f.anchor[rows])
        margin = self.margin
        cash, debt = f.cash[rows], f.debt[rows]
        interest, principal = finance.debt_service(debt, self.limit, m.bank.rate, m.bank.amortisation, m.dt)
        cash = cash + margin * out * m.dt - interest - principal
        debt = debt - principal
        draw = finance.cover_shortfall(cash, debt, self.limit)
        cash, debt = cash + draw, debt + draw
        m.tally["credit_granted"] += float(draw.sum())
        f.distress[rows] = entry_exit.distress(cash, f.distress[rows])
        patience = p.distress_quarters * np.where(f.anchor[rows], p.anchor_patience, 1.0)
        gone = entry_exit.exits(f.distress[rows], patience, out, p.min_viable_output * m.size_unit) & (
            f.ramp_left[rows] == 0
        )
        f.cash[rows] = cash - finance.excess_cash(cash, p.cash_target_years * out) * ~young  # start-ups keep theirs
        f.debt[rows] = debt
        m.tally["debt_written_off"] += float(f.debt[rows[gone]].sum())
        return rows[gone]

    # ------------------------------------------------------------------ certification
    def certify(self, m: ClusterModel, eff: YearPolicy) -> None:
        """Incubation lifts some innovating firms to the R&D threshold; high-tech certificates
        are granted, kept for three years and renewed or lost at expiry."""
        f, p = m.firms, m.params
        rows = f.live_rows()
        threshold = m.ht_threshold(f.output[rows])
        inc = m.streams["incubation"]
        n_inc = inc.poisson(eff.incubation_per_year * m.dt * m.scale)
        if n_inc:
            w = (~f.high_tech[rows] & (f.rd_intensity[rows] < threshold) & (f.innovations[rows] > 0)).astype(float)
            picked = rows[pick_weighted(inc, w, n_inc)]
            f.base_rd[picked] = np.maximum(f.base_rd[picked], threshold[np.searchsorted(rows, picked)])
            f.rd_intensity[picked] = f.base_rd[picked]
        eligible = (f.rd_intensity[rows] >= threshold) & (f.innovations[rows] > 0) & (f.age[rows] >= 4)
        status, age = innovation.update_high_tech(
            f.high_tech[rows],
            f.cert_age[rows],
            eligible,
            m.row_draws("certify").random(f.n)[rows],
            p.certification_rate,
            p.renewal_pass_rate,
            m.ht_validity_quarters,
            m.dt,
        )
        f.high_tech[rows] = status
        f.cert_age[rows] = age
