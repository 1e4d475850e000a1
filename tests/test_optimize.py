"""`etown optimize` (issue 9): on a cheap stand-in for the model, whose probability is known,
the search finds the known minimum budget (within the noise), confirms it on fresh seeds and
reports the frontier; an unreachable level is reported as such; a tiny run of the command
writes its files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.experiments.optimize import CONFIRM_SEED_OFFSET, Policy, normalised, optimize
from model.mechanisms.funding import INSTRUMENTS

pytest.importorskip("optuna")
PS = INSTRUMENTS.index("project_support")


def probability(p: Policy) -> float:
    """Known: P rises with the budget and with the project-support share; 0.6 needs 6 bn/yr
    with everything on project support (and 12 bn/yr with none on it)."""
    return min(1.0, p.budget / 1e10 * (0.5 + 0.5 * p.shares[PS]))


def stand_in(policies: list[Policy], seed: int, runs: list[int]) -> list[np.ndarray]:
    u = np.array([np.random.default_rng([seed, r]).random() for r in runs])  # one draw per (seed, run): CRN
    return [(u < probability(p)).astype(float) for p in policies]


def test_finds_the_known_minimum_and_confirms_it() -> None:
    calls: list[int] = []

    def counted(policies, seed, runs):
        calls.append(seed)
        return stand_in(policies, seed, runs)

    res = optimize(counted, target=0.6, budget_range=(0.0, 3e10), seed=3, replications=400, trials=60, confirm_runs=400)
    assert res.chosen is not None and res.confirmed
    assert 5.4e9 <= res.chosen.budget <= 9e9  # the known minimum is 6 bn/yr
    assert res.chosen.shares[PS] >= 0.4  # the cheap allocation leans on project support
    assert abs(sum(res.chosen.shares) - 1.0) < 1e-9
    assert res.confirmed_p >= 0.6 and 3 + CONFIRM_SEED_OFFSET in calls  # confirmed on other seeds
    f = res.frontier()
    assert (np.diff(f["p"]) > 0).all() and (np.diff(f["budget_bn"]) >= 0).all()


def test_unreachable_level_is_reported() -> None:
    res = optimize(stand_in, target=0.9, budget_range=(0.0, 5e9), seed=1, replications=50, trials=8, confirm_runs=50)
    assert res.chosen is None and "not reached" in res.format()


def test_normalised_shares_sum_to_one() -> None:
    for raw in ([0.2, 0.1, 0, 0, 0.3, 0.9], [0, 0, 0, 0, 0, 0], [1 / 3] * 6):
        s = normalised(raw)
        assert len(s) == 6 and min(s) >= 0 and abs(sum(s) - 1) < 1e-9


def test_cli_optimize_tiny(tmp_path: Path) -> None:
    out = tmp_path / "opt"
    args = ["optimize", "--trials", "2", "--replications", "2", "--confirm-runs", "2", "--scale", "0.01"]
    result = CliRunner().invoke(app, [*args, "--target", "0.3", "--cluster", "ngit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "frontier" in result.stdout
    data = json.loads((out / "optimize.json").read_text())
    assert data["objective"].startswith("P(ngit") and data["frontier"]
    assert len(pd.read_csv(out / "evaluations.csv")) >= 2 and (out / "frontier.png").is_file()
    bad = CliRunner().invoke(app, ["optimize", "--cluster", "auto", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--cluster" in bad.stderr and not (tmp_path / "bad").exists()
