"""Policy levers grouped by the article's five measures, and the uncertainties a scenario may set.

Levers are what the zone decides, in real units; defaults are the 2020 level ("2020 policies
continued"), so the baseline scenario is an empty lever set. Uncertainties are what the zone
does not control: behavioural parameters (fixed or sampled), the 2020 baseline's published
ranges, and dated shocks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .data import fact
from .mechanisms.funding import INSTRUMENTS
from .sectors import SECTOR_IDS

SectorId = Literal["auto", "industrial_internet", "ngit", "biotech", "xinchuang", "robotics", "other"]
assert tuple(SectorId.__args__) == SECTOR_IDS  # type: ignore[attr-defined]

NonNeg = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]


class Strict(BaseModel):
    """Base for scenario sections: unknown keys are errors, values are validated strictly."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class Clusters(Strict):
    """Measure 1, 产业集群: attract anchor projects and let leading firms pull suppliers."""

    anchor_projects_per_year: dict[SectorId, Annotated[float, Field(ge=0, le=20)]] = Field(
        default_factory=lambda: {"auto": 0.3, "ngit": 0.5, "biotech": 0.5, "xinchuang": 0.3, "robotics": 0.3},
        description="major projects (fab, plant, drug factory) signed a year per sector; "
        "2020: the zone's usual pace of 2-3 a year",
    )
    anchor_investment_yuan: Annotated[float, Field(gt=0, le=1e12)] = Field(
        5.0e9, description="investment per anchor project, yuan; 2020-era projects were 2-10 bn"
    )
    suppliers_per_anchor: NonNeg = Field(10.0, le=100, description="supplier firms an anchor project pulls in (firms)")
    land_per_anchor_ha: Annotated[float, Field(gt=0)] = Field(
        20.0, description="industrial land one project needs, hectares"
    )
    sector_weights: dict[SectorId, NonNeg] = Field(
        default_factory=lambda: {s: 1.0 for s in SECTOR_IDS if s != "other"},
        description="targeting weights of the guidance fund and of subsidies by sector (relative; omitted = 0)",
    )


class Ecosystem(Strict):
    """Measure 2, 创新生态: innovation centres, pilot bases, key technologies, tech VPs."""

    innovation_centres: Count = Field(
        10, description="technology innovation centres (技术创新中心); 2020 ~10, plan '20+'"
    )
    pilot_bases: Count = Field(5, description="pilot-scale (中试) bases; 2020 ~5, plan '10+'")
    key_technologies: Count = Field(0, description="items on the key core technology list (白菜心工程); plan 10")
    key_technology_sectors: list[SectorId] = Field(
        default_factory=list, description="sectors the listed technologies serve (spread evenly)"
    )
    tech_vp_per_year: NonNeg = Field(
        0.0, description="researchers placed as technology vice-presidents (科技副总), persons/yr"
    )
    innovation_fund_yuan_per_year: NonNeg = Field(
        0.0, description="technology innovation fund investing in start-ups, yuan/yr (on top of the special funds)"
    )
    incubation_firms_per_year: NonNeg = Field(
        0.0, description="firms a year the high-tech incubation mechanism brings to the certification R&D threshold"
    )


class UrbanScenarios(Strict):
    """Measure 3, 城市场景: application scenarios that buy from zone firms."""

    autonomous_driving_road_km: NonNeg = Field(
        default_factory=lambda: fact("zone", "autonomous_driving_zone_road_km_2020"),
        le=1e5,
        description="equipped road-km of the autonomous-driving demonstration zone by the plan's end",
    )
    smart_city_procurement_yuan_per_year: dict[SectorId, NonNeg] = Field(
        default_factory=dict,
        description="smart-city and government procurement beyond 2020 by the plan's end, yuan/yr per sector",
    )
    smart_healthcare_yuan_per_year: NonNeg = Field(
        0.0, description="smart-healthcare spending beyond 2020 by the plan's end, yuan/yr"
    )


class Talent(Strict):
    """Measure 4, 人才 ("three helps"): find, train, retain."""

    programme_persons_per_year: NonNeg = Field(
        2000.0, le=1e6, description="talent brought in by programmes, persons/yr (help find)"
    )
    training_places_per_year: NonNeg = Field(
        5000.0, description="training places raising a skill level, persons/yr (help train)"
    )
    housing_units: NonNeg = Field(5000.0, description="talent housing units available (help retain)")
    school_places: NonNeg = Field(3000.0, description="school places for talents' children (help retain)")


class BudgetShares(Strict):
    """Shares of the annual special funds by instrument; must sum to 1."""

    guidance_equity: Share = 0.40
    loan_interest: Share = 0.15
    rent: Share = 0.15
    rd_reward: Share = 0.20
    talent: Share = 0.10

    @model_validator(mode="after")
    def _sum_to_one(self) -> BudgetShares:
        total = sum(getattr(self, k) for k in INSTRUMENTS)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {total:g} ({', '.join(INSTRUMENTS)})")
        return self

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, k) for k in INSTRUMENTS)


class PolicySystem(Strict):
    """Measure 5, 政策体系: special funds and how they are spent; land and approval."""

    special_funds_yuan_per_year: NonNeg = Field(
        default_factory=lambda: fact("zone", "special_funds_plan_yuan_per_year"),
        description="annual special funds (yuan/yr)",
    )
    budget_shares: BudgetShares = Field(default_factory=BudgetShares)
    private_leverage: NonNeg = Field(2.0, description="private venture yuan co-invested per guidance-fund yuan")
    equity_deal_yuan: Annotated[float, Field(ge=1e4)] = Field(3.0e7, description="guidance-fund ticket per firm, yuan")
    interest_subsidy_share: Share = Field(0.3, description="share of loan interest the subsidy covers")
    rent_subsidy_share: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.3, description="share of young firms' rent covered"
    )
    rd_reward_rate: NonNeg = Field(0.1, description="reward per yuan of R&D-spending increase (yuan/yuan)")
    talent_subsidy_per_person_yuan: NonNeg = Field(5.0e4, description="subsidy per arriving skilled person, yuan")
    land_hectares_per_year: NonNeg = Field(100.0, description="industrial land supplied, hectares/yr")
    land_cost_reduction: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.1, description="land-cost cut from flexible leasing and lease-then-transfer (share)"
    )
    approval_months: Annotated[float, Field(gt=0)] = Field(
        6.0, description="months from signing to construction permit"
    )


class Range(Strict):
    """A range to sample uniformly per replication."""

    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        return self


class Shock(Strict):
    """A dated shock to sector output (a pandemic year, a chip shortage, a demand slump)."""

    year: Annotated[int, Field(ge=2016, le=2030)]
    sectors: list[SectorId] = Field(default_factory=lambda: list(SECTOR_IDS))
    output_change: Annotated[float, Field(gt=-1, le=1)] = Field(description="log-free relative change, -0.1 = -10%")
    probability: Share = 1.0


class Uncertainties(Strict):
    """What the zone does not control. Replications sample these; levers stay fixed."""

    parameters: dict[str, float | Range] = Field(
        default_factory=dict, description="behavioural parameters (model/data/parameters.yaml): a value or {low, high}"
    )
    sample_baseline_ranges: bool = Field(
        False, description="draw each sector's 2020 output from its published range (zone_facts.yaml)"
    )
    shocks: list[Shock] = Field(default_factory=list)
    talent_outflow_shock: NonNeg = Field(
        0.0, description="extra attrition per year on top of the behavioural rate (1/yr)"
    )


class Levers(Strict):
    """All levers, by measure."""

    clusters: Clusters = Field(default_factory=Clusters)
    ecosystem: Ecosystem = Field(default_factory=Ecosystem)
    urban_scenarios: UrbanScenarios = Field(default_factory=UrbanScenarios)
    talent: Talent = Field(default_factory=Talent)
    policy: PolicySystem = Field(default_factory=PolicySystem)


BASELINE_LEVERS = Levers()
"""2020 policies continued: the reference every relative policy effect is measured against."""
