"""The vectorised firm rules and the per-agent reference implementation follow the same rules.

benchmarks/reference_model.py re-implements `model.firm_rules.FirmRules` as `PerAgentRules`:
the same methods behind the same seam, with every firm agent applying the rules to itself as
scalar Python (the idiomatic Mesa way). Two checks:

- exact: with random draws replaced by constants (so that the order in which firms draw does
  not matter), both rule objects take the same model through the same steps to the same state
  (every firm column, the rules' public attributes, the markets, the accounts, the records);
- statistical: with real draws, which come in another order, the 2025 outputs of small
  ensembles agree in distribution (two-sample Kolmogorov-Smirnov test, independent seeds), and
  run by run when both models get the same run inputs (paired test on the log ratios).

Plus the weighted picks of VP and incubation places (scalar against vectorised).
"""

from __future__ import annotations

import numpy as np
import pytest
from mesa.agentset import AbstractAgentSet
from scipy.stats import ks_2samp, ttest_1samp

from benchmarks.reference_model import PerAgentRules, pick_firms, pick_weighted, reference_model
from model.agents import Firm
from model.cluster_model import ClusterModel
from model.firm_rules import FirmRules
from model.firm_rules import pick_firms as pick_firms_vectorised
from model.population import pick_weighted as pick_weighted_vectorised
from model.scenario import load_scenario
from model.sectors import SECTOR_INDEX, TARGET_SECTORS
from model.state import FIRM_COLUMNS

from .conftest import SCENARIOS, SMALL_SCALE

RUNS = 24
ALPHA = 0.01
"""False-alarm rate of each KS test (Bonferroni over its comparisons: four target sectors and the total)."""
KS_SCALE = 0.02
"""Scale of the statistical checks, with at least STAT_MIN_AGENTS agents per sector for the
small firms (about 1,350 firm agents at the start): the per-agent reference takes ~1.7 CPU-s
a run there, so both checks stay under a minute of CPU."""
STAT_MIN_AGENTS = 40
"""`min_sampled_agents` of the statistical checks (the parameter file's 400 would give ~3,500
agents at KS_SCALE and 4x the time; both models draw the same population either way)."""
PAIRED_RUNS = 8
"""Runs of the paired check (same seeds for both models, five measures, scale KS_SCALE)."""
RULE_STREAMS = ("innovation", "growth", "certify", "vp", "incubation")
"""Streams the firm rules draw from: PerAgentRules's scalar draws, both rules' VP and incubation picks."""
ROW_PURPOSES = ("innovation", "growth", "certify")
"""Per-firm draws of FirmRules (ClusterModel.uniforms, ClusterModel.laplace)."""
PUBLIC = ("weight", "young", "desired", "need", "gap", "target", "rate", "limit", "margin", "limit_total")
"""Attributes of the rules the rest of the model reads (funders, records)."""
AGENT_RULES = (
    "_innovate_firm",
    "_shock_firm",
    "_demand_firm",
    "_plan_firm",
    "_invest_firm",
    "_settle_firm",
    "_ramp_firm",
    "_certify_firm",
)
"""The per-agent rules PerAgentRules runs with `shuffle_do` in a step, in order."""


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


def _with_constant_draws(scenario, u: float, z: float) -> ClusterModel:
    """A model stepped 6 times with FirmRules and real draws (a population with debt, distress,
    certificates, equity and ramping plants; five firms in distress given firm orders), then
    given constant draws for the firm rules."""
    model = ClusterModel(scenario, rng=11, scale=SMALL_SCALE, rules=FirmRules())
    for _ in range(6):
        model.step()
    # firms in distress with firm orders (contract demand): they are not closed while the orders run
    f = model.firms
    rows = f.live_rows()
    held = rows[~f.anchor[rows]][:5]
    f.contract[held] = 0.5 * f.output[held]
    f.distress[held] = 100
    const = ConstantDraws(u, z)
    for name in RULE_STREAMS:
        model.streams[name] = const
    uniforms, laplace = model.uniforms, model.laplace
    model.uniforms = lambda purpose, ids: np.full(len(ids), u) if purpose in ROW_PURPOSES else uniforms(purpose, ids)
    model.laplace = lambda purpose, ids: np.full(len(ids), z) if purpose in ROW_PURPOSES else laplace(purpose, ids)
    return model


def _assert_same_state(ref: ClusterModel, ours: ClusterModel) -> None:
    """Every firm column, the rules' public attributes, the markets and the accounts agree."""
    assert ref.firms.n == ours.firms.n
    live = ours.firms.alive  # rows of closed firms (zeroed, awaiting compaction) are never read
    np.testing.assert_array_equal(ref.firms.alive, live)
    for col in FIRM_COLUMNS:
        a, b = getattr(ref.firms, col)[live], getattr(ours.firms, col)[live]
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6, err_msg=col)
    open_ = ours.rules.weight > 0  # rows of firms open at the step's `compete` (before compaction)
    for name in PUBLIC:
        a, b = np.asarray(getattr(ref.rules, name)), np.asarray(getattr(ours.rules, name))
        if a.ndim:
            a, b = a[open_], b[open_]
        np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(ref.markets.market, ours.markets.market, rtol=1e-12)
    a, b = ref.accounts, ours.accounts
    np.testing.assert_allclose(a.flows, b.flows, rtol=1e-9, atol=1e-3, err_msg="accounts: flows")
    np.testing.assert_allclose(a.balance, b.balance, rtol=1e-9, atol=1.0, err_msg="accounts: balances")
    np.testing.assert_allclose([a.loans, a.written_off], [b.loans, b.written_off], rtol=1e-9)
    for flow, value in ours.tally.items():
        np.testing.assert_allclose(ref.tally[flow], value, rtol=1e-9, atol=1e-6, err_msg=flow)


@pytest.mark.parametrize(("u", "z"), [(0.03, 0.4), (0.3, -0.8)])
def test_per_agent_rules_equal_firm_rules_on_the_same_draws(monkeypatch, u: float, z: float) -> None:
    """Both rule objects, given the same draws, leave every firm in the same state, step after
    step (demand shares, capacity and its finance, sales, cash flow, exit, innovation, R&D,
    certificates, plants joining their markets), publish the same plans and book the same
    payments; the reference visits every live firm agent once in each of its per-agent rules.
    (No VP or incubation places here: their picks are checked below.)"""
    scenario = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    ours = _with_constant_draws(scenario, u, z)
    ref = _with_constant_draws(scenario, u, z)
    ref.rules = PerAgentRules()
    visits: list[tuple[str, int]] = []
    agent_set = type(ref.agents_by_type[Firm])
    shuffle_do = agent_set.shuffle_do

    def spy(self: AbstractAgentSet, method, *args, **kwargs) -> AbstractAgentSet:
        visits.append((getattr(method, "__name__", str(method)), len(self)))
        return shuffle_do(self, method, *args, **kwargs)

    monkeypatch.setattr(agent_set, "shuffle_do", spy)
    seen = dict.fromkeys(("exits", "innovations", "constrained_firm_quarters", "equity_deals", "unserved_demand"), 0.0)
    joined = 0
    for _ in range(6):
        live = len(ref.agents_by_type[Firm])
        ramping = int((ref.firms.ramp_left == 1).sum())
        visits.clear()
        ours.step()
        ref.step()
        assert [name for name, _ in visits] == list(AGENT_RULES)
        assert [n for _, n in visits[:6]] == [live] * 6  # innovate .. settle: all firms alive at the start
        assert visits[-1][1] == len(ref.agents_by_type[Firm])  # certify: after exits, projects and entry
        _assert_same_state(ref, ours)
        for flow in seen:
            seen[flow] += ours.tally[flow]
        joined += ramping
    # the yearly records (two year ends in these steps) agree, including the credit-limit total
    for metric, values in ours.record.zone.items():
        np.testing.assert_allclose(ref.record.zone[metric], values, rtol=1e-9, err_msg=metric)
    np.testing.assert_allclose(ref.record.sector_output, ours.record.sector_output, rtol=1e-9)
    # the comparison exercised the rules: firms innovated, were finance-constrained, took equity
    # for their financing gap, could not serve all their customers and left; a plant reached full ramp
    assert all(v > 0 for v in seen.values()) and joined > 0, (seen, joined)


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


PER_FIRM = [0.0, 2.5, 1.2, 0.9, 3.1, 0.5, 1.4]
AGENT_WEIGHT = [1.0, 1.0, 3.0, 2.0, 1.0, 4.0, 1.0]
"""Per-firm x agent weight: 0, 2.5, 3.6, 1.8, 3.1, 2.0, 1.4 (distinct, so the key order is clear)."""


def test_scalar_pick_firms_picks_as_the_vectorised_one() -> None:
    """With equal uniforms both take agents in order of per-firm weight x agent weight (2, 4, 1,
    5, ...; firms 3, 4, 5, 9, ...) until the firms reach the number asked for, the agent that
    passes it kept with the probability that keeps the expected count exact (6 firms: agent 5
    with probability 1/4, so for uniforms 0.2 and not 0.5); with real draws each agent is picked
    with probability n_firms x per_firm / sum(per_firm x agent_weight) (each firm in proportion
    to per_firm) and the expected number of firms picked is n_firms."""
    agents = list(range(len(PER_FIRM)))
    for u, expected in ((0.2, [1, 2, 4, 5]), (0.5, [1, 2, 4])):
        same = ConstantDraws(u, 0.0)
        scalar = pick_firms(same, agents, PER_FIRM, AGENT_WEIGHT, 6)
        vectorised = pick_firms_vectorised(same, np.array(PER_FIRM), np.array(AGENT_WEIGHT), 6)
        assert sorted(scalar) == sorted(vectorised.tolist()) == expected
    rng = np.random.default_rng(8)
    n_draws, n_firms = 20_000, 1
    counts, firms = np.zeros(len(agents)), 0.0
    for _ in range(n_draws):
        for i in pick_firms(rng, agents, PER_FIRM, AGENT_WEIGHT, n_firms):
            counts[i] += 1
            firms += AGENT_WEIGHT[i]
    share = n_firms * np.array(PER_FIRM) / float(np.dot(PER_FIRM, AGENT_WEIGHT))
    np.testing.assert_allclose(counts / n_draws, share, atol=0.01)
    assert firms / n_draws == pytest.approx(n_firms, abs=0.05)


def test_vectorised_pick_firms_takes_candidates_in_key_order() -> None:
    """With equal uniforms the keys order the candidates by weight: picking 10 of 1,000
    one-firm agents must take the 10 largest weights, as the scalar twin does. (Regression:
    population.pick_weighted returned its picks in argpartition order, so FirmRules.pick_firms
    and GuidanceFund.invest, which walk them in order, did not draw in proportion to weights
    once there were more than a few dozen candidates.)"""
    per_firm = np.random.default_rng(0).permutation(np.arange(1, 1001)).astype(float)
    same = ConstantDraws(0.5, 0.0)
    largest = sorted(np.argsort(-per_firm)[:10].tolist())
    assert sorted(pick_firms(same, list(range(1000)), per_firm.tolist(), [1.0] * 1000, 10)) == largest
    assert sorted(pick_firms_vectorised(same, per_firm, np.ones(1000), 10).tolist()) == largest


@pytest.fixture
def small_population(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both models draw their start population with STAT_MIN_AGENTS small-firm agents per sector."""
    import model.cluster_model
    import model.params

    pop = {**model.params.population_assumptions(), "min_sampled_agents": float(STAT_MIN_AGENTS)}
    for module in (model.params, model.cluster_model):
        monkeypatch.setattr(module, "population_assumptions", lambda: pop)


def _outputs_2025(make, scenario, seed: int) -> np.ndarray:
    """[run, sector] output in the last year of RUNS replications."""
    seeds = np.random.SeedSequence(seed).spawn(RUNS)
    return np.array([make(scenario, rng=s, scale=KS_SCALE).run().sector_output[-1] for s in seeds])


@pytest.mark.usefixtures("small_population")
def test_reference_matches_vectorised_model() -> None:
    """Independent seeds for the two ensembles (so that the two samples are independent, as the
    KS test assumes); each of the 5 comparisons must have p > ALPHA / 5. Five measures: every
    instrument of the baseline acts there too, most of them harder."""
    scenario = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    ours = _outputs_2025(ClusterModel, scenario, seed=2026)
    ref = _outputs_2025(reference_model, scenario, seed=2027)
    checks = {s: (ours[:, SECTOR_INDEX[s]], ref[:, SECTOR_INDEX[s]]) for s in TARGET_SECTORS}
    checks["total"] = (ours.sum(axis=1), ref.sum(axis=1))
    pvalues = {name: ks_2samp(a, b).pvalue for name, (a, b) in checks.items()}
    rejected = {name: round(p, 5) for name, p in pvalues.items() if p <= ALPHA / len(checks)}
    assert not rejected, f"2025 output differs between ClusterModel and the reference: {rejected}"


@pytest.mark.usefixtures("small_population")
def test_reference_matches_vectorised_model_run_by_run() -> None:
    """Paired: with the same seeds both models get the same run inputs (parameters, shocks,
    start population, project pipeline), so only the order of the firm-rule draws differs;
    the 2025 output of each target sector and the total, as log ratios reference / ours run by
    run, must have mean 0 (paired t-test, p > ALPHA / 5). Far more sensitive than the KS test,
    whose samples differ in their inputs too (a 1-2% bias shows here; the KS test needs ~10%)."""
    scenario = load_scenario(SCENARIOS / "five_measures.yaml").scenario
    seeds = np.random.SeedSequence(2028).spawn(PAIRED_RUNS)
    ours = np.array([ClusterModel(scenario, rng=s, scale=KS_SCALE).run().sector_output[-1] for s in seeds])
    ref = np.array([reference_model(scenario, rng=s, scale=KS_SCALE).run().sector_output[-1] for s in seeds])
    ratios = {s: np.log(ref[:, SECTOR_INDEX[s]] / ours[:, SECTOR_INDEX[s]]) for s in TARGET_SECTORS}
    ratios["total"] = np.log(ref.sum(axis=1) / ours.sum(axis=1))
    pvalues = {name: ttest_1samp(r, 0.0).pvalue for name, r in ratios.items()}
    rejected = {
        name: (round(float(ratios[name].mean()), 4), round(p, 5)) for name, p in pvalues.items() if p <= ALPHA / 5
    }
    assert not rejected, f"2025 output differs between ClusterModel and the reference (mean log ratio, p): {rejected}"
