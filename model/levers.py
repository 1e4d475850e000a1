"""Policy levers grouped by the article's five measures, and the uncertainties a scenario may set.

Levers are what the zone decides, in real units; defaults are the 2020 level ("2020 policies
continued"), so the baseline scenario is an empty lever set. Each lever is declared once, here,
with a `Lever` annotation: unit, allowed range (an error outside it), plausible range (a warning
outside it: far from any real policy), the channel through which it acts, the mechanism module
that reads it, the intermediate quantity it moves, and a documented alternative value that
`etown effects` moves it to. `lever_specs()` lists them; `etown levers` and docs/levers.md are
generated from that list. How each lever becomes an effect is in `model/policy.py`.

Any numeric lever may be given per year: a number (constant), a mapping year -> value (held
until the next year given: `{2021: 1.0e10, 2023: 5.0e9}`) or a linear ramp between points
(`{ramp: {2021: 0, 2025: 3.0e9}}`, held before the first and after the last point). Sector
mappings merge key by key over the 2020 values (`{robotics: 1.0}` changes robotics only).

Uncertainties are what the zone does not control: behavioural parameters (fixed or sampled),
the 2020 baseline's published ranges, yearly sector shocks and dated shocks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from .data import fact
from .mechanisms.funding import INSTRUMENTS
from .sectors import SECTOR_IDS, TARGET_SECTORS

SectorId = Literal["auto", "industrial_internet", "ngit", "biotech", "xinchuang", "robotics", "other"]
assert tuple(SectorId.__args__) == SECTOR_IDS  # type: ignore[attr-defined]

MEASURES = {
    "clusters": (1, "产业集群 innovative industrial clusters"),
    "ecosystem": (2, "创新生态 innovation ecosystem"),
    "urban_scenarios": (3, "城市场景 urban application scenarios"),
    "talent": (4, "人才 talent (three helps)"),
    "policy": (5, "政策体系 policy and funding system"),
}
"""Scenario section -> (measure number, name) of the seed article's five measures."""

SCHEDULE_YEARS = (2016, 2035)
"""Years a per-year lever value may name (history mode starts in 2016, projections end by 2035)."""


# ---------------------------------------------------------------------- per-year values
class Schedule(BaseModel):
    """A lever's value over the years: step-wise (held until the next year given) or a linear
    ramp between the points; before the first point the first value holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["steps", "ramp"]
    points: tuple[tuple[int, float], ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _sorted(self) -> Schedule:
        years = [y for y, _ in self.points]
        if sorted(set(years)) != years:
            raise ValueError("years must be distinct")
        lo, hi = SCHEDULE_YEARS
        bad = [y for y in years if not lo <= y <= hi]
        if bad:
            raise ValueError(f"year {bad[0]} outside {lo}-{hi}")
        return self

    def at(self, year: int) -> float:
        """Value in `year`."""
        pts = self.points
        if year <= pts[0][0]:
            return pts[0][1]
        if year >= pts[-1][0]:
            return pts[-1][1]
        for (y0, v0), (y1, v1) in itertools.pairwise(pts):
            if y0 <= year < y1:
                return v0 if self.kind == "steps" else v0 + (v1 - v0) * (year - y0) / (y1 - y0)
        raise AssertionError("unreachable")

    def values(self) -> list[float]:
        return [v for _, v in self.points]

    def to_yaml(self) -> dict[Any, Any]:
        """The form a user writes in a scenario file."""
        steps = {y: v for y, v in self.points}
        return {"ramp": steps} if self.kind == "ramp" else steps


def _to_schedule(value: Any) -> Any:
    """A user's per-year mapping ({year: value} or {ramp: {year: value}}) as a Schedule."""
    if isinstance(value, dict) and value and set(value) != {"kind", "points"}:
        kind, pts = ("ramp", value["ramp"]) if set(value) == {"ramp"} else ("steps", value)
        if not isinstance(pts, dict):
            raise ValueError("a ramp is a mapping year -> value")
        return {"kind": kind, "points": tuple(sorted((_year_key(y), v) for y, v in pts.items()))}
    return value


def _year_key(key: Any) -> int:
    """A per-year key as a whole year: 2021, '2021' or 2021.0; anything else (2021.5, '2021a',
    true) is a ValueError, never truncated."""
    if isinstance(key, bool):
        raise ValueError(f"per-year values need whole years as keys, got {key!r}")
    if isinstance(key, int):
        return key
    if isinstance(key, float) and key.is_integer():
        return int(key)
    if isinstance(key, str) and key.strip().isdigit():
        return int(key)
    raise ValueError(f"per-year values need whole years as keys, got {str(key)[:40]!r}")


Num = Annotated[float | Schedule, BeforeValidator(_to_schedule)]
"""A numeric lever: a number or a per-year Schedule."""


def value_at(value: float | Schedule, year: int) -> float:
    """A numeric lever's value in `year`."""
    return value.at(year) if isinstance(value, Schedule) else float(value)


def all_values(value: float | Schedule) -> list[float]:
    """Every value a numeric lever takes."""
    return value.values() if isinstance(value, Schedule) else [float(value)]


# ---------------------------------------------------------------------- lever metadata
@dataclass(frozen=True)
class Lever:
    """What a lever is and how it acts (Annotated metadata of a lever field).

    allowed: values outside are errors; plausible: values outside get a warning (far from the
    range of real zone policies); alternative: the value `etown effects` moves the lever to when
    the scenario keeps it at its 2020 value (otherwise it is moved back to the 2020 value).
    For sector mappings the ranges apply to each sector's value, and `alternative` multiplies
    the values of `alternative_sectors` (default: the four target sectors) or, where those are
    all zero, becomes their value.
    metric and sign: the intermediate quantity the lever moves first and in which direction
    (tests check it with common random numbers). costs_money: the lever is a spending decision
    (the special funds, the programmes they pay for, public procurement): `etown effects`
    reports its effects per extra yuan spent.
    """

    unit: str
    allowed: tuple[float, float]
    plausible: tuple[float, float]
    channel: str
    mechanism: str
    moves: str
    alternative: float
    metric: str  # the recorded zone metric (records.ZONE_METRICS) the lever moves first
    sign: int = 1  # direction: +1 = the metric rises with the lever
    costs_money: bool = False  # a spending decision: moving it changes what the zone pays (budget_spent)
    alternative_sectors: tuple[str, ...] = ()  # sector levers: where the alternative applies (default: the targets)


@dataclass(frozen=True)
class LeverSpec:
    """A lever as listed by `etown levers`."""

    path: str  # section.field
    section: str
    measure: int
    description: str
    default: Any  # 2020 value
    info: Lever
    mapping: bool  # per sector


def _lever(**kw: Any) -> Lever:
    return Lever(**kw)


# ---------------------------------------------------------------------- base classes
class Strict(BaseModel):
    """Base for scenario sections: unknown keys are errors, numbers must be finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class Section(Strict):
    """A measure's levers: sector mappings merge over the 2020 values; every value, year by
    year, lies in the lever's allowed range."""

    @model_validator(mode="before")
    @classmethod
    def _merge_mappings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            if name in out and isinstance(out[name], dict) and _is_mapping_lever(field.annotation):
                default = field.get_default(call_default_factory=True)
                out[name] = {**default, **out[name]}
        return out

    @model_validator(mode="after")
    def _in_range(self) -> Section:
        for name, info in _lever_fields(type(self)):
            value = getattr(self, name)
            items = value.items() if isinstance(value, dict) else [(None, value)]
            lo, hi = info.allowed
            for key, v in items:
                for x in all_values(v):
                    if not lo <= x <= hi:
                        where = f"{name}.{key}" if key is not None else name
                        raise ValueError(f"{where}: must be within [{lo:g}, {hi:g}] {info.unit}, got {x:g}")
        return self


def _is_mapping_lever(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is dict


def _lever_fields(model: type[BaseModel]) -> Iterator[tuple[str, Lever]]:
    for name, field in model.model_fields.items():
        for meta in field.metadata:
            if isinstance(meta, Lever):
                yield name, meta


# ---------------------------------------------------------------------- the five measures
SectorNums = dict[SectorId, Num]


class Clusters(Section):
    """Measure 1, 产业集群: attract major projects and let leading firms pull suppliers."""

    anchor_projects_per_year: Annotated[
        SectorNums,
        _lever(
            unit="projects/yr",
            allowed=(0, 20),
            plausible=(0, 4),
            channel="investment promotion: major-project leads pursued; each is won against other regions "
            "with a probability the incentive offer raises, needs land and incentive money, and can be delayed",
            mechanism="mechanisms/projects.py",
            moves="projects won (projects_won)",
            alternative=2.0,
            metric="projects_won",
            costs_money=True,
        ),
    ] = Field(
        default_factory=lambda: {
            "auto": 1.0,
            "industrial_internet": 0.5,
            "ngit": 2.0,
            "biotech": 2.0,
            "xinchuang": 1.0,
            "robotics": 1.5,
            "other": 1.0,
        },
        description="major-project leads (fab, plant, drug factory) the zone pursues a year, per sector; "
        "2020: 9 a year (assumption: with the default win probability and sizes, ~25 bn yuan of projects a year, "
        "a quarter to a third of the zone's fixed-asset investment, 56 bn a year in 2011-2015, zone_facts)",
    )
    anchor_investment_yuan: Annotated[
        Num,
        _lever(
            unit="yuan",
            allowed=(1e8, 1e11),
            plausible=(1e9, 2e10),
            channel="size of the projects pursued (median; sizes are heavy-tailed around it)",
            mechanism="mechanisms/projects.py",
            moves="investment of projects won (project_investment)",
            alternative=6e9,
            metric="project_investment",
        ),
    ] = Field(3.0e9, description="median investment of the projects pursued, yuan (2020-era projects: 1-10 bn)")
    anchor_incentive_share: Annotated[
        Num,
        _lever(
            unit="share of investment",
            allowed=(0, 0.5),
            plausible=(0, 0.2),
            channel="incentives and zone co-investment offered per project: raise the win probability against "
            "other regions; paid from the project-support budget during construction (a shortfall delays it)",
            mechanism="mechanisms/projects.py",
            moves="projects won, project-support spending",
            alternative=0.20,
            metric="projects_won",
            costs_money=True,
        ),
    ] = Field(
        0.10,
        description="incentives and co-investment offered, share of a project's investment (2020: about a tenth; "
        "the zone's investment company took 24.51% of the SMIC joint venture's US$5 bn capital, ~16% of its "
        "US$7.6 bn investment, §D)",
    )
    suppliers_per_anchor: Annotated[
        Num,
        _lever(
            unit="firms/project",
            allowed=(0, 200),
            plausible=(0, 40),
            channel="supplier matching: start-ups that settle near a project when it starts producing",
            mechanism="mechanisms/projects.py",
            moves="entrants",
            alternative=20.0,
            metric="supplier_entrants",
        ),
    ] = Field(10.0, description="supplier firms a major project pulls in when it starts producing")
    sector_weights: Annotated[
        SectorNums,
        _lever(
            unit="relative weight",
            allowed=(0, 100),
            plausible=(0, 5),
            channel="targeting: which sectors' firms may receive guidance-fund equity and seed money, loan-interest, "
            "rent and R&D subsidies (0 = not eligible; among eligible firms the weight sets who is served first "
            "when money is short)",
            mechanism="funders.py (GuidanceFund.invest, Government.pay)",
            moves="equity invested, subsidies paid by sector",
            alternative=1.0,
            metric="equity_invested",
            alternative_sectors=("other",),
        ),
    ] = Field(
        default_factory=lambda: {s: (0.0 if s == "other" else 1.0) for s in SECTOR_IDS},
        description="targeting weights of the guidance fund and firm subsidies by sector",
    )


class Ecosystem(Section):
    """Measure 2, 创新生态: innovation centres, pilot bases, key technologies, tech VPs."""

    innovation_centres: Annotated[
        Num,
        _lever(
            unit="centres",
            allowed=(0, 200),
            plausible=(0, 50),
            channel="innovation hazard of firms in the cluster sectors",
            mechanism="mechanisms/innovation.py",
            moves="innovations",
            alternative=20.0,
            metric="innovations",
            costs_money=True,
        ),
    ] = Field(10.0, description="technology innovation centres (技术创新中心); 2020 ~10, plan '20+'")
    pilot_bases: Annotated[
        Num,
        _lever(
            unit="bases",
            allowed=(0, 100),
            plausible=(0, 30),
            channel="innovation hazard of firms in the cluster sectors (pilot-scale production)",
            mechanism="mechanisms/innovation.py",
            moves="innovations",
            alternative=10.0,
            metric="innovations",
            costs_money=True,
        ),
    ] = Field(5.0, description="pilot-scale (中试) bases; 2020 ~5, plan '10+'")
    key_technologies: Annotated[
        Num,
        _lever(
            unit="technologies",
            allowed=(0, 100),
            plausible=(0, 30),
            channel="innovation hazard of firms in the listed sectors",
            mechanism="mechanisms/innovation.py",
            moves="innovations",
            alternative=10.0,
            metric="innovations",
            costs_money=True,
        ),
    ] = Field(0.0, description="items on the key core technology list (白菜心工程); plan 10")
    key_technology_sectors: list[SectorId] = Field(
        default_factory=lambda: ["ngit", "biotech", "xinchuang", "robotics"],
        description="sectors the listed technologies serve (spread evenly)",
    )
    tech_vp_per_year: Annotated[
        Num,
        _lever(
            unit="persons/yr",
            allowed=(0, 10000),
            plausible=(0, 1000),
            channel="a firm hosting a technology vice-president innovates more often",
            mechanism="mechanisms/innovation.py",
            moves="innovations",
            alternative=200.0,
            metric="innovations",
            costs_money=True,
        ),
    ] = Field(0.0, description="researchers placed in firms as technology vice-presidents (科技副总), persons/yr")
    innovation_fund_yuan_per_year: Annotated[
        Num,
        _lever(
            unit="yuan/yr",
            allowed=(0, 1e11),
            plausible=(0, 5e9),
            channel="more money for the guidance fund's equity and seed deals, on top of the special funds; the "
            "fund invests only what firms can use (their financing gaps, start-ups that find no other money), "
            "the rest is unspent",
            mechanism="funders.py (GuidanceFund.invest), mechanisms/finance.py",
            moves="guidance money available; equity invested where firms can use it",
            alternative=1e9,
            metric="budget_unspent",
            costs_money=True,
        ),
    ] = Field(0.0, description="technology innovation fund investing in start-ups, yuan/yr (beyond the special funds)")
    incubation_firms_per_year: Annotated[
        Num,
        _lever(
            unit="firms/yr",
            allowed=(0, 10000),
            plausible=(0, 1000),
            channel="incubated firms raise R&D to the high-tech certification threshold",
            mechanism="mechanisms/innovation.py",
            moves="high-tech firms, R&D spending",
            alternative=200.0,
            metric="high_tech_firms",
            costs_money=True,
        ),
    ] = Field(0.0, description="firms a year the high-tech incubation mechanism brings to the R&D threshold")


class UrbanScenarios(Section):
    """Measure 3, 城市场景: application scenarios that buy from zone firms (a demand channel)."""

    autonomous_driving_road_km: Annotated[
        Num,
        _lever(
            unit="road-km",
            allowed=(0, 5000),
            plausible=(0, 1000),
            channel="demand for vehicles, roadside units and IT per equipped road-km beyond 2020",
            mechanism="mechanisms/demand.py",
            moves="procurement demand for auto and ngit",
            alternative=150.0,
            metric="procurement",
            costs_money=True,
        ),
    ] = Field(
        default_factory=lambda: fact("zone", "autonomous_driving_zone_road_km_2020"),
        description="equipped road-km of the autonomous-driving demonstration zone in the year",
    )
    smart_city_procurement_yuan_per_year: Annotated[
        SectorNums,
        _lever(
            unit="yuan/yr",
            allowed=(0, 1e11),
            plausible=(0, 1e10),
            channel="smart-city and government procurement from zone firms beyond 2020 (a demand shift; firms "
            "must still finance and staff the growth)",
            mechanism="mechanisms/demand.py",
            moves="procurement demand",
            alternative=1e9,
            metric="procurement",
            costs_money=True,
        ),
    ] = Field(
        default_factory=lambda: {s: 0.0 for s in SECTOR_IDS},
        description="smart-city and government procurement beyond 2020, yuan/yr per sector",
    )
    smart_healthcare_yuan_per_year: Annotated[
        Num,
        _lever(
            unit="yuan/yr",
            allowed=(0, 1e11),
            plausible=(0, 1e10),
            channel="smart-healthcare demand for biotech firms beyond 2020",
            mechanism="mechanisms/demand.py",
            moves="procurement demand for biotech",
            alternative=1e9,
            metric="procurement",
            costs_money=True,
        ),
    ] = Field(0.0, description="smart-healthcare spending beyond 2020, yuan/yr")


class Talent(Section):
    """Measure 4, 人才 ("three helps"): find, train, retain."""

    programme_persons_per_year: Annotated[
        Num,
        _lever(
            unit="persons/yr",
            allowed=(0, 1e6),
            plausible=(0, 20000),
            channel="help find: persons brought in by programmes (talent community, recruitment, interns)",
            mechanism="mechanisms/talent.py",
            moves="talent inflow",
            alternative=5000.0,
            metric="talent_inflow",
            costs_money=True,
        ),
    ] = Field(2000.0, description="talent brought in by programmes, persons/yr")
    training_places_per_year: Annotated[
        Num,
        _lever(
            unit="persons/yr",
            allowed=(0, 1e6),
            plausible=(0, 50000),
            channel="help train: a skill level up, raising output per worker",
            mechanism="mechanisms/talent.py",
            moves="skill level of the talent pool",
            alternative=10000.0,
            metric="skill_level",
            costs_money=True,
        ),
    ] = Field(5000.0, description="training places raising a skill level, persons/yr")
    housing_units: Annotated[
        Num,
        _lever(
            unit="units",
            allowed=(0, 1e6),
            plausible=(0, 50000),
            channel="help retain: housing per person in the pool lowers attrition",
            mechanism="mechanisms/talent.py",
            moves="talent outflow",
            alternative=10000.0,
            metric="talent_outflow",
            sign=-1,
            costs_money=True,
        ),
    ] = Field(5000.0, description="talent housing units available")
    school_places: Annotated[
        Num,
        _lever(
            unit="places",
            allowed=(0, 1e6),
            plausible=(0, 30000),
            channel="help retain: school places per person in the pool lower attrition",
            mechanism="mechanisms/talent.py",
            moves="talent outflow",
            alternative=6000.0,
            metric="talent_outflow",
            sign=-1,
            costs_money=True,
        ),
    ] = Field(3000.0, description="school places for talents' children")


class BudgetShares(Strict):
    """Shares of the annual special funds by instrument; give all six, summing to 1 each year."""

    guidance_equity: Num
    loan_interest: Num
    rent: Num
    rd_reward: Num
    talent: Num
    project_support: Num

    @model_validator(mode="before")
    @classmethod
    def _complete(cls, data: Any) -> Any:
        if isinstance(data, dict):
            missing = [k for k in INSTRUMENTS if k not in data]
            if missing:
                raise ValueError(
                    f"give all six shares (they must sum to 1); missing: {', '.join(missing)}. "
                    f"2020 shares: {', '.join(f'{k} {v:g}' for k, v in BASELINE_SHARES.items())}"
                )
        return data

    @model_validator(mode="after")
    def _sum_to_one(self) -> BudgetShares:
        years = sorted({y for k in INSTRUMENTS for y in _years_of(getattr(self, k))} or {SCHEDULE_YEARS[0]})
        for year in years:
            shares = self.at(year)
            if any(not 0.0 <= s <= 1.0 for s in shares):
                raise ValueError(f"each share must lie in [0, 1] (in {year}: {_fmt_shares(shares)})")
            total = sum(shares)
            if abs(total - 1.0) > 1e-6:
                where = f" in {year}" if len(years) > 1 else ""
                raise ValueError(f"shares must sum to 1{where}, got {total:g} ({_fmt_shares(shares)})")
        return self

    def at(self, year: int) -> tuple[float, ...]:
        """The shares in `year`, in INSTRUMENTS order."""
        return tuple(value_at(getattr(self, k), year) for k in INSTRUMENTS)


def _years_of(value: float | Schedule) -> list[int]:
    return [y for y, _ in value.points] if isinstance(value, Schedule) else []


def _fmt_shares(shares: tuple[float, ...]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in zip(INSTRUMENTS, shares, strict=True))


BASELINE_SHARES = {
    "guidance_equity": 0.49,
    "loan_interest": 0.10,
    "rent": 0.05,
    "rd_reward": 0.06,
    "talent": 0.05,
    "project_support": 0.25,
}
"""2020 split of the special funds over instruments. Assumption: the zone does not publish it
(the article lists guidance funds, loan-interest subsidies, rent subsidies, rewards and support);
the claim-based instruments get about what their claims under the 2020 rules come to, the
guidance fund the rest (the zone's funds are large: over 15 IC funds of over 200 bn yuan in all,
../shared/data/sector_growth_and_pipeline_to_2021-02.md §E, E4)."""


class PolicySystem(Section):
    """Measure 5, 政策体系: special funds and how they are spent; land and approval."""

    special_funds_yuan_per_year: Annotated[
        Num,
        _lever(
            unit="yuan/yr",
            allowed=(0, 2e11),
            plausible=(1e9, 3e10),
            channel="the budget every instrument draws on (equity, interest and rent subsidies, R&D rewards, "
            "talent subsidies, project support); what an instrument does not spend is carried over or lapses "
            "(carry_over_share)",
            mechanism="funders.py (Government), mechanisms/funding.py",
            moves="budget spent by instrument",
            alternative=2e10,
            metric="budget_spent",
            costs_money=True,
        ),
    ] = Field(
        default_factory=lambda: fact("zone", "special_funds_plan_yuan_per_year"),
        description="annual special funds (yuan/yr); 2020 action plan: 10 bn a year",
    )
    budget_shares: BudgetShares = Field(
        default_factory=lambda: BudgetShares(**BASELINE_SHARES),
        description="split of the special funds over the six instruments (sum to 1)",
    )
    carry_over_share: Annotated[
        Num,
        _lever(
            unit="share",
            allowed=(0, 1),
            plausible=(0, 1),
            channel="special funds an instrument did not spend in a year: carried over to the next year's "
            "budget of the same instrument (1) or lapsed back to the treasury (0)",
            mechanism="funders.py (Government), mechanisms/funding.py",
            moves="budget spent",
            alternative=1.0,
            metric="budget_spent",
            costs_money=True,
        ),
    ] = Field(
        0.0,
        description="share of a year's unspent special funds carried over to the next year (0 = lapses, assumption)",
    )
    private_leverage: Annotated[
        Num,
        _lever(
            unit="yuan/yuan",
            allowed=(0, 20),
            plausible=(0, 5),
            channel="private venture money co-invested with each guidance-fund yuan",
            mechanism="funders.py (GuidanceFund.invest)",
            moves="public money per equity yuan (guidance-fund money called)",
            alternative=4.0,
            metric="paid_guidance_equity",
            sign=-1,
        ),
    ] = Field(2.0, description="private venture yuan co-invested per guidance-fund yuan")
    equity_deal_yuan: Annotated[
        Num,
        _lever(
            unit="yuan",
            allowed=(1e5, 1e10),
            plausible=(1e6, 3e8),
            channel="guidance-fund ticket per firm (fewer, larger deals or many small ones)",
            mechanism="funders.py (GuidanceFund.invest)",
            moves="equity deals",
            alternative=1e7,
            metric="equity_deals",
            sign=-1,
        ),
    ] = Field(3.0e7, description="guidance-fund ticket per firm, yuan")
    interest_subsidy_share: Annotated[
        Num,
        _lever(
            unit="share of interest",
            allowed=(0, 1),
            plausible=(0, 0.6),
            channel="lowers targeted firms' cost of borrowing: more cash and a higher bank credit limit",
            mechanism="mechanisms/finance.py",
            moves="credit limits, loan-interest subsidy paid",
            alternative=0.1,
            metric="credit_limit",
            costs_money=True,
        ),
    ] = Field(0.3, description="share of loan interest the subsidy covers")
    rent_subsidy_share: Annotated[
        Num,
        _lever(
            unit="share of rent",
            allowed=(0, 0.95),
            plausible=(0, 0.6),
            channel="lowers small and young firms' costs (cash, survival) and the cost of setting up (entry)",
            mechanism="mechanisms/finance.py, mechanisms/entry_exit.py",
            moves="rent subsidy paid, entrants, exits",
            alternative=0.6,
            metric="entrants",
            costs_money=True,
        ),
    ] = Field(0.3, description="share of small and young firms' rent covered")
    rd_reward_rate: Annotated[
        Num,
        _lever(
            unit="yuan/yuan",
            allowed=(0, 2),
            plausible=(0, 0.5),
            channel="reward per yuan of R&D-spending growth: firms raise R&D, which raises the innovation hazard",
            mechanism="mechanisms/innovation.py",
            moves="R&D intensity, innovations",
            alternative=0.0,
            metric="rd_intensity",
            costs_money=True,
        ),
    ] = Field(0.1, description="reward per yuan of R&D-spending increase")
    talent_subsidy_per_person_yuan: Annotated[
        Num,
        _lever(
            unit="yuan/person",
            allowed=(0, 1e7),
            plausible=(0, 5e5),
            channel="subsidy per arriving senior (level-3) person raises the zone's pull on talent, "
            "as far as the talent budget pays it",
            mechanism="mechanisms/talent.py",
            moves="talent inflow",
            alternative=0.0,
            metric="talent_inflow",
            costs_money=True,
        ),
    ] = Field(5.0e4, description="subsidy per arriving senior (level-3) skilled person, yuan")
    land_hectares_per_year: Annotated[
        Num,
        _lever(
            unit="ha/yr",
            allowed=(0, 5000),
            plausible=(0, 500),
            channel="industrial land prepared for projects: a project waits until land is available",
            mechanism="mechanisms/projects.py",
            moves="projects waiting for land",
            alternative=20.0,
            metric="projects_waiting",
            sign=-1,
        ),
    ] = Field(100.0, description="industrial land supplied, hectares/yr")
    land_cost_reduction: Annotated[
        Num,
        _lever(
            unit="share",
            allowed=(0, 0.9),
            plausible=(0, 0.5),
            channel="flexible leasing and lease-then-transfer lower the cost of setting up (entry)",
            mechanism="mechanisms/entry_exit.py",
            moves="entrants",
            alternative=0.3,
            metric="entrants",
        ),
    ] = Field(0.1, description="land-cost cut from flexible leasing and lease-then-transfer (share)")
    approval_months: Annotated[
        Num,
        _lever(
            unit="months",
            allowed=(0.5, 48),
            plausible=(1, 24),
            channel="time from signing to construction (projects) and a cost of setting up (entry)",
            mechanism="mechanisms/projects.py, mechanisms/entry_exit.py",
            moves="projects started, entrants",
            alternative=3.0,
            metric="projects_started",
            sign=-1,
        ),
    ] = Field(6.0, description="months from signing to construction permit")


# ---------------------------------------------------------------------- uncertainties
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

    year: Annotated[int, Field(ge=2016, le=2035)]
    sectors: list[SectorId] = Field(default_factory=lambda: list(SECTOR_IDS))
    output_change: Annotated[float, Field(gt=-1, le=1)] = Field(description="relative change, -0.1 = -10%")
    probability: Annotated[float, Field(ge=0, le=1)] = 1.0


class Uncertainties(Strict):
    """What the zone does not control. Replications sample these; levers stay fixed."""

    parameters: dict[str, float | Range] = Field(
        default_factory=dict,
        description="behavioural parameters (model/data/parameters.yaml): a value or {low, high}",
    )
    sample_baseline_ranges: bool = Field(
        True, description="draw each sector's 2020 output from its published range (zone_facts.yaml)"
    )
    sector_shocks: bool = Field(
        True, description="yearly sector demand shocks, correlated across sectors (volatility: parameters.yaml)"
    )
    shocks: list[Shock] = Field(default_factory=list)
    talent_outflow_shock: Annotated[float, Field(ge=0, le=5)] = Field(
        0.0, description="extra attrition per year on top of the behavioural rate (1/yr)"
    )


# ---------------------------------------------------------------------- all levers
class Levers(Strict):
    """All levers, by measure."""

    clusters: Clusters = Field(default_factory=Clusters)
    ecosystem: Ecosystem = Field(default_factory=Ecosystem)
    urban_scenarios: UrbanScenarios = Field(default_factory=UrbanScenarios)
    talent: Talent = Field(default_factory=Talent)
    policy: PolicySystem = Field(default_factory=PolicySystem)

    def at(self, year: int) -> Levers:
        """A copy with every per-year value replaced by its value in `year` (plain floats)."""
        return _resolve(self, year)  # type: ignore[return-value]

    def schedule_years(self) -> list[int]:
        """Every year named by a per-year lever value."""
        years: set[int] = set()
        for _, value in _walk_values(self):
            years.update(_years_of(value))
        return sorted(years)


def _resolve(model: BaseModel, year: int) -> BaseModel:
    update: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Schedule):
            update[name] = value.at(year)
        elif isinstance(value, BaseModel):
            update[name] = _resolve(value, year)
        elif isinstance(value, dict) and any(isinstance(v, Schedule) for v in value.values()):
            update[name] = {k: value_at(v, year) for k, v in value.items()}
    return model.model_copy(update=update) if update else model


def _walk_values(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel) and not isinstance(value, Schedule):
            yield from _walk_values(value, path + ".")
        elif isinstance(value, dict):
            for k, v in value.items():
                yield f"{path}.{k}", v
        else:
            yield path, value


BASELINE_LEVERS = Levers()
"""2020 policies continued: the reference every relative policy effect is measured against."""

LEVER_SECTIONS: dict[str, type[Section]] = {
    "clusters": Clusters,
    "ecosystem": Ecosystem,
    "urban_scenarios": UrbanScenarios,
    "talent": Talent,
    "policy": PolicySystem,
}


def lever_specs() -> list[LeverSpec]:
    """Every declared lever, by measure, in declaration order."""
    specs = []
    for section, cls in LEVER_SECTIONS.items():
        for name, info in _lever_fields(cls):
            field = cls.model_fields[name]
            specs.append(
                LeverSpec(
                    f"{section}.{name}",
                    section,
                    MEASURES[section][0],
                    field.description or "",
                    getattr(getattr(BASELINE_LEVERS, section), name),
                    info,
                    _is_mapping_lever(field.annotation),
                )
            )
    return specs


def plausibility_warnings(levers: Levers) -> list[str]:
    """Values outside a lever's plausible range (far from real zone policies): one line each."""
    out = []
    for spec in lever_specs():
        value = getattr(getattr(levers, spec.section), spec.path.split(".")[1])
        items = value.items() if isinstance(value, dict) else [(None, value)]
        lo, hi = spec.info.plausible
        for key, v in items:
            for x in all_values(v):
                if not lo <= x <= hi:
                    where = spec.path + (f".{key}" if key is not None else "")
                    out.append(
                        f"{where}: {x:g} {spec.info.unit} is outside the plausible range [{lo:g}, {hi:g}] "
                        "(far from real zone policies; check the unit)"
                    )
                    break
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Schedule):
        return value.model_dump()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return float(value)


def with_levers[L: Levers](levers: L, values: Mapping[str, Any]) -> L:
    """`levers` (Levers or a Scenario) with lever values set by path, validated: the one way
    experiments set levers. A path is `section.name` (the whole value: a number, a per-year
    Schedule, a per-sector mapping, the budget shares), `section.name.<key>` (one sector of a
    per-sector lever, merged over the others) or `section.name.targets` (the four target sectors
    of a per-sector lever). A value outside the allowed range is a one-line ValueError."""
    data = levers.model_dump(mode="python")
    for path, value in values.items():
        section, name, *key = path.split(".")
        if section not in LEVER_SECTIONS or name not in data[section] or len(key) > 1:
            raise ValueError(f"unknown lever {path!r}; see `etown levers`")
        if key:
            keys = TARGET_SECTORS if key[0] == "targets" else (key[0],)
            current = data[section][name]
            if not isinstance(current, dict) or any(k not in current for k in keys):
                raise ValueError(f"unknown lever {path!r}; see `etown levers`")
            data[section][name] = {**current, **dict.fromkeys(keys, _plain(value))}
        else:
            data[section][name] = _plain(value)
    try:
        return type(levers).model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


def lever_diff(levers: Levers, base: Levers = BASELINE_LEVERS) -> list[tuple[str, Any, Any]]:
    """(path, base value, value) of every lever value that differs from `base`."""
    ours = {k: v for section in LEVER_SECTIONS for k, v in _walk_values(getattr(levers, section), section + ".")}
    theirs = {k: v for section in LEVER_SECTIONS for k, v in _walk_values(getattr(base, section), section + ".")}
    return [(k, theirs.get(k), v) for k, v in ours.items() if theirs.get(k) != v]


def format_value(value: Any) -> str:
    """A lever value as a user would write it."""
    if isinstance(value, Schedule):
        inner = ", ".join(f"{y}: {v:g}" for y, v in value.points)
        return f"{{ramp: {{{inner}}}}}" if value.kind == "ramp" else f"{{{inner}}}"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value) + "}"
    return str(value)


def format_effective_levers(levers: Levers) -> str:
    """The levers a scenario runs with, by measure, marking (*) those that differ from 2020 and
    listing the differences."""
    lines = ["effective levers (* = differs from the 2020 baseline):"]
    diff = {path for path, _, _ in lever_diff(levers)}
    for section, (number, title) in MEASURES.items():
        lines.append(f"  {number} {section} ({title})")
        for name, value in getattr(levers, section):
            path = f"{section}.{name}"
            mark = "*" if any(d == path or d.startswith(path + ".") for d in diff) else " "
            lines.append(f"   {mark} {name}: {format_value(value)}")
    changes = lever_diff(levers)
    lines.append(f"differences from the 2020 baseline: {len(changes)}")
    lines.extend(f"  {path}: {format_value(a)} -> {format_value(b)}" for path, a, b in changes)
    return "\n".join(lines)


LEVERS_DOC_HEADER = """# Policy levers

Generated from the lever declarations in `model/levers.py` by `etown levers --markdown > docs/levers.md`
(a test checks that this file is up to date). Each lever is in real units; its 2020 value is
what the baseline keeps; values outside the allowed range are errors, values outside the
plausible range get a warning. Any numeric lever may be given per year (`{2021: 1.0e10, 2023:
5.0e9}`, held until the next year given) or as a linear ramp (`{ramp: {2020: 10, 2025: 20}}`).
Sector mappings change only the sectors they name. How each lever becomes an effect is in
`model/policy.py`; "moves" is the recorded quantity (`records.ZONE_METRICS`) the lever acts on
first, and `tests/test_levers.py` checks, with common random numbers, that moving the lever to
its documented alternative moves it in the stated direction. "costs money": a spending decision
(`etown effects` reports its effects per extra yuan of special funds spent).

"""
"""The opening of docs/levers.md (the Markdown lever table follows it)."""


def format_lever_table(markdown: bool = False) -> str:
    """Every lever (from the declarations above): measure, path, unit, 2020 value, allowed and
    plausible ranges, channel, mechanism and the metric it moves."""
    header = (
        "measure",
        "lever",
        "unit",
        "2020 value",
        "allowed",
        "plausible",
        "channel",
        "mechanism",
        "moves (metric)",
        "costs money",
    )
    rows = []
    for s in lever_specs():
        i = s.info
        rows.append(
            (
                str(s.measure),
                s.path,
                i.unit,
                format_value(s.default),
                f"[{i.allowed[0]:g}, {i.allowed[1]:g}]",
                f"[{i.plausible[0]:g}, {i.plausible[1]:g}]",
                i.channel,
                i.mechanism,
                f"{i.moves} ({i.metric}, {'+' if i.sign > 0 else '-'})",
                "yes" if i.costs_money else "-",
            )
        )
    shares = BASELINE_LEVERS.policy.budget_shares
    rows.append(
        (
            "5",
            "policy.budget_shares",
            "shares summing to 1",
            format_value(shares),
            "[0, 1] each",
            "-",
            "split of the special funds over the six instruments (per year if given per year)",
            "funders.py (Government)",
            "budget by instrument (paid_<instrument>)",
            "-",
        )
    )
    if markdown:
        out = [LEVERS_DOC_HEADER.rstrip("\n"), "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(r.replace("|", "/") for r in row) + " |" for row in rows]
        return "\n".join(out)
    lines = []
    for row in rows:
        lines.append(f"{row[1]}  [measure {row[0]}, {row[2]}]  2020: {row[3]}  allowed {row[4]}  plausible {row[5]}")
        lines.append(f"    {row[6]}; {row[7]}; moves {row[8]}" + ("; costs money" if row[9] == "yes" else ""))
    return "\n".join(lines)
