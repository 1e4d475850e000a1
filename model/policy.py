"""Policy channels: a scenario's levers, year by year and relative to the 2020 levers, turned
into the effects the mechanisms read. This is the one place a lever acts.

| lever (levers.py)                      | effect here                        | read by                     |
|----------------------------------------|------------------------------------|-----------------------------|
| policy.special_funds, budget_shares    | `budgets` per instrument           | Government, GuidanceFund,   |
|                                        |                                    | ProjectOffice (agents.py)   |
| ecosystem.innovation_fund              | `innovation_fund` (equity)         | GuidanceFund                |
| policy.private_leverage, equity_deal   | `private_leverage`, `equity_deal`  | GuidanceFund                |
| clusters.sector_weights                | `sector_weights` (eligibility)     | Government, GuidanceFund    |
| policy.interest_subsidy_share          | `interest_subsidy_share`           | finance (borrowing rate)    |
| policy.rent_subsidy_share              | `rent_subsidy_share`, entry cost   | finance, entry              |
| policy.rd_reward_rate                  | `rd_reward_rate`                   | innovation (R&D target)     |
| policy.talent_subsidy_per_person       | `talent_subsidy_per_person`        | talent (inflow)             |
| clusters.anchor_projects_per_year      | `projects_pursued`                 | projects (ProjectOffice)    |
| clusters.anchor_incentive_share        | `win_probability`, `incentive_share` | projects                  |
| clusters.anchor_investment_yuan        | `median_investment`                | projects                    |
| clusters.suppliers_per_anchor          | `suppliers_per_project`            | projects -> entry           |
| policy.land_hectares_per_year          | `land_ha_per_year`                 | projects (land stock)       |
| policy.approval_months                 | `approval_quarters`, entry cost    | projects, entry             |
| policy.land_cost_reduction             | entry cost                         | entry                       |
| venture money (equity + innovation fund) | `entry_factor`                   | entry                       |
| ecosystem.* (centres, bases, key tech) | `innovation_multiplier`            | innovation (hazard)         |
| ecosystem.tech_vp, incubation          | `vp_per_year`, `incubation_per_year` | innovation, certification |
| urban_scenarios.*                      | `scenario_demand`                  | demand -> growth            |
| talent.*                               | inflow, training, retention        | talent                      |

No effect adds output: every one acts on a firm's decision or constraint (credit, cash, costs,
R&D, entry, talent, demand) or on the arrival, size, timing and cost of major projects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .levers import BASELINE_LEVERS, Levers
from .mechanisms import demand, entry_exit, innovation, projects
from .mechanisms.funding import INSTRUMENTS
from .params import Params
from .sectors import N_SECTORS, SECTOR_IDS, SECTOR_INDEX

QUARTERS_PER_MONTH = 1.0 / 3.0


@dataclass(frozen=True)
class YearPolicy:
    """The effects of a scenario's levers in one year (money in yuan, flows per year)."""

    year: int
    # money and who may receive it
    budgets: np.ndarray  # [instrument] special funds, yuan/yr
    innovation_fund: float  # yuan/yr invested by the guidance fund on top of the special funds
    sector_weights: np.ndarray  # [sector] targeting weights (0 = not eligible)
    private_leverage: float  # private yuan per guidance-fund yuan
    equity_deal: float  # guidance-fund ticket, yuan
    interest_subsidy_share: float
    rent_subsidy_share: float
    rd_reward_rate: float  # yuan per yuan of R&D increase
    talent_subsidy_per_person: float  # yuan
    # major projects
    projects_pursued: np.ndarray  # [sector] leads/yr
    win_probability: float
    incentive_share: float  # of a project's investment
    median_investment: float  # yuan
    suppliers_per_project: float
    land_ha_per_year: float
    approval_quarters: float
    # entry, innovation, demand, talent
    entry_factor: float  # multiplier on entry vs 2020 policies (bounded)
    innovation_multiplier: np.ndarray  # [sector] hazard multiplier vs 2020 (1 = 2020)
    vp_per_year: float
    incubation_per_year: float
    scenario_demand: np.ndarray  # [sector] extra demand over 2020, yuan/yr
    programme_persons: float  # persons/yr
    training_places: float  # persons/yr
    services_units: float  # housing units + school places

    @property
    def targeted(self) -> np.ndarray:
        """[sector] whether the sector's firms may receive subsidies and equity."""
        return self.sector_weights > 0


def venture_money(levers: Levers) -> float:
    """Venture equity for start-ups a year (yuan): guidance-fund equity with its private
    co-investment, plus the technology innovation fund."""
    p = levers.policy
    return float(
        p.special_funds_yuan_per_year * p.budget_shares.guidance_equity * (1.0 + p.private_leverage)
        + levers.ecosystem.innovation_fund_yuan_per_year
    )


def _per_sector(mapping: dict[str, float]) -> np.ndarray:
    return np.array([float(mapping.get(s, 0.0)) for s in SECTOR_IDS])


def year_policy(levers: Levers, year: int, params: Params, base: Levers = BASELINE_LEVERS) -> YearPolicy:
    """The effects of `levers` in `year`, relative to the 2020 levers `base`."""
    lv, b = levers.at(year), base.at(year)
    pol, eco, cl, urb, tal = lv.policy, lv.ecosystem, lv.clusters, lv.urban_scenarios, lv.talent
    budgets = pol.special_funds_yuan_per_year * np.asarray(pol.budget_shares.at(year))
    assert budgets.shape == (len(INSTRUMENTS),)

    cost = entry_exit.entry_cost_index(
        pol.land_cost_reduction,
        pol.rent_subsidy_share,
        pol.approval_months,
        (b.policy.land_cost_reduction, b.policy.rent_subsidy_share, b.policy.approval_months),
    )
    v0 = venture_money(b)
    venture_ratio = venture_money(lv) / v0 if v0 > 0 else 1.0
    entry_factor = entry_exit.policy_entry_factor(
        cost, params.entry_cost_elasticity, venture_ratio, params.fund_entry_elasticity
    )

    # innovation: centres and pilot bases serve the cluster sectors (not `other`); the key
    # technologies are spread over the sectors they serve
    served = np.array([s != "other" for s in SECTOR_IDS])
    centres, centres0 = (
        eco.innovation_centres + eco.pilot_bases,
        b.ecosystem.innovation_centres + b.ecosystem.pilot_bases,
    )
    key_tech = np.zeros(N_SECTORS)
    for s in eco.key_technology_sectors:
        key_tech[SECTOR_INDEX[s]] += eco.key_technologies / len(eco.key_technology_sectors)
    key_tech0 = np.zeros(N_SECTORS)
    for s in b.ecosystem.key_technology_sectors:
        key_tech0[SECTOR_INDEX[s]] += b.ecosystem.key_technologies / len(b.ecosystem.key_technology_sectors)
    mult = innovation.ecosystem_multiplier(
        np.where(served, centres, centres0),
        centres0,
        key_tech,
        False,
        params.ecosystem_effect,
        params.key_tech_effect,
        0,
    ) / innovation.ecosystem_multiplier(centres0, centres0, key_tech0, False, 0.0, params.key_tech_effect, 0)

    extra = demand.scenario_demand(
        urb.autonomous_driving_road_km - b.urban_scenarios.autonomous_driving_road_km,
        _per_sector(urb.smart_city_procurement_yuan_per_year)
        - _per_sector(b.urban_scenarios.smart_city_procurement_yuan_per_year),
        urb.smart_healthcare_yuan_per_year - b.urban_scenarios.smart_healthcare_yuan_per_year,
        params.demand_per_road_km,
        params.scenario_capture,
        SECTOR_INDEX,
    )

    return YearPolicy(
        year=year,
        budgets=budgets,
        innovation_fund=float(eco.innovation_fund_yuan_per_year),
        sector_weights=_per_sector(cl.sector_weights),
        private_leverage=float(pol.private_leverage),
        equity_deal=float(pol.equity_deal_yuan),
        interest_subsidy_share=float(pol.interest_subsidy_share),
        rent_subsidy_share=float(pol.rent_subsidy_share),
        rd_reward_rate=float(pol.rd_reward_rate),
        talent_subsidy_per_person=float(pol.talent_subsidy_per_person_yuan),
        projects_pursued=_per_sector(cl.anchor_projects_per_year),
        win_probability=projects.win_probability(
            cl.anchor_incentive_share,
            b.clusters.anchor_incentive_share,
            params.project_win_prob,
            params.project_offer_effect,
        ),
        incentive_share=float(cl.anchor_incentive_share),
        median_investment=float(cl.anchor_investment_yuan),
        suppliers_per_project=float(cl.suppliers_per_anchor),
        land_ha_per_year=float(pol.land_hectares_per_year),
        approval_quarters=float(pol.approval_months) * QUARTERS_PER_MONTH,
        entry_factor=entry_factor,
        innovation_multiplier=np.asarray(mult, dtype=float),
        vp_per_year=float(eco.tech_vp_per_year),
        incubation_per_year=float(eco.incubation_firms_per_year),
        scenario_demand=extra,
        programme_persons=float(tal.programme_persons_per_year),
        training_places=float(tal.training_places_per_year),
        services_units=float(tal.housing_units + tal.school_places),
    )


def policy_path(levers: Levers, years: list[int], params: Params) -> dict[int, YearPolicy]:
    """The effects of `levers` in each projected year (years[0] is the start state)."""
    return {y: year_policy(levers, y, params) for y in years[1:]}


def services_2020(base: Levers = BASELINE_LEVERS) -> float:
    """Housing units + school places of the 2020 levers (the retention reference)."""
    return float(base.talent.housing_units + base.talent.school_places)


def talent_subsidy_2020(base: Levers = BASELINE_LEVERS) -> float:
    """Talent subsidy per arriving person under the 2020 levers (yuan)."""
    return float(base.policy.talent_subsidy_per_person_yuan)
