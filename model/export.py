"""`etown export`: a finished ensemble's results as CSV files or one formatted Excel workbook,
for spreadsheet users.

Tables (the same in both formats): `clusters` (per cluster: P(>= 100 bn by the end year), its
95% interval, median crossing year), `output_bands` (per cluster and year: p10/p50/p90 output),
`zone_bands` (per zone metric and year, with its unit), `runs` (per run and year: output by
sector), `zone` (per run and year: the zone metrics) and `inputs` (per run: sampled parameters,
2020 draws, shocks, pipeline, levers; inputs.parquet). Every amount of money is in bn yuan (its
column named `..._bn`), and every column has a unit (`column_units`).

xlsx (`<RESULTS_DIR>/<scenario>.xlsx`, openpyxl): a first sheet `about` with the scenario, seed,
runs, scale, model version, calibration and a table of every sheet's columns with its unit;
then one sheet per table with its column names on row 1 and units on row 2, both frozen,
columns sized to their content and numbers formatted (probabilities 0.000, bn yuan #,##0.00,
counts #,##0, years 0). CSV (`<RESULTS_DIR>/export/`): one file per table and `units.csv`
(sheet, column, unit). Excel holds at most 1,048,576 rows a sheet: larger ensembles export to
CSV.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from .analysis import BN, p_key
from .api import read_summary
from .ensemble import EnsembleError
from .io import write_atomic
from .results import read_table
from .sectors import SECTOR_IDS

FORMATS = ("csv", "xlsx")
EXCEL_ROWS = 1_048_576
HEADER_ROWS = 2  # names, units

MONEY_METRICS = {
    "gdp", "gdp_real", "value_added", "industrial_output", "entrant_output", "budget_spent", "budget_unspent",
    "budget_carried", "programme_spending", "procurement_bought", "credit_granted", "equity_invested",
    "equity_to_targets", "seed_equity", "startup_capital", "fund_cash", "project_investment", "procurement",
    "unserved_demand", "rd_spending", "debt", "credit_limit",
}  # fmt: skip
"""Zone metrics in yuan (records.ZONE_METRICS; paid_<instrument> too): exported in bn yuan."""
ZONE_UNITS = {
    "firms": "firms", "high_tech_firms": "firms", "innovations": "innovations/yr", "entrants": "firms/yr",
    "supplier_entrants": "firms/yr", "induced_entrants": "firms/yr", "exits": "firms/yr",
    "price_level": "index (start year = 1)", "equity_deals": "deals/yr", "projects_won": "projects/yr",
    "projects_started": "projects/yr", "projects_waiting": "projects", "talent_persons": "persons",
    "talent_inflow": "persons/yr", "talent_outflow": "persons/yr", "skill_level": "level (1-3)",
    "rd_intensity": "share of output", "constrained_share": "share of firm-quarters",
}  # fmt: skip
"""Units of the zone metrics that are not money (records.ZONE_METRICS documents each)."""
STOCK_MONEY = {"debt", "credit_limit", "fund_cash", "budget_carried"}
"""Money metrics that are levels at the year end (bn yuan, not bn yuan/yr)."""
AGGREGATE_MONEY = ("yuan", "yuan/yr")
"""Lever units exported in bn yuan (amounts per person stay in yuan)."""
FORMAT = {"probability": "0.000", "bn": "#,##0.00", "count": "#,##0", "year": "0", "share": "0.000", "other": "0.0000"}


def _is_money(metric: str) -> bool:
    return metric in MONEY_METRICS or metric.startswith("paid_")


def zone_unit(metric: str) -> str:
    """Unit of a zone metric as exported."""
    if _is_money(metric):
        return "bn yuan" if metric in STOCK_MONEY else "bn yuan/yr"
    return ZONE_UNITS.get(metric, "see model/records.py")


@cache
def _lever_units() -> dict[str, str]:
    from .changes import lever_units

    return lever_units()


@cache
def _param_units() -> dict[str, str]:
    from .params import param_specs

    return {name: spec.unit for name, spec in param_specs().items()}


def input_unit(column: str) -> str:
    """Unit of an inputs.parquet column as exported (money in bn yuan)."""
    if column == "run":
        return "run"
    kind, _, rest = column.partition(".")
    if kind == "param":
        return _param_units().get(rest, "")
    if kind == "baseline":
        return "bn yuan/yr"
    if kind == "shock":
        return "log deviation of demand growth"
    if kind == "price":
        return "log growth of the price level, 1/yr"
    if kind == "vaccine":
        return {"booked": "1 = booked in the zone", "sales_first_year": "bn yuan/yr"}.get(rest.removesuffix("_bn"), "")
    if kind == "pipeline":
        field = rest.rsplit(".", 1)[-1].removesuffix("_bn")
        units = {"investment": "bn yuan", "first_output": "decimal year", "in_zone": "1 = in the zone"}
        return units.get(field, "1 = delayed" if field == "export_control_delay" else "")
    if kind == "lever":
        from .changes import unit_of

        path = _lever_path(rest)
        unit = unit_of(path) or ("sector ids" if path.endswith("_sectors") else "")
        return "bn " + unit if unit in AGGREGATE_MONEY else unit
    return ""


def _money_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """inputs with every yuan column in bn yuan (renamed `..._bn`)."""
    money = [c for c in frame.columns if c.startswith("baseline.") or c.endswith(".investment")]
    money += [c for c in frame.columns if c == "vaccine.sales_first_year"]
    money += [c for c in frame.columns if c.startswith("lever.") and _lever_money(c)]
    out = frame.copy()
    for c in money:
        out[c] = pd.to_numeric(out[c], errors="coerce") / BN
    return out.rename(columns={c: _bn_name(c) for c in money})


def _lever_money(column: str) -> bool:
    from .changes import unit_of

    return unit_of(_lever_path(column.removeprefix("lever."))) in AGGREGATE_MONEY


def _lever_path(column: str) -> str:
    """The lever path of an inputs column (after `lever.`): a year and the `_bn` suffix removed."""
    head, _, tail = column.rpartition(".")
    return (head if tail.isdigit() and head else column).removesuffix("_bn")


def _bn_name(column: str) -> str:
    head, _, tail = column.rpartition(".")
    if tail.isdigit() and head:  # lever.<path>.<year>: the unit suffix before the year
        return f"{head}_bn.{tail}"
    return f"{column}_bn"


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The tables of a finished ensemble (see the module docstring), in export order; every
    file read is checked first (model/results.py): a malformed one is one EnsembleError line."""
    s = read_summary(folder, "RESULTS_DIR")
    end = int(s.get("end_year") or s["years"][-1])
    key = p_key(end)
    if any(not isinstance(c.get(key), (int, float)) or isinstance(c.get(key), bool) for c in s["clusters"].values()):
        raise EnsembleError(f"RESULTS_DIR: {folder / 'summary.json'}: not a summary written by etown run: no {key}")
    clusters = pd.DataFrame(
        [
            {
                "cluster": sid,
                "name": c["name"],
                "name_zh": c["name_zh"],
                "target_2025": c["target"],
                f"p_100bn_by_{end}": c[key],
                "p_ci95_low": c["p_ci95"][0],
                "p_ci95_high": c["p_ci95"][1],
                "median_cross_year": c["median_cross_year"],
            }
            for sid, c in s["clusters"].items()
        ]
    )
    bands = pd.DataFrame(
        [
            {"cluster": sid, "year": int(y), "p10_bn": b["p10"], "p50_bn": b["p50"], "p90_bn": b["p90"]}
            for sid, c in s["clusters"].items()
            for y, b in c["output_bn"].items()
        ]
    )
    zone_bands = pd.DataFrame(
        [
            {"metric": m, "unit": _band_unit(m), "year": int(y), "p10": b["p10"], "p50": b["p50"], "p90": b["p90"]}
            for m, per_year in s["zone"].items()
            for y, b in per_year.items()
        ]
    )
    out = {"clusters": clusters, "output_bands": bands, "zone_bands": zone_bands}
    runs = folder / "runs.parquet"
    if os.path.lexists(runs):
        frame = read_table(runs, EnsembleError)
        frame["sector"] = pd.Categorical(frame["sector"].astype(str), categories=SECTOR_IDS)
        if frame["sector"].isna().any():
            raise EnsembleError(f"{runs}: column sector: sectors etown does not know")
        wide = frame.pivot_table(index=["run", "year"], columns="sector", values="output_yuan", observed=True) / BN
        wide.columns = [f"output_bn.{c}" for c in wide.columns]
        out["runs"] = wide.reset_index()
    if os.path.lexists(folder / "zone.parquet"):
        zone = read_table(folder / "zone.parquet", EnsembleError)
        money = [c for c in zone.columns if _is_money(c)]
        zone[money] = zone[money] / BN
        out["zone"] = zone.rename(columns={c: f"{c}_bn" for c in money})
    if os.path.lexists(folder / "inputs.parquet"):
        out["inputs"] = _money_inputs(read_table(folder / "inputs.parquet", EnsembleError))
    return out


def _band_unit(key: str) -> str:
    """Unit of a summary zone band (`gdp_bn`, `firms`, `talent_persons` ...)."""
    return "bn yuan/yr" if key.endswith("_bn") else zone_unit(key)


def column_unit(table: str, column: str) -> str:
    """The unit of every exported column."""
    if column in ("run",):
        return "run"
    if column in ("year", "median_cross_year"):
        return "year"
    if column.startswith(("p_100bn", "p_ci95")):
        return "probability"
    if table in ("output_bands", "runs") and ("_bn" in column):
        return "bn yuan/yr"
    if table == "zone":
        return zone_unit(column.removesuffix("_bn"))
    if table == "zone_bands" and column in ("p10", "p50", "p90"):
        return "see the unit column"
    if table == "inputs":
        return input_unit(column)
    return "text" if column in ("cluster", "name", "name_zh", "metric", "unit") else "yes/no"


def column_units(found: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(sheet, column, unit) of every exported column."""
    return pd.DataFrame(
        [{"sheet": t, "column": c, "unit": column_unit(t, c)} for t, f in found.items() for c in f.columns]
    )


def _format(unit: str) -> str:
    if unit == "probability":
        return FORMAT["probability"]
    if unit == "year" or unit == "run":
        return FORMAT["year"]
    if unit.startswith("bn yuan"):
        return FORMAT["bn"]
    if unit.startswith(("share", "level", "1 =")):
        return FORMAT["share"]
    if unit.split("/")[0] in ("firms", "persons", "projects", "deals", "innovations", "centres", "bases", "units"):
        return FORMAT["count"]
    return FORMAT["other"]


def about_rows(summary: dict[str, Any], folder: Path) -> list[tuple[str, Any]]:
    """What the workbook holds: scenario, seed, runs, scale, version, calibration, source."""
    cal = summary.get("calibration")
    calibration = (
        f"{str(cal.get('method', '?')).split(';')[0]}; data to {cal.get('data_until', '?')}; {cal.get('date', '?')}"
        if isinstance(cal, dict)
        else str(cal or "not calibrated")
    )
    return [
        ("scenario", summary.get("scenario", "?")),
        ("scenario file", summary.get("scenario_file", "")),
        ("scenario sha256", summary.get("scenario_sha256", "")),
        ("seed", summary.get("seed")),
        ("runs", summary.get("runs")),
        ("scale (share of firms simulated)", summary.get("settings", {}).get("scale")),
        ("years", f"{summary['years'][0]}-{summary['years'][-1]}"),
        ("model version", summary.get("model_version", "")),
        ("parameters", summary.get("parameter_uncertainty", "")),
        ("calibration", calibration),
        ("money", "bn yuan throughout (columns named ..._bn); 1 bn yuan = 10 亿元"),
        ("source folder", str(folder)),
        ("exported", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def export_tables(folder: Path, fmt: str) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables to export and the summary, read and checked before anything is written (one
    EnsembleError line for a bad format, a malformed result, or tables too large for Excel)."""
    if fmt not in FORMATS:
        raise EnsembleError(f"--format: must be csv or xlsx, got {fmt!r}")
    found = tables(folder)
    if fmt == "xlsx":
        too_big = [f"{name} ({len(f):,} rows)" for name, f in found.items() if len(f) + HEADER_ROWS > EXCEL_ROWS]
        if too_big:
            raise EnsembleError(
                f"--format xlsx: {', '.join(too_big)} exceed Excel's {EXCEL_ROWS:,} rows a sheet; use --format csv"
            )
    return found, read_summary(folder, "RESULTS_DIR")


def csv_names(found: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    """The CSV files of an export: one per table, and units.csv."""
    return (*(f"{name}.csv" for name in found), "units.csv")


def write_csv(found: dict[str, pd.DataFrame], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in {**found, "units": column_units(found)}.items():
        write_atomic(target / f"{name}.csv", lambda p, f=frame: f.to_csv(p, index=False))


def workbook_name(summary: dict[str, Any], folder: Path) -> str:
    return f"{summary.get('scenario') or folder.name}.xlsx"


def write_workbook_file(path: Path, found: dict[str, pd.DataFrame], summary: dict[str, Any], folder: Path) -> None:
    write_atomic(path, lambda p: write_workbook(p, found, column_units(found), about_rows(summary, folder)))


def export(folder: Path, fmt: str, out: Path | None = None) -> Path:
    """Write the tables as CSV files (a folder) or one xlsx workbook; returns where (`etown
    export` does the same inside its locked output folder)."""
    found, summary = export_tables(folder, fmt)
    if fmt == "csv":
        target = out if out is not None else folder / "export"
        write_csv(found, target)
        return target
    target = out if out is not None else folder / workbook_name(summary, folder)
    write_workbook_file(target, found, summary, folder)
    return target


def write_workbook(
    path: Path, found: dict[str, pd.DataFrame], units: pd.DataFrame, about: list[tuple[str, Any]]
) -> None:
    """The formatted workbook (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, grey = Font(bold=True), Font(italic=True, color="666666")
    fill = PatternFill("solid", fgColor="E8EEF4")
    wb = Workbook()
    ws = wb.active
    ws.title = "about"
    ws.append(["E-Town cluster model: exported results"])
    ws["A1"].font = Font(bold=True, size=13)
    for key, value in about:
        ws.append([key, value])
        ws.cell(ws.max_row, 1).font = bold
    ws.append([])
    ws.append(["sheet", "column", "unit"])
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = bold, fill
    for row in units.itertuples(index=False):
        ws.append(list(row))
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width, ws.column_dimensions["C"].width = 34, 60, 30
    for name, frame in found.items():
        sheet = wb.create_sheet(name)
        cols = list(frame.columns)
        col_units = [column_unit(name, c) for c in cols]
        sheet.append(cols)
        sheet.append(col_units)
        for cell in sheet[1]:
            cell.font, cell.fill = bold, fill
        for cell in sheet[2]:
            cell.font, cell.fill = grey, fill
        formats = [_format(u) for u in col_units]
        values = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
        for row in values:
            sheet.append(row)
        numeric = [j for j, c in enumerate(cols) if pd.api.types.is_numeric_dtype(frame[c])]
        for j in numeric:
            for (cell,) in sheet.iter_rows(min_row=HEADER_ROWS + 1, min_col=j + 1, max_col=j + 1):
                cell.number_format = formats[j]
        for j, c in enumerate(cols):
            sample = [str(v) for v in frame[c].head(200).tolist()]
            width = max([len(str(c)), len(col_units[j]), *(len(v) for v in sample)]) + 2
            sheet.column_dimensions[get_column_letter(j + 1)].width = min(max(width, 8), 48)
        sheet.freeze_panes = sheet.cell(HEADER_ROWS + 1, 1)
    wb.save(path)
