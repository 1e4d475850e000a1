"""Shared fixtures: small, fast model configurations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SMALL_SCALE = 0.05  # 1,500 firms: enough for aggregates, fast enough for many runs
CHROMIUM = Path(os.environ.get("ETOWN_CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium, which the browser tests drive with Playwright (no browser download)."""
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test module when Debian's chromium is missing (on CI, fail: `make test`
    installs it with scripts/system_deps.sh)."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} missing: run scripts/system_deps.sh as root", pytrace=False)
    pytest.skip(f"{CHROMIUM} missing (apt-get install chromium)", allow_module_level=True)


ARTIFACTS = Path(os.environ.get("ETOWN_TEST_ARTIFACTS", ROOT / "results" / "test-artifacts"))


@pytest.fixture(scope="session")
def baseline_path() -> Path:
    return SCENARIOS / "baseline.yaml"
