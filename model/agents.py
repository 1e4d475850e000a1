"""The model's Mesa agents for firms and talent cohorts (the funders are in funders.py, the
project office in project_office.py).

Agents are thin: a firm or cohort agent holds its row in a column store (state.py) and reads
its attributes from there, so the model can step all of them at once with NumPy while they
stay real Mesa agents (created, removed, counted in `model.agents`, usable in AgentSets and
reporters).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from mesa.agentset import _HardKeyAgentSet
from mesa.experimental.mesa_signals import ModelSignals

from .mechanisms import talent
from .sectors import SECTOR_IDS

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
    """A firm of the zone (one agent per firm at scale 1; at smaller scales a sampled small firm
    stands for `weight` identical firms)."""

    def __init__(self, model: ClusterModel, row: int) -> None:
        super().__init__(model)
        self.row = row

    sector_index = _column("firms", "sector", "index into SECTOR_IDS")
    weight = _column("firms", "weight", "firms this agent stands for")
    output = _column("firms", "output", "sales run rate of one firm, current yuan/year")
    capacity = _column("firms", "capacity", "sales one firm can make, current yuan/year")
    cash = _column("firms", "cash", "cash, yuan")
    debt = _column("firms", "debt", "bank debt, yuan")
    age = _column("firms", "age", "age, steps")
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
        if f.age[self.row] < self.model.startup_steps:
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
