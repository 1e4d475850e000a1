"""The model's Mesa agents: firms, talent cohorts and funders.

Agents are thin: a firm or cohort agent holds its row in a column store (state.py) and reads
its attributes from there, so the model can step all of them at once with NumPy while they
stay real Mesa agents (created, removed, counted in `model.agents`, usable in AgentSets and
reporters). Funders hold the money side: the government's budget ledger, the guidance fund's
portfolio, the bank's lending terms.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from mesa.agentset import _HardKeyAgentSet
from mesa.experimental.mesa_signals import ModelSignals

from .firm_rules import STARTUP_QUARTERS
from .mechanisms import finance, funding, projects, talent
from .population import pick_weighted
from .sectors import SECTOR_IDS
from .state import PROJECT_COLUMNS, ColumnStore

STAKE_COLUMNS: dict[str, type] = {
    "firm": np.int64,  # firm row
    "public": np.float64,  # guidance-fund yuan invested
    "quarter": np.int32,  # quarter of the deal
    "output_then": np.float64,  # the firm's output then, yuan/yr
    "alive": np.bool_,  # still held
}

if TYPE_CHECKING:
    from .cluster_model import ClusterModel

LARGE_OUTPUT = 1.0e9
"""Output (yuan/year) from which a firm counts as large."""


def _column(store: str, name: str, doc: str) -> property:
    def get(self: Any) -> Any:
        return getattr(getattr(self.model, store), name)[self.row].item()

    return property(get, doc=doc)


class _RowAgent(mesa.Agent):
    """An agent whose state is a row of a column store; created in bulk (`_create_bulk`)."""

    row: int

    def remove(self) -> None:
        """Remove the agent from the model (as `mesa.Agent.remove`, with a fast path when
        nothing observes agent removals)."""
        remove_agents(self.model, [self])


def remove_agents(model: mesa.Model, agents: list[_RowAgent]) -> None:
    """Remove agents from the model, as calling `remove()` on each (Mesa's own removal whenever
    something observes removals, else dropping them from the model's agent sets in one pass)."""
    if not agents:
        return
    cls = type(agents[0])
    if (
        cls._datasets
        or model._batch_context is not None
        or model._has_subscribers("agents", ModelSignals.AGENT_REMOVED)
    ):
        for a in agents:
            mesa.Agent.remove(a)
        return
    by_type = model._agents_by_type[cls]._agents
    everyone = model._all_agents._agents
    for a in agents:
        by_type.pop(a, None)
        everyone.pop(a, None)


class Firm(_RowAgent):
    """A firm of the zone (one agent per firm at scale 1)."""

    def __init__(self, model: ClusterModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    sector_index = _column("firms", "sector", "index into SECTOR_IDS")
    output = _column("firms", "output", "output run rate, yuan/year")
    cash = _column("firms", "cash", "cash, yuan")
    debt = _column("firms", "debt", "bank debt, yuan")
    age = _column("firms", "age", "age, quarters")
    productivity = _column("firms", "productivity", "productivity index (1 at start)")
    rd_intensity = _column("firms", "rd_intensity", "R&D spending / output")
    high_tech = _column("firms", "high_tech", "national high-tech enterprise status")
    innovations = _column("firms", "innovations", "innovations so far")

    @property
    def sector(self) -> str:
        return SECTOR_IDS[self.sector_index]

    @property
    def employees(self) -> float:
        """Workers employed (persons)."""
        m = self.model
        s = self.sector_index
        return float(
            talent.labour_demand(
                self.output, m.output_per_worker[s], self.productivity * m.feedback.skill_multiplier[s]
            )
        )

    @property
    def stage(self) -> str:
        """startup, growth, large or anchor."""
        f = self.model.firms
        if f.anchor[self.row]:
            return "anchor"
        if f.age[self.row] < STARTUP_QUARTERS:
            return "startup"
        return "large" if f.output[self.row] >= LARGE_OUTPUT else "growth"


class TalentCohort(_RowAgent):
    """A group of skilled workers who share a skill field and level (persons per agent is
    the model's `persons_per_agent`)."""

    def __init__(self, model: ClusterModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    field_index = _column("cohorts", "field", "skill field = sector index")
    level = _column("cohorts", "level", "skill level 1..3")
    persons = _column("cohorts", "persons", "persons in the cohort")

    @property
    def field(self) -> str:
        return SECTOR_IDS[self.field_index]


class Government(mesa.Agent):
    """The zone's administrative committee: provides the special funds each step, pays claims on
    its instruments through `pay`, and keeps the ledger of every yuan by instrument, sector and
    year."""

    def __init__(self, model: ClusterModel, n_years: int) -> None:
        super().__init__(model)
        self.ledger = funding.BudgetLedger(n_years, len(SECTOR_IDS))

    def pay(self, year: int, instrument: str, budget: float, claims: np.ndarray, sector: np.ndarray) -> np.ndarray:
        """Pay claims (yuan) up to the budget (yuan), record them, return the payouts."""
        paid = funding.pay_claims(claims, budget)
        self.ledger.settle(year, funding.INSTRUMENTS.index(instrument), budget, paid, sector)
        return paid


class GuidanceFund(mesa.Agent):
    """The zone's guidance fund (引导基金): invests public money in young and scaling firms of the
    targeted sectors with private venture funds alongside, holds the stakes and exits them after
    its holding period; what exits return is reinvested. Every public yuan goes through the
    government's ledger (instrument guidance_equity)."""

    def __init__(self, model: ClusterModel, holding_quarters: int) -> None:
        super().__init__(model)
        self.holding_quarters = holding_quarters
        self.stakes = ColumnStore(STAKE_COLUMNS, capacity=256)
        self.public_invested = 0.0  # yuan
        self.private_invested = 0.0  # yuan
        self.returned = 0.0  # yuan
        self.deals = 0

    def invest(
        self,
        year: int,
        budget: float,
        returns: float,
        rows: np.ndarray,
        weight: np.ndarray,
        deal_size: float,
        leverage: float,
        quarter: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Write equity tickets with `budget` + `returns` (yuan) in firms `rows`, chosen with
        probability proportional to `weight` (0 = not a candidate). Returns (firm rows, equity
        each receives, public + private, yuan)."""
        model = self.model
        amounts = funding.deal_amounts(budget + returns, deal_size, int(np.count_nonzero(weight > 0)))
        picked = rows[pick_weighted(model.rng, weight, amounts.size)]
        amounts = amounts[: picked.size]
        f = model.firms
        model.government.ledger.settle(
            year, funding.INSTRUMENTS.index("guidance_equity"), budget, amounts, f.sector[picked], returned=returns
        )
        if picked.size:
            self.stakes.append(picked.size, firm=picked, public=amounts, quarter=quarter, output_then=f.output[picked])
        self.public_invested += float(amounts.sum())
        self.private_invested += float(amounts.sum()) * leverage
        self.deals += int(picked.size)
        return picked, amounts * (1.0 + leverage)

    def exit_stakes(self, quarter: int) -> float:
        """Sell the stakes held for the holding period: the public share returns the money in
        proportion to the firm's output growth since the deal (at most three times; nothing if
        the firm has closed). Returns the proceeds (yuan)."""
        st = self.stakes
        due = st.live_rows()[(quarter - st.quarter[st.alive]) >= self.holding_quarters]
        if due.size == 0:
            return 0.0
        f = self.model.firms
        firm = st.firm[due]
        multiple = np.where(
            f.alive[firm], np.clip(f.output[firm] / np.maximum(st.output_then[due], 1.0), 0.0, 3.0), 0.0
        )
        st.remove(due)
        proceeds = float((st.public[due] * multiple).sum())
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


class ProjectOffice(mesa.Agent):
    """The zone's investment-promotion bureau: pursues major projects, wins some against other
    regions, finds them land, pays their incentives from the project-support budget through the
    government, and hands them over as anchor firms when they start producing."""

    def __init__(self, model: ClusterModel) -> None:
        super().__init__(model)
        self.pipeline = ColumnStore(PROJECT_COLUMNS, capacity=64)
        self.won = 0
        self.lost = 0
        self.started = 0
        self.investment_won = 0.0  # yuan

    def add_known(self, kp: Any, build_quarters: np.ndarray) -> None:
        """Signed projects of the start-of-run pipeline (`inputs.KnownProjects`), building:
        land arranged unless a project still needs some (it then waits for the zone's supply),
        incentive owed paid in instalments over construction, their own delay risk and ramp-up
        time where given (else the behavioural parameters')."""
        if kp.sector.size:
            p = self.model.params
            build = np.maximum(build_quarters, 0.0)
            incentive = kp.incentive_share * kp.investment
            self.pipeline.append(
                kp.sector.size,
                sector=kp.sector,
                investment=kp.investment,
                known=True,
                has_land=kp.land_ha <= 0,
                land_ha=kp.land_ha,
                build_left=build,
                incentive_left=incentive,
                instalment=incentive / np.maximum(build, 1.0),
                delay_hazard=np.where(np.isnan(kp.delay_hazard), p.project_delay_hazard, kp.delay_hazard),
                ramp_quarters=np.where(np.isnan(kp.ramp_quarters), p.project_ramp_quarters, kp.ramp_quarters),
            )

    def step(self, year: int, eff: Any, budget: float, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One quarter of the pipeline. Returns the (sector, investment, ramp-up quarters) of
        projects that start producing now."""
        model, p, pl = self.model, self.model.params, self.pipeline
        rng = model.streams["projects"]
        # leads pursued and won (one uniform per lead: a better offer wins a superset of the leads
        # a worse one wins, under common random numbers); sizes are heavy-tailed
        leads = rng.poisson(eff.projects_pursued * dt)
        lead_sector = np.repeat(np.arange(len(leads), dtype=np.int8), leads)
        sector = lead_sector[rng.random(lead_sector.size) < eff.win_probability]
        if sector.size:
            inv = projects.project_sizes(
                model.streams["project_size"],
                sector.size,
                eff.median_investment,
                p.project_size_sigma,
                model.pop["project_largest_yuan"],
            )
            incentive = eff.incentive_share * inv
            build = np.full(sector.size, p.project_build_quarters)
            pl.append(
                sector.size,
                sector=sector,
                investment=inv,
                approval_left=eff.approval_quarters,
                land_ha=projects.land_needed(inv, p.project_land_coef),
                build_left=build,
                incentive_left=incentive,
                instalment=incentive / build,
                delay_hazard=p.project_delay_hazard,
                ramp_quarters=p.project_ramp_quarters,
            )
            self.won += sector.size
            self.investment_won += float(inv.sum())
            model.tally["projects_won"] += sector.size
            model.tally["project_investment"] += float(inv.sum())
        # waiting: approval, then land (first come, first served); a project kept waiting may leave
        model.feedback.land_ha += eff.land_ha_per_year * dt
        live = pl.live_rows()
        waiting = live[~pl.has_land[live]]
        pl.approval_left[waiting] = np.maximum(pl.approval_left[waiting] - 1.0, 0.0)
        ready = waiting[pl.approval_left[waiting] <= 0.0]
        got = ready[projects.allocate_land(model.feedback.land_ha, pl.land_ha[ready])]
        pl.has_land[got] = True
        model.feedback.land_ha -= float(pl.land_ha[got].sum())
        still = np.setdiff1d(waiting, got, assume_unique=True)
        gone = still[model.row_draws("project_loss").random(pl.n)[still] < p.project_loss_hazard]
        pl.remove(gone)
        self.lost += gone.size
        # construction: incentive instalments paid from the project-support budget; a shortfall
        # or a slipped quarter delays it
        building = pl.live_rows()[pl.has_land[pl.alive]]
        claims = np.minimum(pl.instalment[building], pl.incentive_left[building])
        paid = model.government.pay(year, "project_support", budget, claims, pl.sector[building].astype(np.int64))
        pl.incentive_left[building] -= paid
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(claims > 0, paid / claims, 1.0)
        slipped = model.row_draws("project_delay").random(pl.n)[building] < pl.delay_hazard[building]
        pl.build_left[building] -= projects.construction_progress(share, slipped)
        done = building[pl.build_left[building] <= 0.0]
        pl.remove(done)
        self.started += done.size
        model.tally["projects_started"] += done.size
        return pl.sector[done], pl.investment[done], pl.ramp_quarters[done]


def _bulk_ok(model: mesa.Model, cls: type[mesa.Agent]) -> bool:
    """Whether agents of `cls` can be registered in bulk: nothing observes agent additions and
    no data registry tracks the class, so `mesa.Agent.__init__` would do nothing beyond the
    bookkeeping that `_create_bulk` repeats."""
    return (
        not cls._datasets
        and model._batch_context is None
        and not model._has_subscribers("agents", ModelSignals.AGENT_ADDED)
    )


def _create_bulk[T: mesa.Agent](model: ClusterModel, cls: type[T], rows: np.ndarray) -> list[T]:
    """One `cls(model, row)` agent per row, registered with the model in one go.

    Equivalent to calling `cls(model, row)` for each row (same unique ids, same order in
    `model.agents` and `model.agents_by_type[cls]`), but about six times cheaper: Mesa's
    per-agent registration (signal wrapper, debug log, two set insertions) dominates the
    cost of a full-scale run, which creates ~60,000 firm agents. Falls back to the plain
    constructor whenever something observes agent additions.
    """
    rows_list = rows.tolist()
    if not _bulk_ok(model, cls):
        return [cls(model, r) for r in rows_list]
    new = object.__new__
    first = model.agent_id_counter
    agents = []
    append = agents.append
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the new agents hold no cycles; collections would rescan the whole heap
    try:
        for uid, row in enumerate(rows_list, start=first):
            a = new(cls)
            a.model = model
            a.unique_id = uid
            a.pos = None
            a.row = row
            append(a)
    finally:
        if gc_was_enabled:
            gc.enable()
    model.agent_id_counter = first + len(agents)
    model._all_agents._agents.update(dict.fromkeys(agents))
    by_type = model._agents_by_type
    if cls in by_type:
        by_type[cls]._agents.update(dict.fromkeys(agents))
    elif agents:
        by_type[cls] = _HardKeyAgentSet(agents, random=model.random)
    return agents


def create_firms(model: ClusterModel, rows: np.ndarray) -> list[Firm]:
    """Create one Firm agent per row, in bulk (see `_create_bulk`)."""
    return _create_bulk(model, Firm, rows)


def create_cohorts(model: ClusterModel, rows: np.ndarray) -> list[TalentCohort]:
    """Create one TalentCohort agent per row, in bulk."""
    return _create_bulk(model, TalentCohort, rows)
