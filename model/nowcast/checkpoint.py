"""Checkpoint a ClusterModel mid-run and restore it: as it was, or with a future of its own.

`checkpoint(model)` pickles the whole model (agents, column stores, ledgers, the project
pipeline ...) and keeps the state of every random generator it holds apart; `restore(cp)`
rebuilds it, and the run continues exactly as it would have without the pause (the path after
the checkpoint continues with the run's own random streams). `restore(cp, branch=seed)` instead
gives every generator a fresh stream from `seed` and redraws the run's sector demand shocks of
the years not yet begun: the past up to the checkpoint is kept, the future is a new draw. That is
how duplicated runs of an assimilated ensemble get futures of their own (model/nowcast/smc.py).

Nothing here knows the model's attributes except two that are not generators but carry
randomness: `_row_entropy` (the seed of the per-firm draws, ClusterModel.uniforms) and the
yearly shocks in `inputs.shocks` (drawn before the run, model/inputs.py).
"""

from __future__ import annotations

import io
import pickle
import random
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..cluster_model import ClusterModel
from ..inputs import SHOCK_HORIZON, sector_price_growth
from ..mechanisms.demand import sector_shocks

BRANCH_SHOCKS = 2**31 - 1
"""Spawn-key suffix of a branch's stream that redraws the future sector shocks (generators of
the model take the suffixes 0, 1, 2, ... in the order they are met)."""


@dataclass(frozen=True)
class Checkpoint:
    """A pickled model and the states of its random generators (in the order they are met)."""

    data: bytes
    generators: tuple[tuple[str, Any], ...]
    quarter: int


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.states: list[tuple[str, Any]] = []
        self.seen: dict[int, int] = {}

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, np.random.Generator):
            state = ("numpy", (type(obj.bit_generator).__name__, obj.bit_generator.state))
        elif isinstance(obj, random.Random):
            state = ("python", obj.getstate())
        else:
            return None
        key = id(obj)
        if key not in self.seen:  # a generator shared by several holders stays one generator
            self.seen[key] = len(self.states)
            self.states.append(state)
        return self.seen[key]


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, states: tuple[tuple[str, Any], ...], branch: np.random.SeedSequence | None):
        super().__init__(file)
        self.states, self.branch = states, branch
        self.made: dict[int, Any] = {}

    def persistent_load(self, pid: Any) -> Any:
        if pid not in self.made:
            kind, state = self.states[pid]
            if self.branch is None:
                self.made[pid] = _rebuild(kind, state)
            else:
                seed = np.random.SeedSequence(self.branch.entropy, spawn_key=(*self.branch.spawn_key, pid))
                if kind == "numpy":
                    self.made[pid] = np.random.default_rng(seed)
                else:
                    self.made[pid] = random.Random(int(seed.generate_state(2, np.uint64)[0]))
        return self.made[pid]


def _rebuild(kind: str, state: Any) -> Any:
    if kind == "python":
        r = random.Random()
        r.setstate(state)
        return r
    name, bit_state = state
    bits = getattr(np.random, name)()
    bits.state = bit_state
    return np.random.Generator(bits)


def checkpoint(model: ClusterModel) -> Checkpoint:
    """The model's whole state now (between two steps)."""
    buf = io.BytesIO()
    p = _Pickler(buf)
    p.dump(model)
    return Checkpoint(buf.getvalue(), tuple(p.states), model.step_count)


def restore(cp: Checkpoint, branch: np.random.SeedSequence | None = None) -> ClusterModel:
    """The model as checkpointed. With `branch`, its future is a new draw from that seed: every
    random generator restarts from a child of `branch`, the per-firm draws get a new seed and the
    sector demand shocks and price paths of the years not begun at the checkpoint are redrawn
    (from the run's own distributions); the past is kept."""
    model: ClusterModel = _Unpickler(io.BytesIO(cp.data), cp.generators, branch).load()
    if branch is not None:
        rng = np.random.default_rng(
            np.random.SeedSequence(branch.entropy, spawn_key=(*branch.spawn_key, BRANCH_SHOCKS))
        )
        model._row_entropy = int(rng.integers(2**63))
        inputs, p = model.inputs, model.params
        begun = -(-model.step_count // model.steps_per_year)  # years of the projection with a step done
        if model.policy_scenario.uncertainties.sector_shocks:
            fresh = sector_shocks(rng, SHOCK_HORIZON, p.shock_sd(), p.shock_common_share)
            shocks = inputs.shocks.copy()
            shocks[begun:] = fresh[: shocks.shape[0] - begun]
            # the price paths of the years not begun: trends plus a fresh common shock
            common = p.price_shock_sd * rng.standard_normal(SHOCK_HORIZON)
            prices, cpi = sector_price_growth(model.start.year, p, common)
            price_growth, cpi_growth = inputs.price_growth.copy(), inputs.cpi_growth.copy()
            price_growth[begun:], cpi_growth[begun:] = prices[begun:], cpi[begun:]
            model.inputs = replace(inputs, shocks=shocks, price_growth=price_growth, cpi_growth=cpi_growth)
    return model


def run_from(model: ClusterModel, until: int | None = None) -> ClusterModel:
    """Step `model` to step `until` (default: its end); returns it."""
    stop = model.n_steps if until is None else until
    while model.step_count < stop:
        model.step()
    return model
