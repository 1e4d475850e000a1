"""Calibration targets (from zone_facts.yaml), simulated moments and the ABC distance.

Targets: the 2015->2020 trajectory (GDP, industrial output, high-tech firms, firm count, patents
per 10,000 people), 2020 sector outputs and shares of industrial output, and stylised facts of
firm dynamics (bands). Every observed value is read from the data file; only the error scales
below are modelling choices.

Each level target is compared in logs, each share in absolute terms. A target carries two error
scales (sd, in those units): `sd_obs`, the measurement error of the published figure (by its
confidence, or the published range read as a uniform interval), and `sd_disc`, the model
discrepancy: how far a correctly calibrated but simplified model may miss the real zone (a
stated judgement per group, `DISCREPANCY`). The distance (`Metric`) is the Mahalanobis norm of
the simulated-minus-observed moments under Sigma_sim + diag(sd_obs^2 + sd_disc^2), where
Sigma_sim is the covariance of the simulated moments over replications at fixed calibrated
parameters (the model's own randomness, including the parameters drawn from their priors);
stylised facts add their squared distance outside the band in units of a quarter of its width.
Shares are implied by the sector outputs and industrial output, so they are reported in the fit
table but left out of the distance (they would count the same information twice).

Patents per 10,000 people (mapping, an assumption): the model has no patents; we take the stock
of innovations held by living firms, K(t) (innovations lapse when their firm exits), per person
of the talent pool T(t), indexed to the 2015 figure: P(t) = P(2015) * [K(t)/T(t)] / [K(2015)/T(2015)].
The 2015 level is matched by construction; the 2020 value is the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..data import facts
from ..sectors import INDUSTRIAL_MASK, SECTOR_IDS
from .history import HISTORY_START_YEAR, HistoryRun

CONF_SD = {"high": 0.03, "medium": 0.07, "low": 0.15}
"""Measurement error (sd of the log) of a published level by the data's confidence (a modelling
choice: 'high' official figures still shift by a few percent between releases and scopes, as the
two 2015 GDP releases show; 'medium' are reposts or rounded 'over N' figures)."""
REAL_GROWTH_SD = {"high": 0.003, "medium": 0.007, "low": 0.015}
"""Measurement error (sd, growth points a year) of a published average real growth rate by its
confidence (a modelling choice: 'medium' is a rounded figure from a repost, about +-1 point)."""
DISCREPANCY = {
    "gdp": 0.05,
    "gdp_real_growth": 0.01,
    "industrial_output": 0.05,
    "firms": 0.10,
    "high_tech_firms": 0.10,
    "patents_per_10k": 0.15,
    "output_2020": 0.10,
    "share_2020": 0.02,
    "four_leading_share_2020": 0.01,
}
"""Model discrepancy (sd; logs for levels, absolute for shares), a stated judgement: a zone model
with seven aggregated sectors and stylised entry cannot be expected to hit GDP and industrial
output closer than ~5%, firm counts and certifications closer than ~10% (their definitions in the
zone's releases are loose), sector outputs closer than ~10%, and the patent mapping (an index of
innovations, not patents) closer than ~15%; average real GDP growth closer than about a point a
year (the zone's deflator is the sectors' price paths, not the published one). Without this term
a misspecified model would be pulled to the few parameter values that trade one miss against another (a falsely narrow
posterior; Brynjarsdottir and O'Hagan 2014)."""
TAIL_SHARE = 0.05  # the Hill estimator uses the largest 5% of firms
END_YEAR = 2020
BANDS = ("size_tail_exponent", "growth_excess_kurtosis", "entry_rate", "exit_rate", "constrained_share")
"""Stylised facts (zone_facts.yaml `stylised_facts`): bands the simulated population stays in."""


@dataclass(frozen=True)
class Target:
    """One calibration target. kind: 'log' (level), 'abs' (share) or 'band' (stylised fact).
    sd_obs, sd_disc: measurement error and model discrepancy (logs for 'log', absolute for
    'abs'); in_distance: whether the ABC distance uses it (shares are implied, see module doc)."""

    name: str
    observed: float  # central value ('band': midpoint)
    sd_obs: float
    kind: str = "log"
    sd_disc: float = 0.0
    low: float = np.nan  # band limits ('band' only)
    high: float = np.nan
    year: int = END_YEAR
    in_distance: bool = True

    @property
    def tol(self) -> float:
        """Total error sd of the target (measurement and discrepancy)."""
        return float(np.hypot(self.sd_obs, self.sd_disc))


def _log_sd(node: dict) -> float:
    if "low" in node and "high" in node:  # a published range, read as a uniform interval
        return max(float(np.log(node["high"] / node["low"])) / (2 * np.sqrt(3.0)), CONF_SD["high"])
    return CONF_SD.get(node.get("conf", "medium"), CONF_SD["medium"])


def targets(until: int = END_YEAR) -> list[Target]:
    """All calibration targets observed in years 2016..`until` (observed values from
    zone_facts.yaml), plus the stylised-fact bands (literature, not dated)."""
    z, sec, sty = facts()["zone"], facts()["sectors"], facts()["stylised_facts"]
    out: list[Target] = []
    for metric in ("gdp_yuan", "industrial_output_yuan", "high_tech_firms", "firms"):
        name = metric.removesuffix("_yuan")
        for year, node in z[metric].items():
            if HISTORY_START_YEAR < int(year) <= min(until, END_YEAR) and not node.get("interpolated"):
                out.append(
                    Target(
                        f"{name}_{year}", float(node["value"]), _log_sd(node), sd_disc=DISCREPANCY[name], year=int(year)
                    )
                )
    if until >= END_YEAR:
        node = z["gdp_real_growth_2016_2020"]
        out.append(
            Target(
                "gdp_real_growth_2016_2020",
                float(node["value"]),
                REAL_GROWTH_SD[node.get("conf", "medium")],
                kind="abs",
                sd_disc=DISCREPANCY["gdp_real_growth"],
            )
        )
        node = z["patents_per_10k_people"][END_YEAR]
        out.append(
            Target("patents_per_10k_2020", float(node["value"]), _log_sd(node), sd_disc=DISCREPANCY["patents_per_10k"])
        )
        industrial = float(z["industrial_output_yuan"][END_YEAR]["value"])
        for s in SECTOR_IDS:
            node = sec[s]["output_2020"]
            out.append(
                Target(f"output_2020_{s}", float(node["value"]), _log_sd(node), sd_disc=DISCREPANCY["output_2020"])
            )
        for s, ind in zip(SECTOR_IDS, INDUSTRIAL_MASK, strict=True):
            if ind:
                node = sec[s]["output_2020"]
                share = float(node["value"]) / industrial
                sd = share * _log_sd(node)  # the share inherits the sector estimate's relative error
                out.append(
                    Target(
                        f"share_2020_{s}", share, sd, kind="abs", sd_disc=DISCREPANCY["share_2020"], in_distance=False
                    )
                )
        node = z["four_leading_share_2020"]
        out.append(
            Target(
                "four_leading_share_2020",
                float(node["value"]),
                float(node["value"] - node["low"]),
                kind="abs",
                sd_disc=DISCREPANCY["four_leading_share_2020"],
                in_distance=False,
            )
        )
    for key in BANDS:
        lo, hi = float(sty[key]["low"]), float(sty[key]["high"])
        out.append(Target(key, 0.5 * (lo + hi), (hi - lo) / 4.0, kind="band", low=lo, high=hi))
    return out


def hill_exponent(sizes: np.ndarray, tail_share: float = TAIL_SHARE) -> float:
    """Hill estimate of the Pareto exponent of the upper tail (largest `tail_share` of sizes)."""
    x = np.sort(sizes[sizes > 0])[::-1]
    k = max(int(tail_share * x.size), 10)
    if x.size <= k:
        return np.nan
    return float(1.0 / np.mean(np.log(x[:k] / x[k])))


def as_firms(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """One value per firm: each agent's value repeated for the firms it stands for (weights are
    whole numbers or close to them; rounded, at least one)."""
    return np.repeat(values, np.maximum(np.round(weight), 1).astype(int))


def growth_rates(run: HistoryRun) -> np.ndarray:
    """Annual log growth of firms alive at both ends of a year, pooled over 2016-2020 (one value
    per firm: weighted agents count for the firms they stand for)."""
    rates = []
    for prev, cur, w in zip(run.firm_output[:-1], run.firm_output[1:], run.firm_weight[:-1], strict=True):
        n = prev.size
        both = (prev > 0) & (cur[:n] > 0)
        rates.append(as_firms(np.log(cur[:n][both] / prev[both]), w[:n][both]))
    return np.concatenate(rates)


def excess_kurtosis(x: np.ndarray) -> float:
    x = x - x.mean()
    return float(np.mean(x**4) / np.mean(x**2) ** 2 - 3.0)


def run_moments(run: HistoryRun) -> dict[str, float]:
    """The simulated counterpart of every target, for one history replication."""
    rec = run.record
    years = rec.years
    i = {y: years.index(y) for y in years}
    firms = rec.sector_firms.sum(axis=1)
    z = rec.zone
    m: dict[str, float] = {}
    for y in years[1:]:
        m[f"gdp_{y}"] = z["gdp"][i[y]]
        m[f"industrial_output_{y}"] = z["industrial_output"][i[y]]
        m[f"high_tech_firms_{y}"] = z["high_tech_firms"][i[y]]
        m[f"firms_{y}"] = firms[i[y]]
    p0 = float(facts()["zone"]["patents_per_10k_people"][HISTORY_START_YEAR]["value"])
    per_person = run.innovation_stock / z["talent_persons"]
    for y in years:
        m[f"patents_per_10k_{y}"] = p0 * per_person[i[y]] / per_person[0]
    last = rec.sector_output[-1]
    industrial = last[np.asarray(INDUSTRIAL_MASK)].sum()
    for k, s in enumerate(SECTOR_IDS):
        m[f"output_2020_{s}"] = last[k]
        m[f"share_2020_{s}"] = last[k] / industrial
    m["four_leading_share_2020"] = 1.0 - last[SECTOR_IDS.index("other")] / industrial
    m["size_tail_exponent"] = hill_exponent(as_firms(run.firm_output[-1], run.firm_weight[-1]))
    start, end = HISTORY_START_YEAR, years[-1]
    m[f"gdp_real_growth_{start + 1}_{end}"] = float(
        (z["gdp_real"][i[end]] / z["gdp_real"][0]) ** (1 / (end - start)) - 1
    )
    m["growth_excess_kurtosis"] = excess_kurtosis(growth_rates(run))
    prev_firms = firms[:-1]
    m["entry_rate"] = float(np.mean(z["entrants"][1:] / prev_firms))
    m["exit_rate"] = float(np.mean(z["exits"][1:] / prev_firms))
    m["constrained_share"] = float(np.mean(z["constrained_share"][1:]))
    return m


def transform(t: Target, v: np.ndarray | float) -> np.ndarray:
    """A moment on the scale its errors are stated in: log for levels, as is otherwise."""
    v = np.asarray(v, dtype=float)
    if t.kind != "log":
        return v
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), -np.inf)


def band_excess(t: Target, v: np.ndarray | float) -> np.ndarray:
    """Distance outside a band in units of its sd (a quarter of its width); 0 inside."""
    v = np.asarray(v, dtype=float)
    return np.maximum(np.maximum(t.low - v, v - t.high), 0.0) / t.sd_obs


SHRINK = 0.2
"""Shrinkage of the simulated correlations towards zero (a few dozen replications estimate a
covariance of ~20 moments poorly; Ledoit and Wolf 2004 in spirit, fixed intensity)."""


@dataclass
class Metric:
    """The ABC distance: Mahalanobis norm of simulated-minus-observed moments under
    Sigma = Sigma_sim + diag(sd_obs^2 + sd_disc^2), plus the bands' squared excess.

    gaussian: targets compared through Sigma; bands: stylised facts; cov_sim: Sigma_sim
    (transformed units, gaussian-target order)."""

    gaussian: list[Target]
    bands: list[Target]
    cov_sim: np.ndarray

    @classmethod
    def from_simulations(cls, tg: Sequence[Target], moment_sets: Sequence[Mapping[str, float]]) -> Metric:
        """The metric with Sigma_sim estimated from replications at fixed calibrated parameters."""
        gaussian = [t for t in tg if t.kind != "band" and t.in_distance]
        bands = [t for t in tg if t.kind == "band"]
        X = np.array([[float(transform(t, m.get(t.name, np.nan))) for t in gaussian] for m in moment_sets])
        X = X[np.isfinite(X).all(axis=1)]
        if len(X) >= 3:
            cov = np.atleast_2d(np.cov(X, rowvar=False))
            d = np.diag(np.diag(cov))
            cov = (1 - SHRINK) * cov + SHRINK * d
        else:
            cov = np.zeros((len(gaussian), len(gaussian)))
        return cls(gaussian, bands, cov)

    @property
    def cov(self) -> np.ndarray:
        err = np.array([t.sd_obs**2 + t.sd_disc**2 for t in self.gaussian])
        return self.cov_sim + np.diag(err)

    @cached_property
    def _chol(self) -> np.ndarray:
        return np.linalg.cholesky(self.cov)

    @cached_property
    def _obs(self) -> np.ndarray:
        return np.array([float(transform(t, t.observed)) for t in self.gaussian])

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.gaussian] + [t.name for t in self.bands]

    def residuals(self, moments: Mapping[str, float]) -> np.ndarray:
        """Standardised residuals: whitened Gaussian residuals, then band excesses."""
        sim = np.array([float(transform(t, moments.get(t.name, np.nan))) for t in self.gaussian])
        white = np.linalg.solve(self._chol, sim - self._obs)
        bands = np.array([float(band_excess(t, moments.get(t.name, np.nan))) for t in self.bands])
        return np.concatenate([white, bands])

    def distance(self, moments: Mapping[str, float]) -> float:
        """sqrt of the sum of squared standardised residuals (inf if a moment is missing)."""
        r = self.residuals(moments)
        return float(np.sqrt(np.sum(r**2))) if np.all(np.isfinite(r)) else float("inf")

    def distances(self, moment_sets: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([self.distance(m) for m in moment_sets])

    @property
    def dof(self) -> int:
        """Number of Gaussian moments (the chi-square degrees of freedom of d^2 at the truth)."""
        return len(self.gaussian)

    def summary(self) -> dict[str, object]:
        sd_sim = np.sqrt(np.diag(self.cov_sim))
        return {
            t.name: {
                "sd_obs": round(float(t.sd_obs), 4),
                "sd_disc": round(float(t.sd_disc), 4),
                "sd_sim": round(float(s), 4),
            }
            for t, s in zip(self.gaussian, sd_sim, strict=True)
        }
