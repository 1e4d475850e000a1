"""What a scenario changes against another, in words a planner reads (`etown validate`).

`scenario_changes(scenario, reference)` lists every lever, project and uncertainty that differs,
one line each: the path, the direction and size in words ("halved", "doubled", "up 20%", "cut
to zero"), and the values with their unit ("halved: 5,000 -> 2,500 persons/yr"). Levers given
per year are compared year by year over the scenario's projected years, and years that change
alike are grouped ("2022-2025: halved: 10 -> 5 bn yuan/yr"). Units come from the lever
declarations (model/levers.py); yuan amounts are shown in bn yuan.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from pydantic import BaseModel

from .levers import Schedule, format_value, lever_diff, lever_specs, value_at

RATIO_WORDS = (
    (0.5, "halved"),
    (2.0, "doubled"),
    (3.0, "tripled"),
    (4.0, "quadrupled"),
    (1 / 3, "cut to a third"),
    (0.25, "cut to a quarter"),
    (1.5, "up by half"),
)
"""Ratios (new / old) with a word of their own."""


@cache
def lever_units() -> dict[str, str]:
    """Unit of every lever path (section.name), budget shares included."""
    units = {s.path: s.info.unit for s in lever_specs()}
    units["policy.budget_shares"] = "share"
    return units


def unit_of(path: str) -> str:
    """The unit of a lever path, for a sector of a mapping lever or a share too."""
    units = lever_units()
    parts = path.split(".")
    for n in range(len(parts), 1, -1):
        if ".".join(parts[:n]) in units:
            return units[".".join(parts[:n])]
    return ""


def quantity(value: float, unit: str) -> str:
    """A value with its unit as a planner reads it: yuan in bn, counts with separators."""
    if unit.startswith("yuan") and abs(value) >= 1e7:
        return f"{value / 1e9:,.4g} bn {unit}"
    if unit.startswith("share"):
        return f"{value:.3g} ({value:.0%})" if 0 < abs(value) <= 1 else f"{value:g}"
    text = f"{value:,.0f}" if abs(value) >= 1000 and float(value).is_integer() else f"{value:,.4g}"
    return f"{text} {unit}".strip()


def size_words(old: float, new: float) -> str:
    """Direction and size of a change in words: "halved", "doubled", "up 20%", "cut to zero"."""
    if math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12):
        return "unchanged"
    if old == 0:
        return "introduced" if new > 0 else "set below zero"
    if new == 0:
        return "cut to zero"
    ratio = new / old
    for r, word in RATIO_WORDS:
        if math.isclose(ratio, r, rel_tol=1e-6):
            return word
    if ratio > 1:
        return f"up {ratio - 1:.0%}" if ratio < 10 else f"{ratio:.3g} times as much"
    return f"down {1 - ratio:.0%}"


def describe_change(path: str, old: Any, new: Any, years: list[int]) -> str:
    """One line: `path: words: old -> new unit` (numbers), per-year groups for schedules."""
    unit = unit_of(path)
    numeric = all(isinstance(v, int | float | Schedule) and not isinstance(v, bool) for v in (old, new))
    if not numeric:
        return f"{path}: changed: {format_value(old)} -> {format_value(new)}"
    if not isinstance(old, Schedule) and not isinstance(new, Schedule):
        o, n = float(old), float(new)
        return f"{path}: {size_words(o, n)}: {_bare(o, unit)} -> {quantity(n, unit)}"
    groups: list[tuple[list[int], float, float]] = []
    for y in years:
        o, n = value_at(old, y), value_at(new, y)
        if groups and math.isclose(groups[-1][1], o) and math.isclose(groups[-1][2], n):
            groups[-1][0].append(y)
        else:
            groups.append(([y], o, n))
    parts = []
    for ys, o, n in groups:
        span = str(ys[0]) if len(ys) == 1 else f"{ys[0]}-{ys[-1]}"
        words = size_words(o, n)
        parts.append(
            f"{span}: {words}" + ("" if words == "unchanged" else f": {_bare(o, unit)} -> {quantity(n, unit)}")
        )
    if len(parts) > 3:  # a ramp: where it starts and where it arrives
        parts = [parts[0], "...", parts[-1]]
    return f"{path}: " + "; ".join(parts).replace("; ...;", " ...")


def _bare(value: float, unit: str) -> str:
    """A value in the unit of `quantity`, without the unit (the unit follows the new value)."""
    text = quantity(value, unit)
    return text.removesuffix(" " + unit) if unit else text


def _walk(model: Any, prefix: str) -> dict[str, Any]:
    """Leaf values of nested pydantic models, dicts and lists by dotted path."""
    if isinstance(model, Schedule):
        return {prefix: model}
    if isinstance(model, BaseModel):
        out: dict[str, Any] = {}
        for name in type(model).model_fields:
            out.update(_walk(getattr(model, name), f"{prefix}.{name}" if prefix else name))
        return out
    if isinstance(model, dict):
        out = {}
        for k, v in model.items():
            out.update(_walk(v, f"{prefix}.{k}"))
        return out
    return {prefix: model}


def project_changes(scenario: Any, reference: Any) -> list[str]:
    """Projects added, removed or changed (the merged pipelines of the two scenarios)."""
    ours, theirs = _pipeline(scenario), _pipeline(reference)
    lines = []
    for name, entry in ours.items():
        if name not in theirs:
            lines.append(f"projects.{name}: added: {_project_text(entry)}")
        elif entry != theirs[name]:
            diffs = [
                f"{key} {_field_text(key, theirs[name].get(key))} -> {_field_text(key, value)}"
                for key, value in entry.items()
                if theirs[name].get(key) != value and key not in ("source", "basis")
            ]
            if diffs:
                lines.append(f"projects.{name}: changed: " + "; ".join(diffs))
    lines += [f"projects.{name}: removed" for name in theirs if name not in ours]
    return lines


def _pipeline(scenario: Any) -> dict[str, dict[str, Any]]:
    table = scenario.pipeline_table() if hasattr(scenario, "pipeline_table") else {}
    return {k: v for k, v in table.items() if not v.get("removed")}


def _field_text(key: str, value: Any) -> str:
    """A pipeline field as a planner reads it: investment in bn yuan, ranges as low-high."""
    if value is None:
        return "(model default)"
    if not isinstance(value, dict):
        return str(value)
    lo, hi = value.get("low", value.get("value")), value.get("high", value.get("value"))
    scale, unit = (1e9, " bn yuan") if key == "investment_yuan" else (1.0, "")
    text = f"{lo / scale:g}" if lo == hi else f"{lo / scale:g}-{hi / scale:g}"
    return text + unit


def _project_text(entry: dict[str, Any]) -> str:
    keys = (
        "sector",
        "investment_yuan",
        "first_output",
        "ramp_up_years",
        "land_ha",
        "incentive_share",
        "delay_risk",
        "in_zone_probability",
    )
    return ", ".join(f"{k} {_field_text(k, entry[k])}" for k in keys if k in entry)


def scenario_changes(scenario: Any, reference: Any) -> list[str]:
    """Every difference of `scenario` from `reference`, one line each (see the module doc)."""
    years = list(range(scenario.start_year + 1, scenario.end_year + 1))
    lines = []
    for key in ("start_year", "end_year"):
        if getattr(scenario, key) != getattr(reference, key):
            lines.append(f"{key}: {getattr(reference, key)} -> {getattr(scenario, key)}")
    lines += [describe_change(p, a, b, years) for p, a, b in lever_diff(scenario, reference)]
    lines += project_changes(scenario, reference)
    ours, theirs = _walk(scenario.uncertainties, "uncertainties"), _walk(reference.uncertainties, "uncertainties")
    for path in [*ours, *(p for p in theirs if p not in ours)]:
        if ours.get(path) != theirs.get(path):
            lines.append(f"{path}: {format_value(theirs.get(path, '-'))} -> {format_value(ours.get(path, '-'))}")
    return lines
