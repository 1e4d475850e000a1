"""`etown optimize`: the lowest annual special-fund budget, and its allocation over instruments
and target sectors, for which P(all four targets >= 100 bn by the end year) (or one chosen
cluster's P) reaches a requested level, decided at a stated precision.

Decision variables: the budget (`policy.special_funds_yuan_per_year`, constant over the years),
the six budget shares (six weights in [0, 1], normalised to sum to 1) and the targeting weights
of the four target sectors (`clusters.sector_weights`, [0, `weight_max`] each; other sectors keep
the scenario's).

**The decision level.** A policy *reaches* the level when the 95% interval of its P lies at or
above it, *falls short* when the interval lies below, and is *on the level* when, after enough
runs for a half-width of `precision`, the interval still straddles it. Every probability is
estimated on its own independent replications (a seed stream per evaluation,
experiments/core.py), so no two estimates share their luck.

1. **Search** (screening): Optuna's multi-objective TPE (minimise budget, maximise P) over budget
   and allocation, `trials` evaluations of `search_runs` runs each, asked in batches and run in
   parallel. Its estimates are rough (+-0.15 with 40 runs) and are used only to pick an
   allocation: the cheapest trial whose estimate reaches the level (else the most likely one).
2. **Bisection** of the budget for that allocation, with a decision at every budget tried
   (replications added in rounds until decided, on the level, or `max_runs`): the budget range
   [highest budget that falls short, cheapest budget that reaches] shrinks to `budget_tol` or
   stops at a budget on the level.

The verdict, the table and the chart come from the same decided estimates: the cheapest budget
that reaches the level (with P and its interval), the highest that falls short, any budget on
the level; if the level is not reached at the top budget, the best P found (with its interval)
and which ranges to widen. Finished blocks are saved under `<out>/parts/` (a rerun resumes).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import outcomes as oc
from ..ensemble import RunSettings
from ..io import RESULT_DIGITS, write_atomic, write_json
from ..levers import with_levers
from ..mechanisms.funding import INSTRUMENTS
from ..plots import save_figure
from ..scenario import Scenario, ScenarioError
from ..sectors import TARGET_SECTORS
from ..stats import Estimate, probability
from .core import (
    FAIL,
    PASS,
    SEEDS_INDEPENDENT,
    UNDECIDED,
    Executor,
    Point,
    Runner,
    decide,
    decision_needs,
    hooks,
    open_store,
    precision_needs,
    settings_id,
)

BN = 1e9
WEIGHT_MAX = 5.0
FIRST_RUNS = 20
"""Runs a decision point gets in its first round."""
SEARCH, DECIDE = "search", "decision"


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

    def at(self, budget: float) -> Policy:
        return Policy(budget, self.shares, self.weights)

    def scenario(self, base: Scenario) -> Scenario:
        values: dict[str, Any] = {
            "policy.special_funds_yuan_per_year": float(self.budget),
            "policy.budget_shares": dict(zip(INSTRUMENTS, map(float, self.shares), strict=True)),
        }
        values.update(
            {f"clusters.sector_weights.{s}": float(w) for s, w in zip(TARGET_SECTORS, self.weights, strict=True)}
        )
        return with_levers(base, values)


def normalised(raw: Sequence[float]) -> tuple[float, ...]:
    """Six raw weights as shares summing to 1 (even shares if all are zero); the last share
    absorbs rounding so that the sum is 1 exactly enough for the scenario check."""
    raw = np.clip(np.asarray(raw, dtype=float), 0.0, None)
    total = raw.sum()
    shares = raw / total if total > 0 else np.full(len(raw), 1.0 / len(raw))
    shares = np.round(shares, 6)
    shares[-1] = round(1.0 - shares[:-1].sum(), 6)
    return tuple(float(s) for s in shares)


@dataclass
class Evaluation:
    policy: Policy
    estimate: Estimate
    stage: str  # search, decision
    decision: str = ""  # pass, fail, undecided (decision stage)
    capped: bool = False  # undecided because max_runs stopped it before the precision
    stream: int = 0  # the seed stream of its replications

    @property
    def p(self) -> float:
        return self.estimate.value


@dataclass
class OptimizeSettings:
    target: float
    budget_range: tuple[float, float]  # yuan/yr
    seed: int
    trials: int = 40
    search_runs: int = 40
    batch: int = 8
    precision: float = 0.05
    max_runs: int = 400
    budget_tol: float = 0.5e9  # yuan/yr
    weight_max: float = WEIGHT_MAX
    objective: str = "P(all four)"


@dataclass
class OptimizeResult:
    settings: OptimizeSettings
    evaluations: list[Evaluation]
    anchor: Policy | None = None
    chosen: Evaluation | None = None  # cheapest decided pass
    below: Evaluation | None = None  # highest decided fail
    on_level: Evaluation | None = None  # a budget whose P is on the level within the precision
    advice: list[str] = field(default_factory=list)
    scale: float | None = None

    @property
    def reached(self) -> bool:
        """Decided: a budget reaches the level, or one is on it within the precision."""
        return self.chosen is not None or (self.on_level is not None and not self.on_level.capped)

    @property
    def undecided(self) -> bool:
        """The cap stopped the search at a budget whose interval straddles the level."""
        return self.chosen is None and self.on_level is not None and self.on_level.capped

    def decisions(self) -> list[Evaluation]:
        return sorted((e for e in self.evaluations if e.stage == DECIDE), key=lambda e: e.policy.budget)

    def best(self) -> Evaluation:
        """The decided evaluation with the highest P (the search's rough ones only if none)."""
        pool = self.decisions() or self.evaluations
        return max(pool, key=lambda e: (e.p, -e.policy.budget))

    def level_text(self) -> str:
        s = self.settings
        return (
            f"decision level: {s.objective} >= {s.target:g} counts as reached when its 95% interval lies at or "
            f"above {s.target:g}, short when it lies below, on the level when it still straddles {s.target:g} "
            f"at +-{s.precision:g}"
        )

    def answer(self) -> Evaluation | None:
        """The budget the verdict names: on the level (precise) if found, else the cheapest decided
        to reach the level."""
        if self.on_level is not None and not self.on_level.capped:
            return self.on_level
        return self.chosen

    def verdict(self) -> list[str]:
        s = self.settings
        out = []
        on, c, b = self.on_level, self.chosen, self.below
        if on is not None and not on.capped:
            out.append(
                f"ON THE LEVEL: the cheapest budget is about {on.policy.budget / BN:.2f} bn/yr, where P = "
                f"{on.estimate.text()} ({on.estimate.n} runs) is {s.target:g} within +-{s.precision:g}"
            )
            if c is not None:
                out.append(
                    f"decided to reach {s.target:g} at {c.policy.budget / BN:.2f} bn/yr: P = {c.estimate.text()}"
                )
        elif c is not None:
            out.append(
                f"REACHED: cheapest budget decided to reach {s.target:g}: {c.policy.budget / BN:.2f} bn/yr, "
                f"P = {c.estimate.text()} ({c.estimate.n} runs)"
            )
        if on is not None and on.capped:
            out.append(
                f"UNDECIDED at {on.policy.budget / BN:.2f} bn/yr: P = {on.estimate.text()} after {on.estimate.n} runs: "
                f"the cap (--max-runs {s.max_runs}) stopped it before +-{s.precision:g}; the level is crossed near "
                "this budget, or raise --max-runs to decide"
            )
        if b is not None:
            out.append(f"decided short of {s.target:g} at {b.policy.budget / BN:.2f} bn/yr: P = {b.estimate.text()}")
            if c is not None and (on is None or on.capped):
                out.append(
                    f"so the cheapest budget lies between {b.policy.budget / BN:.2f} and {c.policy.budget / BN:.2f} "
                    "bn/yr for this allocation"
                )
        if not self.reached and not self.undecided:
            best = self.best()
            out.append(
                f"NOT REACHED within {s.budget_range[1] / BN:g} bn/yr: best P found {best.estimate.text()} at "
                f"{best.policy.budget / BN:.2f} bn/yr ({best.estimate.n} runs)"
            )
            out.extend(f"  widen: {a}" for a in self.advice)
        if self.anchor is not None:
            out.append(f"allocation: {self.anchor.describe().split('; ', 1)[1]}")
        return out

    def frontier(self) -> pd.DataFrame:
        """Best P found at or below each evaluated budget (search and decisions): the cheapest way
        seen to each probability level, with the interval of that estimate."""
        ev = sorted(self.evaluations, key=lambda e: (e.policy.budget, -e.p))
        rows, best = [], -1.0
        for e in ev:
            if e.p > best:
                best = e.p
                rows.append(_row(e))
        return pd.DataFrame(rows)

    def format(self) -> str:
        s = self.settings
        lo, hi = s.budget_range
        search = [e for e in self.evaluations if e.stage == SEARCH]
        lines = [
            f"cheapest special-fund budget for {s.objective} >= {s.target:g}, budget {lo / BN:g}-{hi / BN:g} bn/yr "
            f"(seed {s.seed}, scale {self.scale})",
            SEEDS_INDEPENDENT.format(seed=s.seed).replace("point", "evaluation"),
            self.level_text(),
            f"search: {len(search)} trials x {s.search_runs} runs (rough: +-{_hw(s.search_runs):.2f}), then "
            f"decisions at precision +-{s.precision:g} (cap {s.max_runs} runs each)",
            "decided budgets:",
            "  budget bn/yr  P [95% CI]          runs  decision",
        ]
        for e in self.decisions():
            lines.append(
                f"  {e.policy.budget / BN:12.2f}  {e.estimate.text():18s}  {e.estimate.n:4d}  "
                f"{_word(e.decision, s.target, e.capped)}"
            )
        return "\n".join([*lines, *self.verdict()])


def _hw(n: int) -> float:
    return (probability(np.r_[np.ones(n // 2), np.zeros(n - n // 2)]).half_width) if n else math.inf


def _word(decision: str, target: float, capped: bool = False) -> str:
    if decision == UNDECIDED and capped:
        return "undecided (cap)"
    return {PASS: f"reaches {target:g}", FAIL: f"short of {target:g}", UNDECIDED: "on the level"}.get(decision, "")


def _code(e: Evaluation) -> str:
    """The decision of an evaluation in one word (empty for the search)."""
    if not e.decision:
        return ""
    return {PASS: "reaches", FAIL: "short"}.get(e.decision, "undecided_cap" if e.capped else "on_level")


def _row(e: Evaluation) -> dict[str, Any]:
    return {
        "budget_bn": e.policy.budget / BN,
        "p": e.estimate.value,
        "p_lo": e.estimate.lo,
        "p_hi": e.estimate.hi,
        "runs": e.estimate.n,
        "stage": e.stage,
        "decision": _code(e),
        **{f"share.{k}": v for k, v in zip(INSTRUMENTS, e.policy.shares, strict=True)},
        **{f"weight.{k}": v for k, v in zip(TARGET_SECTORS, e.policy.weights, strict=True)},
    }


# ---------------------------------------------------------------------- the search
class Optimizer:
    """Evaluates policies through the experiment core: each evaluation on a seed stream of its own."""

    def __init__(
        self,
        base: Scenario,
        run_settings: RunSettings,
        event: oc.Outcome,
        runner: Runner,
        settings: OptimizeSettings,
        progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.base, self.run_settings, self.event, self.runner, self.s = base, run_settings, event, runner, settings
        self.col = list(runner.outcomes).index(event)
        self.stream = 0
        self.progress = progress

    def _points(self, policies: Sequence[Policy]) -> list[Point]:
        points = []
        for p in policies:
            self.stream += 1
            points.append(
                Point(p.scenario(self.base), self.run_settings, self.stream, label=f"evaluation {self.stream}")
            )
        return points

    def search(self, policies: Sequence[Policy]) -> list[Estimate]:
        values = self.runner.evaluate(self._points(policies), self.s.search_runs)
        return [probability(v[:, self.col]) for v in values]

    def decide(self, policy: Policy, precise: Evaluation | None = None) -> Evaluation:
        """A decision on the policy's P against the level; with `precise` (an evaluation of this
        policy), that evaluation's runs continued until P is known to the precision whatever the
        decision (the best P found is then reported to +-precision)."""
        if precise is None:
            points = self._points([policy])
            needs = decision_needs(self.col, self.s.target, self.s.precision)
        else:
            label = f"evaluation {precise.stream}"
            points = [Point(policy.scenario(self.base), self.run_settings, precise.stream, label=label)]
            needs = precision_needs(self.col, self.s.precision)
        first = FIRST_RUNS if precise is None else precise.estimate.n
        res = self.runner.until(points, needs, first=first, max_runs=self.s.max_runs)
        est = probability(res.values[0][:, self.col])
        return Evaluation(policy, est, DECIDE, decide(est, self.s.target), res.capped[0], points[0].stream)


def optimize(
    opt: Optimizer, *, start: Policy | None = None, on_stage: Callable[[str], None] | None = None
) -> OptimizeResult:
    """Search, then bisect with decisions (see the module docstring)."""
    try:
        import optuna
    except ImportError:
        raise OptimizeError("etown optimize needs Optuna: pip install 'etown-clusters[optimize]'") from None
    optuna.logging.set_verbosity(logging.WARNING)
    s = opt.s
    lo, hi = s.budget_range
    sampler = optuna.samplers.TPESampler(seed=s.seed % 2**32, n_startup_trials=min(s.trials, max(s.batch, 10)))
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    result = OptimizeResult(s, [])
    if start is not None:  # the scenario's own allocation at the top of the range: a reference point
        study.enqueue_trial(
            {"budget_bn": hi / BN}
            | {f"w.{k}": v for k, v in zip(INSTRUMENTS, start.shares, strict=True)}
            | {f"sector.{k}": min(w, s.weight_max) for k, w in zip(TARGET_SECTORS, start.weights, strict=True)}
        )
    if on_stage:
        on_stage(SEARCH)
    done = 0
    while done < s.trials:
        n = min(s.batch, s.trials - done)
        asked = [study.ask() for _ in range(n)]
        policies = []
        for t in asked:
            budget = t.suggest_float("budget_bn", lo / BN, hi / BN) * BN
            raw = [t.suggest_float(f"w.{k}", 0.0, 1.0) for k in INSTRUMENTS]
            weights = tuple(t.suggest_float(f"sector.{k}", 0.0, s.weight_max) for k in TARGET_SECTORS)
            policies.append(Policy(budget, normalised(raw), weights))
        for t, p, est in zip(asked, policies, opt.search(policies), strict=True):
            study.tell(t, [p.budget / BN, est.value])
            result.evaluations.append(Evaluation(p, est, SEARCH))
        done += n
    if on_stage:
        on_stage(DECIDE)
    search = result.evaluations[:]
    reaching = sorted((e for e in search if e.p >= s.target), key=lambda e: e.policy.budget)
    anchor = (reaching[0] if reaching else max(search, key=lambda e: (e.p, -e.policy.budget))).policy
    result.anchor = anchor

    def decided(budget: float) -> Evaluation:
        e = opt.decide(anchor.at(budget))
        result.evaluations.append(e)
        return e

    top = decided(hi)
    if top.decision == FAIL:  # not reached: the best P to the precision, and P mid-range: does money still help?
        result.evaluations[-1] = top = opt.decide(top.policy, precise=top)
        middle = decided((lo + hi) / 2)
        result.evaluations[-1] = middle = opt.decide(middle.policy, precise=middle)
        result.advice = widen_advice(result, top, middle)
        return result
    passing, failing = (top, None) if top.decision == PASS else (None, None)
    if top.decision == UNDECIDED:
        result.on_level = top
    upper = hi
    if reaching and anchor.budget < hi:  # the search's cheapest reaching budget narrows the bracket first
        e = decided(anchor.budget)
        if e.decision == PASS:
            passing, upper = e, anchor.budget
        elif e.decision == FAIL:
            failing = e
        else:
            result.on_level, upper = e, anchor.budget
    lower = failing.policy.budget if failing else lo
    if result.on_level is None:  # a budget on the level ends the search: the level is crossed there
        while upper - lower > s.budget_tol:
            e = decided((upper + lower) / 2)
            if e.decision == PASS:
                passing, upper = e, e.policy.budget
            elif e.decision == FAIL:
                failing, lower = e, e.policy.budget
            else:  # on the level: the level is crossed here, within the precision
                result.on_level = e
                break
    result.chosen, result.below = passing, failing
    return result


def widen_advice(result: OptimizeResult, top: Evaluation, middle: Evaluation) -> list[str]:
    """Which ranges to widen when the level is not reached: the budget if P still rises at the top
    of the range (decided P at the top against the middle of the budget range), the sector weights
    if the allocation sits at their bound, and the levers the search does not move."""
    s = result.settings
    hi = s.budget_range[1]
    rise = top.p - middle.p
    noise = math.hypot(top.estimate.half_width, middle.estimate.half_width)
    out = []
    if rise - noise > 0:
        slope = rise / ((top.policy.budget - middle.policy.budget) / BN)
        out.append(
            f"--budget-max: P still rises at the top of the range ({middle.estimate.text()} at "
            f"{middle.policy.budget / BN:g}, {top.estimate.text()} at {hi / BN:g} bn/yr: {rise:+.2f} +-{noise:.2f}); "
            f"at that rate about {(s.target - top.p) / slope:.0f} bn/yr more would reach {s.target:g}: raise it"
        )
    else:
        out.append(
            f"the budget: P does not detectably rise over the top half of the range ({middle.estimate.text()} at "
            f"{middle.policy.budget / BN:g}, {top.estimate.text()} at {hi / BN:g} bn/yr); more money alone is "
            "unlikely to reach the level"
        )
    anchor = result.anchor
    if anchor is not None and max(anchor.weights) >= 0.9 * s.weight_max:
        out.append(f"--weight-max: the allocation puts a sector weight near its bound {s.weight_max:g}")
    out.append(
        "levers this search does not move (major projects, procurement, talent, approval time): explore them with "
        "etown discover"
    )
    return out


def run_optimize(
    base: Scenario,
    settings: OptimizeSettings,
    *,
    cluster: str | None,
    run_settings: RunSettings,
    executor: Executor | None = None,
    out: Path | None = None,
    fresh: bool = False,
    progress: Any = None,
    on_stage: Callable[[str], None] | None = None,
) -> OptimizeResult:
    """The whole optimisation of `base`'s budget and allocation (cluster None: P(all four))."""
    from ..levers import value_at

    event = oc.p_reach(cluster) if cluster else oc.P_ALL_FOUR
    settings.objective = f"P({cluster or 'all four'} >= 100 bn by {base.end_year})"
    start = Policy(
        settings.budget_range[1],
        base.policy.budget_shares.at(base.end_year),
        tuple(float(value_at(base.clusters.sector_weights[s], base.end_year)) for s in TARGET_SECTORS),
    )
    fingerprint = {
        "scenario": base.model_dump(mode="json"),
        "seed": settings.seed,
        "settings": settings_id(run_settings),
    }
    store = open_store(out, "optimize", fingerprint, fresh)
    with executor or Executor() as ex:
        runner = Runner((event,), settings.seed, ex, store, **hooks(progress))
        result = optimize(Optimizer(base, run_settings, event, runner, settings), start=start, on_stage=on_stage)
    result.scale = run_settings.scale
    return result


# ---------------------------------------------------------------------- outputs
def frontier_chart(result: OptimizeResult) -> Figure:
    """Every evaluation with its 95% interval (search: rough, grey; decisions: coloured by the
    decision), the level, and the verdict's budget marked."""
    s = result.settings
    fig = Figure(figsize=(8, 5.2), layout="constrained")
    ax = fig.add_subplot()
    search = [e for e in result.evaluations if e.stage == SEARCH]
    if search:
        x = [e.policy.budget / BN for e in search]
        y = [e.p for e in search]
        err = np.clip([[e.p - e.estimate.lo for e in search], [e.estimate.hi - e.p for e in search]], 0, None)
        ax.errorbar(
            x,
            y,
            yerr=err,
            fmt="o",
            ms=3,
            color="0.6",
            ecolor="0.8",
            lw=0.6,
            label=f"search ({s.search_runs} runs each)",
        )
    colours = {"reaches": "tab:green", "short": "tab:red", "on_level": "tab:orange", "undecided_cap": "tab:purple"}
    for code, colour in colours.items():
        ev = [e for e in result.decisions() if _code(e) == code]
        if ev:
            err = np.clip([[e.p - e.estimate.lo for e in ev], [e.estimate.hi - e.p for e in ev]], 0, None)
            ax.errorbar(
                [e.policy.budget / BN for e in ev], [e.p for e in ev], yerr=err, fmt="D", ms=6, color=colour,
                capsize=4, label=f"decision: {_word(ev[0].decision, s.target, ev[0].capped)}",
            )  # fmt: skip
    ax.axhline(s.target, color="0.2", ls="--", lw=1, label=f"level {s.target:g} (reached when the 95% CI clears it)")
    answer = result.answer()
    if answer is not None:
        ax.axvline(answer.policy.budget / BN, color="tab:green", lw=0.8, ls=":")
    ax.set_xlabel("special funds, bn yuan/yr")
    ax.set_ylabel(f"{s.objective} (95% CI)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="best", framealpha=0.6)
    verdict = result.verdict()[0]
    ax.set_title(f"{verdict}\nscale {result.scale}, seed {s.seed}", fontsize=9)
    return fig


def write_optimize(result: OptimizeResult, out: Path) -> None:
    """frontier.csv, evaluations.csv, optimize.json and frontier.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    s = result.settings
    write_atomic(out / "frontier.csv", lambda p: result.frontier().to_csv(p, index=False, float_format="%.4g"))
    ev = pd.DataFrame([_row(e) for e in result.evaluations])
    write_atomic(out / "evaluations.csv", lambda p: ev.to_csv(p, index=False, float_format="%.4g"))

    def record(e: Evaluation | None) -> dict[str, Any] | None:
        return None if e is None else _row(e)

    data = {
        "objective": s.objective,
        "target": s.target,
        "decision_level": result.level_text(),
        "seed": s.seed,
        "scale": result.scale,
        "budget_range_bn": [s.budget_range[0] / BN, s.budget_range[1] / BN],
        "trials": s.trials,
        "search_runs": s.search_runs,
        "precision": s.precision,
        "max_runs": s.max_runs,
        "budget_tol_bn": s.budget_tol / BN,
        "reached": result.reached,
        "undecided": result.undecided,
        "verdict": result.verdict(),
        "answer": record(result.answer()),
        "chosen": record(result.chosen),
        "below": record(result.below),
        "on_level": record(result.on_level),
        "best": record(result.best()),
        "advice": result.advice,
        "frontier": result.frontier().to_dict(orient="records"),
    }
    write_json(out / "optimize.json", data, digits=RESULT_DIGITS)
    save_figure(frontier_chart(result), out / "frontier.png")
