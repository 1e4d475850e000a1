"""Mesa's public API only: model code touches no underscore attribute of a Mesa object, and the
firm and cohort agents (views created on demand, agents.py) are what `model.agents` yields."""

from __future__ import annotations

import re
from pathlib import Path

import mesa
import mesa.agentset as agentset_module
import numpy as np
from mesa.agentset import AgentSet

from model.agents import Firm, TalentCohort
from model.cluster_model import ClusterModel

MODEL_DIR = Path(__file__).resolve().parents[1] / "model"


def _mesa_private_names() -> set[str]:
    """Underscore names Mesa defines on its Model, Agent and AgentSet classes and sets on a model
    instance (what changes between releases)."""
    names: set[str] = set()
    for cls in (mesa.Model, mesa.Agent, AgentSet):
        names |= {n for n in dir(cls) if n.startswith("_") and not n.startswith("__")}
    names |= {n for n in vars(mesa.Model(rng=0)) if n.startswith("_") and not n.startswith("__")}
    names |= {n for n in vars(agentset_module) if n.startswith("_") and not n.startswith("__")}
    return names


def test_model_code_touches_no_private_mesa_attribute() -> None:
    names = _mesa_private_names()
    assert {"_all_agents", "_agents_by_type", "_HardKeyAgentSet"} <= names  # the check knows what to look for
    hits = []
    for path in sorted(MODEL_DIR.rglob("*.py")):
        text = path.read_text()
        for name in names:
            for match in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(name)}\b", text):
                line = text.count("\n", 0, match.start()) + 1
                hits.append(f"{path.relative_to(MODEL_DIR.parent)}:{line}: {name}")
    assert not hits, "model code uses Mesa internals:\n" + "\n".join(hits)


def test_agents_yield_every_living_firm_and_cohort_with_their_attributes() -> None:
    m = ClusterModel(rng=4, scale=0.05)
    for _ in range(6):
        m.step()
    f, c = m.firms, m.cohorts
    firms = m.agents_by_type[Firm]
    assert len(firms) == int(f.alive.sum()) > 0
    assert sorted(a.member_id for a in firms) == sorted(f.id[f.alive].tolist())
    sample = list(firms)[:: max(len(firms) // 50, 1)]
    for a in sample:
        row = int(f.rows_of(a.member_id))
        assert (a.output, a.cash, a.weight, a.sector_index) == (
            f.output[row].item(),
            f.cash[row].item(),
            f.weight[row].item(),
            f.sector[row].item(),
        )
    assert len(m.agents_by_type[TalentCohort]) == int(c.alive.sum())
    everyone = m.agents
    assert len(everyone) == len(firms) + len(m.agents_by_type[TalentCohort]) + 4  # + government, fund, bank, office
    assert len({a.unique_id for a in everyone}) == len(everyone)
    # Mesa's AgentSet operations work on them; removing a firm closes it
    total = sum(firms.get("output"))
    assert total == np.sum(f.output[f.alive])
    n, gone = len(firms), sample[0]
    gone.remove()
    assert int(f.rows_of(gone.member_id)) == -1 and len(m.agents_by_type[Firm]) == n - 1
