"""Observation files for `etown assimilate`: figures the zone published after the start year.

The shape (one entry per published figure)::

    observations:
      - metric: cluster_output_bn      # cluster_output_bn | gdp_bn | industrial_output_bn | firms | high_tech_firms
        cluster: ngit                   # only for cluster_output_bn
        period: 2021Q1-2021Q3           # 2021 | 2021Q2 | 2021H1 | 2021Q1-2021Q3
        value: 79.67
        rel_error: 0.05                 # one standard deviation, relative to the value
        source: "where it was published"

Flows (cluster_output_bn, gdp_bn, industrial_output_bn: bn yuan, current prices, as published)
are the sum over the period's quarters; counts (firms, high_tech_firms) are the value at the
period's end. A period is a year, a half (H1, H2), a quarter (Q1-Q4), or a span `A-B` of those
(from the first quarter of A to the last of B). Periods must lie after the scenario's start year
and within its end year (`check_periods`). Any mistake raises `ObservationsError` with one line
naming the file, the line, the entry and the key.

The observation error: each figure is taken as the model's value plus a normal error of
standard deviation `rel_error x value`, independent across entries (`log_likelihood`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..io import echo, read_yaml_file
from ..levers import SectorId
from ..scenario import Scenario
from ..score import ObservationsError

Metric = Literal["cluster_output_bn", "gdp_bn", "industrial_output_bn", "firms", "high_tech_firms"]
METRICS: dict[str, tuple[str, bool, float]] = {
    # metric -> (column of quarters.parquet, or "output" for a cluster's; is a flow; divisor)
    "cluster_output_bn": ("output", True, 1e9),
    "gdp_bn": ("gdp", True, 1e9),
    "industrial_output_bn": ("industrial_output", True, 1e9),
    "firms": ("firms", False, 1.0),
    "high_tech_firms": ("high_tech_firms", False, 1.0),
}
"""What each metric reads from a run's quarterly record and how (flows summed, counts at the end)."""
UNITS = {"cluster_output_bn": "bn yuan", "gdp_bn": "bn yuan", "industrial_output_bn": "bn yuan"}
MIN_REL_ERROR = 0.001
MAX_REL_ERROR = 1.0
MAX_OBSERVATIONS = 1000
EXPECTED_KEYS = "observations (a list), description"
_PART = r"(\d{4})(?:Q([1-4])|H([12]))?"
_PERIOD = re.compile(rf"^{_PART}(?:-{_PART})?$")


def parse_period(text: str) -> tuple[int, int]:
    """(first, last) quarter of a period as year * 4 + quarter - 1 (both included); ValueError
    if `text` is not a period."""
    m = _PERIOD.match(text)
    if not m:
        raise ValueError(
            "must be a year, half or quarter (2021, 2021H1, 2021Q2) or a span of them (2021Q1-2021Q3), "
            f"got {echo(text)}"
        )

    def bounds(year: str, quarter: str | None, half: str | None) -> tuple[int, int]:
        y = int(year) * 4
        if quarter:
            return y + int(quarter) - 1, y + int(quarter) - 1
        if half:
            return y + 2 * (int(half) - 1), y + 2 * int(half) - 1
        return y, y + 3

    first, last = bounds(*m.group(1, 2, 3))
    if m.group(4):
        last = bounds(*m.group(4, 5, 6))[1]
        if last < first:
            raise ValueError(f"the span ends before it starts ({text})")
    return first, last


def period_name(first: int, last: int) -> str:
    """The canonical name of the quarters first..last (inverse of parse_period)."""

    def q(i: int) -> str:
        return f"{i // 4}Q{i % 4 + 1}"

    if first % 4 == 0 and last == first + 3:
        return str(first // 4)
    if first % 2 == 0 and last == first + 1:
        return f"{first // 4}H{first % 4 // 2 + 1}"
    return q(first) if first == last else f"{q(first)}-{q(last)}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Observation(_Strict):
    """One published figure with its error."""

    metric: Metric
    cluster: SectorId | None = None
    period: str
    value: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    rel_error: Annotated[float, Field(ge=MIN_REL_ERROR, le=MAX_REL_ERROR, allow_inf_nan=False)]
    source: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("period", mode="before")
    @classmethod
    def _period_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("period")
    @classmethod
    def _valid_period(cls, value: str) -> str:
        parse_period(value)
        return value

    @model_validator(mode="after")
    def _cluster(self) -> Observation:
        if self.metric == "cluster_output_bn" and self.cluster is None:
            raise ValueError("cluster: missing: cluster_output_bn needs the cluster it measures")
        if self.metric != "cluster_output_bn" and self.cluster is not None:
            raise ValueError(f"cluster: only cluster_output_bn names a cluster, not {self.metric}")
        return self

    @property
    def quarters(self) -> tuple[int, int]:
        """(first, last) quarter index (year * 4 + quarter - 1) of the period."""
        return parse_period(self.period)

    @property
    def series(self) -> str:
        """The observed series: the metric, and the cluster for cluster outputs."""
        return f"{self.metric}:{self.cluster}" if self.cluster else self.metric

    @property
    def label(self) -> str:
        """A short name: `ngit output 2021Q1-2021Q3`."""
        what = f"{self.cluster} output" if self.cluster else self.metric.removesuffix("_bn")
        return f"{what} {period_name(*self.quarters)}"

    @property
    def sd(self) -> float:
        """Standard deviation of the observation error (the value's units)."""
        return self.rel_error * self.value


class ObservationFile(_Strict):
    description: Annotated[str, Field(max_length=10_000)] = ""
    observations: Annotated[list[Observation], Field(min_length=1, max_length=MAX_OBSERVATIONS)]

    @model_validator(mode="after")
    def _distinct(self) -> ObservationFile:
        seen: dict[tuple[str, tuple[int, int]], int] = {}
        for i, o in enumerate(self.observations):
            key = (o.series, o.quarters)
            if key in seen:
                raise ValueError(
                    f"observations.{i}.period: {o.label} is given twice (first as entry {seen[key] + 1}); give it once"
                )
            seen[key] = i
        return self


@dataclass(frozen=True)
class LoadedObservations:
    """A validated observation file with its provenance and the line of every entry."""

    observations: tuple[Observation, ...]
    description: str
    path: Path
    sha256: str
    lines: dict[tuple[str, ...], int]

    def where(self, i: int, key: str | None = None) -> str:
        """`<file>: line <n>: entry <i + 1> (<label>)` for error messages."""
        line = self.lines.get(("observations", str(i), key or "")) or self.lines.get(("observations", str(i)))
        at = f"{self.path}: line {line}" if line else str(self.path)
        return f"{at}: entry {i + 1} ({self.observations[i].label})"

    def overlaps(self) -> list[str]:
        """Warnings for entries of the same series whose periods overlap (their errors are
        taken as independent, so the figures they share count twice)."""
        out = []
        obs = self.observations
        for i, a in enumerate(obs):
            for j in range(i + 1, len(obs)):
                b = obs[j]
                (a0, a1), (b0, b1) = a.quarters, b.quarters
                if a.series == b.series and a0 <= b1 and b0 <= a1 and METRICS[a.metric][1]:
                    out.append(
                        f"entries {i + 1} and {j + 1} ({a.label}, {b.label}) overlap: their errors are taken as "
                        "independent, so the quarters they share count twice"
                    )
        return out


def _entry_error(path: Path, data: Any, lines: dict[tuple[str, ...], int], err: ValidationError) -> str:
    """One line for the first validation error: file, line, entry, key, what is wrong."""
    errors = sorted(err.errors(), key=lambda e: (e["type"] != "extra_forbidden", -len(e["loc"])))
    first = errors[0]
    loc = tuple(str(p) for p in first["loc"])
    msg = " ".join(first["msg"].removeprefix("Value error, ").split())
    named = re.match(r"([a-z_]+(?:\.\d+\.[a-z_]+)?): (.*)", msg)
    if named:  # a model validator naming the key
        parts = tuple(named[1].split("."))
        loc = parts if parts[0] == "observations" else (*loc, *parts)
        msg = named[2]
    if first["type"] == "extra_forbidden":
        allowed = (
            Observation.model_fields if loc[:1] == ("observations",) and len(loc) > 2 else ObservationFile.model_fields
        )
        msg = f"unknown key; allowed: {', '.join(allowed)}"
    elif (
        first["type"] not in ("value_error", "missing")
        and "input" in first
        and not isinstance(first["input"], (dict, list))
    ):
        msg += f" (got {echo(first['input'])})"
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    at = f"{path}: line {line}" if line else str(path)
    if len(loc) >= 2 and loc[0] == "observations" and loc[1].isdigit():
        i = int(loc[1])
        entries = data.get("observations") if isinstance(data, dict) else None
        entry = entries[i] if isinstance(entries, list) and i < len(entries) else None
        what = ""
        if isinstance(entry, dict):
            bits = [str(entry.get(k)) for k in ("metric", "cluster", "period") if entry.get(k) is not None]
            what = f" ({echo(' '.join(bits))[1:-1]})" if bits else ""
        key = ".".join(loc[2:]) or "(the entry)"
        return f"{at}: entry {i + 1}{what}: {key}: {msg}"
    return f"{at}: {'.'.join(loc) or '(top level)'}: {msg}"


def load_observations(path: str | Path) -> LoadedObservations:
    """Read and validate an observation file (one-line ObservationsError on any mistake)."""
    path = Path(path)
    doc = read_yaml_file(path, ObservationsError, EXPECTED_KEYS)
    try:
        parsed = ObservationFile.model_validate(doc.data)
    except ValidationError as err:
        raise ObservationsError(_entry_error(path, doc.data, doc.lines, err)) from None
    sha = hashlib.sha256(doc.text.encode()).hexdigest()
    return LoadedObservations(tuple(parsed.observations), parsed.description, path, sha, doc.lines)


def dump_observations(observations: list[Observation] | tuple[Observation, ...], description: str = "") -> str:
    """An observation file (YAML) holding `observations`, as load_observations reads it."""
    import yaml

    entries = [o.model_dump(exclude_none=True) for o in observations]
    return yaml.safe_dump({"description": description, "observations": entries}, sort_keys=False, allow_unicode=True)


def check_periods(obs: LoadedObservations, scenario: Scenario, steps_per_year: int = 4) -> None:
    """Every period after the scenario's start year and within its end year (one-line error)."""
    if steps_per_year != 4:
        raise ObservationsError(f"observations need quarterly steps; the model steps {steps_per_year} times a year")
    for i, o in enumerate(obs.observations):
        first, last = o.quarters
        if first < (scenario.start_year + 1) * 4:
            raise ObservationsError(
                f"{obs.where(i, 'period')}: period: {o.period} is not after the scenario's start year "
                f"{scenario.start_year} (the start state); give figures of {scenario.start_year + 1} or later"
            )
        if last >= (scenario.end_year + 1) * 4:
            raise ObservationsError(
                f"{obs.where(i, 'period')}: period: {o.period} ends after the scenario's end year {scenario.end_year}"
            )


# ---------------------------------------------------------------------- the observation operator
@dataclass(frozen=True)
class ObservationModel:
    """The observations as the model sees them: for each, the quarterly column it reads, the
    steps it covers (1-based model steps), whether it sums (flow) or takes the last value (count),
    the divisor to its units, the observed value and its error sd."""

    labels: tuple[str, ...]
    columns: tuple[str, ...]
    first_step: np.ndarray
    last_step: np.ndarray
    flow: np.ndarray
    divisor: np.ndarray
    value: np.ndarray
    sd: np.ndarray

    @classmethod
    def build(cls, observations: tuple[Observation, ...] | list[Observation], start_year: int) -> ObservationModel:
        base = (start_year + 1) * 4 - 1  # quarter index of step 0
        cols, first, last, flow, div = [], [], [], [], []
        for o in observations:
            col, is_flow, d = METRICS[o.metric]
            cols.append(f"output.{o.cluster}" if col == "output" else col)
            a, b = o.quarters
            first.append(a - base)
            last.append(b - base)
            flow.append(is_flow)
            div.append(d)
        return cls(
            tuple(o.label for o in observations),
            tuple(cols),
            np.asarray(first),
            np.asarray(last),
            np.asarray(flow),
            np.asarray(div, dtype=float),
            np.asarray([o.value for o in observations], dtype=float),
            np.asarray([o.sd for o in observations], dtype=float),
        )

    @property
    def last(self) -> int:
        """The step of the last observation (the model state the observations end at)."""
        return int(self.last_step.max())

    def simulate(self, quarters: dict[str, np.ndarray]) -> np.ndarray:
        """The observed quantities from quarterly series ({column: [..., step - 1]}, e.g. a run's
        record.quarters and `output.<sector>` columns): [..., observation], in their units."""
        out = []
        for k, col in enumerate(self.columns):
            q = np.asarray(quarters[col], dtype=float)
            a, b = self.first_step[k] - 1, self.last_step[k]
            v = q[..., a:b].sum(axis=-1) if self.flow[k] else q[..., b - 1]
            out.append(v / self.divisor[k])
        return np.stack(out, axis=-1)

    def log_likelihood(self, simulated: np.ndarray) -> np.ndarray:
        """Log-likelihood (up to a constant) of the observations given simulated values
        [..., observation]: independent normal errors of sd rel_error x value."""
        return -0.5 * (((simulated - self.value) / self.sd) ** 2).sum(axis=-1)

    def misfit(self, simulated: np.ndarray) -> np.ndarray:
        """Per observation, how many standard deviations it lies from an ensemble's simulated
        values [run, observation]: (value - median) / sqrt(error sd^2 + ensemble sd^2)."""
        return (self.value - np.median(simulated, axis=0)) / np.hypot(self.sd, np.std(simulated, axis=0))

    def terms(self, simulated: np.ndarray) -> np.ndarray:
        """Each observation's log-likelihood term [..., observation]."""
        return -0.5 * ((simulated - self.value) / self.sd) ** 2


def record_series(record: Any) -> dict[str, np.ndarray]:
    """A run record's quarterly series by quarters.parquet column (QUARTER_METRICS, output.<sector>)."""
    from ..sectors import SECTOR_IDS

    out = dict(record.quarters)
    out.update({f"output.{s}": record.quarter_output[:, i] for i, s in enumerate(SECTOR_IDS)})
    return out
