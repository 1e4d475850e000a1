"""The calibrated-parameter file (model/data/calibrated.yaml): read it if it exists."""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

from ..data import yaml_load
from ..inputs import ParamRows, ParamSource

CALIBRATED_FILE = "calibrated.yaml"


def _calibrated_path() -> Any:
    return resources.files("model.data").joinpath(CALIBRATED_FILE)


@cache
def _parse(text: str) -> dict[str, Any]:
    return yaml_load(text)  # type: ignore[return-value]


def _content() -> dict[str, Any] | None:
    """The calibrated file's parsed content, shared (read-only: callers copy what they keep),
    or None. Parsing is cached by content: a model built per replication parses it once."""
    path = _calibrated_path()
    if not path.is_file():
        return None
    return _parse(path.read_text())


def load_calibrated() -> dict[str, Any] | None:
    """The calibrated file's content (a fresh copy), or None before the model has been
    calibrated."""
    content = _content()
    return None if content is None else copy.deepcopy(content)


def made_with(content: dict[str, Any], parameters_sha256: str) -> bool:
    """Whether a calibrated file fits the parameter file with this SHA-256: the one it was made
    with, or a later one listed under `provenance.parameters_amended` (a change checked to leave
    the history runs, and so the posterior, unchanged; each entry says what and how)."""
    prov = content.get("provenance", {})
    amended = [a.get("parameters_sha256") for a in prov.get("parameters_amended", [])]
    return parameters_sha256 == prov.get("parameters_sha256") or parameters_sha256 in amended


def calibrated_point() -> dict[str, float]:
    """Point estimate of the calibrated parameters ({} if not calibrated)."""
    content = _content()
    return {} if content is None else {k: float(v) for k, v in content["point"].items()}


def calibrated_sample() -> ParamRows:
    """The calibrated (posterior) draws as full rows of the calibrated parameters, or ()."""
    content = _content()
    if content is None or not content.get("sample", {}).get("draws"):
        return ()
    point = {k: float(v) for k, v in content["point"].items()}
    return tuple(
        tuple(sorted({**point, **{k: float(v) for k, v in d.items()}}.items())) for d in content["sample"]["draws"]
    )


def default_source() -> ParamSource:
    """Where ensemble replications take their parameters by default: a posterior draw of the
    calibrated parameters (when calibrated) and prior draws of all the others."""
    return ParamSource(posterior=calibrated_sample(), prior_for_rest=True)


def point_source() -> ParamSource:
    """The calibrated point (or the defaults) for every replication."""
    return ParamSource(fixed=None, posterior=(), prior_for_rest=False)
