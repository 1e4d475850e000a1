"""Entry: who founds a firm in the zone, with whose money, and what share of the market it takes.

Each step, would-be entrants come forward in each sector in proportion to its firms, more where
the market per firm is larger (expected profit) and set-up costs lower (land, the rent the
subsidy actually covers, approval time): entry_exit.potential_entrants. A would-be entrant enters
only if its start-up capital (the capacity it builds and its founding cash) is paid: by its
founders (owners in the accounts), else by private venture funds, else by the guidance fund's
seed money with private co-investment, while that lasts (a share of the fund's seed money only
displaces venture money that would have come anyway). Start-ups the seed money brings in that
would not have entered otherwise are "induced": smaller, and with a lower margin, so they survive
less (Branstetter, Lima, Taylor and Venancio 2014). Suppliers pulled in by a major project are
relocations paid by their owners.

An entrant takes its sales from the incumbents of its sector (market.entrant_attraction): entry
adds output only where it serves demand the incumbents could not.

At scale s < 1 each new agent stands for as many firms as a sampled small firm of its sector
(about 1/s, fewer in small sectors: population.sample_firms), so counts, capital and sales are
the same in expectation at any scale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .mechanisms import entry_exit, market
from .population import margins
from .sectors import N_SECTORS

if TYPE_CHECKING:
    from .cluster_model import ClusterModel
    from .policy import YearPolicy

FOUNDERS, VENTURE, UNFUNDED = 0, 1, 2
"""Who pays a would-be entrant's start-up capital without public money (entry_exit.finance_sources)."""


class EntryRules:
    """Entry of start-ups and suppliers (the seam ClusterModel calls each step)."""

    def enter(self, m: ClusterModel, eff: YearPolicy) -> None:
        """This step's start-ups, financed as the module docstring says."""
        from .policy import entry_cost_baseline

        f, p, rng = m.firms, m.params, m.streams["entry"]
        firms_now = np.bincount(f.sector, weights=f.weight, minlength=N_SECTORS)
        cost = entry_exit.entry_cost_index(
            eff.land_cost_reduction,
            eff.rent_subsidy_share * m.feedback.rent_coverage,
            eff.approval_months,
            entry_cost_baseline(),
        )
        expected = entry_exit.potential_entrants(
            firms_now,
            p.entry_rate,
            m.markets.market / m.ref_market,
            firms_now / m.ref_firm_counts,
            p.agglomeration,
            cost,
            p.entry_cost_elasticity,
            m.dt,
        )
        n = rng.poisson(expected / m.entrant_weight)
        sector = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n)
        if not sector.size:
            return
        weight = m.entrant_weight[sector]
        sales = self.sizes(m, sector)
        u = rng.random((2, sector.size))
        source = entry_exit.finance_sources(u[0], u[1], p.founder_coverage, p.vc_coverage)
        targeted = eff.targeted[sector]
        # the guidance fund's seed money: a share displaces venture money (VC-funded start-ups get
        # public money instead), the rest backs start-ups that found no other money (smaller ones)
        induced = (source == UNFUNDED) & targeted
        sales = np.where(induced, sales * p.induced_size_factor, sales)
        sales = market.cap_joint_sales(sales, weight, sector, m.markets.market, m.pop["entrant_market_share_max"])
        need = entry_exit.startup_capital(
            sales, p.capital_intensity, m.pop["spare_capacity"], m.pop["startup_cash_years"]
        )
        fund = m.guidance_fund
        money = fund.money()
        order = rng.permutation(sector.size)
        public = np.zeros(sector.size)
        cand = order[induced[order]]
        public[cand] = fund.seed(
            sector[cand], need[cand], weight[cand], eff.private_leverage, money * (1 - p.vc_crowding_out)
        )
        backed = public > 0
        spent = float(public.sum())
        if spent > 0.0 and p.vc_crowding_out > 0.0:
            crowd = order[((source == VENTURE) & targeted)[order]]
            cap = spent * p.vc_crowding_out / (1.0 - p.vc_crowding_out)
            public[crowd] = fund.seed(sector[crowd], need[crowd], weight[crowd], eff.private_leverage, cap)
        enters = (source != UNFUNDED) | backed
        if not enters.any():
            return
        sector, weight, sales, need, public = (
            sector[enters],
            weight[enters],
            sales[enters],
            need[enters],
            public[enters],
        )
        source, induced = source[enters], backed[enters]
        acc = m.accounts
        acc.pay("startup_founders", float((weight * need)[source == FOUNDERS].sum()))
        private_only = (source == VENTURE) & (public == 0)
        acc.pay("equity_private", float((weight * need)[private_only].sum()))
        new = self.add_firms(m, sector, sales, weight, induced)
        seeded = public > 0
        if seeded.any():
            fund.hold(new[seeded], public[seeded], eff.private_leverage, m.step_count)
        m.tally["entrants"] += float(weight.sum())
        m.tally["induced_entrants"] += float(weight[induced].sum())
        m.tally["seed_equity"] += float((weight * need)[(source == VENTURE) | seeded].sum())
        m.tally["startup_capital"] += float((weight * need).sum())

    def add_suppliers(self, m: ClusterModel, sector: np.ndarray, count: np.ndarray) -> None:
        """Suppliers a major project pulls in (count per project, full-scale firms): relocations
        whose owners pay their capital."""
        n = m.streams["suppliers"].poisson(count / m.entrant_weight[sector])
        sec = np.repeat(sector, n)
        if not sec.size:
            return
        weight = m.entrant_weight[sec]
        sales = market.cap_joint_sales(
            self.sizes(m, sec), weight, sec, m.markets.market, m.pop["entrant_market_share_max"]
        )
        need = entry_exit.startup_capital(
            sales, m.params.capital_intensity, m.pop["spare_capacity"], m.pop["startup_cash_years"]
        )
        m.accounts.pay("startup_founders", float((weight * need).sum()))
        self.add_firms(m, sec, sales, weight, np.zeros(sec.size, dtype=bool))
        m.tally["supplier_entrants"] += float(weight.sum())
        m.tally["entrants"] += float(weight.sum())
        m.tally["startup_capital"] += float((weight * need).sum())

    @staticmethod
    def sizes(m: ClusterModel, sector: np.ndarray) -> np.ndarray:
        """Start-up sales (yuan/yr per firm): lognormal around a share of the sector's median
        firm in the full-scale 2020 population, at least twice the viability floor."""
        p = m.params
        return entry_exit.startup_sizes(
            m.streams["entry"],
            sector.size,
            p.startup_relative_size * m.median_firm_output[sector],
            p.startup_size_sigma,
            floor=2.0 * p.min_viable_output,
        )

    @staticmethod
    def add_firms(
        m: ClusterModel, sector: np.ndarray, sales: np.ndarray, weight: np.ndarray, induced: np.ndarray
    ) -> np.ndarray:
        """New firms that have their start-up capital: they build their capacity (paid to
        suppliers), keep their founding cash, and take their sales from the incumbents of their
        sector. Returns their rows."""
        p, rng = m.params, m.streams["entry"]
        spare = m.pop["spare_capacity"]
        capacity = sales * (1.0 + spare)
        m.accounts.pay("investment", float((weight * capacity * p.capital_intensity).sum()))
        rd_sigma = m.pop["rd_sigma"]
        rd = m.sector_rd[sector] * np.exp(rd_sigma * rng.standard_normal(sector.size) - rd_sigma**2 / 2)
        f = m.firms
        totals = np.bincount(f.sector, weights=f.weight * f.attraction, minlength=N_SECTORS)
        attraction = np.zeros(sector.size)
        for s in np.unique(sector):
            these = sector == s
            total = float(totals[s])
            attraction[these] = market.entrant_attraction(
                sales[these], weight[these], float(m.markets.market[s]), total
            )
        quality = m.markets.quality[sector]
        return m.add_firms(
            sector=sector,
            weight=weight,
            output=sales,
            capacity=capacity,
            attraction=attraction,
            cash=m.pop["startup_cash_years"] * sales,
            productivity=quality,
            rd_intensity=rd,
            base_rd=rd,
            margin=margins(rng, sector, sales, p, m.sector_margin),
            induced=induced,
        )
