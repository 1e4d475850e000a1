"""Calibration: history mode's 2015 start state, synthetic parameter recovery, the calibrated
file's provenance, and parameter draws from the calibrated sample in ensembles."""

from __future__ import annotations

import numpy as np
import pytest

from model.calibration import store
from model.calibration.fit import FitConfig, calibrate, recovery_table, synthetic_targets
from model.calibration.history import history_scenario, run_history, start_state_2015
from model.calibration.moments import targets
from model.cluster_model import ClusterModel
from model.data import fact, file_sha256
from model.params import Params, param_specs
from model.sectors import INDUSTRIAL_MASK

TINY = 0.03


# ------------------------------------------------------------------------------ history mode
def test_2015_start_state_reproduces_the_2015_figures() -> None:
    st = start_state_2015()
    assert st.year == 2015
    industrial = st.sector_output[np.asarray(INDUSTRIAL_MASK)].sum()
    assert industrial == pytest.approx(fact("zone", "industrial_output_yuan", 2015), rel=1e-9)
    assert st.high_tech_firms == fact("zone", "high_tech_firms", 2015)
    assert st.gdp == fact("zone", "gdp_yuan", 2015)
    # firm count: log-linear interpolation 2014 -> 2018, stated in the data file
    f14, f18 = fact("zone", "firms", 2014), fact("zone", "firms", 2018)
    assert st.firms == pytest.approx(f14 * (f18 / f14) ** 0.25, abs=1)


def test_history_model_starts_at_end_2015_and_runs_to_2020() -> None:
    sc = history_scenario()
    assert (sc.start_year, sc.end_year) == (2015, 2020)
    assert sc.policy.special_funds_yuan_per_year < fact("zone", "special_funds_plan_yuan_per_year")
    model = ClusterModel(sc, Params(), rng=3, scale=TINY)
    z = model.record.zone
    assert model.start.year == 2015
    assert z["industrial_output"][0] == pytest.approx(fact("zone", "industrial_output_yuan", 2015), rel=1e-6)
    assert z["gdp"][0] == pytest.approx(fact("zone", "gdp_yuan", 2015), rel=1e-6)
    run = run_history(Params(), 3, TINY)
    assert run.record.years == list(range(2015, 2021))
    assert len(run.firm_output) == 6 and run.innovation_stock.shape == (6,)
    assert np.all(run.record.zone["industrial_output"][1:] > 0)


def test_targets_come_from_the_data_file() -> None:
    tg = {t.name: t for t in targets()}
    assert tg["gdp_2019"].observed == fact("zone", "gdp_yuan", 2019)
    assert tg["firms_2018"].observed == fact("zone", "firms", 2018)
    assert tg["patents_per_10k_2020"].observed == fact("zone", "patents_per_10k_people", 2020)
    assert "firms_2015" not in tg  # interpolated start value, never a target
    assert tg["entry_rate"].kind == "band"


# ------------------------------------------------------------------------------ recovery
def test_synthetic_recovery_of_two_parameters() -> None:
    """Targets made by the model itself at known values (independent seeds) are fitted back."""
    cfg = FitConfig(
        names=("entry_rate", "certification_rate"),
        scale=0.05,
        reps=3,
        seed=5,
        workers=1,
        max_minutes=0.5,
        popsize=6,
        maxiter=10,
        cloud=20,
        sample_size=30,
    )
    truth = {"entry_rate": 0.2, "certification_rate": 0.25}
    tg = [t for t in synthetic_targets(truth, cfg, seed=9, reps=6) if t.name.startswith(("firms_", "high_tech"))]
    result = calibrate(cfg, tg)
    assert result.point["entry_rate"] == pytest.approx(truth["entry_rate"], abs=0.03)
    assert result.point["certification_rate"] == pytest.approx(truth["certification_rate"], abs=0.08)
    table = recovery_table(truth, result)
    assert set(table["parameter"]) == set(truth)
    assert result.sample and all(set(d) == set(truth) for d in result.sample)


# ------------------------------------------------------------------------------ calibrated file
def test_calibrated_file_matches_current_data() -> None:
    content = store.load_calibrated()
    if content is None:
        pytest.skip("not calibrated yet")
    prov = content["provenance"]
    assert prov["data_sha256"] == file_sha256("zone_facts.yaml")
    specs = param_specs()
    assert set(content["point"]) <= set(specs)
    for draw in content["sample"]["draws"]:
        for k, v in draw.items():
            assert specs[k].low - 1e-9 <= v <= specs[k].high + 1e-9, k
    assert set(prov["loss_per_target"]) == {t.name for t in targets()}
