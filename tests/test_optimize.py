"""`etown optimize` (issues 9, 15): on the stand-in model with known P (tests/standin.py: P =
special funds / 30 bn, whatever the allocation), through the experiment core, the search brackets
the known cheapest budget between a budget decided short and one decided to reach the level
(95% intervals on either side), under two seeds that agree; the verdict, the table and the chart
come from the same decided estimates; an unreachable level says the best P found and what to
widen; a tiny run of the command writes its files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model.cli import app
from model.ensemble import RunSettings
from model.experiments.optimize import OptimizeSettings, normalised, run_optimize
from model.scenario import Scenario

from .standin import true_p, use_standin

pytest.importorskip("optuna")
BN = 1e9


def _run(target: float, top_bn: float, seed: int, max_runs: int = 2000, trials: int = 8, search_runs: int = 20):
    cfg = OptimizeSettings(
        target=target,
        budget_range=(0.0, top_bn * BN),
        seed=seed,
        trials=trials,
        search_runs=search_runs,
        max_runs=max_runs,
    )
    return run_optimize(Scenario(name="base"), cfg, cluster="biotech", run_settings=RunSettings(scale=0.01))


@pytest.mark.parametrize("seed", [3, 4])
def test_brackets_the_known_cheapest_budget(monkeypatch, seed: int) -> None:
    use_standin(monkeypatch)
    res = _run(0.6, 30, seed)  # P >= 0.6 from 18 bn/yr
    assert res.reached and not res.undecided
    found = res.answer().policy.budget / BN
    assert 16.0 <= found <= 20.5  # the two seeds agree on 18 bn/yr, within the precision asked
    if res.chosen is not None:
        assert res.chosen.estimate.lo >= 0.6 and true_p(res.chosen.policy.budget / BN) >= 0.6 - 0.05
    if res.below is not None:
        assert res.below.estimate.hi < 0.6 and true_p(res.below.policy.budget / BN) < 0.6 + 0.05
    for e in res.decisions():  # every decision reached its precision or was decided
        assert e.decision != "undecided" or e.estimate.half_width <= 0.05
    text = res.format()
    assert "decision level" in text and "95% interval" in text and ("REACHED" in text or "ON THE LEVEL" in text)
    assert "NOT REACHED" not in text


def test_unreachable_level_says_best_p_and_what_to_widen(monkeypatch) -> None:
    use_standin(monkeypatch)
    res = _run(0.6, 15, seed=1, trials=24, search_runs=40)  # at most P = 1/2, rising with the budget
    assert not res.reached and res.chosen is None
    best = res.best()
    assert best.estimate.lo <= true_p(15) <= best.estimate.hi and best.policy.budget == 15 * BN
    text = res.format()
    assert "NOT REACHED within 15 bn/yr: best P found" in text and "widen: --budget-max: P still rises" in text


def test_cap_is_said_plainly(monkeypatch) -> None:
    use_standin(monkeypatch)
    res = _run(1 / 3, 10, seed=2, max_runs=40)  # the top budget lies exactly on the level
    assert res.undecided and "the cap (--max-runs 40) stopped it" in res.format()


def test_normalised_shares_sum_to_one() -> None:
    for raw in ([0.2, 0.1, 0, 0, 0.3, 0.9], [0, 0, 0, 0, 0, 0], [1 / 3] * 6):
        s = normalised(raw)
        assert len(s) == 6 and min(s) >= 0 and abs(sum(s) - 1) < 1e-9


def test_cli_optimize_tiny(tmp_path: Path) -> None:
    out = tmp_path / "opt"
    args = ["optimize", "--trials", "2", "--search-runs", "2", "--max-runs", "10", "--scale", "0.01"]
    result = CliRunner().invoke(app, [*args, "--target", "0.3", "--cluster", "ngit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "decided budgets" in result.stdout and "decision level" in result.stdout
    data = json.loads((out / "optimize.json").read_text())
    assert data["objective"].startswith("P(ngit") and data["frontier"] and data["verdict"]
    ev = pd.read_csv(out / "evaluations.csv")
    assert len(ev) >= 3 and {"p_lo", "p_hi", "runs", "decision"} <= set(ev.columns)
    assert (out / "frontier.png").is_file()
    bad = CliRunner().invoke(app, ["optimize", "--cluster", "auto", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--cluster" in bad.stderr and not (tmp_path / "bad").exists()
