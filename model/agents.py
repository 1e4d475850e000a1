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

from .mechanisms import funding, growth, talent
from .sectors import SECTOR_IDS

if TYPE_CHECKING:
    from .cluster_model import ClusterModel

STARTUP_QUARTERS = 12
"""Firms younger than this (quarters) are start-ups: rent subsidies, guidance-fund deals."""
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
        model = self.model
        if (
            self._datasets
            or model._batch_context is not None
            or model._has_subscribers("agents", ModelSignals.AGENT_REMOVED)
        ):
            super().remove()
            return
        model._agents_by_type[type(self)]._agents.pop(self, None)
        model._all_agents._agents.pop(self, None)


class Firm(_RowAgent):
    """A firm of the zone (one agent per firm at scale 1)."""

    def __init__(self, model: ClusterModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    sector_index = _column("firms", "sector", "index into SECTOR_IDS")
    output = _column("firms", "output", "output run rate, yuan/year")
    cash = _column("firms", "cash", "cash, yuan")
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
            talent.labour_demand(self.output, m.output_per_worker[s], self.productivity * m.skill_multiplier[s])
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
    """The zone's administrative committee: provides the special funds each step and keeps
    the ledger of every yuan by instrument, sector and year."""

    def __init__(self, model: ClusterModel, annual_funds: float, shares: tuple[float, ...], n_years: int) -> None:
        super().__init__(model)
        self.annual_funds = annual_funds  # yuan/year
        self.shares = np.asarray(shares)
        self.ledger = funding.BudgetLedger(n_years, len(SECTOR_IDS))

    def step_budgets(self, dt: float) -> np.ndarray:
        """Budget of each instrument for one step (yuan)."""
        return self.annual_funds * dt * self.shares

    def pay(self, year: int, instrument: str, budget: float, claims: np.ndarray, sector: np.ndarray) -> np.ndarray:
        """Pay claims (yuan) up to the budget, record them, return the payouts."""
        paid = funding.pay_claims(claims, budget)
        self.ledger.settle(year, funding.INSTRUMENTS.index(instrument), budget, paid, sector)
        return paid


class GuidanceFund(mesa.Agent):
    """The zone's guidance fund: co-invests public money with private venture funds."""

    def __init__(self, model: ClusterModel, private_leverage: float, deal_size: float) -> None:
        super().__init__(model)
        self.private_leverage = private_leverage  # private yuan per public yuan
        self.deal_size = deal_size  # public yuan per deal
        self.public_invested = 0.0  # yuan
        self.private_invested = 0.0  # yuan
        self.deals = 0


class Bank(mesa.Agent):
    """The banks lending to zone firms (one agent stands for all of them)."""

    def __init__(self, model: ClusterModel, rate: float, loan_to_output: float, elasticity: float) -> None:
        super().__init__(model)
        self.rate = rate  # 1/yr
        self.loan_to_output = loan_to_output
        self.elasticity = elasticity

    def credit(self, output: np.ndarray, effective_rate: np.ndarray, dt: float) -> np.ndarray:
        """New credit (yuan) each firm can draw this step."""
        return growth.credit_headroom(output, self.loan_to_output, self.rate, effective_rate, self.elasticity, dt)


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
