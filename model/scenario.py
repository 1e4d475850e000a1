"""Scenario files: YAML -> validated `Scenario` (levers by measure + uncertainties).

A scenario names itself, says which years it covers and sets any levers it changes; every
lever it omits keeps its 2020 (baseline) value. `inherits: other.yaml` starts from another
file (path relative to this one) and overrides it key by key. Any mistake raises
`ScenarioError` with one line naming the file, the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from .io import read_yaml_mapping
from .levers import Levers, Range, Uncertainties
from .params import param_specs

FIRST_PROJECTION_YEAR_STATE = 2020
"""The calibrated state the projection starts from (end of 2020)."""


class ScenarioError(ValueError):
    """A scenario file that cannot be used; str() is the one-line message for the user."""


class Scenario(Levers):
    """A validated policy scenario."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    start_year: Annotated[int, Field(ge=2015, le=2030)] = FIRST_PROJECTION_YEAR_STATE
    end_year: Annotated[int, Field(ge=2016, le=2035)] = 2025
    uncertainties: Uncertainties = Field(default_factory=Uncertainties)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.end_year <= self.start_year:
            raise ValueError(f"end_year ({self.end_year}) must be after start_year ({self.start_year})")
        for year in self.schedule_years():
            if not self.start_year <= year <= self.end_year:
                years = f"{self.start_year}-{self.end_year}"
                raise ValueError(f"a per-year lever value names {year}, outside the scenario's years {years}")
        specs = param_specs()
        for key, val in self.uncertainties.parameters.items():
            if key not in specs:
                raise ValueError(f"uncertainties.parameters.{key}: unknown parameter; allowed: {', '.join(specs)}")
            if isinstance(val, Range) and (val.low < specs[key].low or val.high > specs[key].high):
                spec = specs[key]
                raise ValueError(f"uncertainties.parameters.{key}: range must lie within [{spec.low:g}, {spec.high:g}]")
        return self

    @property
    def years(self) -> list[int]:
        """Reported years, the start state included."""
        return list(range(self.start_year, self.end_year + 1))


@dataclass(frozen=True)
class LoadedScenario:
    """A scenario with the provenance of the file(s) it came from."""

    scenario: Scenario
    path: Path
    text: str  # content of the file (and of the files it inherits, concatenated)
    sha256: str


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], val)
        else:
            out[key] = val
    return out


def _read_mapping(path: Path, chain: tuple[Path, ...]) -> tuple[dict[str, Any], str]:
    if path in chain:
        raise ScenarioError(f"{path}: inherits: circular inheritance ({' -> '.join(map(str, (*chain, path)))})")
    raw, text = read_yaml_mapping(path, ScenarioError, "name, clusters, policy, ...")
    parent = raw.pop("inherits", None)
    if parent is None:
        return raw, text
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: inherits: must be a file name, got {parent!r}")
    base, base_text = _read_mapping((path.parent / parent).resolve(), (*chain, path))
    return _deep_merge(base, raw), base_text + "\n---\n" + text


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    """Allowed keys at the parent of `loc` in the Scenario schema."""
    model: Any = Scenario
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return ""
        ann = fields[part].annotation
        model = ann if hasattr(ann, "model_fields") else None
        if model is None:
            return ""
    return ", ".join(model.model_fields)


def format_validation_error(path: Path, err: ValidationError) -> str:
    """One line: '<file>: <key>: <what is wrong / allowed> (got <value>)'."""
    errors = err.errors()
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not _is_branch(p))
    key = ".".join(str(p) for p in loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        msg = "unknown key" + (f"; allowed: {allowed}" if allowed else "")
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] != "value_error" and "input" in first:
            msg += f" (got {first['input']!r})"
    if first["type"] == "value_error":
        m = re.match(r"^([a-z_]+(?:\.[A-Za-z0-9_]+)*): (.*)$", msg)
        if m:  # a section's check names the lever: report it at the lever's key
            key = m.group(1) if key == "(top level)" else f"{key}.{m.group(1)}"
            msg = m.group(2)
    if len({tuple(p for p in e["loc"] if not _is_branch(p)) for e in errors}) == 1 and len(errors) > 1:
        msg = "must be a number or a per-year mapping ({year: value} or {ramp: {year: value}})" + (
            f" (got {first['input']!r})" if "input" in first else ""
        )
        more = 0
    else:
        more = len(errors) - 1
    return f"{path}: {key}: {msg}" + (f" [and {more} more error(s)]" if more else "")


def _is_branch(part: object) -> bool:
    """A union branch's tag in a pydantic error location (not a key of the file)."""
    return isinstance(part, str) and (part in ("float", "Schedule", "int") or part.startswith("function-"))


def parse_scenario(data: dict[str, Any], path: Path | str = "<scenario>") -> Scenario:
    """Validate a mapping as a Scenario (raises ScenarioError with a one-line message)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(Path(path), err)) from None


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file."""
    path = Path(path)
    data, text = _read_mapping(path.resolve(), ())
    data.setdefault("name", path.stem)
    scenario = parse_scenario(data, path)
    return LoadedScenario(scenario, path, text, hashlib.sha256(text.encode()).hexdigest())
