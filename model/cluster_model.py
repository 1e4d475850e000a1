"""The Mesa model of E-Town's clusters: builds the start state and steps the mechanisms.

One step is one quarter (by default). Each step, in order: dated shocks, demand from urban
application scenarios, innovation, R&D, firm growth (capped by talent and finance), funding
payouts, cash flow and exit, entry of start-ups and anchor projects, talent flows, high-tech
certification. Firm and cohort state lives in column stores (state.py) so that a step is
vectorised; firms, cohorts and funders are Mesa agents in `model.agents`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from . import agents as ag
from .data import facts
from .levers import BASELINE_LEVERS, Levers
from .mechanisms import demand, entry_exit, funding, growth, innovation, talent
from .params import Params, apply_uncertainties, default_params, population_assumptions, sector_assumptions
from .population import StartState, firm_counts, firm_sizes, pick_weighted
from .scenario import Scenario
from .sectors import INDUSTRIAL_MASK, N_SECTORS, SECTOR_IDS, SECTOR_INDEX
from .state import COHORT_COLUMNS, FIRM_COLUMNS, ColumnStore

ZONE_METRICS = (
    "gdp",
    "industrial_output",
    "high_tech_firms",
    "talent_persons",
    "budget_spent",
    "innovations",
    "entrants",
    "exits",
)
"""Zone outcomes recorded per year (yuan/year, yuan/year, firms, persons, yuan, count, firms, firms)."""


@dataclass
class RunRecord:
    """Yearly outcomes of one run. Index 0 is the start state; counts are zone-equivalent
    (divided by the model's scale)."""

    years: list[int]
    sector_output: np.ndarray  # [year, sector] yuan/year (calendar-year sum of quarters)
    sector_firms: np.ndarray  # [year, sector] firms at year end
    sector_employees: np.ndarray  # [year, sector] persons at year end
    zone: dict[str, np.ndarray]  # metric -> [year]
    ledger: funding.BudgetLedger


def _levers_reference(levers: Levers) -> dict[str, float]:
    """Quantities of a lever set that policy effects are measured against."""
    p = levers.policy
    return {
        "centres": float(levers.ecosystem.innovation_centres + levers.ecosystem.pilot_bases),
        "venture": p.special_funds_yuan_per_year * p.budget_shares.guidance_equity * (1.0 + p.private_leverage)
        + levers.ecosystem.innovation_fund_yuan_per_year,
        "services": levers.talent.housing_units + levers.talent.school_places,
    }


class ClusterModel(mesa.Model):
    """E-Town cluster growth under one scenario.

    scenario: validated levers and uncertainties (default: baseline, 2020 policies continued).
    params: behavioural parameters (default: calibrated, or the documented defaults).
    rng: seed or SeedSequence for `model.rng`, the only source of randomness.
    scale: share of the zone's firms simulated (1 = one agent per firm); sector totals are
        kept, so firms are 1/scale larger and reported counts are divided by scale.
    persons_per_agent: persons in one talent cohort agent.
    start: the start state (default: end-2020 from the data file).
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        params: Params | None = None,
        *,
        rng: int | np.random.SeedSequence | None = None,
        scale: float = 1.0,
        persons_per_agent: float = 500.0,
        start: StartState | None = None,
        steps_per_year: int = 4,
    ) -> None:
        super().__init__(rng=rng)
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        if persons_per_agent <= 0:
            raise ValueError("persons_per_agent must be positive")
        self.policy_scenario = scenario or Scenario(name="baseline")
        unc = self.policy_scenario.uncertainties
        self.params = apply_uncertainties(params if params is not None else default_params(), unc.parameters, self.rng)
        start = start or StartState.from_facts(self.policy_scenario.start_year)
        if unc.sample_baseline_ranges:
            start = start.with_sampled_outputs(self.rng)
        self.start = start
        self.scale = scale
        self.size_unit = 1.0 / scale  # firm sizes are inflated by this at scale < 1
        self.persons_per_agent = float(persons_per_agent)
        self.steps_per_year = steps_per_year
        self.dt = 1.0 / steps_per_year
        self.years = list(range(start.year, self.policy_scenario.end_year + 1))
        self.n_steps = (len(self.years) - 1) * steps_per_year
        self.quarter = 0

        sa = sector_assumptions()
        self.pop = population_assumptions()
        self.output_per_worker = sa["output_per_worker"]
        self.va_ratio = sa["va_ratio"]
        self.sector_margin = sa["margin"]
        self.sector_rd = sa["rd_intensity"]
        rules = facts()["rules"]["high_tech_rd_thresholds"]
        self._ht_bounds = np.asarray(rules["revenue_bounds_yuan"], dtype=float)
        self._ht_min_rd = np.asarray(rules["min_rd_intensity"], dtype=float)
        self._industrial = np.asarray(INDUSTRIAL_MASK)
        self._ref = _levers_reference(BASELINE_LEVERS)
        self._lev = _levers_reference(self.policy_scenario)
        self._weights = np.array([self.policy_scenario.clusters.sector_weights.get(s, 0.0) for s in SECTOR_IDS])
        self._rest_of_economy = start.gdp - float(self.va_ratio @ start.sector_output)

        self.firms = ColumnStore(FIRM_COLUMNS, capacity=int(start.firms * scale * 2) + 64)
        self.cohorts = ColumnStore(COHORT_COLUMNS, capacity=4096)
        self.firm_agents: list[ag.Firm] = []
        self.cohort_agents: list[ag.TalentCohort] = []
        self._build_firms()
        self._build_talent()
        self._build_funders()
        self._init_records()

    # ------------------------------------------------------------------ building the start
    def _build_firms(self) -> None:
        st, rng, pop = self.start, self.rng, self.pop
        known = [[o for (s, o) in st.known_firms if s == i] for i in range(N_SECTORS)]
        counts = firm_counts(
            round(st.firms * self.scale), sector_assumptions()["firm_share"], np.array([len(k) + 1 for k in known])
        )
        sector = np.repeat(np.arange(N_SECTORS, dtype=np.int8), counts)
        output = np.concatenate(
            [
                firm_sizes(
                    rng,
                    int(counts[i]),
                    float(st.sector_output[i]),
                    known[i],
                    pop["zipf_alpha"],
                    pop["size_sigma"],
                    floor=2.0 * self.params.min_viable_output * self.size_unit,
                )
                for i in range(N_SECTORS)
            ]
        )
        anchor = np.concatenate([np.arange(counts[i]) < len(known[i]) for i in range(N_SECTORS)])
        n = output.size
        rd = self.sector_rd[sector] * np.exp(pop["rd_sigma"] * rng.standard_normal(n) - pop["rd_sigma"] ** 2 / 2)
        margin = self.sector_margin[sector] + self.params.margin_sd * rng.standard_normal(n)
        age = rng.integers(0, 40, n)
        # national high-tech firms: the start count, drawn among firms that meet the R&D rule
        # (those that do not are lifted to it), larger and R&D-heavier firms first
        threshold = self._ht_threshold(output)
        weight = (output * self.scale) ** 0.3 * np.where(rd >= threshold, 1.0, 0.01) * (age >= 4)
        ht_rows = pick_weighted(rng, weight, round(st.high_tech_firms * self.scale))
        high_tech = np.zeros(n, dtype=bool)
        high_tech[ht_rows] = True
        rd[ht_rows] = np.maximum(rd[ht_rows], threshold[ht_rows])
        innovations = np.where(high_tech, 1 + rng.poisson(1.0, n), 0)
        self._add_firms(
            sector=sector,
            output=output,
            cash=pop["initial_cash_years"] * output,
            age=age,
            productivity=1.0,
            rd_intensity=rd,
            base_rd=rd,
            margin=margin,
            high_tech=high_tech,
            innovations=innovations,
            anchor=anchor,
        )
        self.base_firm_counts = counts.astype(float)
        self.median_firm_output = np.array([np.median(output[sector == i]) for i in range(N_SECTORS)])
        self.base_sector_output = st.sector_output.copy()

    def _build_talent(self) -> None:
        slack = self.pop["slack_share"]
        demand_ = self._labour_demand_by_sector(np.ones(N_SECTORS))
        pool = demand_ / (1.0 - slack)
        n = np.maximum(1, np.round(pool / self.persons_per_agent)).astype(int)
        field = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n)
        self._add_cohorts(field, self._draw_levels(field.size))
        self.base_level = self._mean_level()
        self.skill_multiplier = np.ones(N_SECTORS)
        self._talent_fill = np.ones(N_SECTORS)
        self._talent_carry = np.zeros(N_SECTORS)
        self._talent_subsidy_mult = 1.0
        base_pool = self._pool_by_field().sum()
        self._services_ref = self._ref["services"] / base_pool

    def _build_funders(self) -> None:
        p, pol = self.params, self.policy_scenario.policy
        extra = np.zeros(len(funding.INSTRUMENTS))
        extra[funding.INSTRUMENTS.index("guidance_equity")] = (
            self.policy_scenario.ecosystem.innovation_fund_yuan_per_year
        )
        self.government = ag.Government(
            self, pol.special_funds_yuan_per_year, pol.budget_shares.as_tuple(), len(self.years) - 1
        )
        self._extra_funds = extra  # technology innovation fund, invested through the guidance fund
        self.guidance_fund = ag.GuidanceFund(self, pol.private_leverage, pol.equity_deal_yuan)
        self.bank = ag.Bank(self, p.interest_rate, p.loan_to_output, p.credit_rate_elasticity)
        self._effective_rate = np.full(N_SECTORS, p.interest_rate)
        self._rd_payout_ratio = 1.0
        self._extra_demand = np.zeros(N_SECTORS)
        self._land_projects = 0.0

    def _add_firms(self, **columns: np.ndarray | float) -> np.ndarray:
        rows = self.firms.append(len(columns["sector"]), **columns)
        self.firm_agents.extend(ag.create_firms(self, rows))
        return rows

    def _add_cohorts(self, field: np.ndarray, level: np.ndarray) -> None:
        rows = self.cohorts.append(field.size, field=field, level=level, persons=self.persons_per_agent)
        self.cohort_agents.extend(ag.create_cohorts(self, rows))

    def _draw_levels(self, n: int) -> np.ndarray:
        p2, p3 = self.pop["level2_share"], self.pop["level3_share"]
        return self.rng.choice(np.array([1, 2, 3], dtype=np.int8), size=n, p=[1.0 - p2 - p3, p2, p3])

    # ------------------------------------------------------------------ derived quantities
    def _ht_threshold(self, output: np.ndarray) -> np.ndarray:
        return innovation.high_tech_rd_threshold(output * self.scale, self._ht_bounds, self._ht_min_rd)

    def _sector_sum(self, values: np.ndarray, sector: np.ndarray) -> np.ndarray:
        return np.bincount(sector, weights=values, minlength=N_SECTORS)

    def _labour_demand_by_sector(self, skill: np.ndarray) -> np.ndarray:
        f = self.firms
        rows = f.live_rows()
        sector = f.sector[rows]
        d = talent.labour_demand(f.output[rows], self.output_per_worker[sector], f.productivity[rows] * skill[sector])
        return self._sector_sum(d, sector)

    def _pool_by_field(self) -> np.ndarray:
        c = self.cohorts
        return self._sector_sum(c.persons * c.alive, c.field)

    def _mean_level(self) -> np.ndarray:
        c = self.cohorts
        w = c.persons * c.alive
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self._sector_sum(w * c.level, c.field) / self._sector_sum(w, c.field)
        return np.nan_to_num(mean, nan=1.0)

    def firm_counts(self) -> np.ndarray:
        """Living firms per sector (simulated agents, not scaled to the zone)."""
        f = self.firms
        return np.bincount(f.sector[f.alive], minlength=N_SECTORS).astype(float)

    def sector_output(self) -> np.ndarray:
        """Current output run rate per sector (yuan/year)."""
        f = self.firms
        return self._sector_sum(f.output * f.alive, f.sector)

    # ------------------------------------------------------------------ records
    def _init_records(self) -> None:
        ny = len(self.years)
        self.record = RunRecord(
            self.years,
            np.zeros((ny, N_SECTORS)),
            np.zeros((ny, N_SECTORS)),
            np.zeros((ny, N_SECTORS)),
            {m: np.zeros(ny) for m in ZONE_METRICS},
            self.government.ledger,
        )
        self._year_output = np.zeros(N_SECTORS)
        self._year_counts = {"innovations": 0.0, "entrants": 0.0, "exits": 0.0}
        self._record_year(0, self.sector_output())

    def _record_year(self, i: int, output: np.ndarray) -> None:
        f, r = self.firms, self.record
        r.sector_output[i] = output
        r.sector_firms[i] = self.firm_counts() / self.scale
        r.sector_employees[i] = self._labour_demand_by_sector(self.skill_multiplier)
        years_in = self.years[i] - self.start.year
        z = r.zone
        z["gdp"][i] = (
            self.va_ratio @ output + self._rest_of_economy * (1 + self.params.rest_of_economy_growth) ** years_in
        )
        z["industrial_output"][i] = output[self._industrial].sum()
        z["high_tech_firms"][i] = np.count_nonzero(f.high_tech & f.alive) / self.scale
        z["talent_persons"][i] = self._pool_by_field().sum()
        z["budget_spent"][i] = self.government.ledger.spent_by_year()[i - 1] if i > 0 else np.nan
        for k, v in self._year_counts.items():
            z[k][i] = v / self.scale if i > 0 else np.nan
            self._year_counts[k] = 0.0

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """Advance one step (a quarter by default)."""
        if self.quarter >= self.n_steps:
            raise RuntimeError("the run has reached the scenario's end year")
        self.quarter += 1
        year_i = (self.quarter - 1) // self.steps_per_year  # ledger row: 0 = first projection year
        year = self.start.year + 1 + year_i
        if (self.quarter - 1) % self.steps_per_year == 0:
            self._apply_shocks(year)
        budgets = self.government.step_budgets(self.dt) + self._extra_funds * self.dt
        self._urban_demand()
        self._innovate()
        old_rd_spend = self._grow()
        self._pay_firm_instruments(year_i, budgets, old_rd_spend)
        self._cash_flow_and_exit()
        self._entry(budgets)
        self._talent_step(year_i, budgets)
        self._certify()
        f = self.firms
        f.age[f.alive] += 1
        self._year_output += self.sector_output() * self.dt
        if self.quarter % self.steps_per_year == 0:
            self._record_year(year_i + 1, self._year_output)
            self._year_output = np.zeros(N_SECTORS)

    def run(self) -> RunRecord:
        """Run to the scenario's end year; returns the yearly record."""
        while self.quarter < self.n_steps:
            self.step()
        return self.record

    # ------------------------------------------------------------------ mechanisms wired in
    def _apply_shocks(self, year: int) -> None:
        f = self.firms
        for shock in self.policy_scenario.uncertainties.shocks:
            if shock.year == year and self.rng.random() < shock.probability:
                hit = np.isin(f.sector, [SECTOR_INDEX[s] for s in shock.sectors]) & f.alive
                f.output[hit] *= 1.0 + shock.output_change

    def _urban_demand_change(self) -> np.ndarray:
        """Change this step of the extra demand from urban application scenarios, per sector
        (yuan/year); the scenario levels are phased in linearly over the plan period."""
        u, base = self.policy_scenario.urban_scenarios, BASELINE_LEVERS.urban_scenarios
        share = demand.phase_in(self.quarter / self.n_steps)
        procurement = np.array([u.smart_city_procurement_yuan_per_year.get(s, 0.0) for s in SECTOR_IDS])
        extra = demand.scenario_demand(
            (u.autonomous_driving_road_km - base.autonomous_driving_road_km) * share,
            procurement * share,
            u.smart_healthcare_yuan_per_year * share,
            self.params.demand_per_road_km,
            self.params.scenario_capture,
            SECTOR_INDEX,
        )
        delta, self._extra_demand = extra - self._extra_demand, extra
        return delta

    def _urban_demand(self) -> None:
        delta = self._urban_demand_change()
        if not np.any(delta):
            return
        f = self.firms
        totals = self.sector_output()
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(totals > 0, delta / totals, 0.0)
        f.output[:] *= np.maximum(1.0 + rel[f.sector], 0.0)

    def _innovate(self) -> None:
        f, p, eco = self.firms, self.params, self.policy_scenario.ecosystem
        rows = f.live_rows()
        sector = f.sector[rows]
        # technology VPs placed this step, one per firm, in R&D-active firms of the clusters
        n_vp = self.rng.poisson(eco.tech_vp_per_year * self.dt * self.scale)
        if n_vp:
            w = f.rd_intensity[rows] * (sector != SECTOR_INDEX["other"]) * ~f.has_vp[rows]
            f.has_vp[rows[pick_weighted(self.rng, w, n_vp)]] = True
        key_tech = np.zeros(N_SECTORS)
        if eco.key_technology_sectors:
            for s in eco.key_technology_sectors:
                key_tech[SECTOR_INDEX[s]] += eco.key_technologies / len(eco.key_technology_sectors)
        centres = np.where(np.arange(N_SECTORS) == SECTOR_INDEX["other"], self._ref["centres"], self._lev["centres"])
        mult = innovation.ecosystem_multiplier(
            centres[sector],
            self._ref["centres"],
            key_tech[sector],
            f.has_vp[rows],
            p.ecosystem_effect,
            p.key_tech_effect,
            p.vp_effect,
        )
        prob = innovation.innovation_probability(
            f.rd_intensity[rows],
            self.pop["hightech_rd_ref"],
            p.innovation_hazard,
            p.innovation_rd_elasticity,
            mult,
            self.dt,
        )
        hit = rows[self.rng.random(rows.size) < prob]
        f.productivity[hit] *= 1.0 + p.innovation_jump
        f.output[hit] *= 1.0 + p.innovation_jump
        f.innovations[hit] += 1
        self._year_counts["innovations"] += hit.size
        reward = self.policy_scenario.policy.rd_reward_rate * self._rd_payout_ratio
        f.rd_intensity[rows] = innovation.rd_intensity_step(
            f.rd_intensity[rows], f.base_rd[rows], reward, p.rd_reward_elasticity, p.rd_adjust_rate, self.dt
        )

    def _grow(self) -> np.ndarray:
        """Grow firms; returns each firm's R&D spending (yuan/yr) before growth."""
        f, p = self.firms, self.params
        rows = f.live_rows()
        sector = f.sector[rows]
        out = f.output[rows]
        old_rd_spend = np.zeros(f.n)
        old_rd_spend[rows] = f.rd_intensity[rows] * out
        sigma = growth.size_volatility(out * self.scale, p.sigma_ref, p.vol_size_beta, p.sigma_floor)
        lg = growth.log_growth(p.trend()[sector], sigma, growth.laplace_shocks(self.rng, rows.size), self.dt)
        ramping = f.ramp_left[rows] > 0
        lg[ramping] = 0.0
        planned = out * np.expm1(lg)
        credit = self.bank.credit(out, self._effective_rate[sector], self.dt)
        fin = growth.finance_fill(f.cash[rows], credit, planned, p.capital_intensity)
        fill = np.minimum(fin, self._talent_fill[sector] ** p.talent_constraint)
        new = out * np.exp(growth.constrain_growth(lg, fill))
        new[ramping] += entry_exit.ramp_increment(
            f.ramp_target[rows[ramping]], f.ramp_left[rows[ramping]], p.anchor_ramp_quarters
        )
        investment = p.capital_intensity * np.maximum(new - out, 0.0)
        investment[ramping] = 0.0  # anchor projects arrive financed
        f.cash[rows] -= np.maximum(investment - credit, 0.0)
        f.output[rows] = new
        f.ramp_left[rows[ramping]] -= 1
        return old_rd_spend

    def _pay_firm_instruments(self, year_i: int, budgets: np.ndarray, old_rd_spend: np.ndarray) -> None:
        f, p, pol, gov = self.firms, self.params, self.policy_scenario.policy, self.government
        rows = f.live_rows()
        sector = f.sector[rows]
        out = f.output[rows]
        targeted = self._weights[sector] > 0
        idx = funding.INSTRUMENTS.index
        # loan-interest subsidies: a share of interest on debt of loan_to_output x output
        interest = p.interest_rate * p.loan_to_output * out * self.dt
        paid = gov.pay(
            year_i,
            "loan_interest",
            budgets[idx("loan_interest")],
            interest * pol.interest_subsidy_share * targeted,
            sector,
        )
        f.cash[rows] += paid
        covered = self._sector_sum(paid, sector) / np.maximum(self._sector_sum(interest, sector), 1e-9)
        self._effective_rate = p.interest_rate * (1.0 - covered)
        # rent subsidies for start-ups
        young = f.age[rows] < ag.STARTUP_QUARTERS
        workers = talent.labour_demand(out, self.output_per_worker[sector], f.productivity[rows])
        claims = p.rent_per_worker * workers * self.dt * pol.rent_subsidy_share * young * targeted
        f.cash[rows] += gov.pay(year_i, "rent", budgets[idx("rent")], claims, sector)
        # R&D-growth rewards: a reward per yuan of increase in annual R&D spending
        claims = pol.rd_reward_rate * np.maximum(f.rd_intensity[rows] * out - old_rd_spend[rows], 0.0)
        paid = gov.pay(year_i, "rd_reward", budgets[idx("rd_reward")], claims, sector)
        f.cash[rows] += paid
        self._rd_payout_ratio = float(paid.sum() / claims.sum()) if claims.sum() > 0 else 1.0
        # guidance-fund equity, co-invested with private venture money, in young targeted firms
        fund = self.guidance_fund
        candidates = (f.age[rows] < 3 * ag.STARTUP_QUARTERS) & ~f.anchor[rows] & targeted
        amounts = funding.deal_amounts(budgets[idx("guidance_equity")], fund.deal_size, int(candidates.sum()))
        picked = rows[pick_weighted(self.rng, self._weights[sector] * f.productivity[rows] * candidates, amounts.size)]
        amounts = amounts[: picked.size]
        f.cash[picked] += amounts * (1.0 + fund.private_leverage)
        gov.ledger.settle(year_i, idx("guidance_equity"), budgets[idx("guidance_equity")], amounts, f.sector[picked])
        fund.public_invested += amounts.sum()
        fund.private_invested += amounts.sum() * fund.private_leverage
        fund.deals += amounts.size

    def _cash_flow_and_exit(self) -> None:
        f, p = self.firms, self.params
        rows = f.live_rows()
        young = f.age[rows] < ag.STARTUP_QUARTERS
        margin = f.margin[rows] - p.startup_margin_penalty * young
        f.cash[rows] += growth.operating_cash_flow(f.output[rows], margin, p.interest_rate, p.loan_to_output, self.dt)
        gone = rows[
            entry_exit.exits(f.cash[rows], f.output[rows], p.min_viable_output * self.size_unit)
            & (f.ramp_left[rows] == 0)
        ]
        f.alive[gone] = False
        f.output[gone] = 0.0
        agents = self.firm_agents
        for r in gone.tolist():
            agents[r].remove()
        self._year_counts["exits"] += gone.size

    def _entry(self, budgets: np.ndarray) -> None:
        p, pol, cl = self.params, self.policy_scenario.policy, self.policy_scenario.clusters
        base = BASELINE_LEVERS.policy
        cost = entry_exit.entry_cost_index(
            pol.land_cost_reduction,
            pol.rent_subsidy_share,
            pol.approval_months,
            (base.land_cost_reduction, base.rent_subsidy_share, base.approval_months),
        )
        fund_ratio = self._lev["venture"] / self._ref["venture"] if self._ref["venture"] > 0 else 1.0
        ratio = self.sector_output() / self.base_sector_output
        firms_now = self.firm_counts()
        expected = entry_exit.expected_entrants(
            firms_now,
            p.entry_rate,
            ratio,
            firms_now / self.base_firm_counts,
            p.agglomeration,
            cost,
            p.entry_cost_elasticity,
            fund_ratio,
            p.fund_entry_elasticity,
            self.dt,
        )
        n_new = self.rng.poisson(expected)
        # anchor projects, limited by the industrial land supplied, each pulling in suppliers
        self._land_projects = min(
            self._land_projects + pol.land_hectares_per_year * self.dt / cl.land_per_anchor_ha,
            pol.land_hectares_per_year / cl.land_per_anchor_ha + 1.0,
        )
        rates = np.array([cl.anchor_projects_per_year.get(s, 0.0) for s in SECTOR_IDS])
        anchors = entry_exit.anchor_arrivals(self.rng, rates, self._land_projects, self.dt)
        self._land_projects -= anchors.sum()
        n_new = n_new + self.rng.poisson(cl.suppliers_per_anchor * self.scale, N_SECTORS) * (anchors > 0) * anchors
        sector = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n_new)
        if sector.size:
            out = entry_exit.startup_sizes(
                self.rng, sector.size, p.startup_relative_size * self.median_firm_output[sector], p.startup_size_sigma
            )
            self._add_firms(**self._newcomer_columns(sector, out), cash=self.pop["startup_cash_years"] * out)
        a_sector = np.repeat(np.arange(N_SECTORS, dtype=np.int8), anchors)
        if a_sector.size:
            target = (
                cl.anchor_investment_yuan
                * p.anchor_output_per_yuan
                * np.exp(
                    self.pop["anchor_size_sigma"] * self.rng.standard_normal(a_sector.size)
                    - self.pop["anchor_size_sigma"] ** 2 / 2
                )
            )
            ramp = max(round(p.anchor_ramp_quarters), 1)
            self._add_firms(
                **self._newcomer_columns(a_sector, target / ramp),
                cash=target,
                anchor=True,
                ramp_left=ramp - 1,
                ramp_target=target,
            )
        self._year_counts["entrants"] += sector.size + a_sector.size

    def _newcomer_columns(self, sector: np.ndarray, output: np.ndarray) -> dict[str, np.ndarray | float]:
        n = sector.size
        rd_sigma = self.pop["rd_sigma"]
        rd = self.sector_rd[sector] * np.exp(rd_sigma * self.rng.standard_normal(n) - rd_sigma**2 / 2)
        return {
            "sector": sector,
            "output": output,
            "productivity": 1.0,
            "rd_intensity": rd,
            "base_rd": rd,
            "margin": self._draw_margins(sector, output),
        }

    def _draw_margins(self, sector: np.ndarray, output: np.ndarray) -> np.ndarray:
        """Operating margins: sector mean plus a spread that narrows with size like growth volatility."""
        p = self.params
        spread = p.margin_sd * growth.size_volatility(output * self.scale, 1.0, p.vol_size_beta, 0.0).clip(max=1.0)
        return self.sector_margin[sector] + spread * self.rng.standard_normal(sector.size)

    def _talent_step(self, year_i: int, budgets: np.ndarray) -> None:
        p, tal, pol = self.params, self.policy_scenario.talent, self.policy_scenario.policy
        slack = self.pop["slack_share"]
        need = self._labour_demand_by_sector(self.skill_multiplier)
        pool = self._pool_by_field()
        self._talent_fill = talent.talent_fill(pool, need, slack)
        retention = talent.retention_multiplier(
            tal.housing_units, tal.school_places, pool.sum(), p.services_effect, self._services_ref
        )
        arrivals = talent.inflow(
            pool,
            need,
            p.talent_inflow,
            p.vacancy_pull,
            slack,
            tal.programme_persons_per_year,
            self._talent_subsidy_mult,
            self.dt,
        )
        # talent subsidies per arriving person, paid from the talent budget
        idx = funding.INSTRUMENTS.index("talent")
        paid = self.government.pay(
            year_i, "talent", budgets[idx], pol.talent_subsidy_per_person_yuan * arrivals, np.arange(N_SECTORS)
        )
        per_arrival = paid.sum() / max(arrivals.sum(), 1.0)
        self._talent_subsidy_mult = talent.subsidy_multiplier(
            per_arrival, BASELINE_LEVERS.policy.talent_subsidy_per_person_yuan, p.talent_subsidy_scale
        )
        # leavers: whole cohorts, with the sector's probability
        c = self.cohorts
        crow = c.live_rows()
        p_out = talent.outflow_probability(
            pool,
            need,
            p.talent_outflow + self.policy_scenario.uncertainties.talent_outflow_shock,
            retention,
            slack,
            p.excess_unemployed_exit,
            self.dt,
        )
        gone = crow[self.rng.random(crow.size) < p_out[c.field[crow]]]
        c.alive[gone] = False
        agents = self.cohort_agents
        for r in gone.tolist():
            agents[r].remove()
        # arrivals: whole cohorts once enough persons have come
        self._talent_carry += arrivals
        n_new = np.floor(self._talent_carry / self.persons_per_agent).astype(int)
        self._talent_carry -= n_new * self.persons_per_agent
        field = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n_new)
        if field.size:
            self._add_cohorts(field, self._draw_levels(field.size))
        # training: places move whole cohorts up one level ("help train")
        crow = c.live_rows()
        trainable = crow[c.level[crow] < 3]
        k = min(self.rng.poisson(tal.training_places_per_year * self.dt / self.persons_per_agent), trainable.size)
        if k:
            c.level[self.rng.choice(trainable, size=k, replace=False)] += 1
        self.skill_multiplier = talent.skill_productivity(self._mean_level(), self.base_level, p.training_premium)

    def _certify(self) -> None:
        f, p = self.firms, self.params
        rows = f.live_rows()
        threshold = self._ht_threshold(f.output[rows])
        n_inc = self.rng.poisson(self.policy_scenario.ecosystem.incubation_firms_per_year * self.dt * self.scale)
        if n_inc:
            w = (~f.high_tech[rows] & (f.rd_intensity[rows] < threshold) & (f.innovations[rows] > 0)).astype(float)
            picked = pick_weighted(self.rng, w, n_inc)
            f.base_rd[rows[picked]] = np.maximum(f.base_rd[rows[picked]], threshold[picked])
            f.rd_intensity[rows[picked]] = f.base_rd[rows[picked]]
        eligible = (f.rd_intensity[rows] >= threshold) & (f.innovations[rows] > 0) & (f.age[rows] >= 4)
        f.high_tech[rows] = innovation.update_high_tech(
            f.high_tech[rows],
            eligible,
            self.rng.random(rows.size),
            p.certification_rate,
            p.decertification_rate,
            self.dt,
        )
