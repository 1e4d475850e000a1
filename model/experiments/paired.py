"""Paired comparisons over common random numbers: the part every experiment shares.

Two scenarios run with the same master seed run the same replications: replication r uses
`SeedSequence(seed, spawn_key=(r,))` in both, so its parameter draws, 2020 draws, sector shocks
and project pipeline are identical (model/inputs.py), and within the run per-firm draws are tied
to firm rows (`ClusterModel.row_draws`). The difference of an outcome between the two scenarios
is then taken run by run, and its mean gets a 95% t-interval over the paired differences (`ci`):
much narrower than the interval of a difference between independent ensembles, and exactly zero
for a scenario compared with itself. `lever effects`, `etown compare`, discovery and optimisation
all use these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from ..analysis import threshold_yuan
from ..ensemble import RunSettings, run_replication
from ..records import STOCKS
from ..scenario import Scenario
from ..sectors import SECTOR_INDEX, TARGET_SECTORS

BN = 1e9
TARGET_INDEX = [SECTOR_INDEX[s] for s in TARGET_SECTORS]


def run_seed(seed: int, run: int) -> np.random.SeedSequence:
    """Replication `run` of master seed `seed`: what `etown run --seed seed` gives run `run`
    (`EnsembleSpec.run_seed`)."""
    return np.random.SeedSequence(seed, spawn_key=(run,))


def cluster_outcomes(sector_output: np.ndarray, years: list[int] | np.ndarray, end_year: int) -> dict[str, np.ndarray]:
    """Per-run outcomes of the target clusters from output[run, year, sector] (yuan/yr):
    `output` [run, target] end-year output (yuan/yr), `cross` [run, target] 1.0 if the cluster
    reached 100 bn in some year up to the end year, and `all_four` [run] 1.0 if every target did."""
    years = np.asarray(years)
    keep = years <= end_year
    out = sector_output[:, keep][:, :, TARGET_INDEX]
    cross = (out >= threshold_yuan()).any(axis=1).astype(float)
    return {"output": out[:, -1, :], "cross": cross, "all_four": cross.all(axis=1).astype(float)}


def run_outcomes(
    scenario: Scenario, runs: list[int], seed: int, settings: RunSettings, metrics: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Per-run outcomes of some replications of `scenario` (see `cluster_outcomes`), and each
    metric (flows summed over the projected years, stocks at the end year) in `metrics`."""
    outputs, mets = [], []
    years: list[int] = []
    for r in runs:
        rec = run_replication(scenario, run_seed(seed, r), settings)
        years = rec.years
        outputs.append(rec.sector_output)
        mets.append([rec.zone[m][-1] if m in STOCKS else np.nansum(rec.zone[m][1:]) for m in metrics])
    res = cluster_outcomes(np.array(outputs), years, scenario.end_year)
    res["metrics"] = np.array(mets).reshape(len(runs), len(metrics))
    return res


def concat_outcomes(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Outcomes of consecutive blocks of runs as one."""
    return {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}


def ci(d: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences with its t-interval (NaN bounds for fewer than two pairs)."""
    d = np.asarray(d, dtype=float)
    n = d.shape[0]
    mean = float(d.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def unpaired_half_width(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> float:
    """Half-width of the Welch t-interval of mean(b) - mean(a) as if the runs were independent
    (what the comparison would cost without common random numbers)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return 0.0
    dof = (va + vb) ** 2 / ((va**2 / (len(a) - 1) if va else 0) + (vb**2 / (len(b) - 1) if vb else 0))
    return float(stats.t.ppf(0.5 + confidence / 2, dof) * se)


def paired_differences(base: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> dict[str, Any]:
    """Paired differences other - base per target cluster and for all four: P(>= 100 bn by the
    end year) and end-year output (bn yuan), each (mean, lo, hi); `*_unpaired_hw` the half-width
    an unpaired comparison of the same runs would give."""
    out: dict[str, Any] = {}
    for j, s in enumerate(TARGET_SECTORS):
        out[s] = {
            "p": ci(other["cross"][:, j] - base["cross"][:, j]),
            "output_bn": ci((other["output"][:, j] - base["output"][:, j]) / BN),
            "p_unpaired_hw": unpaired_half_width(base["cross"][:, j], other["cross"][:, j]),
            "output_unpaired_hw_bn": unpaired_half_width(base["output"][:, j] / BN, other["output"][:, j] / BN),
        }
    out["all_four"] = {
        "p": ci(other["all_four"] - base["all_four"]),
        "p_unpaired_hw": unpaired_half_width(base["all_four"], other["all_four"]),
    }
    return out
