"""The model's state: column stores for the hot state of firms, talent cohorts and major
projects, and the feedbacks carried from one step to the next.

The model steps the NumPy columns in bulk; each Mesa agent holds its row number and reads its
attributes from them (see agents.py). Rows are never reused: a firm that exits keeps its row
with `alive` False, so a row number identifies one firm for the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .sectors import N_SECTORS

FIRM_COLUMNS: dict[str, type] = {
    "sector": np.int8,  # index into SECTOR_IDS
    "weight": np.float64,  # firms this agent stands for (1 at scale 1; sampled small firms at scale < 1)
    "output": np.float64,  # sales run rate of one firm, current yuan/year
    "capacity": np.float64,  # sales one firm can make, current yuan/year
    "attraction": np.float64,  # CES attraction: the firm's share of its sector's market part (market.py)
    "contract": np.float64,  # demand tied to the firm (project offtake, vaccine doses), current yuan/year
    "cash": np.float64,  # yuan
    "debt": np.float64,  # bank debt, yuan
    "distress": np.int16,  # steps in a row with negative cash after all credit drawn
    "age": np.int32,  # steps since founding or arrival
    "productivity": np.float64,  # productivity and quality index, 1 at start (innovations raise it)
    "rd_intensity": np.float64,  # R&D spending / output
    "base_rd": np.float64,  # R&D intensity the firm would choose without rewards
    "margin": np.float64,  # operating margin before interest
    "rd_year": np.float64,  # R&D spent so far this calendar year, yuan
    "rd_last_year": np.float64,  # R&D spent last calendar year, yuan (0: not in the zone then)
    "high_tech": np.bool_,  # national high-tech enterprise status
    "cert_age": np.int16,  # steps since the high-tech certificate was granted or renewed
    "innovations": np.int32,  # innovations (IP) so far
    "anchor": np.bool_,  # a known leading firm or a major project
    "ramp_left": np.int32,  # steps of ramp-up left (anchor projects)
    "ramp_target": np.float64,  # full-ramp output, yuan/year
    "ramp_steps": np.int32,  # steps the ramp-up takes in all
    "has_vp": np.bool_,  # hosts a technology vice-president
    "induced": np.bool_,  # entered with public seed money it would not have found otherwise
    "alive": np.bool_,
}

PROJECT_COLUMNS: dict[str, type] = {
    "sector": np.int8,
    "investment": np.float64,  # yuan
    "known": np.bool_,  # in the start-of-2021 pipeline (signed, land and money arranged)
    "approval_left": np.float64,  # steps until construction may start
    "has_land": np.bool_,
    "land_ha": np.float64,  # land it needs / holds
    "build_left": np.float64,  # steps of construction left
    "incentive_left": np.float64,  # incentive money the zone still owes, yuan
    "instalment": np.float64,  # incentive due per step of construction, yuan
    "delay_hazard": np.float64,  # rate at which construction slips, 1/yr
    "ramp_years": np.float64,  # years from first to full output
    "alive": np.bool_,  # waiting or under construction (False once producing or lost)
}

COHORT_COLUMNS: dict[str, type] = {
    "field": np.int8,  # skill field = sector index
    "level": np.int8,  # skill level 1 (junior) .. 3 (senior)
    "persons": np.float64,  # persons in the cohort
    "alive": np.bool_,
}


def wsum(weight: np.ndarray, values: np.ndarray) -> float:
    """sum(weight x values) as a float: totals over agents that stand for several firms. One
    pass without BLAS (einsum): deterministic whatever the thread count, and no thread start-up
    on a busy machine (OpenBLAS's threaded dot costs milliseconds there)."""
    return float(np.einsum("i,i->", weight, values))


class ColumnStore:
    """Growable struct-of-arrays; `store.output` is a view of the used rows.

    Every member has an `id`, assigned in order of arrival and never reused, so ids are sorted
    and `rows_of` finds members by bisection. A member that leaves (`remove`) keeps its row with
    `alive` False until `compact` drops the rows of those gone (order kept; rows then change, ids
    do not). Stores whose rules run on whole columns (firms, cohorts) zero a leaver's weight-like
    columns, so its row adds nothing to any sum until it is compacted away.
    """

    def __init__(self, columns: dict[str, type], capacity: int = 1024) -> None:
        self._columns = {"id": np.int64, **columns}
        self._data = {name: np.zeros(max(capacity, 16), dtype=dt) for name, dt in self._columns.items()}
        self.n = 0
        self.next_id = 0
        self.dead = 0  # rows of members that have left, not yet compacted away
        self.version = 0  # changes whenever members arrive or leave
        self.compactions = 0  # changes whenever rows move (compact)
        self._live: np.ndarray | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        data = self.__dict__.get("_data")
        if data is None or name not in data:
            raise AttributeError(name)
        return data[name][: self.n]

    def append(self, count: int, **values: np.ndarray | float) -> np.ndarray:
        """Add `count` rows with the given column values (others zero); returns their rows."""
        start, stop = self.n, self.n + count
        capacity = len(self._data["alive"])
        if stop > capacity:
            new_cap = max(stop, 2 * capacity)
            for name, arr in self._data.items():
                grown = np.zeros(new_cap, dtype=arr.dtype)
                grown[:start] = arr[:start]
                self._data[name] = grown
        for name, val in values.items():
            if name not in self._columns or name == "id":
                raise KeyError(f"unknown column {name!r}")
            self._data[name][start:stop] = val
        self._data["alive"][start:stop] = True
        self._data["id"][start:stop] = np.arange(self.next_id, self.next_id + count)
        self.next_id += count
        self.n = stop
        self.version += 1
        self._live = None
        return np.arange(start, stop)

    def remove(self, rows: np.ndarray) -> None:
        """Mark members as gone (their rows are kept, `alive` False, until `compact`)."""
        alive = self._data["alive"]
        self.dead += int(np.count_nonzero(alive[rows]))
        alive[rows] = False
        self.version += 1
        self._live = None

    def compact(self, min_dead_share: float = 0.0) -> bool:
        """Drop the rows of members that have left, keeping order, if they are more than
        `min_dead_share` of the rows; returns whether it did."""
        if self.dead == 0 or self.dead <= min_dead_share * self.n:
            return False
        keep = self._data["alive"][: self.n].copy()
        k = int(keep.sum())
        for arr in self._data.values():
            arr[:k] = arr[: self.n][keep]
            arr[k : self.n] = 0  # rows past the end are zero (`append` relies on it)
        self.n, self.dead = k, 0
        self.compactions += 1
        self.version += 1
        self._live = None
        return True

    def live_rows(self) -> np.ndarray:
        """Row numbers of living members (cached until members are added or removed: change
        `alive` only through `append` and `remove`). Treat the result as read-only."""
        if self._live is None:
            self._live = np.flatnonzero(self.alive)
        return self._live

    def rows_of(self, ids: np.ndarray | int) -> np.ndarray:
        """Rows of the members with these ids (-1 for members that have left or never were)."""
        ids = np.asarray(ids, dtype=np.int64)
        col = self.id
        pos = np.minimum(np.searchsorted(col, ids), max(self.n - 1, 0))
        found = (self.n > 0) & (col[pos] == ids) & self.alive[pos] if self.n else np.zeros(ids.shape, dtype=bool)
        return np.where(found, pos, -1)


@dataclass
class Feedback:
    """What one step leaves for the next (per sector arrays in SECTOR_IDS order).

    talent_fill: share of labour demand the pool filled (growth constraint); interest_coverage:
    share of targeted firms' interest the subsidy covered (lowers their borrowing rate);
    rd_payout_ratio: share of R&D-reward claims paid (firms expect it); rent_coverage: share of
    rent-subsidy claims the budget paid (entrants expect it); talent_subsidy_mult: inflow
    multiplier of talent subsidies actually paid; skill_multiplier: output per worker from
    training; land_ha: land prepared and not yet taken.
    """

    talent_fill: np.ndarray = field(default_factory=lambda: np.ones(N_SECTORS))
    interest_coverage: np.ndarray = field(default_factory=lambda: np.zeros(N_SECTORS))
    rd_payout_ratio: float = 1.0
    rent_coverage: float = 1.0
    talent_subsidy_mult: float = 1.0
    skill_multiplier: np.ndarray = field(default_factory=lambda: np.ones(N_SECTORS))
    land_ha: float = 0.0
