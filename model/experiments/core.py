"""The one experiment core: `evaluate(points, outcomes, replications, executor, store)`.

Every experiment (compare, effects, discover, optimize, sensitivity, uncertainty, the EMA
connector) is a set of **points** (a scenario with its run settings, and the seed stream its
replications draw from) at which the declared **outcomes** (model/outcomes.py) are measured over
some **replications**, run on the one **executor** (local processes or Dask) and kept, block by
block, in the one resumable **store** (model/store.py).

Seeds. Replication r of seed stream s under master seed S is

    stream 0:  SeedSequence(S, spawn_key=(r,))       = `etown run --seed S`'s replication r
    stream s:  SeedSequence([S, s], spawn_key=(r,))  (s >= 1: independent of stream 0 and each other)

Points that share a stream share their random inputs replication by replication (common
random numbers): their *differences* are paired (compare, effects, sensitivity). Points on
different streams are independent: each point's *absolute* probability has its own, independent
error (discover, optimize), so a design is not lucky or unlucky all together.

Runs are grouped in blocks of BLOCK replications (a block is one task and one part), so a
point's first n runs are the same numbers whatever the batching, the workers or an
interruption: asking for more runs later only runs the new blocks.

Precision. `Runner.until` adds replications in rounds: after each round the experiment's rule
says how many runs each point needs (from the half-widths reached so far, `more_runs`); it stops
when no point needs more or the cap (`max_runs`) is reached, and reports which.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import outcomes as oc
from ..ensemble import RunSettings, run_replication
from ..executor import local_pool, run_tasks
from ..outcomes import Outcome
from ..outfolder import parts_name
from ..scenario import Scenario
from ..stats import Estimate, probability
from ..store import PartStore

BLOCK = 10
"""Replications per task and per saved part."""
MIN_GROWTH, MAX_GROWTH = 2.0, 8.0
"""A point that needs more runs gets at least twice and at most eight times the runs it has
(few rounds: each round is a look at the data, and a pool round trip)."""
FRESH_HINT = "give --fresh to discard them, or choose another --out"


SEEDS_PAIRED = (
    "seeds: replication r of every scenario draws the same random inputs (seed stream 0 of seed {seed}, "
    "exactly `etown run --seed {seed}`'s run r), so differences are paired, taken run by run"
)
SEEDS_INDEPENDENT = (
    "seeds: each point draws its own independent replications (seed stream = point number, seed {seed}), "
    "so its P is an absolute probability whose error is independent of the other points'"
)


@dataclass(frozen=True)
class Precision:
    """What an experiment must reach (95% half-widths) and the cap on the runs a point gets."""

    p: float = 0.05  # probabilities and paired differences of probabilities
    output_bn: float = 1.0  # paired differences of output, bn yuan/yr
    max_runs: int = 2000  # replications per point at most

    def describe(self) -> str:
        return (
            f"target: P to +-{self.p:g}, paired output differences to +-{self.output_bn:g} bn (95% half-widths); "
            f"cap {self.max_runs} runs a point"
        )


def run_seed(seed: int, stream: int, run: int) -> np.random.SeedSequence:
    """Replication `run` of seed stream `stream` (see the module docstring)."""
    entropy = seed if stream == 0 else [seed, stream]
    return np.random.SeedSequence(entropy, spawn_key=(run,))


@dataclass(frozen=True)
class Point:
    """What one replication runs: a scenario, its run settings, and its seed stream. `nest`
    (uncertainty only): (parameter draw, baseline draw) of a nested design, whose replication
    k draws its parameters, 2020 outputs and events from three seeds (experiments/uncertainty.py)."""

    scenario: Scenario
    settings: RunSettings = field(default_factory=RunSettings)
    stream: int = 0
    nest: tuple[int, int] | None = None
    label: str = ""

    def fingerprint(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.model_dump(mode="json"),
            "settings": settings_id(self.settings),
            "stream": self.stream,
            "nest": self.nest,
        }


def settings_id(settings: RunSettings) -> dict[str, Any]:
    """Run settings as a small JSON-able record (the parameter source by its digest: a calibrated
    sample is thousands of numbers)."""
    out = asdict(settings)
    out["param_source"] = _digest(repr(settings.param_source))
    return out


@functools.lru_cache(maxsize=64)
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _describe_outcomes(outcomes: Sequence[Outcome]) -> list[list[Any]]:
    return [[o.name, o.source, o.kind, o.year, o.divisor] for o in outcomes]


def block_key(point: Point, outcomes: Sequence[Outcome], seed: int, runs: Sequence[int]) -> str:
    """The part name of a block: a hash of everything that determines its numbers."""
    text = json.dumps(
        [point.fingerprint(), _describe_outcomes(outcomes), seed, list(runs)], sort_keys=True, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32] + ".npy"


def simulate(point: Point, seed: int, run: int) -> Any:
    """One replication's RunRecord."""
    if point.nest is not None:
        from .uncertainty import nested_record

        return nested_record(point.scenario, point.settings, seed, *point.nest, run)
    return run_replication(point.scenario, run_seed(seed, point.stream, run), point.settings)


def run_block(point: Point, outcomes: Sequence[Outcome], seed: int, runs: Sequence[int]) -> np.ndarray:
    """values[run, outcome] of some replications of a point (a task)."""
    end = point.scenario.end_year
    return np.array([oc.values(outcomes, simulate(point, seed, r), end) for r in runs]).reshape(len(runs), -1)


def _save(path: Path, values: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, values, allow_pickle=False)


def _run_block(*args: Any) -> np.ndarray:
    """run_block as looked up when the task runs (so that tests can replace it)."""
    return run_block(*args)


# ---------------------------------------------------------------------- executor
@dataclass
class Executor:
    """The one executor (model/executor.py): `workers` local processes, or a Dask `client`.
    Used as a context manager, a local pool stays open across rounds."""

    workers: int = 1
    client: Any = None
    _pool: ProcessPoolExecutor | None = None
    _stack: contextlib.ExitStack | None = None

    def __enter__(self) -> Executor:
        self._stack = contextlib.ExitStack()
        if self.client is None and self.workers > 1:
            self._pool = self._stack.enter_context(local_pool(self.workers))
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._stack is not None
        self._stack.__exit__(*exc)
        self._pool, self._stack = None, None

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        return run_tasks(fn, tasks, workers=self.workers, client=self.client, pool=self._pool)


# ---------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class Replications:
    """Runs 0..n-1 of each point (`runs`: one count for all, or one per point) under `seed`."""

    seed: int
    runs: int | Sequence[int]

    def counts(self, points: int) -> list[int]:
        return [int(self.runs)] * points if isinstance(self.runs, int) else [int(n) for n in self.runs]


class Runner:
    """Evaluates points, keeping every finished block (in memory, and in `store` if given) so
    that asking for more runs only runs the new ones. progress(runs) as blocks finish (or are
    read back); planned(total) whenever the runs asked for so far grow (a progress bar's total)."""

    def __init__(
        self,
        outcomes: Sequence[Outcome],
        seed: int,
        executor: Executor | None = None,
        store: PartStore | None = None,
        progress: Callable[[int], None] | None = None,
        planned: Callable[[int], None] | None = None,
    ) -> None:
        self.outcomes = tuple(outcomes)
        self.seed = seed
        self.executor = executor or Executor()
        self.store = store
        self.progress = progress
        self.planned = planned
        self._done: dict[str, np.ndarray] = {}
        self._planned: set[str] = set()
        self.runs_planned = 0  # replications asked for so far (distinct)
        self.runs_done = 0  # replications run (not read back) by this runner

    def _blocks(self, n: int) -> list[list[int]]:
        return [list(range(a, min(a + BLOCK, n))) for a in range(0, n, BLOCK)]

    def evaluate(self, points: Sequence[Point], runs: int | Sequence[int]) -> list[np.ndarray]:
        """values[run, outcome] of runs 0..n-1 of each point."""
        counts = Replications(self.seed, runs).counts(len(points))
        plan = [(p, b, block_key(p, self.outcomes, self.seed, b)) for p, n in zip(points, counts, strict=True)
                for b in self._blocks(n)]  # fmt: skip
        new = [(b, key) for _, b, key in plan if key not in self._planned]
        if new:
            self._planned.update(key for _, key in new)
            self.runs_planned += sum(len(b) for b, _ in new)
            if self.planned:
                self.planned(self.runs_planned)
        todo: dict[str, tuple[Point, list[int]]] = {}
        for p, b, key in plan:
            if key in self._done or key in todo:
                continue
            saved = self._saved(key, p, b)
            if saved is not None:
                self._done[key] = saved
                if self.progress:
                    self.progress(len(b))
            else:
                todo[key] = (p, b)
        keys = list(todo)
        tasks = [(todo[k][0], self.outcomes, self.seed, todo[k][1]) for k in keys]
        for i, values in self.executor.map(_run_block, tasks):
            key, (p, b) = keys[i], todo[keys[i]]
            self._done[key] = values
            self.runs_done += len(b)
            if self.store is not None:
                self.store.put(
                    key,
                    lambda path, v=values: _save(path, v),
                    point=p.label,
                    stream=p.stream,
                    seed=self.seed,
                    runs=[b[0], b[-1] + 1],
                )
            if self.progress:
                self.progress(len(b))
        out: list[np.ndarray] = []
        for p, n in zip(points, counts, strict=True):
            keys_p = [block_key(p, self.outcomes, self.seed, b) for b in self._blocks(n)]
            out.append(np.concatenate([self._done[k] for k in keys_p]) if keys_p else np.empty((0, len(self.outcomes))))
        return out

    def _saved(self, key: str, point: Point, runs: list[int]) -> np.ndarray | None:
        """A block read back from the store, after every check (size, checksum, seed, stream,
        run indices, shape); None (computed again, and said so) when it fails one."""
        if self.store is None:
            return None
        path = self.store.get(key, seed=self.seed, stream=point.stream, runs=[runs[0], runs[-1] + 1])
        if path is None:
            return None
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            self.store.reject(key, f"cannot be read: {exc}")
            return None
        if values.shape != (len(runs), len(self.outcomes)):
            self.store.reject(key, f"holds {values.shape}, not {len(runs)} runs x {len(self.outcomes)} outcomes")
            return None
        return values

    def until(
        self,
        points: Sequence[Point],
        needs: Callable[[list[np.ndarray]], Sequence[int]],
        *,
        first: int,
        max_runs: int,
    ) -> Sequential:
        """Rounds of replications: start with `first` runs a point; after each round `needs(values)`
        gives the runs each point should have (its current count when it has enough); stop when
        none needs more or every point that does is at `max_runs`."""
        counts = [min(first, max_runs)] * len(points)
        rounds = 0
        while True:
            values = self.evaluate(points, counts)
            rounds += 1
            wanted = [max(int(w), len(v)) for w, v in zip(needs(values), values, strict=True)]
            capped = [len(v) < w and len(v) >= max_runs for w, v in zip(wanted, values, strict=True)]
            grow = [min(w, max_runs) > len(v) for w, v in zip(wanted, values, strict=True)]
            if not any(grow):
                return Sequential(values, rounds, capped, max_runs)
            counts = [min(w, max_runs) if g else len(v) for w, v, g in zip(wanted, values, grow, strict=True)]


@dataclass
class Sequential:
    """The result of `Runner.until`: values per point, the rounds taken, and which points the
    cap stopped before their target was met."""

    values: list[np.ndarray]
    rounds: int
    capped: list[bool]
    max_runs: int

    @property
    def runs(self) -> list[int]:
        return [len(v) for v in self.values]

    def stop_note(self, what: str = "point") -> str:
        """One sentence: the target was met, or how many points the cap stopped."""
        k = sum(self.capped)
        if not k:
            return f"precision target met ({self.rounds} round(s))"
        return (
            f"the cap stopped {k} {what}(s) at --max-runs {self.max_runs} before the precision target "
            "was met (raise --max-runs for more)"
        )


PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"


def decide(est: Estimate, level: float) -> str:
    """pass / fail when the 95% interval lies at or above / below `level`, else undecided."""
    return PASS if est.above(level) else FAIL if est.below(level) else UNDECIDED


def decision_needs(col: int, level: float, precision: float) -> Callable[[list[np.ndarray]], list[int]]:
    """The rule of a decision against `level` (discover, optimize): a point needs no more runs
    once it is decided or its interval is within +-precision (it lies on the level); else more."""

    def needs(values: list[np.ndarray]) -> list[int]:
        want = []
        for v in values:
            est = probability(v[:, col])
            done = decide(est, level) != UNDECIDED or est.half_width <= precision
            want.append(len(v) if done else more_runs(len(v), est.half_width, precision))
        return want

    return needs


def precision_needs(col: int, precision: float) -> Callable[[list[np.ndarray]], list[int]]:
    """The rule of a probability wanted to +-precision (whatever it is)."""

    def needs(values: list[np.ndarray]) -> list[int]:
        return [more_runs(len(v), probability(v[:, col]).half_width, precision) for v in values]

    return needs


def more_runs(n: int, half_width: float, target: float) -> int:
    """Runs a point needs for `half_width` to reach `target` (half-widths shrink as 1/sqrt(n)),
    at least MIN_GROWTH and at most MAX_GROWTH times `n`, in whole blocks; n if it is there."""
    if not half_width > target:
        return n
    if not math.isfinite(half_width):
        need = MAX_GROWTH * n
    else:
        need = min(max(n * (half_width / target) ** 2 * 1.1, MIN_GROWTH * n), MAX_GROWTH * n)
    return int(math.ceil(need / BLOCK) * BLOCK)


def hooks(bar: Any) -> dict[str, Any]:
    """Runner arguments that drive a progress bar (tqdm): runs done, and the runs planned so far
    as its total (it grows when a round asks for more)."""
    if bar is None:
        return {"progress": None, "planned": None}

    def planned(total: int) -> None:
        bar.total = total
        bar.refresh()

    return {"progress": bar.update, "planned": planned}


def evaluate(
    points: Sequence[Point],
    outcomes: Sequence[Outcome],
    replications: Replications,
    executor: Executor | None = None,
    store: PartStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """values[run, outcome] of each point's replications (see the module docstring)."""
    return Runner(outcomes, replications.seed, executor, store, progress).evaluate(points, replications.runs)


PRESENTATION = {"cli.py", "api.py", "dashboard.py"}
"""Modules that only pass options on or draw: left out of `code_fingerprint`."""


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 of the model's code and data (every file of the package but PRESENTATION): parts
    made by other code are not reused, whatever the version number or commit says."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".yaml")):
        if path.name in PRESENTATION and path.parent == root:
            continue
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def open_store(out: Path | None, kind: str, fingerprint: Any, fresh: bool = False) -> PartStore | None:
    """An experiment's store in `<out>/parts-<kind>` (None without out): the store's manifest rule,
    with the code's fingerprint in the manifest (parts of other code are not reused)."""
    if out is None:
        return None
    return PartStore.open(
        Path(out) / parts_name(kind), kind, {**fingerprint, "code": code_fingerprint()}, fresh=fresh, hint=FRESH_HINT
    )
