"""The calibrated-parameter file (model/data/calibrated.yaml): read it if it exists."""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from ..data import yaml_load

CALIBRATED_FILE = "calibrated.yaml"


def _calibrated_path() -> Any:
    return resources.files("model.data").joinpath(CALIBRATED_FILE)


@cache
def _parse(text: str) -> dict[str, Any]:
    return yaml_load(text)  # type: ignore[return-value]


def load_calibrated() -> dict[str, Any] | None:
    """The calibrated file's content (a fresh copy), or None before the model has been
    calibrated. Parsing is cached by content: a model built per replication reads it once."""
    path = _calibrated_path()
    if not path.is_file():
        return None
    return copy.deepcopy(_parse(path.read_text()))


def calibrated_point() -> dict[str, float]:
    """Point estimate of the calibrated parameters ({} if not calibrated)."""
    content = load_calibrated()
    return {} if content is None else {k: float(v) for k, v in content["point"].items()}


ParamSample = tuple[tuple[tuple[str, float], ...], ...]
"""Calibrated parameter draws in a hashable, picklable form: one tuple of (name, value) per draw."""

PARAM_DRAW_KEY = 2**32 - 1
"""Spawn-key suffix of a replication's parameter-draw seed (never used by ordinary spawning)."""


def calibrated_sample() -> ParamSample | None:
    """The calibrated sample as full parameter vectors (point values filled in), or None."""
    content = load_calibrated()
    if content is None or not content.get("sample", {}).get("draws"):
        return None
    point = {k: float(v) for k, v in content["point"].items()}
    return tuple(
        tuple(sorted({**point, **{k: float(v) for k, v in d.items()}}.items())) for d in content["sample"]["draws"]
    )


def param_draw_seed(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """The seed of a replication's parameter draw: a child of the replication's own seed that
    does not touch its spawn counter, so the draw is the same whoever runs the replication."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, PARAM_DRAW_KEY))


def draw_from_sample(sample: ParamSample, seed: np.random.SeedSequence) -> dict[str, float]:
    """One draw of the calibrated sample, chosen deterministically from the replication's seed."""
    k = int(np.random.default_rng(param_draw_seed(seed)).integers(len(sample)))
    return dict(sample[k])
