"""The Mesa model of E-Town's clusters: the schedule and the wiring.

One step is a quarter by default (`steps_per_year`). Each step, in order:
  1. at a new year: the government's appropriation (Government.open_year) and dated shocks;
  2. prices and the sector markets move (real trend, shock, price level, the zone's quality,
     urban-scenario spending); the government pays its programmes;
  3. firms innovate and adjust R&D, their customers' demand is shared out, they plan capacity
     (FirmRules.innovate, compete, plan);
  4. the government pays interest, rent and R&D-growth subsidies, the guidance fund writes
     equity sized to what firms can use (Government.pay_firms, GuidanceFund.invest_growth);
  5. firms invest as far as finance and talent allow and sell up to capacity (FirmRules.invest);
  6. cash flow, debt service, exits (FirmRules.settle); the fund sells stakes it has held long
     enough; major projects are won, built and start producing (ProjectOffice); plants ramp up;
  7. entry of start-ups (EntryRules); talent flows (TalentRules); certification;
  8. at the year end: unspent special funds carried over or lapsed; the year is recorded.
Every payment goes through the run's accounts (accounts.py). The economics are in `mechanisms/`,
the levers' effects in `policy.py`, firm, entry and talent rules in `firm_rules.py`, `entry.py`
and `talent_rules.py`, the funders in `funders.py` and `project_office.py`, the start population
in `population.py`, the yearly records in `records.py`.
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa.agentset import AgentSet

from . import agents as ag
from . import draws
from .accounts import Accounts
from .data import fact, facts
from .entry import EntryRules
from .firm_rules import FirmRules
from .funders import Bank, Government, GuidanceFund
from .inputs import ParamSource, RunInputs, draw_inputs
from .markets import SectorMarkets
from .mechanisms import innovation, talent
from .params import Params, population_assumptions, sector_assumptions
from .policy import policy_path
from .population import StartState, initial_firms, sector_counts, settle_start
from .project_office import ProjectOffice
from .records import ZONE_METRICS, RunRecord, new_record, new_tally, record_quarter, record_year
from .scenario import Scenario
from .sectors import N_SECTORS
from .state import COHORT_COLUMNS, FIRM_COLUMNS, ColumnStore, Feedback, wsum
from .talent_rules import TalentRules

COMPACT_SHARE = 0.2
"""A store drops the rows of members that have left once they are this share of its rows."""
REMOVED_ZERO = {
    "firms": ("weight", "output", "capacity", "attraction", "contract", "cash", "debt", "rd_year", "rd_last_year"),
    "cohorts": ("persons",),
}
"""Columns zeroed when a member leaves: its row then adds nothing to any sum (rules run on whole
columns) until the store is compacted (ColumnStore.compact)."""

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
"""Per-member draws (see ClusterModel.uniforms)."""


class ClusterModel(mesa.Model):
    """E-Town cluster growth under one scenario.

    scenario: validated levers and uncertainties (default: baseline, 2020 policies continued).
    params: behavioural parameters, or a ParamSource to draw them from (default: calibrated
        point, or the documented defaults).
    rng: seed or SeedSequence; `model.rng` and its children are the only randomness of the run,
        and the run's uncertain inputs (inputs.py) come from children of the same seed.
    inputs: the run's uncertain inputs, if already drawn (otherwise drawn from `rng`).
    scale: share of the zone's small firms simulated: the population is drawn at full scale,
        large firms stay one agent each and small ones are sampled and weighted, so a run at any
        scale stands for the same zone (counts and totals are zone-equivalent).
    persons_per_agent: persons in one talent cohort agent.
    start: the start state (default: end of the scenario's start year from the data file).
    rules, entry_rules, talent_rules: the rules of firms, entry and talent (default: vectorised).
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
        entry_rules: EntryRules | None = None,
        talent_rules: TalentRules | None = None,
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
        self.params, self.start = self.inputs.params, self.inputs.start
        self.streams = dict(zip(MODEL_STREAMS, self.rng.spawn(len(MODEL_STREAMS)), strict=True))
        self._row_entropy = int(self.rng.integers(2**63))
        self.scale = scale
        self.persons_per_agent = float(persons_per_agent)
        self.steps_per_year = steps_per_year
        self.dt = 1.0 / steps_per_year
        self.years = list(range(self.start.year, self.policy_scenario.end_year + 1))
        self.n_steps = (len(self.years) - 1) * steps_per_year
        self.step_count = 0
        self.rules = rules or FirmRules()
        self.entry_rules = entry_rules or EntryRules()
        self.talent_rules = talent_rules or TalentRules()

        sa, self.pop = sector_assumptions(), population_assumptions()
        self.output_per_worker, self.va_ratio = sa["output_per_worker"], sa["va_ratio"]
        self.sector_margin, self.sector_rd = sa["margin"], sa["rd_intensity"]
        self.project_turnover = sa["project_turnover"] * self.params.project_turnover_mult
        rules_ht = facts()["rules"]["high_tech_rd_thresholds"]
        self._ht_bounds = np.asarray(rules_ht["revenue_bounds_yuan"], dtype=float)
        self._ht_min_rd = np.asarray(rules_ht["min_rd_intensity"], dtype=float)
        self.ht_validity_steps = round(steps_per_year * fact("rules", "high_tech_validity_years"))
        self.startup_steps = self.pop["startup_years"] * steps_per_year
        self.high_tech_min_age = self.pop["high_tech_min_age_years"] * steps_per_year
        self.policy = policy_path(self.policy_scenario, self.years, self.params)
        self._rest_of_economy = self.start.gdp - float(self.va_ratio @ self.start.sector_output)
        self._cpi = 1.0  # national consumer prices relative to the start (deflates the rest of GDP)
        self.vaccine_id = -1  # the vaccine plant's firm id, once it sells (known_in_early_2021.md §A)

        n_years = len(self.years) - 1
        self.accounts = Accounts(max(n_years, 1))
        self.feedback = Feedback()
        self.tally = new_tally()
        self.firms = ColumnStore(FIRM_COLUMNS, capacity=4096)
        self.cohorts = ColumnStore(COHORT_COLUMNS, capacity=4096)
        self._views: dict[str, tuple[int, dict[int, ag._View]]] = {}  # Mesa agent views (agents.py), by store
        self.government = Government(self, max(n_years, 1))
        self.guidance_fund = GuidanceFund(self, round(self.params.fund_holding_years * steps_per_year))
        self.bank = Bank(self, self.params)
        self.project_office = ProjectOffice(self)
        self._build_firms()
        self.talent_rules.build(self)
        kp = self.inputs.pipeline
        build_steps = (kp.first_output - (self.start.year + 1)) * steps_per_year
        self.project_office.add_known(kp, build_steps)
        self.record: RunRecord = new_record(self.years, self.government.ledger, self.accounts, self.n_steps)
        self._year = np.zeros((2, N_SECTORS))  # the year so far: output, real output (yuan/yr x yr)
        self._year_entrant = 0.0
        out = self.sector_output()
        record_year(self, 0, out, out, 0.0)

    # ------------------------------------------------------------------ building the start
    def _build_firms(self) -> None:
        p, spy = self.params, self.steps_per_year
        cols = initial_firms(self.streams["population"], self.start, p, self.scale, self.ht_threshold, spy)
        self.median_firm_output = cols.pop("median_output")  # of the full-scale population (entrants' sizes)
        self.entrant_weight = cols.pop("stratum_weight")  # firms a new small-firm agent stands for, per sector
        rows = self.add_firms(**cols)
        self.n_start_firms = rows.size
        settle_start(self, rows)
        # the agglomeration reference: each sector's output and firm count at the end of 2020 in
        # the data (central values), whatever year the run starts in, so that crowding carries
        # over from the history into the projection instead of resetting at its start
        ref = StartState.from_facts(2020)
        self.ref_firm_counts = sector_counts(ref).astype(float)
        self.ref_market = ref.sector_output
        self.markets = SectorMarkets(market=self.sector_output())

    def add_firms(self, **columns: np.ndarray | float) -> np.ndarray:
        """Append firms to the store; returns their rows."""
        return self.firms.append(len(np.atleast_1d(columns["sector"])), **columns)

    def add_cohorts(self, field: np.ndarray, level: np.ndarray) -> None:
        self.cohorts.append(field.size, field=field, level=level, persons=self.persons_per_agent)

    def remove_members(self, store: str, rows: np.ndarray | int) -> None:
        """Take members out of a store (firms close, cohorts leave): their rows stay, with every
        amount zeroed so they add nothing to any sum, until the store is compacted."""
        s = getattr(self, store)
        s.remove(rows)
        for col in REMOVED_ZERO[store]:
            getattr(s, col)[rows] = 0

    # ------------------------------------------------------------------ Mesa agents (views)
    def _agent_views(self, store: str) -> list[ag._View]:
        """One view agent per living member of `store`: kept while the member lives (so an
        AgentSet a user holds follows arrivals and departures like Mesa's own), created when
        first asked for."""
        s = getattr(self, store, None)
        if s is None:
            return []
        version, views = self._views.get(store, (-1, {}))
        if version != s.version:
            cls = ag.VIEW_TYPES[store]
            views = {i: views.get(i) or cls(self, i) for i in s.id[s.alive].tolist()}
            self._views[store] = (s.version, views)
        return list(views.values())

    @property
    def agents(self) -> AgentSet:  # type: ignore[override]
        """Every agent: the funders and the project office, one Firm per living firm and one
        TalentCohort per living cohort (views of their store rows, agents.py)."""
        views = [v for store in ag.VIEW_TYPES for v in self._agent_views(store)]
        return AgentSet([*super().agents, *views], random=self.random)

    @property
    def agents_by_type(self) -> dict[type, AgentSet]:  # type: ignore[override]
        """The agents by class (as `agents`)."""
        out = {t: AgentSet(list(a), random=self.random) for t, a in super().agents_by_type.items()}
        for store, cls in ag.VIEW_TYPES.items():
            out[cls] = AgentSet(self._agent_views(store), random=self.random)
        return out

    @property
    def agent_types(self) -> list[type]:  # type: ignore[override]
        return list(self.agents_by_type)

    def uniforms(self, purpose: str, ids: np.ndarray) -> np.ndarray:
        """This step's U(0,1) draws of `purpose` (ROW_PURPOSES), one per member id (draws.py): a
        firm (or cohort, or project) gets the same draw in every scenario run with the same seed,
        even where entry differs, so common random numbers survive the divergence of the
        populations; draws are made only for the members asked about."""
        return draws.uniforms(draws.stream_key(self._row_entropy, ROW_PURPOSES.index(purpose), self.step_count), ids)

    def laplace(self, purpose: str, ids: np.ndarray) -> np.ndarray:
        """This step's unit-variance Laplace draws of `purpose`, one per member id (as `uniforms`)."""
        return draws.laplace(draws.stream_key(self._row_entropy, ROW_PURPOSES.index(purpose), self.step_count), ids)

    # ------------------------------------------------------------------ derived quantities
    def ht_threshold(self, output: np.ndarray) -> np.ndarray:
        """R&D intensity the high-tech rule requires of firms of `output` (yuan/yr per firm)."""
        return innovation.high_tech_rd_threshold(output, self._ht_bounds, self._ht_min_rd)

    def labour_demand(self) -> np.ndarray:
        """Workers the living firms need per sector (persons)."""
        f = self.firms
        skill = self.feedback.skill_multiplier[f.sector]
        d = talent.labour_demand(f.output, self.output_per_worker[f.sector], f.productivity * skill)
        return np.bincount(f.sector, weights=d * f.weight, minlength=N_SECTORS)

    def talent_pool(self) -> np.ndarray:
        """Persons in the zone's talent pool per skill field (sector)."""
        c = self.cohorts
        return np.bincount(c.field, weights=c.persons * c.alive, minlength=N_SECTORS)

    def mean_skill_level(self) -> float:
        """Mean skill level (1-3) of the talent pool."""
        c = self.cohorts
        w = c.persons * c.alive
        return float((w * c.level).sum() / max(w.sum(), 1.0))

    def sector_output(self) -> np.ndarray:
        """Current sales run rate per sector (current yuan/year)."""
        f = self.firms
        return np.bincount(f.sector, weights=f.weight * f.output, minlength=N_SECTORS)  # exited: output 0

    def entrant_output(self) -> float:
        """Sales run rate (yuan/year) of the firms founded after the start (start-ups and
        suppliers; major projects and the vaccine plant are not entrants of this kind)."""
        f = self.firms
        new = (f.id >= self.n_start_firms) & ~f.anchor  # ids are given in order of arrival
        return wsum(f.weight[new], f.output[new])

    def gdp(self, output: np.ndarray, year: int, real: bool = False) -> float:
        """Zone GDP (yuan/yr): value added of the sectors plus the rest of the economy (whose
        nominal growth is rest_of_economy_growth); real=True: `output` is in start-year prices and
        the rest is deflated by consumer prices."""
        rest = self._rest_of_economy * (1 + self.params.rest_of_economy_growth) ** (year - self.start.year)
        return float(self.va_ratio @ output + (rest / self._cpi if real else rest))

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """Advance one step (a quarter by default)."""
        if self.step_count >= self.n_steps:
            raise RuntimeError("the run has reached the scenario's end year")
        self.step_count += 1
        spy = self.steps_per_year
        year_i = (self.step_count - 1) // spy  # ledger row: 0 = first projection year
        year = self.start.year + 1 + year_i
        eff = self.policy[year]
        self.accounts.year = year_i
        if (self.step_count - 1) % spy == 0:
            self.government.open_year(year_i, eff, spy)
            self.markets.apply_dated_shocks(self.policy_scenario.uncertainties.shocks, year, self.streams["shocks"])
        if self.step_count == 1:
            self.project_office.open_vaccine_plant()
        self.markets.move(self, year, eff)
        self._cpi *= np.exp(self.inputs.cpi(year) * self.dt)
        if (row := int(self.firms.rows_of(self.vaccine_id))) >= 0:
            self.firms.contract[row] = self.inputs.vaccine(year)
        self.government.pay_programmes(eff, self.params, self.dt)
        rules = self.rules
        rules.innovate(self, eff)
        rules.compete(self)
        rules.plan(self)
        self.government.pay_firms(self, eff)
        self.guidance_fund.invest_growth(self, eff)
        rules.invest(self)
        self._remove_firms(rules.settle(self))
        self.guidance_fund.exit_stakes(self.step_count, self.params.exit_valuation_sd)
        self.project_office.hand_over(eff)
        rules.ramp_up(self)
        self.entry_rules.enter(self, eff)
        self.talent_rules.step(self, eff)
        rules.certify(self, eff)
        f = self.firms
        f.age[:] += f.alive  # the living age a step
        f.compact(COMPACT_SHARE)
        self.cohorts.compact(COMPACT_SHARE)
        out = self.sector_output()
        record_quarter(self, year, out)
        self._year += np.stack([out, out / self.markets.price]) * self.dt
        self._year_entrant += self.entrant_output() * self.dt
        self.government.end_step()
        if self.step_count % spy == 0:
            self.government.close_year(eff.carry_over_share)
            record_year(self, year_i + 1, self._year[0], self._year[1], self._year_entrant)
            self._year, self._year_entrant = np.zeros((2, N_SECTORS)), 0.0

    def run(self) -> RunRecord:
        """Run to the scenario's end year; returns the yearly record."""
        while self.step_count < self.n_steps:
            self.step()
        return self.record

    # ------------------------------------------------------------------ wiring
    def _remove_firms(self, gone: np.ndarray) -> None:
        self.tally["exits"] += float(self.firms.weight[gone].sum())
        self.remove_members("firms", gone)


__all__ = ["ZONE_METRICS", "ClusterModel", "RunRecord"]
