"""Yearly records of a run: what the model reports (outcomes) and the intermediate quantities
each lever moves (credit granted, equity invested, innovations, entrants, projects ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .accounts import Accounts
from .mechanisms import funding, talent
from .sectors import INDUSTRIAL_MASK, N_SECTORS, SECTOR_INDEX, TARGET_SECTORS
from .state import wsum

TARGETS = [SECTOR_INDEX[s] for s in TARGET_SECTORS]

if TYPE_CHECKING:
    from .cluster_model import ClusterModel

FLOWS = (
    "innovations",
    "entrants",
    "induced_entrants",
    "supplier_entrants",
    "exits",
    "credit_granted",
    "investment",
    "debt_written_off",
    "equity_invested",
    "equity_deals",
    "seed_equity",
    "startup_capital",
    "projects_won",
    "projects_started",
    "project_investment",
    "talent_inflow",
    "talent_outflow",
    "unserved_demand",
    "constrained_firm_quarters",
    "firm_quarters",
)
"""Quantities summed over the steps of a year (counts of firms the agents stand for, money in
yuan; unserved_demand in yuan over the year)."""

ZONE_METRICS = (
    "gdp",
    "gdp_real",
    "value_added",
    "industrial_output",
    "price_level",
    "entrant_output",
    "firms",
    "high_tech_firms",
    "talent_persons",
    "budget_spent",
    "budget_unspent",
    "budget_carried",
    "programme_spending",
    "procurement_bought",
    "innovations",
    "entrants",
    "induced_entrants",
    "supplier_entrants",
    "exits",
    "credit_granted",
    "equity_invested",
    "equity_deals",
    "equity_to_targets",
    "seed_equity",
    "startup_capital",
    "fund_cash",
    "projects_won",
    "projects_started",
    "project_investment",
    "projects_waiting",
    "procurement",
    "unserved_demand",
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
"""Zone outcomes recorded per year: gdp (nominal, current yuan/yr), gdp_real (start-year prices),
value_added (value added of the seven sectors, current yuan/yr, GDP without the rest of the
economy), industrial_output (current yuan/yr), price_level (the sectors' output-weighted price
level, 1 at the start); entrant_output (output of the firms founded after the start year,
start-ups and suppliers, not major projects: yuan/yr, calendar-year sum); firms, high_tech_firms
(firms at year end); talent_persons (persons); budget_spent (the zone's budget paid in the year:
special funds and programmes, yuan), budget_unspent (special funds not spent in the year, yuan),
budget_carried (of it, carried over to the next year, yuan), programme_spending (programmes incl.
procurement, yuan), procurement_bought (urban-scenario procurement the government bought from zone
firms, yuan); innovations, entrants, induced_entrants (of them, backed by public seed money they
would not have found otherwise), supplier_entrants (pulled in by major projects), exits (count in
the year); credit_granted, equity_invested (yuan in the year, equity incl. private co-investment),
equity_deals (count), equity_to_targets (guidance-fund yuan to the four target sectors),
seed_equity (public and private seed money for start-ups, yuan), startup_capital (start-ups'
capital from all sources, yuan), fund_cash (guidance-fund proceeds not reinvested at year end,
yuan); projects_won, projects_started (count); project_investment (yuan won); projects_waiting
(won, waiting for approval or land at year end); procurement (urban-scenario spending over 2020,
yuan/yr); unserved_demand (demand zone firms could not serve for lack of capacity, yuan in the
year); talent_inflow, talent_outflow (persons in the year); skill_level (mean skill level of the
pool, 1-3); rd_spending (yuan/yr run rate at year end); rd_intensity (R&D spending / output of
the zone's firms at year end); debt, credit_limit (yuan at year end: debt and what banks would
lend); constrained_share (share of firm-quarters whose planned investment was not fully
financed); paid_<instrument> (yuan paid in the year)."""

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
    "gdp_real",
    "value_added",
    "industrial_output",
    "price_level",
    "entrant_output",
    "fund_cash",
}
"""Zone metrics that are levels at the year end (or run rates), not flows over the year."""
SCALED = {"firms", "high_tech_firms", "innovations", "entrants", "induced_entrants", "supplier_entrants", "exits"}
"""Counts of firms: each agent counts for the firms it stands for (its weight), so they are
zone-equivalent at any scale."""
QUARTER_METRICS = ("gdp", "industrial_output", "firms", "high_tech_firms")
"""Zone outcomes recorded per step (quarter): gdp, industrial_output (current yuan produced in
the quarter: flows, the four quarters of a year sum to its yearly value); firms, high_tech_firms
(zone-equivalent counts at the quarter's end)."""


@dataclass
class RunRecord:
    """Yearly outcomes of one run. Index 0 is the start state."""

    years: list[int]
    sector_output: np.ndarray  # [year, sector] current yuan/year (calendar-year sum of steps)
    sector_firms: np.ndarray  # [year, sector] firms at year end (zone-equivalent)
    sector_employees: np.ndarray  # [year, sector] persons at year end
    sector_real_output: np.ndarray  # [year, sector] start-year yuan/year (calendar-year sum)
    zone: dict[str, np.ndarray]  # metric -> [year]
    ledger: funding.BudgetLedger
    accounts: Accounts
    quarter_output: np.ndarray  # [step - 1, sector] current yuan produced in the step (quarter)
    quarters: dict[str, np.ndarray]  # QUARTER_METRICS -> [step - 1]


def new_record(years: list[int], ledger: funding.BudgetLedger, accounts: Accounts, steps: int) -> RunRecord:
    ny = len(years)
    return RunRecord(
        years,
        np.zeros((ny, N_SECTORS)),
        np.zeros((ny, N_SECTORS)),
        np.zeros((ny, N_SECTORS)),
        np.zeros((ny, N_SECTORS)),
        {m: np.zeros(ny) for m in ZONE_METRICS},
        ledger,
        accounts,
        np.zeros((steps, N_SECTORS)),
        {m: np.zeros(steps) for m in QUARTER_METRICS},
    )


def record_quarter(m: ClusterModel, year: int, output: np.ndarray) -> None:
    """Write step `m.step_count` of the quarterly record from `output` (current yuan/yr run rate
    per sector in the step) and the firms alive at its end (QUARTER_METRICS)."""
    i, f, q = m.step_count - 1, m.firms, m.record.quarters
    flow = output * m.dt
    m.record.quarter_output[i] = flow
    q["gdp"][i] = m.gdp(output, year) * m.dt
    q["industrial_output"][i] = flow[np.asarray(INDUSTRIAL_MASK)].sum()
    q["firms"][i] = float(f.weight.sum())  # closed firms have weight 0
    q["high_tech_firms"][i] = wsum(f.weight, f.high_tech)


def new_tally() -> dict[str, float]:
    """Counters of the flows of the current year."""
    return dict.fromkeys(FLOWS, 0.0)


def record_year(m: ClusterModel, i: int, output: np.ndarray, real: np.ndarray, entrant_output: float) -> None:
    """Write year index `i` of `m.record` from the model's state, `output` and `real` (yuan/yr per
    sector in current and start-year prices, the calendar-year sums), `entrant_output` (yuan/yr,
    the calendar-year sum of the output of firms founded after the start) and the year's tally;
    then reset the tally."""
    f, r, t = m.firms, m.record, m.tally
    sector, w = f.sector, f.weight  # rows of closed firms have weight 0
    r.sector_output[i] = output
    r.sector_real_output[i] = real
    r.sector_firms[i] = np.bincount(sector, weights=w, minlength=N_SECTORS)
    workers = talent.labour_demand(
        f.output, m.output_per_worker[sector], f.productivity * m.feedback.skill_multiplier[sector]
    )
    r.sector_employees[i] = np.bincount(sector, weights=w * workers, minlength=N_SECTORS)
    z = r.zone
    z["gdp"][i] = m.gdp(output, m.years[i])
    z["gdp_real"][i] = m.gdp(real, m.years[i], real=True)
    z["value_added"][i] = float(m.va_ratio @ output)
    z["industrial_output"][i] = output[np.asarray(INDUSTRIAL_MASK)].sum()
    z["price_level"][i] = float(output.sum() / max(real.sum(), 1.0))
    z["entrant_output"][i] = entrant_output
    z["firms"][i] = float(w.sum())
    z["high_tech_firms"][i] = wsum(w, f.high_tech)
    z["talent_persons"][i] = m.talent_pool().sum()
    z["rd_spending"][i] = wsum(w, (f.rd_intensity * f.output))
    z["rd_intensity"][i] = z["rd_spending"][i] / max(wsum(w, f.output), 1.0)
    z["debt"][i] = wsum(w, f.debt)
    z["credit_limit"][i] = m.rules.limit_total
    pl = m.project_office.pipeline
    z["projects_waiting"][i] = float(np.count_nonzero(pl.alive & ~pl.has_land))
    z["skill_level"][i] = float(m.mean_skill_level())
    z["fund_cash"][i] = m.guidance_fund.cash
    first = i == 0
    ledger = m.government.ledger
    lines = ledger.paid_by_line()
    spent = {k: np.nan if first else float(lines[i - 1, j]) for j, k in enumerate(funding.BUDGET_LINES)}
    z["budget_spent"][i] = np.nan if first else float(lines[i - 1].sum())
    z["budget_unspent"][i] = np.nan if first else float(ledger.unspent[i - 1].sum())
    z["budget_carried"][i] = np.nan if first else float(m.government.carried.sum())
    z["programme_spending"][i] = np.nan if first else sum(spent[k] for k in funding.PROGRAMMES)
    z["procurement_bought"][i] = np.nan if first else m.accounts.total("procurement_sales", i - 1)
    z["procurement"][i] = np.nan if first else float(m.policy[m.years[i]].spending.sum())
    z["equity_to_targets"][i] = (
        np.nan if first else float(ledger.paid[i - 1, funding.BUDGET_LINES.index("guidance_equity"), TARGETS].sum())
    )
    for k in funding.INSTRUMENTS:
        z[f"paid_{k}"][i] = spent[k]
    for k in FLOWS:
        if k in z:
            z[k][i] = np.nan if first else t[k]
    z["constrained_share"][i] = np.nan if first else t["constrained_firm_quarters"] / max(t["firm_quarters"], 1.0)
    m.tally = new_tally()
