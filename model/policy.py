"""Policy channels: a scenario's levers, year by year and relative to the 2020 levers, turned
into the effects the mechanisms read. This is the one place a lever acts.

| lever (levers.py)                      | effect here                          | read by                       |
|----------------------------------------|--------------------------------------|-------------------------------|
| policy.special_funds, budget_shares    | `budgets` per instrument             | Government (agents.py)        |
| policy.carry_over_share                | `carry_over_share`                   | Government (year end)         |
| ecosystem.innovation_fund              | `innovation_fund` (equity budget)    | GuidanceFund                  |
| policy.private_leverage, equity_deal   | `private_leverage`, `equity_deal`    | GuidanceFund                  |
| clusters.sector_weights                | `sector_weights` (eligibility)       | Government, GuidanceFund      |
| policy.interest_subsidy_share          | `interest_subsidy_share`             | Government -> finance (rate)  |
| policy.rent_subsidy_share              | `rent_subsidy_share`                 | Government -> cash; entry cost|
| policy.rd_reward_rate                  | `rd_reward_rate`                     | innovation (R&D target)       |
| policy.talent_subsidy_per_person       | `talent_subsidy_per_person`          | talent (inflow)               |
| clusters.anchor_projects_per_year      | `projects_pursued`                   | ProjectOffice                 |
| clusters.anchor_incentive_share        | `win_probability`, `incentive_share` | ProjectOffice                 |
| clusters.anchor_investment_yuan        | `median_investment`                  | ProjectOffice                 |
| clusters.suppliers_per_anchor          | `suppliers_per_project`              | projects -> entry             |
| policy.land_hectares_per_year          | `land_ha_per_year`                   | ProjectOffice (land stock)    |
| policy.approval_months                 | `approval_months` (delay, entry cost)| ProjectOffice, entry          |
| policy.land_cost_reduction             | entry cost                           | entry                         |
| ecosystem.* (centres, bases, key tech) | `innovation_multiplier`, programmes  | innovation (hazard); budget   |
| ecosystem.tech_vp, incubation          | `vp_per_year`, `incubation_per_year` | innovation, certification     |
| urban_scenarios.*                      | `spending`, `public_spending`        | markets (bought by the zone)  |
| talent.*                               | inflow, training, retention          | talent; budget (programmes)   |

No effect adds output: every one acts on a firm's decision or constraint (credit, cash, costs,
R&D and quality, entry, talent) or on who buys (procurement bought by the government), or on
the arrival, size, timing and cost of major projects; every lever that costs money charges the
budget (Government.pay, Government.pay_programmes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .levers import BASELINE_LEVERS, Levers
from .mechanisms import demand, innovation, projects
from .mechanisms.funding import INSTRUMENTS
from .params import Params
from .sectors import N_SECTORS, SECTOR_IDS, SECTOR_INDEX


@dataclass(frozen=True)
class YearPolicy:
    """The effects of a scenario's levers in one year (money in yuan, flows per year)."""

    year: int
    # money and who may receive it
    budgets: np.ndarray  # [instrument] special funds, yuan/yr
    carry_over_share: float  # share of unspent special funds carried to the next year
    innovation_fund: float  # yuan/yr for the guidance fund on top of the special funds
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
    # set-up costs of entrants (the rent part comes from the subsidy actually paid)
    land_cost_reduction: float
    approval_months: float
    # innovation, demand, talent
    innovation_multiplier: np.ndarray  # [sector] hazard multiplier vs 2020 (1 = 2020)
    vp_per_year: float
    incubation_per_year: float
    spending: np.ndarray  # [sector] urban-scenario spending over 2020, yuan/yr (total)
    public_spending: np.ndarray  # [sector] of it, paid by the zone government, yuan/yr
    programme_persons: float  # persons/yr
    training_places: float  # persons/yr
    housing_units: float
    school_places: float
    innovation_centres: float
    pilot_bases: float
    key_technologies: float

    @property
    def targeted(self) -> np.ndarray:
        """[sector] whether the sector's firms may receive subsidies and equity."""
        return self.sector_weights > 0

    @property
    def services_units(self) -> float:
        """Housing units + school places (retention)."""
        return self.housing_units + self.school_places


def _per_sector(mapping: dict[str, float]) -> np.ndarray:
    return np.array([float(mapping.get(s, 0.0)) for s in SECTOR_IDS])


def year_policy(levers: Levers, year: int, params: Params, base: Levers = BASELINE_LEVERS) -> YearPolicy:
    """The effects of `levers` in `year`, relative to the 2020 levers `base`."""
    lv, b = levers.at(year), base.at(year)
    pol, eco, cl, urb, tal = lv.policy, lv.ecosystem, lv.clusters, lv.urban_scenarios, lv.talent
    budgets = pol.special_funds_yuan_per_year * np.asarray(pol.budget_shares.at(year))
    assert budgets.shape == (len(INSTRUMENTS),)

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

    spending, public = demand.scenario_spending(
        urb.autonomous_driving_road_km - b.urban_scenarios.autonomous_driving_road_km,
        _per_sector(urb.smart_city_procurement_yuan_per_year)
        - _per_sector(b.urban_scenarios.smart_city_procurement_yuan_per_year),
        urb.smart_healthcare_yuan_per_year - b.urban_scenarios.smart_healthcare_yuan_per_year,
        params.demand_per_road_km,
        params.road_public_share,
        SECTOR_INDEX,
    )

    return YearPolicy(
        year=year,
        budgets=budgets,
        carry_over_share=float(pol.carry_over_share),
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
        land_cost_reduction=float(pol.land_cost_reduction),
        approval_months=float(pol.approval_months),
        innovation_multiplier=np.asarray(mult, dtype=float),
        vp_per_year=float(eco.tech_vp_per_year),
        incubation_per_year=float(eco.incubation_firms_per_year),
        spending=spending,
        public_spending=public,
        programme_persons=float(tal.programme_persons_per_year),
        training_places=float(tal.training_places_per_year),
        housing_units=float(tal.housing_units),
        school_places=float(tal.school_places),
        innovation_centres=float(eco.innovation_centres),
        pilot_bases=float(eco.pilot_bases),
        key_technologies=float(eco.key_technologies),
    )


def policy_path(levers: Levers, years: list[int], params: Params) -> dict[int, YearPolicy]:
    """The effects of `levers` in each projected year (years[0] is the start state)."""
    return {y: year_policy(levers, y, params) for y in years[1:]}


def entry_cost_baseline(base: Levers = BASELINE_LEVERS) -> tuple[float, float, float]:
    """(land-cost reduction, rent share covered, approval months) under the 2020 levers: the
    reference of the entry cost index."""
    p = base.policy
    return float(p.land_cost_reduction), float(p.rent_subsidy_share), float(p.approval_months)


def services_2020(base: Levers = BASELINE_LEVERS) -> float:
    """Housing units + school places of the 2020 levers (the retention reference)."""
    return float(base.talent.housing_units + base.talent.school_places)


def talent_subsidy_2020(base: Levers = BASELINE_LEVERS) -> float:
    """Talent subsidy per arriving person under the 2020 levers (yuan)."""
    return float(base.policy.talent_subsidy_per_person_yuan)
