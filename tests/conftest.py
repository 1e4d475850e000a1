"""Shared fixtures: small, fast model configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SMALL_SCALE = 0.05  # 1,500 firms: enough for aggregates, fast enough for many runs


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return SCENARIOS / "baseline.yaml"
