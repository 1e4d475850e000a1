"""The model's Mesa agents for firms and talent cohorts (the funders are in funders.py, the
project office in project_office.py).

Firms and cohorts live in column stores (state.py) that the rules step in bulk with NumPy; their
Mesa agents are views created on demand (the pattern mesa-frames uses): `model.agents` and
`model.agents_by_type` hold one `Firm` per living firm and one `TalentCohort` per living cohort,
each reading its attributes from its store row by the member's id, next to the funders and the
project office (ordinary Mesa agents). Views are built through Mesa's public API only (an
`AgentSet`; nothing touches Mesa's internals) and cached until the populations change; creating
~80,000 registered agents per run would cost more than the whole economics of a step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

from .mechanisms import talent
from .sectors import SECTOR_IDS

if TYPE_CHECKING:
    from .cluster_model import ClusterModel

LARGE_OUTPUT = 1.0e9
"""Output (yuan/year) from which a firm counts as large."""
VIEW_ID_BASE = {"firms": 10**12, "cohorts": 2 * 10**12}
"""unique_id of a view: base of its store + the member's id (funders keep Mesa's small ids)."""


def _column(store: str, name: str, doc: str) -> property:
    def get(self: Any) -> Any:
        row = self.row
        if row < 0:
            raise LookupError(f"{type(self).__name__} {self.member_id} has left the model")
        return getattr(getattr(self.model, store), name)[row].item()

    return property(get, doc=doc)


class _View(mesa.Agent):
    """A Mesa agent that is a view of one member of a column store (not registered with the
    model: the model lists its views in `agents`)."""

    store: str = ""
    member_id: int

    def __init__(self, model: ClusterModel, member_id: int) -> None:
        self.model = model
        self.member_id = int(member_id)
        self.unique_id = VIEW_ID_BASE[self.store] + self.member_id
        self.pos = None
        self._row, self._version = -1, -1

    @property
    def row(self) -> int:
        """The member's current row in its store (looked up again only when members have
        arrived or left since the last lookup: rows move only then)."""
        store = getattr(self.model, self.store)
        if self._version != store.version:
            self._row, self._version = int(store.rows_of(self.member_id)), store.version
        return self._row

    def remove(self) -> None:
        """Take the member out of the model (a firm closes, a cohort leaves)."""
        self.model.remove_members(self.store, self.row)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.member_id == self.member_id and other.model is self.model

    def __hash__(self) -> int:
        return hash((type(self), self.member_id, id(self.model)))


class Firm(_View):
    """A firm of the zone (one agent per firm at scale 1; at smaller scales a sampled small firm
    stands for `weight` identical firms)."""

    store = "firms"
    sector_index = _column("firms", "sector", "index into SECTOR_IDS")
    weight = _column("firms", "weight", "firms this agent stands for")
    output = _column("firms", "output", "sales run rate of one firm, current yuan/year")
    capacity = _column("firms", "capacity", "sales one firm can make, current yuan/year")
    cash = _column("firms", "cash", "cash, yuan")
    debt = _column("firms", "debt", "bank debt, yuan")
    age = _column("firms", "age", "age, steps")
    productivity = _column("firms", "productivity", "productivity and quality index (1 at start)")
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
        f, row = self.model.firms, self.row
        if f.anchor[row]:
            return "anchor"
        if f.age[row] < self.model.startup_steps:
            return "startup"
        return "large" if f.output[row] >= LARGE_OUTPUT else "growth"


class TalentCohort(_View):
    """A group of skilled workers who share a skill field and level (persons per agent is
    the model's `persons_per_agent`)."""

    store = "cohorts"
    field_index = _column("cohorts", "field", "skill field = sector index")
    level = _column("cohorts", "level", "skill level 1..3")
    persons = _column("cohorts", "persons", "persons in the cohort")

    @property
    def field(self) -> str:
        return SECTOR_IDS[self.field_index]


VIEW_TYPES: dict[str, type[_View]] = {"firms": Firm, "cohorts": TalentCohort}
