"""The vectorised model and the per-agent reference implementation follow the same rules.

benchmarks/reference_model.py re-implements the firm-level step rules of ClusterModel as
scalar Python in each agent's step (the idiomatic Mesa way). Both draw from `model.rng` but
in a different order, so their results agree in distribution, not bit for bit: a two-sample
Kolmogorov-Smirnov test on 2025 outputs of small ensembles must not reject equality.
"""

from __future__ import annotations

import numpy as np
import pytest
from mesa.experimental.mesa_signals import ModelSignals
from scipy.stats import ks_2samp

from benchmarks.reference_model import ReferenceModel, RefFirm
from model.agents import Firm, create_firms
from model.cluster_model import ClusterModel
from model.scenario import load_scenario
from model.sectors import SECTOR_INDEX, TARGET_SECTORS

from .conftest import SCENARIOS, SMALL_SCALE

RUNS = 30
ALPHA = 0.01


def _outputs_2025(cls: type[ClusterModel], scenario, seed: int) -> np.ndarray:
    """[run, sector] output in the last year of RUNS replications."""
    seeds = np.random.SeedSequence(seed).spawn(RUNS)
    return np.array([cls(scenario, rng=s, scale=SMALL_SCALE).run().sector_output[-1] for s in seeds])


@pytest.mark.parametrize("scenario_file", ["baseline.yaml", "five_measures.yaml"])
def test_reference_matches_vectorised_model(scenario_file: str) -> None:
    scenario = load_scenario(SCENARIOS / scenario_file).scenario
    ours = _outputs_2025(ClusterModel, scenario, seed=2026)
    ref = _outputs_2025(ReferenceModel, scenario, seed=2027)
    checks = {s: (ours[:, SECTOR_INDEX[s]], ref[:, SECTOR_INDEX[s]]) for s in TARGET_SECTORS}
    checks["total"] = (ours.sum(axis=1), ref.sum(axis=1))
    pvalues = {name: ks_2samp(a, b).pvalue for name, (a, b) in checks.items()}
    rejected = {name: round(p, 5) for name, p in pvalues.items() if p <= ALPHA}
    assert not rejected, f"2025 output differs between ClusterModel and the reference: {rejected}"


def test_reference_firms_are_per_agent() -> None:
    """The reference keeps firm state on its agents (the column store stays empty)."""
    model = ReferenceModel(rng=1, scale=0.01)
    firms = model.agents_by_type[RefFirm]
    assert model.firms.n == 0 and len(firms) > 0
    total = sum(a.output for a in firms)
    np.testing.assert_allclose(total, model.start.sector_output.sum(), rtol=1e-9)
    model.step()
    assert model.quarter == 1


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
