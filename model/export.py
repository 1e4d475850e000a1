"""`etown export`: a finished ensemble's results as CSV files or one Excel workbook, for
spreadsheet users.

Tables (the same in both formats): `clusters` (per cluster: P(>= 100 bn by the end year), its
95% interval, median crossing year), `output_bands` (per cluster and year: p10/p50/p90 output,
bn yuan), `zone_bands` (per zone metric and year), `runs` (per run and year: output by sector,
bn yuan, one column per sector), `zone` (per run and year: the zone metrics) and `inputs` (per
run: sampled parameters, 2020 draws, shocks, pipeline, levers; inputs.parquet). CSV: one file
per table in `<RESULTS_DIR>/export/`; xlsx: one sheet per table in
`<RESULTS_DIR>/<scenario>.xlsx` (openpyxl). Excel holds at most 1,048,576 rows a sheet: larger
ensembles export to CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .analysis import BN, p_key
from .api import read_summary
from .ensemble import EnsembleError, load_table
from .io import write_atomic

FORMATS = ("csv", "xlsx")
EXCEL_ROWS = 1_048_576


def _summary(folder: Path) -> dict[str, Any]:
    return read_summary(folder, "RESULTS_DIR")


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The tables of a finished ensemble (see the module docstring), in export order."""
    s = _summary(folder)
    end = int(s.get("end_year", s["years"][-1]))
    key = p_key(end) if p_key(end) in next(iter(s["clusters"].values())) else "p_100bn_by_2025"
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
            {"metric": m, "year": int(y), "p10": b["p10"], "p50": b["p50"], "p90": b["p90"]}
            for m, per_year in s["zone"].items()
            for y, b in per_year.items()
        ]
    )
    out = {"clusters": clusters, "output_bands": bands, "zone_bands": zone_bands}
    runs = folder / "runs.parquet"
    if runs.is_file():
        frame = load_table(runs)
        wide = frame.pivot_table(index=["run", "year"], columns="sector", values="output_yuan", observed=True) / BN
        wide.columns = [f"output_bn.{c}" for c in wide.columns]
        out["runs"] = wide.reset_index()
    for name in ("zone", "inputs"):
        if (folder / f"{name}.parquet").is_file():
            out[name] = pd.read_parquet(folder / f"{name}.parquet")
    return out


def export(folder: Path, fmt: str, out: Path | None = None) -> Path:
    """Write the tables as CSV files (a folder) or one xlsx workbook; returns where."""
    if fmt not in FORMATS:
        raise EnsembleError(f"--format: must be csv or xlsx, got {fmt!r}")
    found = tables(folder)
    if fmt == "csv":
        target = out if out is not None else folder / "export"
        target.mkdir(parents=True, exist_ok=True)
        for name, frame in found.items():
            write_atomic(target / f"{name}.csv", lambda p, f=frame: f.to_csv(p, index=False))
        return target
    too_big = [f"{name} ({len(f):,} rows)" for name, f in found.items() if len(f) >= EXCEL_ROWS]
    if too_big:
        raise EnsembleError(
            f"--format xlsx: {', '.join(too_big)} exceed Excel's {EXCEL_ROWS:,} rows a sheet; use --format csv"
        )
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise EnsembleError("--format xlsx needs openpyxl: pip install openpyxl") from None
    name = _summary(folder).get("scenario", folder.name)
    target = out if out is not None else folder / f"{name}.xlsx"

    def write(path: Path) -> None:
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            for sheet, frame in found.items():
                frame.to_excel(xl, sheet_name=sheet, index=False)

    write_atomic(target, write)
    return target
