"""The start state of the zone (end of 2020 by default) and the firm population built from it.

`StartState` gathers the aggregates a population must reproduce (sector outputs, firm count,
high-tech firms, GDP, known anchor firms); the functions below draw a heavy-tailed firm
population that matches them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    """`k` distinct indices drawn with probability proportional to `weights` (Efraimidis-Spirakis),
    in the order they were drawn (largest key first), so that taking them one by one until a
    budget or a count runs out is a weighted draw without replacement."""
    w = np.asarray(weights, dtype=float)
    positive = np.flatnonzero(w > 0)
    k = min(k, positive.size)
    if k <= 0:
        return np.zeros(0, dtype=int)
    keys = np.log(rng.random(positive.size)) / w[positive]
    top = np.argpartition(-keys, k - 1)[:k]
    return positive[top[np.argsort(-keys[top], kind="stable")]]


def margins(
    rng: np.random.Generator, sector: np.ndarray, output_zone: np.ndarray, params: Any, sector_margin: np.ndarray
) -> np.ndarray:
    """Operating margins of firms (persistent): the sector mean plus a spread that narrows with
    size like growth volatility (`output_zone`: output in zone units, yuan/year), so that large
    established firms sit close to their sector's margin and small firms are dispersed."""
    from .mechanisms.growth import size_volatility

    spread = params.margin_sd * size_volatility(output_zone, 1.0, params.vol_size_beta, 0.0).clip(max=1.0)
    return sector_margin[sector] + spread * rng.standard_normal(sector.size)


def sector_counts(start: StartState) -> np.ndarray:
    """Firms per sector in the full-scale start population: the start count split by the
    sectors' firm shares, at least one besides each sector's known firms."""
    from .params import sector_assumptions

    known = np.bincount([s for s, _ in start.known_firms], minlength=len(SECTOR_IDS))
    return firm_counts(int(start.firms), sector_assumptions()["firm_share"], known + 1)


def sample_firms(
    rng: np.random.Generator,
    sector: np.ndarray,
    output: np.ndarray,
    whole: np.ndarray,
    scale: float,
    min_agents: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, weight, stratum weight per sector): the agents that stand for a full-scale
    population at `scale`.

    Firms marked `whole` (known and large firms) stay one agent each; the others are sampled
    systematically within their sector (sorted by size, every k-th from a random start, so the
    sample keeps the size distribution): a share `scale` of them, but at least `min_agents` (all
    of them if fewer), so that small sectors keep enough agents for their totals not to depend on
    a few; each sampled agent stands for (firms in the stratum) / (agents drawn) firms. At scale
    1 every firm is an agent of weight 1."""
    n = sector.size
    strata = np.ones(len(SECTOR_IDS))
    if scale >= 1.0:
        return np.arange(n), np.ones(n), strata
    rows, weights = [np.flatnonzero(whole)], [np.ones(int(np.count_nonzero(whole)))]
    for s in range(len(SECTOR_IDS)):
        idx = np.flatnonzero((sector == s) & ~whole)
        if idx.size == 0:
            continue
        order = idx[np.argsort(output[idx], kind="stable")]
        k = min(idx.size, max(1, round(idx.size * scale), min_agents))
        step = idx.size / k
        picks = np.floor(rng.random() * step + step * np.arange(k)).astype(int)
        rows.append(order[picks])
        weights.append(np.full(k, idx.size / k))
        strata[s] = idx.size / k
    r, w = np.concatenate(rows), np.concatenate(weights)
    order = np.argsort(r, kind="stable")
    return r[order], w[order], strata


def initial_firms(
    rng: np.random.Generator, start: StartState, params: Any, scale: float, ht_threshold: Any, steps_per_year: int
) -> dict[str, np.ndarray]:
    """Columns of the start population (firm store columns, see state.py).

    The population is drawn at full scale whatever the scale of the run, then sampled
    (sample_firms): large and known firms stay individual agents, the others are represented by
    weighted agents, so a small-scale run stands for the same zone. Sector outputs and the known
    firms match `start` exactly; sizes are heavy-tailed (lognormal body, Zipf tail); known firms
    (e.g. Beijing Benz) keep their published size, are anchors and have their sector's mean
    margin; the national high-tech firms are drawn among firms that meet the R&D rule (larger and
    R&D-heavier firms first), with certificates of random age; debt is `initial_leverage` x
    output (within what banks lend, see finance.py); capacity is output plus the usual spare, and
    a firm's attraction starts at its output (its CES share of the market is its sales share).
    ht_threshold(output) gives the R&D intensity the high-tech rule requires.
    """
    from .params import population_assumptions, sector_assumptions

    sa = sector_assumptions()
    pop = population_assumptions()
    known = [[o for (s, o) in start.known_firms if s == i] for i in range(len(SECTOR_IDS))]
    counts = sector_counts(start)
    sector = np.repeat(np.arange(len(SECTOR_IDS), dtype=np.int8), counts)
    output = np.concatenate(
        [
            firm_sizes(
                rng,
                int(counts[i]),
                float(start.sector_output[i]),
                known[i],
                pop["zipf_alpha"],
                pop["size_sigma"],
                floor=2.0 * params.min_viable_output,
            )
            for i in range(len(SECTOR_IDS))
        ]
    )
    anchor = np.concatenate([np.arange(counts[i]) < len(known[i]) for i in range(len(SECTOR_IDS))])
    n = output.size
    rd = sa["rd_intensity"][sector] * np.exp(pop["rd_sigma"] * rng.standard_normal(n) - pop["rd_sigma"] ** 2 / 2)
    margin = np.where(anchor, sa["margin"][sector], margins(rng, sector, output, params, sa["margin"]))
    age = rng.integers(0, round(pop["start_age_max_years"] * steps_per_year), n)
    threshold = ht_threshold(output)
    min_age = pop["high_tech_min_age_years"] * steps_per_year
    weight = output**0.3 * np.where(rd >= threshold, 1.0, 0.01) * (age >= min_age)
    ht_rows = pick_weighted(rng, weight, int(start.high_tech_firms))
    high_tech = np.zeros(n, dtype=bool)
    high_tech[ht_rows] = True
    rd[ht_rows] = np.maximum(rd[ht_rows], threshold[ht_rows])
    validity = round(steps_per_year * fact("rules", "high_tech_validity_years"))
    cert_age = np.where(high_tech, rng.integers(0, validity, n), 0)
    innovations = np.where(high_tech, 1 + rng.poisson(1.0, n), 0)
    median = np.array([np.median(output[sector == i]) for i in range(len(SECTOR_IDS))])
    whole = anchor | (output >= pop["individual_output_yuan"])
    rows, w, strata = sample_firms(rng, sector, output, whole, scale, int(pop["min_sampled_agents"]))
    out = output[rows]
    # weighted agents carry their sector's total exactly (the data), sampled firms keep their shape
    sec = sector[rows]
    total = np.bincount(sector, weights=output, minlength=len(SECTOR_IDS))
    got = np.bincount(sec, weights=w * out, minlength=len(SECTOR_IDS))
    fixed = np.bincount(sec, weights=whole[rows] * out, minlength=len(SECTOR_IDS))
    with np.errstate(divide="ignore", invalid="ignore"):
        adjust = np.where(got > fixed, (total - fixed) / (got - fixed), 1.0)
    out = np.where(whole[rows], out, out * adjust[sec])
    cols = {
        "sector": sec,
        "weight": w,
        "output": out,
        "capacity": out * (1.0 + pop["spare_capacity"]),
        "attraction": out.copy(),
        "cash": pop["initial_cash_years"] * out,
        "debt": params.initial_leverage * out,
        "age": age[rows],
        "productivity": np.ones(rows.size),
        "rd_intensity": rd[rows],
        "base_rd": rd[rows].copy(),
        "rd_last_year": rd[rows] * out,  # 2020 R&D spending: the reference of 2021's R&D-growth reward
        "margin": margin[rows],
        "high_tech": high_tech[rows],
        "cert_age": cert_age[rows],
        "innovations": innovations[rows],
        "anchor": anchor[rows],
    }
    return cols | {"median_output": median, "stratum_weight": strata}


def settle_start(m: Any, rows: np.ndarray) -> None:
    """The start population's finances as in a population that has been running: debt within
    what banks lend (at the unsubsidised rate; the banks' opening loan book), and firms already
    losing money at random points of their decline (a share of the way through burning their
    cash, or, past it, some steps into their distress), so exits start at their usual pace."""
    from .firm_rules import startup

    f, p = m.firms, m.params
    young = startup(f.age[rows], f.anchor[rows], m.startup_steps)
    margin = f.margin[rows] - p.startup_margin_penalty * young
    limit = m.bank.limit(f.output[rows], margin, f.rd_intensity[rows], m.bank.rate)
    f.debt[rows] = np.minimum(f.debt[rows], limit)
    m.accounts.loans = float((f.weight[rows] * f.debt[rows]).sum())
    losing = margin < 0
    rows_l = rows[losing]
    burn = f.cash[rows_l] / (-margin[losing] * f.output[rows_l] * m.dt)  # steps of cash left at most
    patience = max(p.distress_years * m.steps_per_year, 1.0)
    phase = m.streams["population"].random(rows_l.size) * (burn + patience)
    burning = phase < burn
    f.cash[rows_l] = np.where(burning, f.cash[rows_l] * (1.0 - phase / np.maximum(burn, 1e-9)), 0.0)
    f.distress[rows_l] = np.where(burning, 0, np.floor(phase - burn)).astype(np.int16)
