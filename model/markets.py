"""The sector markets of a run: their state and how they move each step.

Each sector's demand has a market part (current yuan a year) that its firms share by the CES rule
of mechanisms/market.py, and contract demand tied to particular firms (project offtake, the
vaccine plant's doses; see FirmRules.ramp_up and ProjectOffice). Each step prices move (firms'
capacity, project targets and contracts are in current yuan, so they move with them), and the
market part follows its sector's real trend and yearly shock, its price level and the zone's
quality relative to its past; the urban-scenario spending zone firms win is set for the year
(the government buys its public part: FirmRules.settle, Government.buy_procurement). A dated
shock (a scenario's `uncertainties.shocks`) moves the market part in its year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .mechanisms import market
from .sectors import N_SECTORS, SECTOR_INDEX

if TYPE_CHECKING:
    from .cluster_model import ClusterModel


@dataclass
class SectorMarkets:
    """The sector markets (SECTOR_IDS order).

    market: the market part of each sector's demand (current yuan/yr), procurement included;
    procurement: of it, urban-scenario spending won by zone firms (yuan/yr); public: of that,
    bought by the zone government; price: price level (1 at the start); quality: the zone's
    quality index at the last step.
    """

    market: np.ndarray
    procurement: np.ndarray = field(default_factory=lambda: np.zeros(N_SECTORS))
    public: np.ndarray = field(default_factory=lambda: np.zeros(N_SECTORS))
    price: np.ndarray = field(default_factory=lambda: np.ones(N_SECTORS))
    quality: np.ndarray = field(default_factory=lambda: np.ones(N_SECTORS))

    def public_fraction(self) -> np.ndarray:
        """[sector] share of the market part the zone government buys."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.market > 0, np.minimum(self.public / self.market, 1.0), 0.0)

    def move(self, m: ClusterModel, year: int, eff: Any) -> None:
        """One step: prices, then the market parts (see the module docstring)."""
        p, f = m.params, m.firms
        g = m.inputs.prices(year)
        step = np.exp(g * m.dt)
        self.price *= step
        sector_step = step[f.sector]
        for col in ("capacity", "ramp_target", "contract"):
            getattr(f, col)[:] *= sector_step
        quality = market.quality_index(f.productivity, f.output, f.weight, f.sector, N_SECTORS)
        change = np.log(quality / self.quality)
        self.quality = quality
        organic = (self.market - self.procurement) * np.exp(
            market.market_log_growth(
                p.trend() + p.zone_share_gain, m.inputs.shock(year), g, change, p.quality_elasticity, m.dt
            )
        )
        self.procurement = p.scenario_capture * eff.spending
        self.public = p.scenario_capture * eff.public_spending
        self.market = organic + self.procurement

    def apply_dated_shocks(self, shocks: list[Any], year: int, rng: np.random.Generator) -> None:
        """Dated shocks of `year` (each with its probability) move their sectors' market parts."""
        for shock in shocks:
            if shock.year == year and rng.random() < shock.probability:
                hit = np.isin(np.arange(N_SECTORS), [SECTOR_INDEX[s] for s in shock.sectors])
                self.market += hit * (self.market - self.procurement) * shock.output_change
