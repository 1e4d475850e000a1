"""Yearly records of a run: what the model reports (outcomes) and the intermediate quantities
each lever moves (credit granted, equity invested, innovations, entrants, projects ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .mechanisms import funding, talent
from .sectors import INDUSTRIAL_MASK, N_SECTORS, SECTOR_INDEX, TARGET_SECTORS

TARGETS = [SECTOR_INDEX[s] for s in TARGET_SECTORS]

if TYPE_CHECKING:
    from .cluster_model import ClusterModel

FLOWS = (
    "innovations",
    "entrants",
    "supplier_entrants",
    "exits",
    "credit_granted",
    "investment",
    "debt_written_off",
    "equity_invested",
    "equity_deals",
    "projects_won",
    "projects_started",
    "project_investment",
    "talent_inflow",
    "talent_outflow",
    "constrained_firm_quarters",
    "firm_quarters",
)
"""Quantities summed over the quarters of a year (counts zone-equivalent, money in yuan)."""

ZONE_METRICS = (
    "gdp",
    "value_added",
    "industrial_output",
    "entrant_output",
    "firms",
    "high_tech_firms",
    "talent_persons",
    "budget_spent",
    "innovations",
    "entrants",
    "supplier_entrants",
    "exits",
    "credit_granted",
    "equity_invested",
    "equity_deals",
    "equity_to_targets",
    "projects_won",
    "projects_started",
    "project_investment",
    "projects_waiting",
    "procurement",
    "talent_inflow",
    "talent_outflow",
    "skill_level",
    "rd_spending",
    "rd_intensity",
    "debt",
    "credit_limit",
    "constrained_share",
    *(f"paid_{k}" for k in funding.INSTRUMENTS),
)
"""Zone outcomes recorded per year: gdp, industrial_output (yuan/yr); value_added (value added
of the seven sectors, yuan/yr, GDP without the rest of the economy); entrant_output (output of
the firms founded after the start year, start-ups and suppliers, not major projects: yuan/yr,
calendar-year sum); firms, high_tech_firms
(firms at year end); talent_persons (persons); budget_spent (yuan); innovations, entrants,
supplier_entrants (of them pulled in by major projects), exits (count in the year);
credit_granted, equity_invested (yuan in the year, equity incl. private co-investment);
equity_deals (count); equity_to_targets (guidance-fund yuan to the four target sectors);
projects_won, projects_started (count); project_investment (yuan won); projects_waiting
(won, waiting for approval or land at year end); procurement (extra
scenario demand over 2020, yuan/yr); talent_inflow, talent_outflow (persons in the year);
skill_level (mean skill level of the pool, 1-3); rd_spending (yuan/yr run rate at year end);
rd_intensity (R&D spending / output of the zone's firms at year end);
debt, credit_limit (yuan at year end: debt and what banks would lend);
constrained_share (share of firm-quarters whose planned investment was
not fully financed); paid_<instrument> (yuan paid in the year)."""

STOCKS = {
    "firms",
    "high_tech_firms",
    "talent_persons",
    "skill_level",
    "rd_spending",
    "rd_intensity",
    "debt",
    "credit_limit",
    "projects_waiting",
    "gdp",
    "value_added",
    "industrial_output",
}
"""Zone metrics that are levels at the year end (or run rates), not flows over the year."""
SCALED = {"firms", "high_tech_firms", "innovations", "entrants", "supplier_entrants", "exits"}
"""Counts of simulated firms, divided by the model's scale to report zone-equivalent counts."""
QUARTER_METRICS = ("gdp", "industrial_output", "firms", "high_tech_firms")
"""Zone outcomes recorded per step (quarter): gdp, industrial_output (yuan produced in the
quarter: flows, the four quarters of a year sum to its yearly value); firms, high_tech_firms
(zone-equivalent counts at the quarter's end)."""


@dataclass
class RunRecord:
    """Yearly outcomes of one run. Index 0 is the start state."""

    years: list[int]
    sector_output: np.ndarray  # [year, sector] yuan/year (calendar-year sum of quarters)
    sector_firms: np.ndarray  # [year, sector] firms at year end (zone-equivalent)
    sector_employees: np.ndarray  # [year, sector] persons at year end
    zone: dict[str, np.ndarray]  # metric -> [year]
    ledger: funding.BudgetLedger
    quarter_output: np.ndarray  # [step - 1, sector] yuan produced in the step (quarter)
    quarters: dict[str, np.ndarray]  # QUARTER_METRICS -> [step - 1]


def new_record(years: list[int], ledger: funding.BudgetLedger, steps: int) -> RunRecord:
    ny = len(years)
    return RunRecord(
        years,
        np.zeros((ny, N_SECTORS)),
        np.zeros((ny, N_SECTORS)),
        np.zeros((ny, N_SECTORS)),
        {m: np.zeros(ny) for m in ZONE_METRICS},
        ledger,
        np.zeros((steps, N_SECTORS)),
        {m: np.zeros(steps) for m in QUARTER_METRICS},
    )


def record_quarter(m: ClusterModel, year: int, output: np.ndarray) -> None:
    """Write step `m.quarter` of the quarterly record from `output` (yuan/yr run rate per sector
    in the step) and the firms alive at its end (QUARTER_METRICS)."""
    i, f, q = m.quarter - 1, m.firms, m.record.quarters
    flow = output * m.dt
    m.record.quarter_output[i] = flow
    q["gdp"][i] = m.gdp(output, year) * m.dt
    q["industrial_output"][i] = flow[np.asarray(INDUSTRIAL_MASK)].sum()
    rows = f.live_rows()
    q["firms"][i] = rows.size / m.scale
    q["high_tech_firms"][i] = np.count_nonzero(f.high_tech[rows]) / m.scale


def new_tally() -> dict[str, float]:
    """Counters of the flows of the current year."""
    return dict.fromkeys(FLOWS, 0.0)


def record_year(m: ClusterModel, i: int, output: np.ndarray, entrant_output: float) -> None:
    """Write year index `i` of `m.record` from the model's state, `output` (yuan/yr per sector,
    the calendar-year sum), `entrant_output` (yuan/yr, the calendar-year sum of the output of
    firms founded after the start) and the year's tally; then reset the tally."""
    f, r, t = m.firms, m.record, m.tally
    rows = f.live_rows()
    sector = f.sector[rows]
    r.sector_output[i] = output
    r.sector_firms[i] = np.bincount(sector, minlength=N_SECTORS) / m.scale
    workers = talent.labour_demand(
        f.output[rows], m.output_per_worker[sector], f.productivity[rows] * m.feedback.skill_multiplier[sector]
    )
    r.sector_employees[i] = np.bincount(sector, weights=workers, minlength=N_SECTORS)
    z = r.zone
    z["gdp"][i] = m.gdp(output, m.years[i])
    z["value_added"][i] = float(m.va_ratio @ output)
    z["industrial_output"][i] = output[np.asarray(INDUSTRIAL_MASK)].sum()
    z["entrant_output"][i] = entrant_output
    z["firms"][i] = rows.size / m.scale
    z["high_tech_firms"][i] = np.count_nonzero(f.high_tech[rows]) / m.scale
    z["talent_persons"][i] = m.talent_pool().sum()
    z["rd_spending"][i] = float((f.rd_intensity[rows] * f.output[rows]).sum())
    z["rd_intensity"][i] = z["rd_spending"][i] / max(float(f.output[rows].sum()), 1.0)
    z["debt"][i] = float(f.debt[rows].sum())
    z["credit_limit"][i] = float(m.rules.limit.sum())
    pl = m.project_office.pipeline
    z["projects_waiting"][i] = float(np.count_nonzero(pl.alive & ~pl.has_land))
    z["skill_level"][i] = float(m.mean_skill_level())
    first = i == 0
    ledger = m.government.ledger
    z["budget_spent"][i] = np.nan if first else ledger.spent_by_year()[i - 1]
    z["procurement"][i] = np.nan if first else float(m.policy[m.years[i]].scenario_demand.sum())
    z["equity_to_targets"][i] = (
        np.nan if first else float(ledger.paid[i - 1, funding.INSTRUMENTS.index("guidance_equity"), TARGETS].sum())
    )
    for k, name in enumerate(funding.INSTRUMENTS):
        z[f"paid_{name}"][i] = np.nan if first else float(ledger.paid[i - 1, k].sum())
    for k in FLOWS:
        if k in z:
            z[k][i] = np.nan if first else t[k] / (m.scale if k in SCALED else 1.0)
    z["constrained_share"][i] = np.nan if first else t["constrained_firm_quarters"] / max(t["firm_quarters"], 1.0)
    m.tally = new_tally()
