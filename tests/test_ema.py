"""The EMA Workbench connector (issue 9): levers, uncertainties and outcomes are the model's own
declarations, and `perform_experiments` through it gives what `etown run` gives for a scenario
file with the same levers and parameters, seed, runs and scale."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from model import api
from model.experiments.ema import ema_model, lever_ranges
from model.levers import lever_specs
from model.params import param_specs
from model.sectors import TARGET_SECTORS

pytest.importorskip("ema_workbench")
RUNS, SCALE, SEED = 2, 0.01, 4321


def test_declarations_are_derived() -> None:
    model = ema_model()
    levers = {p.name: (p.lower_bound, p.upper_bound) for p in model.levers}
    assert levers == lever_ranges()
    funds = next(s for s in lever_specs() if s.path == "policy.special_funds_yuan_per_year")
    assert levers["policy__special_funds_yuan_per_year"] == funds.info.plausible
    assert "clusters__anchor_projects_per_year__robotics" in levers and all(n.isidentifier() for n in levers)
    specs = param_specs()
    assert {p.name: (p.lower_bound, p.upper_bound) for p in model.uncertainties} == {
        n: (s.low, s.high) for n, s in specs.items()
    }
    assert {o.name for o in model.outcomes} == {
        *(f"p_100bn_{s}" for s in TARGET_SECTORS),
        *(f"output_bn_{s}" for s in TARGET_SECTORS),
        "p_all_four",
    }


def test_perform_experiments_equals_etown_run(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import perform_experiments
    levers = ["policy__special_funds_yuan_per_year", "clusters__anchor_projects_per_year__robotics"]
    params = list(param_specs())[:2]
    model = ema_model(replications=RUNS, seed=SEED, scale=SCALE, levers=levers, parameters=params)
    experiments, outcomes = perform_experiments(model, scenarios=2, policies=1)
    assert len(experiments) == 2
    for i in range(2):
        row = experiments.iloc[i]
        doc = {
            "inherits": str(Path(api.__file__).parents[1] / "scenarios" / "baseline.yaml"),
            "name": f"ema{i}",
            "policy": {"special_funds_yuan_per_year": float(row[levers[0]])},
            "clusters": {"anchor_projects_per_year": {"robotics": float(row[levers[1]])}},
            "uncertainties": {"parameters": {p: float(row[p]) for p in params}},
        }
        path = tmp_path / f"ema{i}.yaml"
        path.write_text(yaml.safe_dump(doc))
        summary = api.run(path, runs=RUNS, seed=SEED, scale=SCALE, out=tmp_path / f"out{i}", progress=False).summary
        for s in TARGET_SECTORS:
            c = summary["clusters"][s]
            assert outcomes[f"p_100bn_{s}"][i] == c["p_100bn_by_2025"]
            assert outcomes[f"output_bn_{s}"][i] == pytest.approx(c["output_bn"]["2025"]["p50"], rel=1e-4)
        assert outcomes["p_all_four"][i] == summary["p_all_four_targets"]
