"""The calibrated-parameter file (model/data/calibrated.yaml): read it if it exists."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

CALIBRATED_FILE = "calibrated.yaml"


def load_calibrated() -> dict[str, Any] | None:
    """The calibrated file's content, or None before the model has been calibrated."""
    path = resources.files("model.data").joinpath(CALIBRATED_FILE)
    if not path.is_file():
        return None
    return yaml.safe_load(path.read_text())


def calibrated_point() -> dict[str, float]:
    """Point estimate of the calibrated parameters ({} if not calibrated)."""
    content = load_calibrated()
    return {} if content is None else {k: float(v) for k, v in content["point"].items()}
