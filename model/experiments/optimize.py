"""`etown optimize`: the lowest annual special-fund budget, and its allocation over instruments
and target sectors, for which P(all four targets >= 100 bn by the end year) (or one chosen
cluster's P) reaches a requested level.

Decision: the budget (`policy.special_funds_yuan_per_year`, constant over the years), the six
budget shares (six weights in [0, 1], normalised to sum to 1) and the targeting weights of the
four target sectors (`clusters.sector_weights`, [0, 5] each; the other sectors keep the
scenario's). Noise is handled in three ways:

1. every evaluation runs the same `replications` seeds (common random numbers): two allocations
   are compared on the same replications, so their difference is not noise of the draws;
2. search: Optuna's multi-objective TPE (minimise budget, maximise P), trials asked in batches
   and evaluated in parallel on the one executor; then, for the allocation of the cheapest trial
   that reached the level (or the most likely one), the budget is bisected on the same seeds;
3. picking the cheapest of many noisy estimates favours lucky ones (the winner's curse), so a
   search estimate counts as reaching the level only if it clears it by one binomial standard
   error of the search replications; the chosen policy is then re-run on `confirm_runs` fresh
   seeds (another master seed): its P there, with a Wilson interval, is what is reported; if it
   falls short of the level, the budget is raised by CONFIRM_STEP and confirmed again (at most
   `max_confirmations` times).

The budget-versus-probability frontier is the best P found at or below each budget among all
evaluations (search seeds), with the confirmed point marked. Finished evaluations are saved
under `<out>/parts/` (an interrupted run resumes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..analysis import wilson_interval
from ..ensemble import RunSettings
from ..io import RESULT_DIGITS, write_atomic, write_json
from ..mechanisms.funding import INSTRUMENTS
from ..plots import save_figure
from ..scenario import Scenario, ScenarioError
from ..sectors import TARGET_SECTORS
from . import parts
from .paired import run_outcomes

BN = 1e9
WEIGHT_RANGE = (0.0, 5.0)
RUNS_PER_TASK = 5
CONFIRM_SEED_OFFSET = 1_000_003
"""Confirmation seeds: master seed + this (never the search seeds)."""
CONFIRM_STEP = 0.1
"""A policy that falls short on the fresh seeds is confirmed again with a budget this much higher."""


class OptimizeError(ScenarioError):
    """Settings of `etown optimize` that cannot be used (one line)."""


@dataclass(frozen=True)
class Policy:
    """A budget and its allocation."""

    budget: float  # yuan/yr
    shares: tuple[float, ...]  # INSTRUMENTS order, sum 1
    weights: tuple[float, ...]  # TARGET_SECTORS order

    def describe(self) -> str:
        shares = ", ".join(f"{k} {v:.2f}" for k, v in zip(INSTRUMENTS, self.shares, strict=True))
        weights = ", ".join(f"{k} {v:.2f}" for k, v in zip(TARGET_SECTORS, self.weights, strict=True))
        return f"{self.budget / BN:.2f} bn/yr; shares: {shares}; sector weights: {weights}"

    def key(self) -> tuple:
        return (
            round(self.budget, 3),
            tuple(round(s, 9) for s in self.shares),
            tuple(round(w, 9) for w in self.weights),
        )

    def scenario(self, base: Scenario) -> Scenario:
        data = base.model_dump(mode="python")
        data["policy"]["special_funds_yuan_per_year"] = float(self.budget)
        data["policy"]["budget_shares"] = dict(zip(INSTRUMENTS, map(float, self.shares), strict=True))
        data["clusters"]["sector_weights"] = {
            **data["clusters"]["sector_weights"],
            **dict(zip(TARGET_SECTORS, map(float, self.weights), strict=True)),
        }
        return Scenario.model_validate(data)


def normalised(raw: Sequence[float]) -> tuple[float, ...]:
    """Six raw weights as shares summing to 1 (even shares if all are zero); the last share
    absorbs rounding so that the sum is 1 exactly enough for the scenario check."""
    raw = np.clip(np.asarray(raw, dtype=float), 0.0, None)
    total = raw.sum()
    shares = raw / total if total > 0 else np.full(len(raw), 1.0 / len(raw))
    shares = np.round(shares, 6)
    shares[-1] = round(1.0 - shares[:-1].sum(), 6)
    return tuple(float(s) for s in shares)


# ---------------------------------------------------------------------- evaluation
Evaluator = Callable[[list[Policy], int, list[int]], list[np.ndarray]]
"""(policies, master seed, runs) -> per policy, a 0/1 array per run: did the objective event happen."""


def model_evaluator(
    base: Scenario,
    settings: RunSettings,
    cluster: str | None,
    *,
    workers: int = 1,
    client: Any = None,
    folder: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Evaluator:
    """Evaluate policies with the model: each policy's runs in tasks of RUNS_PER_TASK on the one
    executor; results saved under `folder` (resumable)."""
    col = None if cluster is None else TARGET_SECTORS.index(cluster)

    def evaluate(policies: list[Policy], seed: int, runs: list[int]) -> list[np.ndarray]:
        chunks = [runs[a : a + RUNS_PER_TASK] for a in range(0, len(runs), RUNS_PER_TASK)]
        tasks = [(p.scenario(base), chunk, seed, settings) for p in policies for chunk in chunks]
        keys = [parts.task_key((p.key(), chunk, seed, repr(settings))) for p in policies for chunk in chunks]
        results = parts.run_saved(run_outcomes, tasks, keys, folder, workers=workers, client=client, progress=progress)
        out = []
        for k in range(len(policies)):
            block = results[k * len(chunks) : (k + 1) * len(chunks)]
            if col is None:
                out.append(np.concatenate([b["all_four"] for b in block]))
            else:
                out.append(np.concatenate([b["cross"][:, col] for b in block]))
        return out

    return evaluate


# ---------------------------------------------------------------------- search
@dataclass
class Evaluation:
    policy: Policy
    p: float
    stage: str  # search, bisect


@dataclass
class OptimizeResult:
    target: float
    objective: str
    seed: int
    replications: int
    confirm_runs: int
    budget_range: tuple[float, float]
    evaluations: list[Evaluation]
    chosen: Policy | None = None
    confirmed_p: float | None = None
    confirmed_ci: tuple[float, float] | None = None
    confirmed: bool = False
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    scale: float | None = None
    search_level: float | None = None  # the level search estimates had to clear (target + one SE)

    def frontier(self) -> pd.DataFrame:
        """Best P (search seeds) found at or below each evaluated budget: the cheapest way seen
        to each probability level."""
        ev = sorted(self.evaluations, key=lambda e: (e.policy.budget, -e.p))
        rows, best = [], -1.0
        for e in ev:
            if e.p > best:
                best = e.p
                rows.append(
                    {
                        "budget_bn": e.policy.budget / BN,
                        "p": e.p,
                        "stage": e.stage,
                        **{f"share.{k}": v for k, v in zip(INSTRUMENTS, e.policy.shares, strict=True)},
                        **{f"weight.{k}": v for k, v in zip(TARGET_SECTORS, e.policy.weights, strict=True)},
                    }
                )
        return pd.DataFrame(rows)

    def format(self) -> str:
        lo, hi = self.budget_range
        lines = [
            f"cheapest special-fund budget for {self.objective} >= {self.target:g}: "
            f"{len(self.evaluations)} evaluations "
            f"x {self.replications} runs (common seeds, seed {self.seed}, scale {self.scale}), budget "
            f"{lo / BN:g}-{hi / BN:g} bn/yr; confirmation on {self.confirm_runs} fresh runs",
            "frontier (best P found at or below each budget, search seeds):",
            "  budget bn/yr      P  stage",
        ]
        for _, r in self.frontier().iterrows():
            lines.append(f"  {r['budget_bn']:12.2f}  {r['p']:5.2f}  {r['stage']}")
        if self.chosen is None:
            lines.append(f"not reached: no evaluated policy within the budget range reached {self.target:g}")
        else:
            clo, chi = self.confirmed_ci or (float("nan"), float("nan"))
            verdict = "confirmed" if self.confirmed else "NOT confirmed (the level is not reached on fresh seeds)"
            lines.append(f"chosen: {self.chosen.describe()}")
            lines.append(
                f"confirmation: P = {self.confirmed_p:.2f} [{clo:.2f}, {chi:.2f}] on {self.confirm_runs} fresh runs: "
                f"{verdict}"
            )
        return "\n".join(lines)


def optimize(
    evaluate: Evaluator,
    *,
    target: float,
    budget_range: tuple[float, float],
    seed: int,
    replications: int = 20,
    trials: int = 40,
    batch: int = 8,
    bisect_steps: int = 6,
    confirm_runs: int = 100,
    max_confirmations: int = 3,
    objective: str = "P(all four)",
    start: Policy | None = None,
) -> OptimizeResult:
    """Search for the cheapest policy reaching `target` (see the module docstring)."""
    try:
        import optuna
    except ImportError:
        raise OptimizeError("etown optimize needs Optuna: pip install 'etown-clusters[optimize]'") from None
    optuna.logging.set_verbosity(logging.WARNING)
    lo, hi = budget_range
    runs = list(range(replications))
    sampler = optuna.samplers.TPESampler(seed=seed % 2**32, n_startup_trials=min(trials, max(batch, 10)))
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    evaluations: list[Evaluation] = []
    if start is not None:  # the scenario's own allocation at the top of the range: a reference point
        study.enqueue_trial(
            {"budget_bn": hi / BN}
            | {f"w.{k}": s for k, s in zip(INSTRUMENTS, start.shares, strict=True)}
            | {f"sector.{k}": w for k, w in zip(TARGET_SECTORS, start.weights, strict=True)}
        )
    done = 0
    while done < trials:
        n = min(batch, trials - done)
        asked = [study.ask() for _ in range(n)]
        policies = []
        for t in asked:
            budget = t.suggest_float("budget_bn", lo / BN, hi / BN) * BN
            raw = [t.suggest_float(f"w.{k}", 0.0, 1.0) for k in INSTRUMENTS]
            weights = tuple(t.suggest_float(f"sector.{k}", *WEIGHT_RANGE) for k in TARGET_SECTORS)
            policies.append(Policy(budget, normalised(raw), weights))
        for t, p, hits in zip(asked, policies, evaluate(policies, seed, runs), strict=True):
            study.tell(t, [p.budget / BN, float(np.mean(hits))])
            evaluations.append(Evaluation(p, float(np.mean(hits)), "search"))
        done += n
    result = OptimizeResult(target, objective, seed, replications, confirm_runs, budget_range, evaluations)
    # the search estimates are noisy and the cheapest of many passes is picked (the winner's curse):
    # candidates must clear the level by one binomial standard error of the search replications
    level = min(0.999, target + np.sqrt(target * (1 - target) / replications))
    result.search_level = float(level)
    passing = sorted((e for e in evaluations if e.p >= level), key=lambda e: e.policy.budget)
    anchor = passing[0] if passing else max(evaluations, key=lambda e: (e.p, -e.policy.budget))
    # bisect the budget of that allocation on the same seeds (P assumed to rise with the budget)
    a = lo
    b = anchor.policy.budget if passing else hi
    if not passing:
        top = Policy(hi, anchor.policy.shares, anchor.policy.weights)
        p_top = float(np.mean(evaluate([top], seed, runs)[0]))
        evaluations.append(Evaluation(top, p_top, "bisect"))
        if p_top < level:
            return result
    best = Policy(b, anchor.policy.shares, anchor.policy.weights)
    for _ in range(bisect_steps):
        mid = Policy((a + b) / 2, anchor.policy.shares, anchor.policy.weights)
        p_mid = float(np.mean(evaluate([mid], seed, runs)[0]))
        evaluations.append(Evaluation(mid, p_mid, "bisect"))
        if p_mid >= level:
            b, best = mid.budget, mid
        else:
            a = mid.budget
    # confirm on fresh seeds; if short of the level, raise the budget by a step and confirm again
    fresh = list(range(confirm_runs))
    policy = best
    for _ in range(max_confirmations):
        hits = evaluate([policy], seed + CONFIRM_SEED_OFFSET, fresh)[0]
        k = int(hits.sum())
        p = k / len(hits)
        result.confirmations.append({"budget_bn": policy.budget / BN, "p_confirm": p})
        result.chosen, result.confirmed_p, result.confirmed_ci = policy, p, wilson_interval(k, len(hits))
        if p >= target:
            result.confirmed = True
            break
        if policy.budget >= hi:
            break
        policy = Policy(min(hi, policy.budget * (1 + CONFIRM_STEP)), policy.shares, policy.weights)
    return result


def frontier_chart(result: OptimizeResult) -> Figure:
    """Every evaluation (budget, P on the search seeds), the frontier, the level and the
    confirmed point with its interval."""
    fig = Figure(figsize=(7.5, 5), layout="constrained")
    ax = fig.add_subplot()
    for stage, marker in (("search", "o"), ("bisect", "s")):
        ev = [e for e in result.evaluations if e.stage == stage]
        if ev:
            ax.scatter(
                [e.policy.budget / BN for e in ev], [e.p for e in ev], s=16, alpha=0.5, marker=marker, label=stage
            )
    f = result.frontier()
    if len(f):
        top = max(e.policy.budget for e in result.evaluations) / BN  # the best P holds up to the largest budget tried
        xs, ys = [*f["budget_bn"], max(top, f["budget_bn"].iloc[-1])], [*f["p"], f["p"].iloc[-1]]
        ax.step(xs, ys, where="post", color="C3", lw=1.5, label="frontier (search seeds)")
    ax.axhline(result.target, color="0.3", ls="--", lw=0.8, label=f"level {result.target:g}")
    if result.chosen is not None and result.confirmed_ci is not None:
        lo, hi = result.confirmed_ci
        x = result.chosen.budget / BN
        ax.errorbar(
            [x],
            [result.confirmed_p],
            yerr=[[result.confirmed_p - lo], [hi - result.confirmed_p]],
            fmt="D",
            color="k",
            capsize=4,
            label=f"chosen, {result.confirm_runs} fresh runs",
        )
    ax.set_xlabel("special funds, bn yuan/yr")
    ax.set_ylabel(result.objective)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(
        f"Budget vs probability: {len(result.evaluations)} evaluations x {result.replications} runs, "
        f"scale {result.scale}",
        fontsize=10,
    )
    return fig


def write_optimize(result: OptimizeResult, out: Path) -> None:
    """frontier.csv, evaluations.csv, optimize.json and frontier.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "frontier.csv", lambda p: result.frontier().to_csv(p, index=False, float_format="%.6g"))
    ev = pd.DataFrame(
        [
            {
                "budget_bn": e.policy.budget / BN,
                "p": e.p,
                "stage": e.stage,
                **{f"share.{k}": v for k, v in zip(INSTRUMENTS, e.policy.shares, strict=True)},
                **{f"weight.{k}": v for k, v in zip(TARGET_SECTORS, e.policy.weights, strict=True)},
            }
            for e in result.evaluations
        ]
    )
    write_atomic(out / "evaluations.csv", lambda p: ev.to_csv(p, index=False, float_format="%.6g"))
    chosen = None
    if result.chosen is not None:
        chosen = {
            "budget_bn": result.chosen.budget / BN,
            "budget_shares": dict(zip(INSTRUMENTS, result.chosen.shares, strict=True)),
            "sector_weights": dict(zip(TARGET_SECTORS, result.chosen.weights, strict=True)),
            "p_confirmed": result.confirmed_p,
            "p_confirmed_ci95": list(result.confirmed_ci or ()),
            "confirmed": result.confirmed,
        }
    data = {
        "objective": result.objective,
        "target": result.target,
        "seed": result.seed,
        "confirm_seed": result.seed + CONFIRM_SEED_OFFSET,
        "replications": result.replications,
        "confirm_runs": result.confirm_runs,
        "scale": result.scale,
        "budget_range_bn": [result.budget_range[0] / BN, result.budget_range[1] / BN],
        "chosen": chosen,
        "search_level": result.search_level,
        "confirmations": result.confirmations,
        "frontier": result.frontier().to_dict(orient="records"),
    }
    write_json(out / "optimize.json", data, digits=RESULT_DIGITS)
    save_figure(frontier_chart(result), out / "frontier.png")
