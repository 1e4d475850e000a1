"""The vectorised firm rules and the per-agent reference implementation follow the same rules.

benchmarks/reference_model.py re-implements `model.firm_rules.FirmRules` as `PerAgentRules`:
the same four methods behind the same seam, with every firm agent applying the rules to itself
as scalar Python (the idiomatic Mesa way). Two checks:

- exact: with random draws replaced by constants (so that the order in which firms draw does
  not matter), both rule objects take the same model through the same steps to the same state;
- statistical: with real draws, which come in another order, the 2025 outputs of small
  ensembles agree in distribution (two-sample Kolmogorov-Smirnov test).
"""

from __future__ import annotations

import numpy as np
import pytest
from mesa.agentset import AbstractAgentSet
from mesa.experimental.mesa_signals import ModelSignals
from scipy.stats import ks_2samp

from benchmarks.reference_model import PerAgentRules, pick_weighted, reference_model
from model.agents import Firm, create_firms
from model.cluster_model import ClusterModel
from model.firm_rules import FirmRules
from model.population import pick_weighted as pick_weighted_vectorised
from model.scenario import load_scenario
from model.sectors import SECTOR_INDEX, TARGET_SECTORS
from model.state import FIRM_COLUMNS

from .conftest import SCENARIOS, SMALL_SCALE

RUNS = 30
ALPHA = 0.01
KS_SCALE = 0.03
"""Scale of the KS ensembles (900 firms at the start): the reference takes ~0.6 s a run here
(idle machine), so 2 scenarios x 30 runs stay under a minute."""
RULE_STREAMS = ("innovation", "growth", "certify", "vp", "incubation")
"""Streams the firm rules draw from: PerAgentRules's scalar draws, both rules' VP and incubation picks."""
ROW_PURPOSES = ("innovation", "growth", "certify")
"""Per-row draws of FirmRules (ClusterModel.row_draws)."""


class ConstantDraws:
    """Stands in for a NumPy Generator whose every draw is the same number: uniforms `u`,
    unit-variance Laplace shocks `z`, no Poisson events. Vectorised and scalar draws then give
    each firm the same values whatever the order in which firms draw."""

    def __init__(self, u: float, z: float) -> None:
        self.u, self.z = u, z

    def random(self, size: int | None = None) -> float | np.ndarray:
        return self.u if size is None else np.full(size, self.u)

    def laplace(self, loc: float, scale: float, size: int | None = None) -> float | np.ndarray:
        v = loc + scale * np.sqrt(2.0) * self.z
        return v if size is None else np.full(size, v)

    def poisson(self, lam: float, size: int | None = None) -> int | np.ndarray:
        return 0 if size is None else np.zeros(size, dtype=np.int64)


def _with_constant_draws(rules: FirmRules | PerAgentRules, scenario, u: float, z: float) -> ClusterModel:
    model = ClusterModel(scenario, rng=11, scale=SMALL_SCALE, rules=rules)
    for _ in range(6):  # a population with debt, distress, certificates and ramping projects
        model.step()
    const = ConstantDraws(u, z)
    for name in RULE_STREAMS:
        model.streams[name] = const
    row_draws = model.row_draws
    model.row_draws = lambda purpose: const if purpose in ROW_PURPOSES else row_draws(purpose)
    return model


@pytest.mark.parametrize(("u", "z"), [(0.03, 0.4), (0.3, -0.8)])
def test_per_agent_rules_equal_firm_rules_on_the_same_draws(monkeypatch, u: float, z: float) -> None:
    """Both rule objects, given the same draws, leave every firm in the same state, step after
    step (growth, finance, cash flow, exit, innovation, R&D and its yearly spending,
    certificates), and book the same flows; the reference visits every live firm agent once in
    each of the four rules. (No VP or incubation places here: their picks are checked below.)"""
    scenario = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    ours = _with_constant_draws(FirmRules(), scenario, u, z)
    ref = _with_constant_draws(FirmRules(), scenario, u, z)
    ref.rules = PerAgentRules()
    visits: list[tuple[str, int]] = []
    agent_set = type(ref.agents_by_type[Firm])
    shuffle_do = agent_set.shuffle_do

    def spy(self: AbstractAgentSet, method, *args, **kwargs) -> AbstractAgentSet:
        visits.append((getattr(method, "__name__", str(method)), len(self)))
        return shuffle_do(self, method, *args, **kwargs)

    monkeypatch.setattr(agent_set, "shuffle_do", spy)
    exits = innovations = constrained = 0.0
    for _ in range(6):
        live = len(ref.agents_by_type[Firm])
        visits.clear()
        ours.step()
        ref.step()
        assert [n for _, n in visits[:3]] == [live] * 3  # innovate, grow, settle: all firms alive at the start
        assert [name for name, _ in visits] == ["_innovate_firm", "_grow_firm", "_settle_firm", "_certify_firm"]
        assert ours.firms.n == ref.firms.n
        for col in FIRM_COLUMNS:
            np.testing.assert_allclose(
                getattr(ref.firms, col), getattr(ours.firms, col), rtol=1e-9, atol=1e-6, err_msg=col
            )
        for flow in ("credit_granted", "investment", "constrained_firm_quarters", "firm_quarters", "innovations"):
            np.testing.assert_allclose(ref.tally[flow], ours.tally[flow], rtol=1e-9, err_msg=flow)
        exits += ours.tally["exits"]
        innovations += ours.tally["innovations"]
        constrained += ours.tally["constrained_firm_quarters"]
    # the yearly records (two year ends in these steps) agree, including the credit-limit total
    for metric, values in ours.record.zone.items():
        np.testing.assert_allclose(ref.record.zone[metric], values, rtol=1e-9, err_msg=metric)
    np.testing.assert_allclose(ref.record.sector_output, ours.record.sector_output, rtol=1e-9)
    # the comparison exercised the rules: firms innovated, were finance-constrained and left
    assert innovations > 0 and constrained > 0 and exits > 0


def test_scalar_pick_weighted_picks_as_the_vectorised_one() -> None:
    """With distinct weights and equal uniforms both pick the k largest weights; with real draws,
    the scalar version picks in proportion to weight and never a zero weight."""
    weights = [0.0, 3.0, 1.0, 0.0, 5.0, 2.0, 4.0]
    same = ConstantDraws(0.5, 0.0)
    picked = pick_weighted(same, list(range(7)), weights, 3)
    assert sorted(picked) == sorted(pick_weighted_vectorised(same, np.array(weights), 3).tolist()) == [1, 4, 6]
    rng = np.random.default_rng(5)
    counts = np.zeros(7)
    for _ in range(4000):
        for i in pick_weighted(rng, list(range(7)), weights, 1):
            counts[i] += 1
    assert counts[0] == counts[3] == 0
    np.testing.assert_allclose(counts / counts.sum(), np.array(weights) / sum(weights), atol=0.03)


def _outputs_2025(make, scenario, seed: int) -> np.ndarray:
    """[run, sector] output in the last year of RUNS replications."""
    seeds = np.random.SeedSequence(seed).spawn(RUNS)
    return np.array([make(scenario, rng=s, scale=KS_SCALE).run().sector_output[-1] for s in seeds])


@pytest.mark.parametrize("scenario_file", ["baseline.yaml", "five_measures.yaml"])
def test_reference_matches_vectorised_model(scenario_file: str) -> None:
    """Independent seeds for the two ensembles (so that the two samples are independent, as the
    KS test assumes); each of the 5 comparisons must have p > ALPHA."""
    scenario = load_scenario(SCENARIOS / scenario_file).scenario
    ours = _outputs_2025(ClusterModel, scenario, seed=2026)
    ref = _outputs_2025(reference_model, scenario, seed=2027)
    checks = {s: (ours[:, SECTOR_INDEX[s]], ref[:, SECTOR_INDEX[s]]) for s in TARGET_SECTORS}
    checks["total"] = (ours.sum(axis=1), ref.sum(axis=1))
    pvalues = {name: ks_2samp(a, b).pvalue for name, (a, b) in checks.items()}
    rejected = {name: round(p, 5) for name, p in pvalues.items() if p <= ALPHA}
    assert not rejected, f"2025 output differs between ClusterModel and the reference: {rejected}"


def test_bulk_created_agents_are_mesa_agents() -> None:
    """Firms made in bulk are registered like `Firm(model, row)`: ids, sets, removal."""
    model = ClusterModel(rng=3, scale=0.01)
    firms = model.firm_agents
    assert [a.unique_id for a in firms] == list(range(firms[0].unique_id, firms[0].unique_id + len(firms)))
    assert list(model.agents_by_type[Firm]) == firms
    assert all(a.model is model and a.pos is None and a.row == i for i, a in enumerate(firms))
    n = len(model.agents)
    firms[0].remove()
    assert len(model.agents) == n - 1 and firms[0] not in model.agents_by_type[Firm]
    # with an observer of agent additions, the plain Mesa constructor is used and signals fire

    class Observer:
        def __init__(self) -> None:
            self.seen: list = []

        def on_added(self, signal) -> None:
            self.seen.append(signal)

    observer = Observer()
    model.observe("agents", ModelSignals.AGENT_ADDED, observer.on_added)
    rows = model.firms.append(2, sector=np.zeros(2, dtype=np.int8), output=1.0e7)
    new = create_firms(model, rows)
    assert len(observer.seen) == 2 and [a.unique_id for a in new] == [
        model.agent_id_counter - 2,
        model.agent_id_counter - 1,
    ]
