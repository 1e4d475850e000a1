"""The Mesa model of E-Town's clusters: the schedule and the wiring.

One step is one quarter (by default). Each step, in order:
  1. the year's policy effects (policy.py) and, at a new year, dated shocks;
  2. firms innovate and adjust R&D (firm_rules.py);
  3. firms grow: sector demand (trend, yearly sector shock, procurement), idiosyncratic shock,
     capped by the finance and talent they can get;
  4. funders pay: loan-interest, rent and R&D-growth subsidies (Government.pay), equity
     (GuidanceFund.invest), exits of the fund's stakes;
  5. firms settle cash flow and debt service; firms in sustained distress exit;
  6. major projects: won, given land, paid and built (ProjectOffice.step); those that start
     producing become anchor firms and pull in suppliers;
  7. entry of start-ups; 8. talent flows, training and talent subsidies; 9. certification.
Firms, cohorts and funders are Mesa agents in `model.agents`; firm and cohort state lives in
column stores (state.py), so every step is vectorised. The economics are in `mechanisms/`, the
levers' effects in `policy.py`, the firm-level rules in `firm_rules.py`, the start population
in `population.py`, the yearly records in `records.py`.
"""

from __future__ import annotations

import mesa
import numpy as np

from . import agents as ag
from .data import fact, facts
from .firm_rules import STARTUP_QUARTERS, FirmRules, startup
from .inputs import ParamSource, RunInputs, draw_inputs
from .mechanisms import entry_exit, funding, innovation, projects, talent
from .mechanisms.demand import demand_growth, reallocation_growth
from .params import Params, population_assumptions, sector_assumptions
from .policy import YearPolicy, policy_path, services_2020, talent_subsidy_2020
from .population import StartState, initial_firms, margins, sector_counts
from .records import ZONE_METRICS, RunRecord, new_record, new_tally, record_quarter, record_year
from .scenario import Scenario
from .sectors import N_SECTORS, SECTOR_INDEX
from .state import COHORT_COLUMNS, FIRM_COLUMNS, ColumnStore, Feedback

MODEL_STREAMS = (
    "population",
    "innovation",
    "vp",
    "growth",
    "funders",
    "projects",
    "project_size",
    "suppliers",
    "entry",
    "talent",
    "talent_levels",
    "training",
    "certify",
    "incubation",
    "shocks",
)
"""Children of `model.rng`, one per mechanism (order fixed): a lever that changes how many
draws one mechanism makes leaves the others' draws as they were (closer common random numbers
between scenarios)."""
ROW_PURPOSES = ("growth", "innovation", "certify", "talent_outflow", "project_loss", "project_delay")
"""Per-row draws (see ClusterModel.row_draws)."""


class ClusterModel(mesa.Model):
    """E-Town cluster growth under one scenario.

    scenario: validated levers and uncertainties (default: baseline, 2020 policies continued).
    params: behavioural parameters, or a ParamSource to draw them from (default: calibrated
        point, or the documented defaults).
    rng: seed or SeedSequence; `model.rng` and its children are the only randomness of the run,
        and the run's uncertain inputs (inputs.py) come from children of the same seed.
    inputs: the run's uncertain inputs, if already drawn (otherwise drawn from `rng`).
    scale: share of the zone's firms simulated (1 = one agent per firm); sector totals are
        kept, so firms are 1/scale larger and reported counts are divided by scale.
    persons_per_agent: persons in one talent cohort agent.
    start: the start state (default: end of the scenario's start year from the data file).
    rules: the firm-level rules (default: FirmRules, vectorised).
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        params: Params | ParamSource | None = None,
        *,
        rng: int | np.random.SeedSequence | None = None,
        inputs: RunInputs | None = None,
        scale: float = 1.0,
        persons_per_agent: float = 500.0,
        start: StartState | None = None,
        steps_per_year: int = 4,
        rules: FirmRules | None = None,
    ) -> None:
        # a fresh copy: spawning the mechanism streams must not advance the caller's SeedSequence
        # (the same seed object may build several models, e.g. one per design point)
        seed = (
            np.random.SeedSequence(rng.entropy, spawn_key=rng.spawn_key)
            if isinstance(rng, np.random.SeedSequence)
            else np.random.SeedSequence(rng)
        )
        super().__init__(rng=seed)
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        if persons_per_agent <= 0:
            raise ValueError("persons_per_agent must be positive")
        self.policy_scenario = scenario or Scenario(name="baseline")
        self.inputs = inputs or draw_inputs(seed, self.policy_scenario, params, start)
        self.params = self.inputs.params
        self.start = self.inputs.start
        self.streams = dict(zip(MODEL_STREAMS, self.rng.spawn(len(MODEL_STREAMS)), strict=True))
        self._row_entropy = int(self.rng.integers(2**63))
        self.scale = scale
        self.size_unit = 1.0 / scale  # firm sizes are inflated by this at scale < 1
        self.persons_per_agent = float(persons_per_agent)
        self.steps_per_year = steps_per_year
        self.dt = 1.0 / steps_per_year
        self.years = list(range(self.start.year, self.policy_scenario.end_year + 1))
        self.n_steps = (len(self.years) - 1) * steps_per_year
        self.quarter = 0
        self.rules = rules or FirmRules()

        sa = sector_assumptions()
        self.pop = population_assumptions()
        self.output_per_worker = sa["output_per_worker"]
        self.va_ratio = sa["va_ratio"]
        self.sector_margin = sa["margin"]
        self.sector_rd = sa["rd_intensity"]
        self.project_turnover = sa["project_turnover"] * self.params.project_turnover_mult
        rules_ht = facts()["rules"]["high_tech_rd_thresholds"]
        self._ht_bounds = np.asarray(rules_ht["revenue_bounds_yuan"], dtype=float)
        self._ht_min_rd = np.asarray(rules_ht["min_rd_intensity"], dtype=float)
        self.ht_validity_quarters = round(steps_per_year * fact("rules", "high_tech_validity_years"))
        self.policy: dict[int, YearPolicy] = policy_path(self.policy_scenario, self.years, self.params)
        self._rest_of_economy = self.start.gdp - float(self.va_ratio @ self.start.sector_output)

        self.feedback = Feedback()
        self.tally = new_tally()
        self.firms = ColumnStore(FIRM_COLUMNS, capacity=int(self.start.firms * scale * 2) + 64)
        self.cohorts = ColumnStore(COHORT_COLUMNS, capacity=4096)
        self.firm_agents: list[ag.Firm] = []
        self.cohort_agents: list[ag.TalentCohort] = []
        self.government = ag.Government(self, len(self.years) - 1)
        self.guidance_fund = ag.GuidanceFund(self, round(self.params.fund_holding_years * steps_per_year))
        self.bank = ag.Bank(self, self.params)
        self.project_office = ag.ProjectOffice(self)
        self._build_firms()
        self._build_talent()
        self._build_pipeline()
        self.record: RunRecord = new_record(self.years, self.government.ledger, self.n_steps)
        self._year_output = np.zeros(N_SECTORS)
        self._year_entrant_output = 0.0
        record_year(self, 0, self.sector_output(), 0.0)

    # ------------------------------------------------------------------ building the start
    def _build_firms(self) -> None:
        cols = initial_firms(self.streams["population"], self.start, self.params, self.scale, self.ht_threshold)
        rows = self._add_firms(**cols)
        self.n_start_firms = rows.size
        f = self.firms
        # start debt within what banks lend (at the unsubsidised rate)
        young = startup(f.age[rows], f.anchor[rows])
        margin = f.margin[rows] - self.params.startup_margin_penalty * young
        limit = self.bank.limit(f.output[rows], margin, f.rd_intensity[rows], self.bank.rate)
        f.debt[rows] = np.minimum(f.debt[rows], limit)
        # the agglomeration reference: each sector's output and firm count at the end of 2020 in
        # the data (central values), whatever year the run starts in, so that crowding carries
        # over from the history into the projection instead of resetting at its start
        ref = StartState.from_facts(2020)
        self.ref_firm_counts = sector_counts(ref, self.scale).astype(float)
        self.ref_sector_output = ref.sector_output
        # firms already losing money at the start are at random points of their decline, as in a
        # population that has been running (so exits start at their usual pace): a share of the
        # way through burning their cash, or, past it, some quarters into their distress
        losing = margin < 0
        rows_l = rows[losing]
        burn = f.cash[rows_l] / (-margin[losing] * f.output[rows_l] * self.dt)  # quarters of cash left at most
        patience = max(self.params.distress_quarters, 1.0)
        phase = self.streams["population"].random(rows_l.size) * (burn + patience)
        burning = phase < burn
        f.cash[rows_l] = np.where(burning, f.cash[rows_l] * (1.0 - phase / np.maximum(burn, 1e-9)), 0.0)
        f.distress[rows_l] = np.where(burning, 0, np.floor(phase - burn)).astype(np.int16)
        self.median_firm_output = np.array([np.median(cols["output"][cols["sector"] == i]) for i in range(N_SECTORS)])

    def _build_talent(self) -> None:
        slack = self.pop["slack_share"]
        pool = self.labour_demand() / (1.0 - slack)
        n = np.maximum(1, np.round(pool / self.persons_per_agent)).astype(int)
        field = np.repeat(np.arange(N_SECTORS, dtype=np.int8), n)
        self._add_cohorts(field, self._draw_levels(field.size))
        self.base_level = self._mean_level()
        self._talent_carry = np.zeros(N_SECTORS)  # persons arrived, not yet a whole cohort
        self._services_2020_per_person = services_2020() / self.talent_pool().sum()

    def _build_pipeline(self) -> None:
        kp = self.inputs.pipeline
        quarters = (kp.first_output - (self.start.year + 1)) * self.steps_per_year
        self.project_office.add_known(kp.sector, kp.investment, quarters)

    def _add_firms(self, **columns: np.ndarray | float) -> np.ndarray:
        rows = self.firms.append(len(columns["sector"]), **columns)
        self.firm_agents.extend(ag.create_firms(self, rows))
        return rows

    def _add_cohorts(self, field: np.ndarray, level: np.ndarray) -> None:
        rows = self.cohorts.append(field.size, field=field, level=level, persons=self.persons_per_agent)
        self.cohort_agents.extend(ag.create_cohorts(self, rows))

    def _draw_levels(self, n: int) -> np.ndarray:
        p2, p3 = self.pop["level2_share"], self.pop["level3_share"]
        return self.streams["talent_levels"].choice(
            np.array([1, 2, 3], dtype=np.int8), size=n, p=[1.0 - p2 - p3, p2, p3]
        )

    def row_draws(self, purpose: str) -> np.random.Generator:
        """A generator for this step's per-row draws of `purpose` (ROW_PURPOSES), seeded by the
        run, the purpose and the quarter. Draw one value per row of the store (`.random(store.n)`)
        and index it by row: a firm (or cohort, or project) then gets the same draw in every
        scenario run with the same seed, even where entry differs, so common random numbers
        survive the divergence of the populations."""
        key = (ROW_PURPOSES.index(purpose), self.quarter)
        return np.random.default_rng(np.random.SeedSequence(self._row_entropy, spawn_key=key))

    # ------------------------------------------------------------------ derived quantities
    def ht_threshold(self, output: np.ndarray) -> np.ndarray:
        """R&D intensity the high-tech rule requires of firms of `output` (model units)."""
        return innovation.high_tech_rd_threshold(output * self.scale, self._ht_bounds, self._ht_min_rd)

    def labour_demand(self) -> np.ndarray:
        """Workers the living firms need per sector (persons)."""
        f = self.firms
        rows = f.live_rows()
        sector = f.sector[rows]
        skill = self.feedback.skill_multiplier[sector]
        d = talent.labour_demand(f.output[rows], self.output_per_worker[sector], f.productivity[rows] * skill)
        return np.bincount(sector, weights=d, minlength=N_SECTORS)

    def talent_pool(self) -> np.ndarray:
        """Persons in the zone's talent pool per skill field (sector)."""
        c = self.cohorts
        return np.bincount(c.field, weights=c.persons * c.alive, minlength=N_SECTORS)

    def mean_skill_level(self) -> float:
        """Mean skill level (1-3) of the talent pool."""
        c = self.cohorts
        w = c.persons * c.alive
        return float((w * c.level).sum() / max(w.sum(), 1.0))

    def _mean_level(self) -> np.ndarray:
        c = self.cohorts
        w = c.persons * c.alive
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(c.field, weights=w * c.level, minlength=N_SECTORS) / np.bincount(
                c.field, weights=w, minlength=N_SECTORS
            )
        return np.nan_to_num(mean, nan=1.0)

    def firm_counts(self) -> np.ndarray:
        """Living firms per sector (simulated agents, not scaled to the zone)."""
        f = self.firms
        return np.bincount(f.sector[f.alive], minlength=N_SECTORS).astype(float)

    def sector_output(self) -> np.ndarray:
        """Current output run rate per sector (yuan/year)."""
        f = self.firms
        return np.bincount(f.sector, weights=f.output, minlength=N_SECTORS)  # exited firms have output 0

    def entrant_output(self) -> float:
        """Output run rate (yuan/year) of the firms founded after the start (start-ups and
        suppliers; major projects are not entrants of this kind)."""
        f = self.firms
        new = slice(self.n_start_firms, f.n)
        return float(f.output[new][~f.anchor[new]].sum())  # exited firms have output 0

    def gdp(self, output: np.ndarray, year: int) -> float:
        """Zone GDP (yuan/yr): value added of the sectors plus the rest of the economy."""
        years_in = year - self.start.year
        return float(
            self.va_ratio @ output + self._rest_of_economy * (1 + self.params.rest_of_economy_growth) ** years_in
        )

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """Advance one step (a quarter by default)."""
        if self.quarter >= self.n_steps:
            raise RuntimeError("the run has reached the scenario's end year")
        self.quarter += 1
        year_i = (self.quarter - 1) // self.steps_per_year  # ledger row: 0 = first projection year
        year = self.start.year + 1 + year_i
        eff = self.policy[year]
        if (self.quarter - 1) % self.steps_per_year == 0:
            self._apply_dated_shocks(year)
        budgets = eff.budgets * self.dt
        drift = np.log1p(self.params.trend()) + self.params.zone_share_gain + self.inputs.shock(year)
        totals = self.sector_output()
        shift = demand_growth(eff.scenario_demand, self.feedback.scenario_demand, totals) + reallocation_growth(
            self.feedback.exit_output, totals, self.params.exit_capture
        )
        self.feedback.scenario_demand = eff.scenario_demand
        self.rules.innovate(self, eff)
        self.rules.grow(self, eff, drift, shift)
        self._pay_firm_instruments(year_i, eff, budgets)
        self._remove_firms(self.rules.settle(self))
        self._major_projects(year_i, eff, budgets)
        self._entry(eff)
        self._talent_step(year_i, eff, budgets)
        self.rules.certify(self, eff)
        f = self.firms
        f.age[:] += f.alive  # the living age a quarter (exited rows are never read)
        output = self.sector_output()
        record_quarter(self, year, output)
        self._year_output += output * self.dt
        self._year_entrant_output += self.entrant_output() * self.dt
        if self.quarter % self.steps_per_year == 0:
            record_year(self, year_i + 1, self._year_output, self._year_entrant_output)
            self._year_output = np.zeros(N_SECTORS)
            self._year_entrant_output = 0.0

    def run(self) -> RunRecord:
        """Run to the scenario's end year; returns the yearly record."""
        while self.quarter < self.n_steps:
            self.step()
        return self.record

    # ------------------------------------------------------------------ wiring
    def _apply_dated_shocks(self, year: int) -> None:
        f = self.firms
        rng = self.streams["shocks"]
        for shock in self.policy_scenario.uncertainties.shocks:
            if shock.year == year and rng.random() < shock.probability:
                hit = np.isin(f.sector, [SECTOR_INDEX[s] for s in shock.sectors]) & f.alive
                f.output[hit] *= 1.0 + shock.output_change

    def _pay_firm_instruments(self, year_i: int, eff: YearPolicy, budgets: np.ndarray) -> None:
        """The government pays loan-interest, rent and R&D-growth subsidies to eligible firms of
        the targeted sectors; the guidance fund invests; each payout reaches firms' cash net of
        deadweight, and what was paid feeds back into the next step's borrowing rate and R&D."""
        f, p, gov, fb = self.firms, self.params, self.government, self.feedback
        idx = funding.INSTRUMENTS.index
        rows = f.live_rows()
        sector = f.sector[rows]
        out = f.output[rows]
        targeted = eff.targeted[sector]
        cash = f.cash[rows]  # written back once at the end
        # loan-interest subsidies: the subsidy's share of interest on targeted firms' debt
        claims = funding.interest_claims(f.debt[rows], self.bank.rate, eff.interest_subsidy_share, targeted, self.dt)
        paid = gov.pay(year_i, "loan_interest", budgets[idx("loan_interest")], claims, sector)
        cash += funding.effective_share(paid, p.deadweight_interest)
        owed = np.bincount(sector, weights=claims / max(eff.interest_subsidy_share, 1e-12), minlength=N_SECTORS)
        with np.errstate(divide="ignore", invalid="ignore"):
            fb.interest_coverage = np.where(
                owed > 0, np.bincount(sector, weights=paid, minlength=N_SECTORS) / owed, 0.0
            )
        # rent subsidies for small and young firms
        small = (
            startup(f.age[rows], f.anchor[rows]) | (out * self.scale < self.pop["small_firm_output_yuan"])
        ) & targeted
        workers = np.zeros(rows.size)
        workers[small] = talent.labour_demand(
            out[small], self.output_per_worker[sector[small]], f.productivity[rows[small]]
        )
        claims = funding.rent_claims(workers, p.rent_per_worker, eff.rent_subsidy_share, small, self.dt)
        paid = gov.pay(year_i, "rent", budgets[idx("rent")], claims, sector)
        cash += funding.effective_share(paid, p.deadweight_rent)
        # R&D-growth rewards, once a year on the increase of a firm's R&D spending over last year
        if self.quarter % self.steps_per_year == 0:
            claims = funding.rd_reward_claims(
                eff.rd_reward_rate, f.rd_year[rows], f.rd_last_year[rows], targeted & (f.rd_last_year[rows] > 0)
            )
            paid = gov.pay(year_i, "rd_reward", eff.budgets[idx("rd_reward")], claims, sector)
            cash += funding.effective_share(paid, p.deadweight_rd_reward)
            fb.rd_payout_ratio = float(paid.sum() / claims.sum()) if claims.sum() > 0 else 1.0
            f.rd_last_year[rows] = f.rd_year[rows]
            f.rd_year[rows] = 0.0
        f.cash[rows] = cash
        # guidance-fund equity (with private co-investment) for start-ups and scale-ups
        fund = self.guidance_fund
        candidates = (f.age[rows] < 3 * STARTUP_QUARTERS) & ~f.anchor[rows] & targeted
        weight = eff.sector_weights[sector] * f.productivity[rows] * candidates
        picked, equity = fund.invest(
            year_i,
            (budgets[idx("guidance_equity")] + eff.innovation_fund * self.dt),
            fb.fund_returns,
            rows,
            weight,
            eff.equity_deal,
            eff.private_leverage,
            self.quarter,
        )
        f.cash[picked] += funding.effective_share(equity, p.deadweight_equity)
        self.tally["equity_invested"] += float(equity.sum())
        self.tally["equity_deals"] += picked.size
        fb.fund_returns = fund.exit_stakes(self.quarter)

    def _remove_firms(self, gone: np.ndarray) -> None:
        f = self.firms
        self.feedback.exit_output = np.bincount(f.sector[gone], weights=f.output[gone], minlength=N_SECTORS)
        f.remove(gone)
        f.output[gone] = 0.0
        agents = self.firm_agents
        ag.remove_agents(self, [agents[r] for r in gone.tolist()])
        self.tally["exits"] += gone.size

    def _major_projects(self, year_i: int, eff: YearPolicy, budgets: np.ndarray) -> None:
        """The project office's quarter; projects that start producing become anchor firms
        (ramping up to investment x turnover) and pull in supplier start-ups."""
        budget = budgets[funding.INSTRUMENTS.index("project_support")]
        sector, investment = self.project_office.step(year_i, eff, budget, self.dt)
        if sector.size:
            target = projects.full_output(investment, self.project_turnover[sector])
            ramp = max(round(self.params.project_ramp_quarters), 1)
            self._add_firms(
                sector=sector,
                output=target / ramp,
                cash=self.params.cash_target_years * target / ramp,
                productivity=1.0,
                rd_intensity=self.sector_rd[sector],
                base_rd=self.sector_rd[sector],
                margin=self.sector_margin[sector],
                anchor=True,
                ramp_left=ramp - 1,
                ramp_target=target,
            )
            rng = self.streams["suppliers"]
            suppliers = rng.poisson(eff.suppliers_per_project * self.scale, sector.size)
            self._add_startups(np.repeat(sector, suppliers))
            self.tally["supplier_entrants"] += int(suppliers.sum())

    def _entry(self, eff: YearPolicy) -> None:
        p = self.params
        firms_now = self.firm_counts()
        expected = entry_exit.expected_entrants(
            firms_now,
            p.entry_rate,
            self.sector_output() / self.ref_sector_output,
            firms_now / self.ref_firm_counts,
            p.agglomeration,
            eff.entry_factor,
            self.dt,
        )
        n_new = self.streams["entry"].poisson(expected)
        self._add_startups(np.repeat(np.arange(N_SECTORS, dtype=np.int8), n_new))

    def _add_startups(self, sector: np.ndarray) -> None:
        """New small firms in `sector` (index per firm): sizes around a share of the sector's
        median firm, founders' cash, no debt."""
        if not sector.size:
            return
        p, rng = self.params, self.streams["entry"]
        out = entry_exit.startup_sizes(
            rng,
            sector.size,
            p.startup_relative_size * self.median_firm_output[sector],
            p.startup_size_sigma,
            floor=2.0 * p.min_viable_output * self.size_unit,  # as the start population's floor
        )
        rd_sigma = self.pop["rd_sigma"]
        rd = self.sector_rd[sector] * np.exp(rd_sigma * rng.standard_normal(sector.size) - rd_sigma**2 / 2)
        self._add_firms(
            sector=sector,
            output=out,
            cash=self.pop["startup_cash_years"] * out,
            productivity=1.0,
            rd_intensity=rd,
            base_rd=rd,
            margin=margins(rng, sector, out * self.scale, p, self.sector_margin),
        )
        self.tally["entrants"] += sector.size

    def _talent_step(self, year_i: int, eff: YearPolicy, budgets: np.ndarray) -> None:
        p, fb = self.params, self.feedback
        slack = self.pop["slack_share"]
        need = self.labour_demand()
        pool = self.talent_pool()
        fb.talent_fill = talent.talent_fill(pool, need, slack)
        retention = talent.retention_multiplier(
            eff.services_units, 0.0, pool.sum(), p.services_effect, self._services_2020_per_person
        )
        arrivals = talent.inflow(
            pool, need, p.talent_inflow, p.vacancy_pull, slack, eff.programme_persons, fb.talent_subsidy_mult, self.dt
        )
        self.tally["talent_inflow"] += float(arrivals.sum())
        # talent subsidies per arriving senior (level-3) person, paid from the talent budget
        seniors = arrivals * self.pop["level3_share"]
        paid = self.government.pay(
            year_i,
            "talent",
            budgets[funding.INSTRUMENTS.index("talent")],
            eff.talent_subsidy_per_person * seniors,
            np.arange(N_SECTORS),
        )
        per_arrival = funding.effective_share(paid.sum(), p.deadweight_talent) / max(seniors.sum(), 1.0)
        base = funding.effective_share(talent_subsidy_2020(), p.deadweight_talent)
        fb.talent_subsidy_mult = talent.subsidy_multiplier(per_arrival, base, p.talent_subsidy_scale)
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
        u = self.row_draws("talent_outflow").random(c.n)[crow]
        gone = crow[u < p_out[c.field[crow]]]
        c.remove(gone)
        self.tally["talent_outflow"] += float(c.persons[gone].sum())
        agents = self.cohort_agents
        ag.remove_agents(self, [agents[r] for r in gone.tolist()])
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
        train = self.streams["training"]
        k = min(train.poisson(eff.training_places * self.dt / self.persons_per_agent), trainable.size)
        if k:
            c.level[train.choice(trainable, size=k, replace=False)] += 1
        fb.skill_multiplier = talent.skill_productivity(self._mean_level(), self.base_level, p.training_premium)


__all__ = ["ZONE_METRICS", "ClusterModel", "RunRecord"]
