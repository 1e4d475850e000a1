"""The one experiment core and its store (issue 15): seeds (paired streams share draws,
different streams do not), blocks that do not depend on batching or workers, rounds until a
precision target (or the cap, said plainly), the store's one manifest rule (a mismatch is a
one-line error, never a wipe; a damaged part is refused naming it), resuming without rerunning;
and each experiment on a stand-in model with known answers (tests/standin.py) reaching its
precision target with decisions that agree with the truth under two seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model import outcomes as oc
from model.ensemble import RunSettings
from model.experiments.compare import run_compare
from model.experiments.core import Point, Precision, Runner, more_runs, run_seed
from model.levers import with_levers
from model.scenario import LoadedScenario, Scenario
from model.stats import probability
from model.store import PartStore, StoreError

from .standin import true_p, use_standin

SETTINGS = RunSettings(scale=0.01)


def _scenario(funds_bn: float, name: str = "s") -> Scenario:
    return with_levers(Scenario(name=name), {"policy.special_funds_yuan_per_year": funds_bn * 1e9})


def test_seed_streams() -> None:
    assert (
        run_seed(7, 0, 3).generate_state(2).tolist() == np.random.SeedSequence(7).spawn(4)[3].generate_state(2).tolist()
    )
    draws = {s: np.random.default_rng(run_seed(7, s, 0)).random() for s in range(4)}
    assert len(set(draws.values())) == 4  # streams are independent
    assert more_runs(40, 0.2, 0.05) == 320 and more_runs(40, 0.04, 0.05) == 40  # 8x at most; none when met
    assert more_runs(100, 0.06, 0.05) == 200  # at least 2x: few rounds


def test_blocks_do_not_depend_on_batching_and_runs_are_not_repeated(monkeypatch) -> None:
    calls = use_standin(monkeypatch)
    points = [Point(_scenario(15), SETTINGS, 0), Point(_scenario(18), SETTINGS, 0), Point(_scenario(18), SETTINGS, 5)]
    runner = Runner([oc.P_ALL_FOUR, oc.output("ngit")], seed=3)
    a = runner.evaluate(points, 25)
    b = runner.evaluate(points, [40, 40, 40])  # asks for more: only the new blocks run
    assert sum(calls) == 3 * 40 + 3 * 5  # the partial block of 25 runs is its own block
    assert np.array_equal(a[0], b[0][:25]) and np.array_equal(a[1], b[1][:25])
    once = Runner([oc.P_ALL_FOUR, oc.output("ngit")], seed=3).evaluate(points, 40)
    assert all(np.array_equal(x, y) for x, y in zip(b, once, strict=True))
    # same stream: the same draws (paired); another stream: independent ones
    np.testing.assert_allclose(b[0][:, 1] - b[1][:, 1], 100 * (true_p(15) - true_p(18)))
    assert not np.array_equal(b[1], b[2])


def test_until_meets_the_target_or_says_the_cap_stopped_it(monkeypatch) -> None:
    use_standin(monkeypatch)
    point = Point(_scenario(15), SETTINGS, 1)  # P = 0.5: the widest interval

    def needs(values):
        return [more_runs(len(v), probability(v[:, 0]).half_width, 0.05) for v in values]

    done = Runner([oc.P_ALL_FOUR], seed=1).until([point], needs, first=20, max_runs=2000)
    assert not any(done.capped) and probability(done.values[0][:, 0]).half_width <= 0.05
    assert 380 <= done.runs[0] <= 800 and done.rounds <= 4 and "target met" in done.stop_note()
    capped = Runner([oc.P_ALL_FOUR], seed=1).until([point], needs, first=20, max_runs=100)
    assert capped.capped == [True] and capped.runs == [100] and "--max-runs 100" in capped.stop_note()


def test_store_manifest_rule_resume_and_damaged_parts(tmp_path: Path, monkeypatch) -> None:
    calls = use_standin(monkeypatch)
    folder = tmp_path / "parts"
    fingerprint = {"seed": 1, "settings": "a"}
    points = [Point(_scenario(12), SETTINGS, 1)]
    store = PartStore.open(folder, "test", fingerprint)
    first = Runner([oc.P_ALL_FOUR], 1, store=store).evaluate(points, 30)
    entries = PartStore.open(folder, "test", fingerprint).entries()
    assert len(entries) == 3 and all(e["bytes"] > 0 and len(e["sha256"]) == 64 for e in entries.values())
    assert sorted(e["runs"] for e in entries.values()) == [[0, 10], [10, 20], [20, 30]]
    # resumed: read back, nothing runs
    n = len(calls)
    again = Runner([oc.P_ALL_FOUR], 1, store=PartStore.open(folder, "test", fingerprint)).evaluate(points, 30)
    assert len(calls) == n and np.array_equal(first[0], again[0])
    # a store of other work: one line naming what differs, and nothing is deleted
    with pytest.raises(StoreError) as err:
        PartStore.open(folder, "test", {"seed": 2, "settings": "a"}, hint="give --fresh")
    msg = str(err.value)
    assert "\n" not in msg and "different test (seed differ)" in msg and "--fresh" in msg
    assert len(list(folder.glob("*.npy"))) == 3
    # a damaged part is computed again (and said so): the answer is the uninterrupted one
    victim = sorted(folder.glob("*.npy"))[0]
    victim.write_bytes(victim.read_bytes()[:-8] + b"\0" * 8)
    store = PartStore.open(folder, "test", fingerprint)
    redone = Runner([oc.P_ALL_FOUR], 1, store=store).evaluate(points, 30)
    assert len(calls) == n + 1 and store.redone == [victim.name] and np.array_equal(first[0], redone[0])
    # a file the part list does not name is never taken for a part, nor replaced
    (folder / "parts.jsonl").write_text("")
    with pytest.raises(StoreError, match=f"{victim.name}: a file etown did not list"):
        Runner([oc.P_ALL_FOUR], 1, store=PartStore.open(folder, "test", fingerprint)).evaluate(points, 30)
    # fresh: deletes only what the part list names (the unlisted file stays, and is named)
    with pytest.raises(StoreError, match=f"{victim.name} was not written by etown"):
        PartStore.open(folder, "test", {"seed": 2}, fresh=True)
    assert victim.is_file() and (folder / "manifest.json").is_file()
    for part in folder.glob("*.npy"):
        part.unlink()
    PartStore.open(folder, "test", {"seed": 2}, fresh=True)
    assert json.loads((folder / "manifest.json").read_text())["fingerprint"] == {"seed": 2}
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "notes.txt").write_text("keep")
    with pytest.raises(StoreError, match="did not write"):
        PartStore.open(tmp_path / "theirs", "test", fingerprint, fresh=True)
    assert (tmp_path / "theirs" / "notes.txt").read_text() == "keep"


# ---------------------------------------------------------------------- experiments on the stand-in
def _loaded(funds: float, name: str) -> LoadedScenario:
    return LoadedScenario(_scenario(funds, name), Path(f"{name}.yaml"), "", "0" * 64)


@pytest.mark.parametrize("seed", [11, 12])
def test_compare_reaches_its_precision_on_the_standin(monkeypatch, seed: int) -> None:
    use_standin(monkeypatch)
    cmp = run_compare(
        [_loaded(15, "base"), _loaded(18, "more")],
        None,
        seed=seed,
        settings=SETTINGS,
        precision=Precision(0.05, 1.0, 2000),
    )
    assert not cmp.capped and cmp.reached["p"] <= 0.05 and cmp.reached["p_diff"] <= 0.05
    assert cmp.reached["output_diff_bn"] <= 1.0
    t = cmp.table.set_index(["scenario", "cluster"])
    for name, funds in (("base", 15), ("more", 18)):  # within 1.5 half-widths (~ a 99.7% interval)
        row = t.loc[(name, "biotech")]
        assert abs(row["p"] - true_p(funds)) <= 1.5 * (row["p_hi"] - row["p_lo"]) / 2
    d = t.loc[("more", "all_four")]
    assert abs(d["p_diff"] - 0.1) <= 1.5 * (d["p_diff_hi"] - d["p_diff_lo"]) / 2  # the known difference, paired
    assert t.loc[("more", "ngit"), "output_diff_bn"] == pytest.approx(10.0)  # paired: the noise cancels
    assert "precision target" in cmp.format() and "etown run --seed" in cmp.format()


def test_compare_says_when_the_cap_stopped_it(monkeypatch) -> None:
    use_standin(monkeypatch)
    cmp = run_compare(
        [_loaded(15, "base"), _loaded(18, "more")], None, seed=1, settings=SETTINGS, precision=Precision(0.05, 1.0, 60)
    )
    assert cmp.capped and cmp.runs == 60 and "the cap stopped it at 60 runs" in cmp.format()
