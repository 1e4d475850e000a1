"""The start state of the zone (end of 2020 by default) and the firm population built from it.

`StartState` gathers the aggregates a population must reproduce (sector outputs, firm count,
high-tech firms, GDP, known anchor firms); the functions below draw a heavy-tailed firm
population that matches them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import fact, fact_range, facts
from .sectors import SECTOR_IDS

START_YEARS = (2015, 2020)
"""Years whose end state the data file describes: 2015 (history mode) and 2020 (projections)."""


@dataclass(frozen=True)
class StartState:
    """Aggregates of the zone at the end of `year` that the initial population reproduces."""

    year: int
    sector_output: np.ndarray  # yuan/year per sector, SECTOR_IDS order
    firms: int  # firm count
    high_tech_firms: int
    gdp: float  # yuan/year
    known_firms: tuple[tuple[int, float], ...] = field(default=())  # (sector index, output yuan/year)

    @classmethod
    def from_facts(cls, year: int = 2020) -> StartState:
        """The state at the end of `year` from zone_facts.yaml (central estimates).

        2020: the calibrated projection start. 2015: the history-mode start (calibration), built
        from the 2015 figures; its sector outputs and firm count are derived in the data file
        (each entry states its basis), see model/calibration/history.py.
        """
        if year not in START_YEARS:
            raise ValueError(f"start states exist for {', '.join(map(str, START_YEARS))} only, got {year}")
        sectors = facts()["sectors"]
        key = f"output_{year}"
        known = tuple(
            (i, float(k[key]["value"])) for i, s in enumerate(SECTOR_IDS) for k in sectors[s].get("known_firms", [])
        )
        return cls(
            year=year,
            sector_output=np.array([fact("sectors", s, key) for s in SECTOR_IDS]),
            firms=int(fact("zone", "firms", year)),
            high_tech_firms=int(fact("zone", "high_tech_firms", year)),
            gdp=fact("zone", "gdp_yuan", year),
            known_firms=known,
        )

    def with_sampled_outputs(self, rng: np.random.Generator) -> StartState:
        """A copy whose sector outputs are drawn uniformly from their published 2020 ranges
        (for another start year: the same relative ranges around its own central values)."""
        lo, hi = np.array([fact_range("sectors", s, "output_2020") for s in SECTOR_IDS]).T
        central = np.array([fact("sectors", s, "output_2020") for s in SECTOR_IDS])
        rel = self.sector_output / central
        return StartState(
            self.year, rng.uniform(lo * rel, hi * rel), self.firms, self.high_tech_firms, self.gdp, self.known_firms
        )


def firm_counts(total: int, shares: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """Split `total` firms over sectors by `shares` (largest remainder), at least `minimum` each."""
    raw = total * np.asarray(shares) / np.sum(shares)
    counts = np.floor(raw).astype(int)
    rest = total - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return np.maximum(counts, minimum)


def firm_sizes(
    rng: np.random.Generator,
    n: int,
    total: float,
    known: list[float],
    zipf_alpha: float,
    size_sigma: float,
    floor: float = 0.0,
) -> np.ndarray:
    """Output (yuan/year) of the `n` firms of one sector, summing exactly to `total`.

    Known firms keep their published size; the others get `floor` (yuan/year) plus a share of
    the rest drawn as lognormal x Pareto (a lognormal body with a Zipf-like upper tail of
    exponent `zipf_alpha`).
    """
    if n < len(known) + 1:
        raise ValueError("a sector needs at least one firm besides its known firms")
    rest = total - sum(known)
    if rest <= 0:
        raise ValueError(f"known firms ({sum(known):.3g}) exceed the sector total ({total:.3g})")
    m = n - len(known)
    floor = min(floor, 0.5 * rest / m)
    draws = np.exp(size_sigma * rng.standard_normal(m)) * (1.0 + rng.pareto(zipf_alpha, m))
    return np.concatenate([np.asarray(known, dtype=float), floor + draws * ((rest - m * floor) / draws.sum())])


def pick_weighted(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """`k` distinct indices drawn with probability proportional to `weights` (Efraimidis-Spirakis)."""
    w = np.asarray(weights, dtype=float)
    positive = np.flatnonzero(w > 0)
    k = min(k, positive.size)
    if k <= 0:
        return np.zeros(0, dtype=int)
    keys = np.log(rng.random(positive.size)) / w[positive]
    return positive[np.argpartition(-keys, k - 1)[:k]]
