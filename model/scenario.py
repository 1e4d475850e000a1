"""Scenario files: YAML -> validated `Scenario` (levers by measure + uncertainties).

A scenario names itself, says which years it covers and sets any levers it changes; every
lever it omits keeps its 2020 (baseline) value. `inherits: other.yaml` starts from another
file (path relative to the file that says `inherits:`) and overrides it key by key.

Any mistake raises `ScenarioError` with one line naming the file that holds the mistake, the
line and key, what is allowed, and (for inherited files) the chain of `inherits:` that led
there. The reading limits (size, nesting, aliases, numbers) are those of model.io; values are
validated strictly (no booleans or strings for numbers), so what `etown validate` accepts is
what a run uses.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator

from .data import facts
from .io import YamlFile, echo, read_yaml_file
from .levers import Levers, Range, SectorId, Strict, Uncertainties
from .params import param_specs

FIRST_PROJECTION_YEAR_STATE = 2020
"""The calibrated state the projection starts from (end of 2020)."""
START_YEARS = (2015, 2020)
"""Start years with a start state in the data (model.population.START_YEARS; checked in tests)."""
MAX_INHERITS = 16
"""Longest chain of `inherits:`."""
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"
"""A scenario name is a safe folder name: letters, digits, `_`, `.`, `-`; not starting with `.`."""
EXPECTED_KEYS = "name, description, inherits, start_year, end_year, clusters, ecosystem, ..., projects"


class ScenarioError(ValueError):
    """A scenario file that cannot be used; str() is the one-line message for the user."""


PROJECT_NAME = r"^[a-z][a-z0-9_]{0,47}$"
"""A project name: lower-case letters, digits and `_`, starting with a letter."""
FIRST_OUTPUT_YEARS = (2021.0, 2035.0)
"""Decimal years a project's first output may lie in (2021.0 = the first projected quarter)."""
NEW_PROJECT_KEYS = ("sector", "investment_yuan", "first_output")
"""What a project the data file does not know must give."""


class Project(Strict):
    """A major project of the pipeline known at the start (zone_facts.yaml `pipeline`): a new
    one, a change to a known one (only the fields given change) or `remove: true`.

    Ranges are sampled uniformly per replication, like the data file's; a single number is
    fixed. Fields a project does not give keep the data file's value (known projects) or the
    model's default (new ones: land and money arranged, no incentive owed, the behavioural
    delay risk and ramp-up time, certainly in the zone)."""

    sector: SectorId | None = None
    investment_yuan: Annotated[float, Field(ge=1e7, le=2e11)] | Range | None = Field(
        None, description="total investment, yuan (value or {low, high}); output at full ramp = investment x turnover"
    )
    first_output: Annotated[float, Field(ge=FIRST_OUTPUT_YEARS[0], le=FIRST_OUTPUT_YEARS[1])] | Range | None = Field(
        None, description="expected start of production, decimal year (2023.5 = mid-2023; value or {low, high})"
    )
    ramp_up_years: Annotated[float, Field(ge=0.25, le=10)] | None = Field(
        None, description="years from first output to full output (default: project_ramp_years)"
    )
    land_ha: Annotated[float, Field(ge=0, le=5000)] | None = Field(
        None, description="land still needed from the zone's supply, ha (0: land arranged)"
    )
    incentive_share: Annotated[float, Field(ge=0, le=0.5)] | None = Field(
        None, description="incentive still owed, share of investment, paid from project support during construction"
    )
    delay_risk: Annotated[float, Field(ge=0, le=10)] | None = Field(
        None, description="rate at which construction slips, 1/yr (default: project_delay_hazard)"
    )
    in_zone_probability: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="probability that the project is built in the zone"
    )
    source: Annotated[str, Field(max_length=2000)] | None = Field(None, description="where the figures come from")
    remove: bool = Field(False, description="true: take the project out of the pipeline")

    @model_validator(mode="after")
    def _ranges_inside(self) -> Project:
        bounds = {"investment_yuan": (1e7, 2e11), "first_output": FIRST_OUTPUT_YEARS}
        for key, (lo, hi) in bounds.items():
            value = getattr(self, key)
            if isinstance(value, Range) and not (lo <= value.low and value.high <= hi):
                raise ValueError(
                    f"{key}: the range must lie within [{lo:g}, {hi:g}], got [{value.low:g}, {value.high:g}]"
                )
        given = [k for k in self.model_fields_set - {"remove", "source"} if getattr(self, k) is not None]
        if self.remove and given:
            raise ValueError(f"remove: true takes the project out; drop {', '.join(sorted(given))}")
        return self

    def entry(self) -> dict[str, Any]:
        """The fields given, in the data file's shape (`{value, low, high}` for numbers)."""
        out: dict[str, Any] = {}
        for key in self.model_fields_set - {"remove"}:
            value = getattr(self, key)
            if isinstance(value, Range):
                out[key] = {"value": (value.low + value.high) / 2, "low": value.low, "high": value.high}
            elif isinstance(value, float | int) and key != "sector":
                out[key] = {"value": float(value), "low": float(value), "high": float(value)}
            elif value is not None:
                out[key] = value
        return out


class Scenario(Levers):
    """A validated policy scenario."""

    name: str
    description: Annotated[str, Field(max_length=10_000)] = ""
    start_year: Annotated[int, Field(ge=2015, le=2030)] = FIRST_PROJECTION_YEAR_STATE
    end_year: Annotated[int, Field(ge=2016, le=2035)] = 2025
    uncertainties: Uncertainties = Field(default_factory=Uncertainties)
    projects: dict[str, Project] = Field(
        default_factory=dict, description="projects added to, changed in or removed from the known pipeline"
    )

    @field_validator("projects")
    @classmethod
    def _project_names(cls, projects: dict[str, Project]) -> dict[str, Project]:
        known = facts().get("pipeline", {})
        for name, project in projects.items():
            if not re.fullmatch(PROJECT_NAME, name):
                raise ValueError(
                    f"{echo(name)}: a project name is 1-48 lower-case letters, digits or '_', starting with a letter"
                )
            missing = [k for k in NEW_PROJECT_KEYS if getattr(project, k) is None]
            if name not in known and (project.remove or missing):
                what = "cannot be removed" if project.remove else f"needs {', '.join(missing)}"
                raise ValueError(
                    f"{name}: not in the known pipeline ({', '.join(known)}), so it is a new project and {what}"
                )
        return projects

    def pipeline_table(self) -> dict[str, dict[str, Any]]:
        """The known pipeline (zone_facts.yaml) with this scenario's projects merged in: the
        data file's entries in their order (a removed one kept with `removed: true` and in-zone
        probability 0, so that every other project keeps its draws), then the new projects.
        Entries have the data file's shape (what `inputs.draw_pipeline` reads)."""
        table = {name: dict(entry) for name, entry in facts().get("pipeline", {}).items()}
        for name, project in self.projects.items():
            if project.remove:
                table[name] = {**table[name], "removed": True, "in_zone_probability": {"value": 0.0}}
            else:
                table[name] = {**table.get(name, {"in_zone_probability": {"value": 1.0}}), **project.entry()}
        return table

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str) -> str:
        if not re.fullmatch(NAME_PATTERN, name):
            raise ValueError(
                "must be a safe folder name: 1-64 letters, digits, '_', '.' or '-', not starting with '.' "
                f"(got {echo(name)})"
            )
        return name

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.start_year not in START_YEARS:
            raise ValueError(
                f"start_year: no start state for {self.start_year}; "
                f"allowed: {', '.join(map(str, START_YEARS))} (the data describe the end of those years)"
            )
        if self.end_year <= self.start_year:
            raise ValueError(f"end_year: must be after start_year ({self.start_year}), got {self.end_year}")
        if self.projects and self.start_year != FIRST_PROJECTION_YEAR_STATE:
            raise ValueError(
                f"projects: only a projection from {FIRST_PROJECTION_YEAR_STATE} has a pipeline of known projects "
                f"(start_year is {self.start_year})"
            )
        for year in self.schedule_years():
            if not self.start_year <= year <= self.end_year:
                years = f"{self.start_year}-{self.end_year}"
                raise ValueError(f"a per-year lever value names {year}, outside the scenario's years {years}")
        specs = param_specs()
        for key, val in self.uncertainties.parameters.items():
            if key not in specs:
                raise ValueError(f"uncertainties.parameters.{key}: unknown parameter; allowed: {', '.join(specs)}")
            spec = specs[key]
            low, high = (val.low, val.high) if isinstance(val, Range) else (val, val)
            if low < spec.low or high > spec.high:
                what = "range" if isinstance(val, Range) else f"value ({val:g})"
                raise ValueError(
                    f"uncertainties.parameters.{key}: {what} must lie within the documented range "
                    f"[{spec.low:g}, {spec.high:g}] ({spec.unit}, model/data/parameters.yaml)"
                )
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


def _chain_note(chain: list[Path]) -> str:
    """' (inherited: a.yaml -> b.yaml)' for an error in a file reached through inherits:."""
    return f" (inherited: {' -> '.join(map(str, chain))})" if len(chain) > 1 else ""


def _read_chain(path: Path) -> list[YamlFile]:
    """The file and the files it inherits, child first; `inherits:` removed from each."""
    files: list[YamlFile] = []
    seen: dict[tuple[int, int], Path] = {}
    chain = [path]
    while True:
        try:
            doc = read_yaml_file(path, ScenarioError, EXPECTED_KEYS)
        except ScenarioError as exc:
            raise ScenarioError(f"{exc}{_chain_note(chain)}") from None
        if doc.identity in seen:
            raise ScenarioError(f"{files[-1].path}: inherits: circular inheritance ({' -> '.join(map(str, chain))})")
        seen[doc.identity] = path
        files.append(doc)
        parent = doc.data.pop("inherits", None)
        if parent is None:
            return files
        line = doc.lines.get(("inherits",))
        where = f"{path}: line {line}: inherits" if line else f"{path}: inherits"
        if not isinstance(parent, str) or not parent.strip() or "\x00" in parent:
            raise ScenarioError(f"{where}: must be a file name, got {echo(parent)}{_chain_note(chain)}")
        if len(chain) >= MAX_INHERITS:
            raise ScenarioError(f"{where}: more than {MAX_INHERITS} files in the inherits: chain (the limit)")
        # relative to the folder of the file that says inherits: (where it really is, symlinks followed)
        target = Path(os.path.normpath(Path(os.path.realpath(path)).parent / parent))
        if not _exists(target):
            raise ScenarioError(f"{where}: {parent}: file not found (looked for {target}){_chain_note(chain)}")
        path = target
        chain.append(path)


def _exists(path: Path) -> bool:
    """False only if nothing (not even a dangling or looping symlink) is at `path`."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):  # reported when the file is read
        pass
    return True


def _merged(files: list[YamlFile]) -> tuple[dict[str, Any], dict[tuple[str, ...], tuple[Path, int]]]:
    """The merged mapping (child over parents, key by key) and, for every key path, the file
    and line that set it (the child's first)."""
    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], tuple[Path, int]] = {}
    for doc in reversed(files):  # the furthest ancestor first
        data = _deep_merge(data, doc.data)
        for key_path, line in doc.lines.items():
            if key_path != ("inherits",):
                origins[key_path] = (doc.path, line)
    return data, origins


def _error_path(loc: tuple[Any, ...], data: Any, err_type: str) -> tuple[str, ...]:
    """The error's location as keys of the user's data: union member tags that pydantic adds
    (e.g. `float`, `Range`) dropped."""
    out: list[str] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict) and str(part) in {str(k) for k in node}:
            node = next(v for k, v in node.items() if str(k) == str(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif last and err_type == "missing":
            node = None
        else:
            continue  # a tag, not a key of the data
        out.append(str(part))
    return tuple(out)


_TYPE_ERRORS = ("_type", "_parsing", "literal_error", "union_tag_invalid")


def _best_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The error that explains the input best: an unknown key first, then one that is not a
    type mismatch (so `low > high` in a range beats "not a number"), the deepest first."""

    def rank(e: dict[str, Any]) -> tuple[int, int, int]:
        return (e["type"] != "extra_forbidden", e["type"].endswith(_TYPE_ERRORS), -len(e["loc"]))

    return min(errors, key=rank)


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


def format_validation_error(
    path: Path,
    err: ValidationError,
    data: Any = None,
    origins: dict[tuple[str, ...], tuple[Path, int]] | None = None,
    chain: list[Path] | None = None,
) -> str:
    """One line: '<file>: line <n>: <key>: <what is wrong / allowed> (got <value>)', naming
    the file that set the key (and the inherits: chain that led to it)."""
    errors = err.errors()
    first = _best_error(errors)
    key_path = _error_path(tuple(first["loc"]), data, first["type"]) if data is not None else ()
    key = ".".join(key_path) or ".".join(str(p) for p in first["loc"]) or "(top level)"
    if data is not None:  # union alternatives of the same value count once
        more = len({_error_path(tuple(e["loc"]), data, e["type"]) for e in errors} - {key_path})
    else:
        more = len(errors) - 1
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(tuple(first["loc"]))
        msg = "unknown key" + (f"; allowed: {allowed}" if allowed else "")
    else:
        msg = " ".join(first["msg"].removeprefix("Value error, ").split())
        named = re.match(r"([A-Za-z_][\w.]*): (.*)", msg)
        if named and tuple(named[1].split("."))[: len(key_path)] == key_path:  # a validator naming the key
            key_path, key, msg = tuple(named[1].split(".")), named[1], named[2]
        elif named and first["type"] == "value_error" and key_path:  # a section's check naming its lever
            key_path = (*key_path, *named[1].split("."))
            key, msg = ".".join(key_path), named[2]
        if first["type"] != "value_error" and "input" in first and not isinstance(first["input"], (dict, list)):
            msg += f" (got {echo(first['input'])})"
    where, file_chain = str(path), chain or [path]
    for n in range(len(key_path), 0, -1):  # the file (and line) that set the key or its nearest parent
        if origins and key_path[:n] in origins:
            origin, line = origins[key_path[:n]]
            where = f"{origin}: line {line}"
            if origin != file_chain[0]:
                file_chain = file_chain[: file_chain.index(origin) + 1] if origin in file_chain else file_chain
            else:
                file_chain = file_chain[:1]
            break
    else:
        file_chain = file_chain[:1]
    return f"{where}: {key}: {msg}" + (f" [and {more} more error(s)]" if more else "") + _chain_note(file_chain)


def parse_scenario(
    data: dict[str, Any],
    path: Path | str = "<scenario>",
    *,
    origins: dict[tuple[str, ...], tuple[Path, int]] | None = None,
    chain: list[Path] | None = None,
) -> Scenario:
    """Validate a mapping as a Scenario, strictly (raises ScenarioError with a one-line message)."""
    try:
        return Scenario.model_validate(data, strict=True)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(Path(path), err, data, origins, chain)) from None


def inherited_path(path: str | Path) -> Path | None:
    """The file that `path` inherits (`inherits:`, resolved), or None."""
    files = _read_chain(Path(path))
    return files[1].path if len(files) > 1 else None


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate a scenario file (and the files it inherits)."""
    path = Path(path)
    files = _read_chain(path)
    data, origins = _merged(files)
    data.setdefault("name", path.stem)  # a file name that is not a safe name is reported as such
    scenario = parse_scenario(data, path, origins=origins, chain=[f.path for f in files])
    text = "\n---\n".join(f.text for f in reversed(files))
    return LoadedScenario(scenario, path, text, hashlib.sha256(text.encode()).hexdigest())
