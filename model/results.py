"""Reading finished results defensively (`etown export`, `score`, `show`, `report`): the shape of a
summary.json, and result tables checked before use. Every problem is one line naming the file
and what is wrong with it, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .io import echo

Finite = Annotated[float, Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
YearKey = Annotated[str, Field(pattern=r"^\d{4}$")]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Band(_Open):
    p10: Finite
    p50: Finite
    p90: Finite


class ClusterSummary(_Open):
    name: str
    name_zh: str
    target: bool
    p_ci95: tuple[Probability, Probability]
    median_cross_year: int | None
    output_bn: Annotated[dict[YearKey, Band], Field(min_length=1)]


class SummaryShape(_Open):
    """The fields of summary.json that export, show and report read (extra fields allowed)."""

    scenario: str
    seed: int
    runs: Annotated[int, Field(ge=1)]
    years: Annotated[list[int], Field(min_length=2)]
    end_year: int | None = None
    clusters: Annotated[dict[str, ClusterSummary], Field(min_length=1)]
    p_all_four_targets: Probability
    p_all_four_ci95: tuple[Probability, Probability]
    zone: dict[str, dict[YearKey, Band]] = Field(default_factory=dict)


TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "runs.parquet": {"run": "integer", "year": "integer", "sector": "text", "output_yuan": "number"},
    "zone.parquet": {"run": "integer", "year": "integer"},
    "inputs.parquet": {"run": "integer"},
}
"""Columns (and their kinds) an `etown run` table has at least."""
KINDS = {
    "integer": pd.api.types.is_integer_dtype,
    "number": pd.api.types.is_numeric_dtype,
    "text": lambda s: not pd.api.types.is_numeric_dtype(s),
}


def read_table(
    path: Path, error: type[Exception], columns: dict[str, str] | None = None, finite: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A result table checked before use: readable Parquet, the columns of its kind (`columns`,
    default TABLE_COLUMNS[path.name]) with their value kinds, at least one row, and finite
    numbers in those columns and in `finite`; `error` (one line naming the file) otherwise."""
    if path.is_symlink() and not path.exists():
        raise error(f"{path}: a broken symbolic link")
    if not path.is_file():
        raise error(f"{path}: missing (not a finished etown result)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:
        raise error(f"{path}: cannot read: {echo(' '.join(str(exc).split()))}") from None
    expected = TABLE_COLUMNS.get(path.name, {}) if columns is None else columns
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise error(
            f"{path}: not an etown {path.name} table: no column(s) {', '.join(missing[:4])}"
            + (" ..." if len(missing) > 4 else "")
        )
    if frame.empty:
        raise error(f"{path}: the table has no rows")
    for col, kind in expected.items():
        if not KINDS[kind](frame[col]):
            raise error(f"{path}: column {col}: must hold {kind} values, has {frame[col].dtype}")
    checked = [c for c in (*expected, *finite) if c in frame.columns and expected.get(c, "number") != "text"]
    bad = [c for c in checked if pd.api.types.is_numeric_dtype(frame[c]) and _not_finite(frame[c])]
    if bad:
        raise error(f"{path}: column {bad[0]}: holds values that are not finite numbers (NaN or infinite)")
    return frame


def _not_finite(column: Any) -> bool:
    values = column.to_numpy(dtype=float, na_value=float("nan"))
    return bool(((values != values) | (abs(values) == float("inf"))).any())
