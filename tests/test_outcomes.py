"""Outcomes declared once (issue 15): the 100-bn event has one definition (the start year does
not count) and no second one exists in the package; each declared outcome reads a run as
documented; ensembles reduce them as declared."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from model import outcomes as oc
from model.records import ZONE_METRICS, RunRecord
from model.sectors import N_SECTORS, SECTOR_INDEX, TARGET_SECTORS

ROOT = Path(__file__).resolve().parents[1]
YEARS = [2020, 2021, 2022, 2023]
BN = 1e9


def _output(**paths: list[float]) -> np.ndarray:
    """output[year, sector] in yuan/yr: 50 bn everywhere, the given paths (bn) for some sectors."""
    out = np.full((len(YEARS), N_SECTORS), 50 * BN)
    for sector, path in paths.items():
        out[:, SECTOR_INDEX[sector]] = np.array(path) * BN
    return out


def test_the_event_counts_projected_years_only() -> None:
    out = _output(auto=[240, 99, 99, 99], ngit=[83, 95, 100, 120], biotech=[57, 99.9, 99.99, 99.999])
    hit = oc.reached(out, YEARS, 2023)
    assert hit[SECTOR_INDEX["auto"]] == False  # noqa: E712 - above only in the start year: not reached
    assert hit[SECTOR_INDEX["ngit"]] and not hit[SECTOR_INDEX["biotech"]]  # exactly 100 bn counts
    assert not oc.reached(out, YEARS, 2021)[SECTOR_INDEX["ngit"]]  # by 2021: not yet
    cross = oc.crossing_year(out, YEARS)
    assert cross[SECTOR_INDEX["ngit"]] == 2022 and np.isnan(cross[SECTOR_INDEX["auto"]])
    # batched over runs, and crossing year <= E is the event by E
    runs = np.stack([out, _output(robotics=[40, 101, 90, 90])])
    for end in (2021, 2022, 2023):
        assert np.array_equal(oc.reached(runs, YEARS, end), oc.crossing_year(runs, YEARS) <= end)


def _record(out: np.ndarray) -> RunRecord:
    zone = {m: np.arange(len(YEARS), dtype=float) * BN for m in ZONE_METRICS}
    zone["budget_spent"][0] = np.nan  # the start year has no spending
    zone["firms"] = np.array([100.0, 110.0, 120.0, 130.0])
    z = np.zeros_like(out)
    return RunRecord(YEARS, out, z, z, z, zone, None, None, np.zeros((0, out.shape[1])), {})  # type: ignore[arg-type]


def test_declared_outcomes_read_a_run_as_documented() -> None:
    out = _output(
        ngit=[83, 95, 100, 120], xinchuang=[10, 100, 100, 100], biotech=[57, 101, 90, 80], robotics=[40, 120, 50, 50]
    )
    rec = _record(out)
    chosen = [*oc.HEADLINE, oc.output("total"), oc.COST, oc.zone("firms"), oc.zone("gdp"), oc.output("ngit").at(2021)]
    v = dict(zip([o.name for o in chosen], oc.values(chosen, rec, 2023), strict=True))
    assert v["p_100bn_ngit"] == v["p_100bn_biotech"] == v["p_all_four"] == 1.0
    assert oc.values([oc.P_ALL_FOUR], rec, 2021)[0] == 0.0  # ngit not yet in 2021
    assert v["output_bn_ngit"] == 120 and v["output_bn_biotech"] == 80 and v["output_bn_ngit_2021"] == 95
    assert v["output_bn_total"] == pytest.approx(out[-1].sum() / BN)
    assert v["budget_spent"] == pytest.approx(1 + 2 + 3)  # a flow: summed over 2021-2023, bn yuan
    assert v["firms"] == 130 and v["gdp"] == 3  # stocks: the end year
    assert oc.event(["ngit", "robotics"]).name == "p_100bn_ngit_and_robotics"
    assert oc.values([oc.event(["ngit", "robotics"])], rec, 2023)[0] == 1.0
    assert oc.event(TARGET_SECTORS) is oc.P_ALL_FOUR and oc.event(["biotech"]) == oc.p_reach("biotech")
    assert {o.kind for o in oc.HEADLINE} == {"event", "stock"} and oc.COST.kind == "flow"
    assert oc.zone("firms").scaled and not oc.zone("gdp").scaled


def test_headline_from_a_finished_ensembles_table_equals_the_runs() -> None:
    import pandas as pd

    from model.sectors import SECTOR_IDS

    outs = [_output(ngit=[83, 95, 100, 120]), _output(biotech=[57, 101, 90, 80], auto=[240, 99, 99, 99])]
    rows = [
        {"run": r, "year": y, "sector": s, "output_yuan": out[i, j]}
        for r, out in enumerate(outs)
        for i, y in enumerate(YEARS)
        for j, s in enumerate(SECTOR_IDS)
    ]
    table = oc.headline_from_table(pd.DataFrame(rows).sample(frac=1, random_state=0), 2023)
    expected = np.array([oc.values(oc.HEADLINE, _record(out), 2023) for out in outs])
    np.testing.assert_allclose(table, expected)


def test_reduce_as_declared() -> None:
    hits = np.r_[np.ones(30), np.zeros(70)]
    p = oc.reduce(oc.P_ALL_FOUR, hits)
    assert p.value == 0.3 and p.lo < 0.3 < p.hi and p.half_width == pytest.approx(0.09, abs=0.005)
    x = np.arange(101, dtype=float)
    med = oc.reduce(oc.output("ngit"), x)
    assert med.value == 50 and med.lo < 50 < med.hi
    mean = oc.reduce(oc.zone("gdp"), x)
    assert mean.value == 50 and mean.half_width == pytest.approx(1.984 * x.std(ddof=1) / np.sqrt(101), rel=1e-3)


FORBIDDEN = [
    (re.compile(r"cluster_threshold_yuan"), "reads the threshold fact"),
    (re.compile(r"\bthreshold_yuan\s*\("), "calls threshold_yuan()"),
    (re.compile(r"import[^\n]*\bthreshold_yuan\b"), "imports threshold_yuan"),
    (re.compile(r"(>=|>|<|<=)\s*(1(\.0*)?e11|100e9|100\s*\*\s*(BN|1e9))"), "compares with 100 bn"),
    # a comparison with a variable named thr/threshold, other than the high-tech rule's R&D threshold
    (re.compile(r"^(?!.*\brd(_intensity)?\b).*(>=|>)\s*(thr|threshold)\b"), "compares with a threshold variable"),
    (re.compile(r"(>=|>)\s*[\w.]*threshold_bn\s*\(\)"), "compares with threshold_bn()"),
]
"""What a second definition of the 100-bn event would look like."""


def _violations(line: str) -> list[str]:
    return [what for pattern, what in FORBIDDEN if pattern.search(line)]


def test_no_second_definition_of_the_event_in_the_package() -> None:
    """Only model/outcomes.py may read the 100-bn threshold or compare output with it."""
    found = []
    for path in sorted((ROOT / "model").rglob("*.py")):
        if path.name == "outcomes.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{i}: {what}: {line.strip()}" for what in _violations(line)]
    assert not found, "a second definition of the 100-bn event:\n" + "\n".join(found)


def test_the_scan_catches_the_old_definitions() -> None:
    """The scan above is not vacuous: each of the old definitions it replaced is caught."""
    old = [
        "cross = (out >= threshold_yuan()).any(axis=1).astype(float)",  # experiments/paired.py
        "from ..analysis import threshold_yuan",
        "hit = (out[1:] >= thr).any(axis=0).astype(float)",  # experiments/uncertainty.py
        "above = wide.to_numpy() >= threshold",  # analysis.py
        'crossed = runs.query("output_yuan >= 1e11")',
        "count = (np.array(t.output) >= threshold_bn() * 1e9)",
    ]
    assert all(_violations(line) for line in old)
