"""Sequential Monte Carlo ABC with replenishment (Drovandi and Pettitt 2011) on the one executor.

ABC-SMC in the form of Drovandi and Pettitt (2011, Biometrics 67(1)), itself the adaptive scheme
of Del Moral, Doucet and Jasra (2012, Statistics and Computing 22(5)) with MCMC moves:

  generation 0: `particles` draws from the prior;
  generation t: the tolerance eps_t is the `alpha`-quantile of the current distances (never below
  `eps_target`); particles above it are dropped and replaced by copies of the survivors, and each
  copy makes R_t ABC-MCMC steps (Marjoram et al. 2003): a Gaussian random-walk proposal with
  (2.38^2 / k) x the survivors' covariance, accepted when its simulated distance is at most eps_t
  and with the prior ratio (Metropolis-Hastings). R_t is chosen from the acceptance rate of the
  first step so that a copy moves at least once with probability 1 - 0.01.

The particles carry equal weights, so the population is a sample of the ABC posterior at eps_t;
this avoids the importance weights of Beaumont et al. (2009), which degenerate with ~16
parameters of which many are weakly informed. Diagnostics per generation: tolerance, MCMC
acceptance rate, R_t, simulations, and the effective sample size (the number of distinct
particles; with equal weights the ESS of the weights is the particle count). It stops when a
generation completes at `eps_target`, when the MCMC acceptance falls below `min_acceptance`
(the data cannot be matched more closely), or when the simulation or wall-time budget is spent
(the last complete generation is the result).

Parameters live in "z-space": z = Phi^-1(F(x)) with F the truncated prior's CDF, so every prior
is a standard normal there and proposals never leave the support.

Reproducibility: random numbers of generation t, step r come from SeedSequence(seed,
spawn_key=(PROPOSAL_KEY, t, r)); the simulation of particle i at that step gets
SeedSequence(seed, spawn_key=(SIM_KEY, t, r, i)). The result is the same for any number of local
workers or on a Dask cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..executor import run_tasks
from ..params import Prior

SIM_KEY = 7
PROPOSAL_KEY = 8

Moments = Mapping[str, float]


@dataclass(frozen=True)
class SMCSettings:
    """Settings of one ABC-SMC run."""

    particles: int = 400
    alpha: float = 0.5  # quantile of the previous distances that sets the next tolerance
    eps_target: float = 0.0  # final tolerance (stop when a generation completes at it)
    max_generations: int = 20
    min_acceptance: float = 0.02
    max_simulations: int = 50_000
    max_minutes: float = 35.0
    chunk: int = 4  # proposals per task sent to a worker
    max_steps: int = 8  # most MCMC steps per generation
    seed: int = 2015
    metric_update_at: int = 2  # generation at which the distance's covariance is re-estimated (0: never)


@dataclass
class Population:
    """A weighted particle population: x (natural units), z (z-space), weights (sum 1),
    distances, and the simulated moments of each particle."""

    x: np.ndarray
    z: np.ndarray
    w: np.ndarray
    d: np.ndarray
    moments: list[dict[str, float]]

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.w**2))

    def quantiles(self, q: Sequence[float]) -> np.ndarray:
        """Weighted quantiles per parameter: array [len(q), k]."""
        out = np.empty((len(q), self.x.shape[1]))
        for j in range(self.x.shape[1]):
            order = np.argsort(self.x[:, j], kind="stable")
            cw = np.cumsum(self.w[order])
            cw = (cw - 0.5 * self.w[order]) / cw[-1]
            out[:, j] = np.interp(q, cw, self.x[order, j])
        return out

    def resample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of `n` draws by systematic resampling (deterministic given rng)."""
        u = (rng.random() + np.arange(n)) / n
        return np.minimum(np.searchsorted(np.cumsum(self.w), u), len(self.w) - 1)


@dataclass
class Generation:
    """Diagnostics of one generation."""

    t: int
    eps: float
    proposals: int
    accepted: int
    ess: float
    wall_s: float
    steps: int = 0

    @property
    def acceptance(self) -> float:
        return self.accepted / max(self.proposals, 1)

    def row(self) -> dict[str, float]:
        return {
            "generation": self.t,
            "epsilon": round(self.eps, 4) if np.isfinite(self.eps) else None,
            "simulations": self.proposals,
            "accepted_moves": self.accepted,
            "acceptance_rate": round(self.acceptance, 4),
            "mcmc_steps": self.steps,
            "ess": round(self.ess, 1) if np.isfinite(self.ess) else None,
            "wall_s": round(self.wall_s, 1),
        }


@dataclass
class SMCResult:
    population: Population
    generations: list[Generation]
    eps_target: float
    reached_target: bool
    stop_reason: str
    simulations: int
    wall_s: float
    metric: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Simulator:
    """Runs parameter vectors through `fn(context, X_chunk, seeds_chunk) -> [moments]` on the
    executor (local processes, an open local pool, or a Dask client)."""

    def __init__(
        self, fn: Callable[..., list[dict[str, float]]], context: Any, workers: int, client=None, pool=None, chunk=4
    ) -> None:
        self.fn, self.context, self.workers, self.client, self.pool, self.chunk = (
            fn,
            context,
            workers,
            client,
            pool,
            chunk,
        )
        self.count = 0

    def __call__(self, X: np.ndarray, seeds: Sequence[np.random.SeedSequence]) -> list[dict[str, float]]:
        c = self.chunk
        tasks = [(self.context, X[i : i + c], list(seeds[i : i + c])) for i in range(0, len(X), c)]
        parts: dict[int, list] = {}
        for i, res in run_tasks(self.fn, tasks, workers=self.workers, client=self.client, pool=self.pool):
            parts[i] = res
        self.count += len(X)
        return [m for i in range(len(tasks)) for m in parts[i]]


def to_x(priors: Sequence[Prior], z: np.ndarray) -> np.ndarray:
    u = stats.norm.cdf(z)
    return np.column_stack([p.ppf(u[:, j]) for j, p in enumerate(priors)])


def abc_smc(
    priors: Sequence[Prior],
    simulate: Callable[[np.ndarray, Sequence[np.random.SeedSequence]], list[dict[str, float]]],
    metric: Any,
    settings: SMCSettings,
    update_metric: Callable[[Population], Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SMCResult:
    """Run ABC-SMC. simulate(X, seeds): moments of each row of X (natural units); metric:
    has .distances(moment_sets); update_metric(population): a new metric (called once, at
    generation `settings.metric_update_at`)."""
    s = settings
    n, k = s.particles, len(priors)
    started = time.perf_counter()
    deadline = started + 60.0 * s.max_minutes
    sims = 0

    def seeds_for(t: int, r: int, m: int) -> list[np.random.SeedSequence]:
        return [np.random.SeedSequence(s.seed, spawn_key=(SIM_KEY, t, r, i)) for i in range(m)]

    def gen_rng(t: int, r: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(PROPOSAL_KEY, t, r)))

    z = gen_rng(0, 0).standard_normal((n, k))
    x = to_x(priors, z)
    moments = simulate(x, seeds_for(0, 0, n))
    sims += n
    pop = Population(x, z, np.full(n, 1.0 / n), metric.distances(moments), list(moments))
    gens = [Generation(0, float("inf"), n, n, float(n), time.perf_counter() - started)]
    if progress:
        progress(f"generation 0 (prior): {n} simulations, {gens[0].wall_s:.0f} s")
    reached, reason = False, "max_generations"
    steps_prev = 0
    for t in range(1, s.max_generations + 1):
        if update_metric is not None and t == s.metric_update_at:
            metric = update_metric(pop)
            pop.d = metric.distances(pop.moments)
        t_start = time.perf_counter()
        finite = np.sort(pop.d[np.isfinite(pop.d)])
        if finite.size < 2:
            reason = "no finite distance"
            break
        eps = max(float(np.quantile(finite, s.alpha)), s.eps_target)
        alive = np.flatnonzero(pop.d <= eps)
        dead = np.flatnonzero(pop.d > eps)
        rng = gen_rng(t, 0)
        src = alive[rng.integers(alive.size, size=dead.size)] if dead.size else dead
        z, x, d = pop.z.copy(), pop.x.copy(), pop.d.copy()
        mom = list(pop.moments)
        z[dead], x[dead], d[dead] = z[src], x[src], d[src]
        for i, j in zip(dead, src, strict=True):
            mom[i] = mom[j]
        cov = np.atleast_2d(np.cov(pop.z[alive], rowvar=False)) if alive.size > k else np.eye(k) * 0.1
        chol = np.linalg.cholesky((2.38**2 / k) * cov + 1e-9 * np.eye(k))
        moved = np.zeros(n, dtype=bool)
        movers = dead if dead.size else np.arange(n)
        tried = accepted = 0
        steps, r, stop = 1, 0, None
        while r < steps:
            if time.perf_counter() > deadline:
                stop = "wall-time budget"
                break
            if sims + movers.size > s.max_simulations:
                stop = "simulation budget"
                break
            r += 1
            rr = gen_rng(t, r)
            zp = z[movers] + rr.standard_normal((movers.size, k)) @ chol.T
            log_u = np.log(rr.random(movers.size))
            xp = to_x(priors, zp)
            mp = simulate(xp, seeds_for(t, r, movers.size))
            sims += movers.size
            dp = metric.distances(mp)
            log_prior = np.sum(stats.norm.logpdf(zp), axis=1) - np.sum(stats.norm.logpdf(z[movers]), axis=1)
            ok = (dp <= eps) & (log_u < log_prior)
            for i in np.flatnonzero(ok):
                m = movers[i]
                z[m], x[m], d[m], mom[m] = zp[i], xp[i], dp[i], mp[i]
                moved[m] = True
            tried += movers.size
            accepted += int(ok.sum())
            if r == 1:
                p = accepted / max(tried, 1)
                steps = int(np.clip(np.ceil(np.log(0.01) / np.log1p(-min(max(p, 1e-3), 0.99))), 1, s.max_steps))
        p_acc = accepted / max(tried, 1)
        if stop is not None:
            reason = stop
            gens.append(Generation(t, eps, tried, accepted, float("nan"), time.perf_counter() - t_start, r))
            if progress:
                progress(f"generation {t} incomplete ({stop}) after {r} of {steps} MCMC steps")
            break
        pop = Population(x, z, np.full(n, 1.0 / n), d, mom)
        distinct = float(len(np.unique(np.round(z, 12), axis=0)))
        gen = Generation(t, eps, tried, accepted, distinct, time.perf_counter() - t_start, steps)
        gens.append(gen)
        steps_prev = steps
        if progress:
            progress(
                f"generation {t}: eps {eps:.3f}, {alive.size} survivors, MCMC acceptance {p_acc:.3f} x {steps} steps, "
                f"{int(distinct)} distinct, {sims} simulations, {time.perf_counter() - started:.0f} s"
            )
        if eps <= s.eps_target:
            reached, reason = True, "reached the target tolerance"
            break
        if p_acc < s.min_acceptance:
            reason = f"MCMC acceptance below {s.min_acceptance}"
            break
    del steps_prev
    return SMCResult(pop, gens, s.eps_target, reached, reason, sims, time.perf_counter() - started, metric)
