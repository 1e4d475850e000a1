"""Behavioural parameters: specs (default, range, unit, rationale) and per-run value sets.

Defaults come from model/data/parameters.yaml; a calibrated file (model/data/calibrated.yaml),
when present, replaces them. Per-sector assumptions are returned as arrays in SECTOR_IDS order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
from scipy import stats

from .data import load_yaml
from .sectors import SECTOR_IDS

PARAMETERS_FILE = "parameters.yaml"


@dataclass(frozen=True)
class Prior:
    """A prior distribution truncated to [low, high]: ("uniform",), ("normal", mean, sd) or
    ("lognormal", median, sd_of_log)."""

    form: tuple[Any, ...]
    low: float
    high: float

    @cached_property
    def dist(self) -> Any:
        """The untruncated scipy distribution."""
        kind, *args = self.form
        if kind == "uniform":
            return stats.uniform(self.low, self.high - self.low)
        if kind == "normal":
            return stats.norm(args[0], args[1])
        if kind == "lognormal":
            return stats.lognorm(s=args[1], scale=args[0])
        raise ValueError(f"unknown prior form {kind!r}")

    @cached_property
    def _cdf_bounds(self) -> tuple[float, float]:
        return float(self.dist.cdf(self.low)), float(self.dist.cdf(self.high))

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Quantile function of the truncated prior (u in [0, 1])."""
        lo, hi = self._cdf_bounds
        return np.clip(self.dist.ppf(lo + np.asarray(u) * (hi - lo)), self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray | float:
        """Draws from the truncated prior."""
        u = rng.random() if n is None else rng.random(n)
        return float(self.ppf(u)) if n is None else self.ppf(u)

    def logpdf(self, x: np.ndarray | float) -> np.ndarray:
        """Log density of the truncated prior (-inf outside [low, high])."""
        lo, hi = self._cdf_bounds
        x = np.asarray(x, dtype=float)
        inside = (x >= self.low) & (x <= self.high)
        with np.errstate(divide="ignore"):
            return np.where(inside, self.dist.logpdf(x) - np.log(hi - lo), -np.inf)


@dataclass(frozen=True)
class ParamSpec:
    """One free behavioural parameter: default value, support [low, high], prior, unit, label
    (what a planner reads), group and rationale."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    why: str
    label: str = ""
    group: str = ""
    prior: Prior | None = None


@cache
def param_specs() -> dict[str, ParamSpec]:
    """Free parameters by name, in file order."""
    free = load_yaml(PARAMETERS_FILE)["free"]
    specs = {}
    for name, s in free.items():
        low, high = float(s["low"]), float(s["high"])
        specs[name] = ParamSpec(
            name,
            float(s["value"]),
            low,
            high,
            s["unit"],
            s["why"],
            s.get("label", name),
            s.get("group", ""),
            Prior(tuple(s.get("prior", ["uniform"])), low, high),
        )
    return specs


def sample_prior(rng: np.random.Generator, names: list[str] | None = None) -> dict[str, float]:
    """One draw of the named parameters (default: all) from their priors, in file order."""
    specs = param_specs()
    return {n: float(specs[n].prior.sample(rng)) for n in (names or list(specs))}  # type: ignore[union-attr]


class Params(Mapping[str, float]):
    """A complete set of behavioural parameter values; attribute access: `p.sigma_ref`."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, float] | None = None, **overrides: float) -> None:
        specs = param_specs()
        merged = {k: s.value for k, s in specs.items()}
        for key, val in {**(values or {}), **overrides}.items():
            if key not in specs:
                raise KeyError(f"unknown parameter {key!r}")
            merged[key] = float(val)
        object.__setattr__(self, "_values", merged)

    def __reduce__(self) -> tuple[type, tuple[dict[str, float]]]:
        return (Params, (dict(self._values),))

    def __getattr__(self, name: str) -> float:
        if name.startswith("_"):  # not a parameter (and not set yet while unpickling)
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> float:
        return self._values[key]

    def __iter__(self):  # type: ignore[override]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def replace(self, **overrides: float) -> Params:
        """A copy with some values changed."""
        return Params(self._values, **overrides)

    def trend(self) -> np.ndarray:
        """Sector demand trends (1/yr) in SECTOR_IDS order."""
        return np.array([self._values[f"trend_{s}"] for s in SECTOR_IDS])

    def price_rel(self) -> np.ndarray:
        """Sector price drifts against their national index (1/yr) in SECTOR_IDS order."""
        return np.array([self._values[f"price_rel_{s}"] for s in SECTOR_IDS])

    def shock_sd(self) -> np.ndarray:
        """Sd of yearly sector demand shocks (log/yr) in SECTOR_IDS order."""
        return np.array([self._values[f"shock_sd_{s}"] for s in SECTOR_IDS])

    def __repr__(self) -> str:
        return f"Params({self._values!r})"


def default_params() -> Params:
    """Parameters every scenario uses unless it overrides them (calibrated if available)."""
    from .calibration.store import calibrated_point  # late import: calibration is optional

    return Params(calibrated_point())


@cache
def sector_assumptions() -> dict[str, np.ndarray]:
    """Per-sector assumptions as arrays in SECTOR_IDS order: firm_share, rd_intensity,
    output_per_worker (yuan/yr per person), va_ratio, margin, project_turnover (yuan/yr per yuan)."""
    table: dict[str, Any] = load_yaml(PARAMETERS_FILE)["sectors"]
    keys = table[SECTOR_IDS[0]].keys()
    return {k: np.array([float(table[s][k]) for s in SECTOR_IDS]) for k in keys}


@cache
def population_assumptions() -> dict[str, float]:
    """Fixed assumptions of the population and rules (zipf_alpha, size_sigma, ...)."""
    return {k: float(v["value"]) for k, v in load_yaml(PARAMETERS_FILE)["population"].items()}


def apply_uncertainties(params: Params, settings: Mapping[str, Any], rng: np.random.Generator) -> Params:
    """Parameters with a scenario's uncertainty settings applied: a number fixes a value, a
    range (object with `low`/`high`) is drawn uniformly with `rng`, in sorted-name order."""
    overrides: dict[str, float] = {}
    for name in sorted(settings):
        val = settings[name]
        overrides[name] = float(rng.uniform(val.low, val.high)) if hasattr(val, "low") else float(val)
    return params.replace(**overrides) if overrides else params
