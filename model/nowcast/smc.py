"""Re-weight, resample and move an ensemble to fit observations (sequential Monte Carlo).

A run of an ensemble is a particle: its behavioural parameters theta and its seed u (from which
the model draws everything else: the start-year outputs, the yearly sector shocks, the pipeline
and every random event). Its path is a deterministic function of (theta, u), so the target of
the update is

    pi(theta) p(u) L(y | path(theta, u))

with pi the ensemble's parameter distribution (`ParamPrior`: a Gaussian kernel density of the
calibrated draws on their transformed scale, the priors of parameters.yaml for the rest), p(u)
the model's own randomness and L the likelihood of the observations under their stated errors
(observations.py).

Algorithm (an SMC sampler with adaptive tempering, Del Moral, Doucet and Jasra 2006):
  1. weight each run by L^phi, with phi raised from 0 towards 1 only as far as keeps the
     effective sample size (ESS) of the weights at `ess_threshold` x runs;
  2. if phi reached 1 with the ESS above the threshold: done (weights only, no rejuvenation);
  3. otherwise rejuvenate: resample (systematic), then move every particle with Metropolis-
     Hastings steps that leave pi p L^phi invariant, each step re-simulating the run from the
     start to the last observation (the prefix; cheap):
       * a parameter move: a Gaussian random walk on the transformed parameters (logit of the
         position in each parameter's documented range), scaled to the particles' covariance,
         with the same seed u (common random numbers), accepted with probability
         min(1, pi(theta') L(path(theta', u))^phi / pi(theta) L(path(theta, u))^phi);
       * a path move: a fresh seed u' with the same theta, accepted with probability
         min(1, L(path(theta, u'))^phi / L(path(theta, u))^phi);
     and go back to 1.
At the end the ensemble is resampled to equal weights, so that the updated ensemble is N runs
like any other. Runs that share a past (copies of one particle) get futures of their own: the
model is checkpointed at the last observation and each copy after the first continues from the
checkpoint with fresh random streams (checkpoint.py), which leaves the target unchanged (the
observations do not depend on the future).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import logsumexp

from ..cluster_model import ClusterModel
from ..ensemble import EnsembleError, run_tables
from ..executor import run_tasks
from ..inputs import ParamSource
from ..params import Params, Prior, param_specs
from ..scenario import Scenario
from .checkpoint import checkpoint, restore, run_from
from .observations import ObservationModel, record_series

PARAM_NAMES = tuple(param_specs())
"""Columns of a particle's parameter vector theta (parameters.yaml order)."""
NOWCAST_KEY = 2**32 - 5
"""First spawn-key element of every seed the assimilation makes (moves, new paths, branches), so
they never meet an ensemble's run seeds (spawn key (run,))."""
PRIOR_FORMS = ("uniform", "normal", "lognormal")
EDGE = 1e-9
"""Share of a parameter's range kept off its bounds before the logit transform."""
CHUNK = 10
"""Particles per executor task."""


# ---------------------------------------------------------------------- the model of a particle
@dataclass(frozen=True)
class Simulator:
    """How a particle (theta, seed) becomes a model: the scenario and the run settings of the
    ensemble, and, in history mode, the 2015 sector split drawn from the seed."""

    scenario: Scenario
    scale: float = 1.0
    persons_per_agent: float = 500.0
    history_split: bool = False

    def build(self, theta: np.ndarray | ParamSource, seed: np.random.SeedSequence) -> ClusterModel:
        """The model of parameters `theta` (PARAM_NAMES order; or a source to draw them from, as
        an ensemble run does) and `seed`."""
        start = None
        if self.history_split:
            from ..calibration.history import sampled_start_2015, split_stream

            start = sampled_start_2015(split_stream(seed))
        params = (
            theta if isinstance(theta, ParamSource) else Params(dict(zip(PARAM_NAMES, map(float, theta), strict=True)))
        )
        return ClusterModel(
            self.scenario, params, rng=seed, scale=self.scale, persons_per_agent=self.persons_per_agent, start=start
        )

    def prefix(self, theta: np.ndarray, seed: np.random.SeedSequence, obs: ObservationModel) -> ClusterModel:
        """The model of (theta, seed) stepped to the last observation."""
        return run_from(self.build(theta, seed), obs.last)


def observe(model: ClusterModel, obs: ObservationModel) -> np.ndarray:
    """The observed quantities of a model that has reached the last observation."""
    return obs.simulate(record_series(model.record))


# ---------------------------------------------------------------------- the parameter distribution
@dataclass(frozen=True)
class ParamPrior:
    """The ensemble's parameter distribution on the transformed scale z = logit of each moved
    parameter's position in its range: a Gaussian kernel density (Scott's bandwidth) of the
    calibrated draws for the parameters they hold, and the parameters.yaml priors (with the
    transform's Jacobian) for the rest. `index`: the columns of theta that moves change."""

    index: np.ndarray
    low: np.ndarray
    high: np.ndarray
    kde_cols: np.ndarray  # positions within `index` of the calibrated parameters
    kde_points: np.ndarray  # [draws, len(kde_cols)] transformed draws
    kde_chol: np.ndarray  # Cholesky factor of the kernel covariance
    prior_cols: np.ndarray  # positions within `index` of the parameters with priors
    prior_form: np.ndarray  # 0 uniform, 1 normal, 2 lognormal (Prior.form)
    prior_a: np.ndarray  # normal mean, lognormal log-median
    prior_b: np.ndarray  # normal sd, lognormal sd of the log
    prior_logz: np.ndarray  # log of the prior mass inside [low, high] (the truncation)

    @classmethod
    def from_source(cls, source: ParamSource, scenario: Scenario) -> ParamPrior:
        """The distribution a ParamSource draws from; parameters that the scenario fixes or
        ranges, that have no spread (fixed source, or calibrated point without priors) or an
        empty range are not moved."""
        specs = param_specs()
        own = set(scenario.uncertainties.parameters)
        rows = [dict(r) for r in source.posterior] if source.fixed is None else []
        calibrated = [n for n in PARAM_NAMES if rows and n in rows[0] and n not in own]
        with_prior = [
            n
            for n in PARAM_NAMES
            if source.fixed is None and source.prior_for_rest and n not in calibrated and n not in own
        ]
        moved = [n for n in PARAM_NAMES if (n in calibrated or n in with_prior) and specs[n].high > specs[n].low]
        if rows and len(rows) <= len([n for n in moved if n in calibrated]) + 1:
            raise ValueError(f"{len(rows)} calibrated draws are too few for a density of {len(calibrated)} parameters")
        index = np.array([PARAM_NAMES.index(n) for n in moved], dtype=int)
        low = np.array([specs[n].low for n in moved])
        high = np.array([specs[n].high for n in moved])
        kde_cols = np.array([i for i, n in enumerate(moved) if n in calibrated], dtype=int)
        prior_cols = np.array([i for i, n in enumerate(moved) if n not in calibrated], dtype=int)
        points = np.zeros((0, 0))
        chol = np.zeros((0, 0))
        if kde_cols.size:
            x = np.array([[r[moved[i]] for i in kde_cols] for r in rows])
            points = _logit(x, low[kde_cols], high[kde_cols])
            n, d = points.shape
            cov = np.atleast_2d(np.cov(points.T)) + 1e-9 * np.eye(d)
            chol = np.linalg.cholesky(cov * n ** (-2.0 / (d + 4)))
        form, a, b, logz = [], [], [], []
        for i in prior_cols:
            prior: Prior = specs[moved[i]].prior  # type: ignore[assignment]
            kind, *args = prior.form
            form.append(PRIOR_FORMS.index(kind))
            a.append(0.0 if kind == "uniform" else float(args[0]) if kind == "normal" else math.log(float(args[0])))
            b.append(1.0 if kind == "uniform" else float(args[1]))
            lo, hi = prior._cdf_bounds
            logz.append(math.log(prior.high - prior.low) if kind == "uniform" else math.log(hi - lo))
        arrays = (np.array(form, dtype=int), np.array(a), np.array(b), np.array(logz))
        return cls(index, low, high, kde_cols, points, chol, prior_cols, *arrays)

    @property
    def dim(self) -> int:
        return int(self.index.size)

    def to_z(self, theta: np.ndarray) -> np.ndarray:
        return _logit(theta[..., self.index], self.low, self.high)

    def with_z(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        """theta with its moved parameters set from z."""
        out = np.array(theta, dtype=float, copy=True)
        out[..., self.index] = self.low + (self.high - self.low) / (1.0 + np.exp(-z))
        return out

    def logpdf(self, z: np.ndarray) -> float:
        """Log density of one transformed point z (the moved parameters)."""
        total = 0.0
        if self.kde_cols.size:
            diff = np.linalg.solve(self.kde_chol, (z[self.kde_cols] - self.kde_points).T)
            logdet = float(np.log(np.diag(self.kde_chol)).sum())
            d = self.kde_cols.size
            total += float(logsumexp(-0.5 * (diff**2).sum(axis=0))) - math.log(len(self.kde_points))
            total -= logdet + 0.5 * d * math.log(2 * math.pi)
        if self.prior_cols.size:
            zp = z[self.prior_cols]
            lo, hi = self.low[self.prior_cols], self.high[self.prior_cols]
            s = 1.0 / (1.0 + np.exp(-zp))
            x = lo + (hi - lo) * s
            jac = np.log(hi - lo) + np.log(s) + np.log1p(-s)
            total += float((self.prior_logpdf(x) + jac).sum())
        return total

    def prior_logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log densities of the truncated priors (Prior.logpdf, vectorised) at x inside the ranges."""
        form, a, b = self.prior_form, self.prior_a, self.prior_b
        with np.errstate(divide="ignore", invalid="ignore"):
            logx = np.log(np.where(form == 2, x, 1.0))
            u = np.where(form == 1, x, logx)
            dens = -0.5 * ((u - a) / b) ** 2 - np.log(b) - 0.5 * math.log(2 * math.pi) - np.where(form == 2, logx, 0.0)
        return np.where(form == 0, 0.0, dens) - self.prior_logz


def _logit(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    s = np.clip((np.asarray(x, dtype=float) - low) / (high - low), EDGE, 1.0 - EDGE)
    return np.log(s) - np.log1p(-s)


# ---------------------------------------------------------------------- particles
def seed_key(seed: np.random.SeedSequence) -> tuple[Any, ...]:
    return (seed.entropy, tuple(seed.spawn_key))


@dataclass
class Particles:
    """The ensemble as particles: parameters [n, PARAM_NAMES], seeds, the simulated observed
    quantities [n, observation], the prior run each descends from and whether a move changed it
    (its parameters or seed are no longer those of that run)."""

    theta: np.ndarray
    seeds: list[np.random.SeedSequence]
    sims: np.ndarray
    parent: np.ndarray
    moved: np.ndarray

    def __len__(self) -> int:
        return len(self.seeds)

    def take(self, idx: np.ndarray) -> Particles:
        return Particles(
            self.theta[idx], [self.seeds[i] for i in idx], self.sims[idx], self.parent[idx], self.moved[idx]
        )

    def keys(self) -> list[tuple[Any, ...]]:
        """One key per particle; copies of one particle share it."""
        return [(self.theta[i].tobytes(), *seed_key(s)) for i, s in enumerate(self.seeds)]

    def distinct(self) -> int:
        """Particles with a past of their own (distinct parameters or seed)."""
        return len(set(self.keys()))


def ess(logw: np.ndarray) -> float:
    """Effective sample size 1 / sum(w^2) of normalised weights exp(logw)."""
    w = np.exp(logw - logw.max())
    return float(w.sum() ** 2 / (w**2).sum())


def next_temperature(loglik: np.ndarray, phi: float, target: float) -> float:
    """The next tempering exponent: the largest phi' <= 1 whose incremental weights
    L^(phi' - phi) keep the ESS at `target` (a number of particles)."""
    if ess((1.0 - phi) * loglik) >= target:
        return 1.0
    return phi + optimize.brentq(lambda d: ess(d * loglik) - target, 0.0, 1.0 - phi, xtol=1e-12)


def systematic_resample(logw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of len(logw) draws by systematic resampling (sorted)."""
    w = np.exp(logw - logw.max())
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    n = len(w)
    return np.searchsorted(c, (rng.random() + np.arange(n)) / n).astype(int)


# ---------------------------------------------------------------------- moves (run in workers)
@dataclass(frozen=True)
class Kernel:
    """One stage's MCMC kernel: temperature, random-walk Cholesky factor on z, sweeps, seeds."""

    phi: float
    chol: np.ndarray
    sweeps: int
    entropy: int
    stage: int


def move_chunk(
    sim: Simulator,
    obs: ObservationModel,
    prior: ParamPrior,
    kernel: Kernel,
    items: list[tuple[int, np.ndarray, np.random.SeedSequence, np.ndarray]],
) -> list[tuple[int, np.ndarray, np.random.SeedSequence, np.ndarray, bool, int, int]]:
    """Move particles (slot, theta, seed, sims) with `kernel.sweeps` sweeps of a parameter move
    and a path move; returns (slot, theta, seed, sims, changed, parameter moves accepted, path
    moves accepted) per particle."""
    out = []
    for slot, theta, seed, sims in items:
        rng = np.random.default_rng(np.random.SeedSequence(kernel.entropy, spawn_key=(NOWCAST_KEY, kernel.stage, slot)))
        ll = float(obs.log_likelihood(sims))
        changed, acc_theta, acc_path = False, 0, 0
        for sweep in range(kernel.sweeps):
            if prior.dim:
                z = prior.to_z(theta)
                z_new = z + kernel.chol @ rng.standard_normal(prior.dim)
                log_ratio = prior.logpdf(z_new) - prior.logpdf(z)
                theta_new = prior.with_z(theta, z_new)
                sims_new = observe(sim.prefix(theta_new, seed, obs), obs)
                ll_new = float(obs.log_likelihood(sims_new))
                if math.log(rng.random()) < log_ratio + kernel.phi * (ll_new - ll):
                    theta, sims, ll, changed, acc_theta = theta_new, sims_new, ll_new, True, acc_theta + 1
            seed_new = np.random.SeedSequence(kernel.entropy, spawn_key=(NOWCAST_KEY, kernel.stage, slot, sweep))
            sims_new = observe(sim.prefix(theta, seed_new, obs), obs)
            ll_new = float(obs.log_likelihood(sims_new))
            if math.log(rng.random()) < kernel.phi * (ll_new - ll):
                seed, sims, ll, changed, acc_path = seed_new, sims_new, ll_new, True, acc_path + 1
        out.append((slot, theta, seed, sims, changed, acc_theta, acc_path))
    return out


# ---------------------------------------------------------------------- the sampler
@dataclass(frozen=True)
class SMCSettings:
    """ess_threshold: rejuvenate when the ESS falls below this share of the runs; sweeps: MCMC
    sweeps (a parameter move and a path move each) per rejuvenation; max_stages: tempering stages
    before giving up; min_distinct: fewest distinct pasts (share of the runs) for an answer."""

    ess_threshold: float = 0.5
    sweeps: int = 2
    max_stages: int = 12
    min_distinct: float = 0.1
    seed: int = 0


@dataclass
class Stage:
    phi: float
    ess: float  # ESS of the weights at this temperature, before resampling
    rejuvenated: bool
    distinct_after: int = 0
    accept_parameters: float | None = None
    accept_paths: float | None = None
    step_scale: float | None = None
    prefix_runs: int = 0


@dataclass
class SMCResult:
    particles: Particles
    stages: list[Stage]
    ess_prior: float  # ESS of the prior ensemble weighted by all observations at once
    reached: bool  # phi reached 1
    prefix_runs: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def rejuvenations(self) -> int:
        return sum(s.rejuvenated for s in self.stages)

    @property
    def distinct(self) -> int:
        return self.particles.distinct()

    def collapsed(self, settings: SMCSettings) -> bool:
        """True when the update is no answer: tempering did not reach the observations, or too
        few distinct pasts are left."""
        n = len(self.particles)
        return not self.reached or self.distinct < max(2, math.ceil(settings.min_distinct * n))


Runner = Callable[[Callable[..., Any], Sequence[tuple[Any, ...]]], Any]
"""run_tasks with the executor's settings bound (workers, client or pool)."""


def sample(
    particles: Particles,
    obs: ObservationModel,
    sim: Simulator,
    prior: ParamPrior,
    settings: SMCSettings,
    runner: Runner | None = None,
    progress: Callable[[int], None] | None = None,
    on_stage: Callable[[int, int], None] | None = None,
) -> SMCResult:
    """Update the particles of a prior ensemble (equally weighted) to the observations.
    progress(k): k more runs to the last observation done; on_stage(stage, runs): a
    rejuvenation starts that will simulate `runs` runs to the last observation."""
    run = runner or (lambda fn, tasks: run_tasks(fn, tasks))
    n = len(particles)
    target = settings.ess_threshold * n
    ll = obs.log_likelihood(particles.sims)
    result = SMCResult(particles, [], ess(ll), reached=False)
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(NOWCAST_KEY,)))
    ref_var = np.var(prior.to_z(particles.theta), axis=0) if prior.dim else np.zeros(0)
    step = 2.38 / math.sqrt(max(prior.dim, 1))
    phi = 0.0
    logw = np.zeros(n)
    while len(result.stages) < settings.max_stages:
        new_phi = next_temperature(ll, phi, target)
        logw = (new_phi - phi) * ll
        stage = Stage(new_phi, ess(logw), rejuvenated=False)
        result.stages.append(stage)
        phi = new_phi
        if phi >= 1.0 and stage.ess >= target:
            break
        particles = particles.take(systematic_resample(logw, rng))
        chol = np.zeros((0, 0))
        if prior.dim:
            cov = np.atleast_2d(np.cov(prior.to_z(particles.theta).T)) + np.diag(1e-3 * ref_var + 1e-12)
            chol = step * np.linalg.cholesky(cov)
        kernel = Kernel(phi, chol, settings.sweeps, settings.seed, len(result.stages))
        if on_stage:
            on_stage(len(result.stages), n * settings.sweeps * (2 if prior.dim else 1))
        particles, acc_theta, acc_path, runs = _move(particles, obs, sim, prior, kernel, run, progress)
        stage.rejuvenated, stage.step_scale, stage.prefix_runs = True, step, runs
        stage.accept_parameters = acc_theta if prior.dim else None
        stage.accept_paths = acc_path
        stage.distinct_after = particles.distinct()
        result.prefix_runs += runs
        if prior.dim:  # keep the parameter moves' acceptance near 0.2-0.4
            step *= 0.6 if acc_theta < 0.15 else 1.4 if acc_theta > 0.45 else 1.0
        ll = obs.log_likelihood(particles.sims)
        logw = np.zeros(n)
        if phi >= 1.0:
            break
    result.reached = phi >= 1.0
    if np.ptp(logw) > 0:  # weights only (no rejuvenation at the end): resample to equal weights
        particles = particles.take(systematic_resample(logw, rng))
    result.particles = particles
    return result


def _move(
    particles: Particles,
    obs: ObservationModel,
    sim: Simulator,
    prior: ParamPrior,
    kernel: Kernel,
    run: Runner,
    progress: Callable[[int], None] | None,
) -> tuple[Particles, float, float, int]:
    n = len(particles)
    items = [(i, particles.theta[i], particles.seeds[i], particles.sims[i]) for i in range(n)]
    tasks = [(sim, obs, prior, kernel, items[i : i + CHUNK]) for i in range(0, n, CHUNK)]
    out = replace(particles, theta=particles.theta.copy(), seeds=list(particles.seeds), sims=particles.sims.copy())
    out.moved = particles.moved.copy()
    acc_theta = acc_path = 0
    per = kernel.sweeps * (2 if prior.dim else 1)
    for _, results in run(move_chunk, tasks):
        for slot, theta, seed, sims, changed, a_t, a_p in results:
            out.theta[slot], out.seeds[slot], out.sims[slot] = theta, seed, sims
            out.moved[slot] |= changed
            acc_theta += a_t
            acc_path += a_p
        if progress:
            progress(len(results) * per)
    tries = n * kernel.sweeps
    return out, acc_theta / tries, acc_path / tries, n * per


# ---------------------------------------------------------------------- the updated ensemble
def branch_seed(entropy: int, run: int) -> np.random.SeedSequence:
    """The seed of the future of copy `run` of the updated ensemble."""
    return np.random.SeedSequence(entropy, spawn_key=(NOWCAST_KEY, 2**31, run))


def final_groups(particles: Particles) -> list[tuple[int, list[int]]]:
    """(a particle, the runs of the updated ensemble that are its copies) for every distinct
    particle, in run order."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, key in enumerate(particles.keys()):
        groups.setdefault(key, []).append(i)
    return [(runs[0], runs) for runs in groups.values()]


class ReplayError(EnsembleError):
    """A particle does not replay to its recorded observations (another model version)."""


def simulate_group(
    sim: Simulator,
    obs: ObservationModel,
    theta: np.ndarray,
    seed: np.random.SeedSequence,
    expected: np.ndarray,
    copies: list[tuple[int, np.random.SeedSequence | None]],
) -> list[tuple[pd.DataFrame, ...]]:
    """Run a particle to its last observation, check it reproduces `expected`, checkpoint it
    (when a copy branches), and run each copy (run id, branch seed, or None for the particle's
    own future: the model continues as it is) to the end; returns each copy's result tables
    (ensemble.run_tables)."""
    model = sim.prefix(theta, seed, obs)
    got = observe(model, obs)
    if not np.allclose(got, expected, rtol=1e-12, atol=0.0):
        raise ReplayError(
            "a run of the prior ensemble does not replay to its recorded quarters (made by another model version "
            "or calibration?); rerun the prior ensemble"
        )
    cp = checkpoint(model) if any(b is not None for _, b in copies) else None
    tables = []
    for run_id, branch in copies:  # the particle's own future (branch None) at most once
        m = run_from(model if branch is None else restore(cp, branch))  # type: ignore[arg-type]
        tables.append(run_tables(run_id, m.record, m.inputs, sim.scenario))
    return tables
