"""Resumable ensembles: `etown run` killed with SIGKILL part-way and restarted with --resume
gives the same summary as an uninterrupted run, without recomputing the chunks finished
before the kill and without ever leaving a summary.json for an unfinished ensemble; resuming
parts of a different ensemble is a one-line error with exit status 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from model import api
from model.ensemble import CHUNK_RUNS, PARTS_DIR, STAGING_DIR, EnsembleSpec
from model.scenario import load_scenario

from .conftest import ROOT, SMALL_SCALE

# model_version: another commit between the two runs would change it; not an outcome
VOLATILE = {"wall_time_s", "settings", "model_version"}
RUNS, SEED, SCALE = 60, 7, 0.1  # 6 chunks of ~0.5 s: time to kill it part-way

MODULE = [sys.executable, "-m", "model.cli"]
SCRIPT = Path(sys.executable).with_name("etown")  # the console script of the package's venv
ETOWN = [str(SCRIPT)] if SCRIPT.exists() else MODULE


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


def _finished_chunks(parts: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of both part files of every finished chunk."""
    done = {}
    for sector_part in parts.glob("sectors-*.parquet"):
        zone_part = parts / sector_part.name.replace("sectors-", "zone-")
        for p in (sector_part, zone_part):
            st = p.stat()
            done[p.name] = (st.st_ino, st.st_mtime_ns)
    return done


def test_killed_run_resumes_without_redoing_finished_chunks(baseline_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    parts = out / STAGING_DIR / PARTS_DIR  # an unfinished run keeps its parts there
    args = ["run", str(baseline_path), "--runs", str(RUNS), "--seed", str(SEED), "--scale", str(SCALE)]
    args += ["--out", str(out), "--quiet"]
    proc = subprocess.Popen([*ETOWN, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list(parts.glob("sectors-*.parquet"))) < 2:
            assert proc.poll() is None, f"etown ended before it could be killed: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "no part files after 120 s"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # (c) killed: no summary (nor any result table), whole or half-written
    assert not (out / "summary.json").exists()
    assert not list(out.glob("*summary.json*")) and not (out / "runs.parquet").exists()
    before = _finished_chunks(parts)
    n_done = len(before) // 2
    assert 2 <= n_done < RUNS // CHUNK_RUNS, "the kill came too late to test anything"

    resumed = subprocess.run(
        [*MODULE, *args, "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((out / "summary.json").read_text())

    # (b) the chunks finished before the kill were kept, not recomputed (and moved into place)
    assert not (out / STAGING_DIR).exists()
    parts = out / PARTS_DIR
    after = _finished_chunks(parts)
    assert len(after) == 2 * RUNS // CHUNK_RUNS
    assert {name: after[name] for name in before} == before
    assert not list(parts.glob(".*.tmp")) and not list(out.glob(".*.tmp"))

    # (a) same outcome as an uninterrupted run
    whole = api.run(baseline_path, runs=RUNS, seed=SEED, scale=SCALE, workers=1, out=tmp_path / "whole", progress=False)
    assert _stable(summary) == _stable(whole.summary)
    assert summary["runs"] == RUNS
    resumed_runs = pd.read_parquet(out / "runs.parquet")
    pd.testing.assert_frame_equal(resumed_runs, pd.read_parquet(whole.out / "runs.parquet"))
    assert (out / "zone.parquet").read_bytes() == (whole.out / "zone.parquet").read_bytes()


def test_resume_of_another_ensemble_is_one_line_exit_2(baseline_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "other"
    api.run(baseline_path, runs=CHUNK_RUNS, seed=1, scale=SMALL_SCALE, out=out, progress=False)
    summary_before = (out / "summary.json").read_bytes()
    parts_before = _finished_chunks(out / PARTS_DIR)
    args = ["run", str(baseline_path), "--runs", str(CHUNK_RUNS), "--seed", "2", "--scale", str(SMALL_SCALE)]
    proc = subprocess.run(
        [*MODULE, *args, "--out", str(out), "--resume"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("etown: ") and "different ensemble" in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    # nothing of the saved ensemble was touched
    assert (out / "summary.json").read_bytes() == summary_before
    assert _finished_chunks(out / PARTS_DIR) == parts_before


def test_seeds_made_one_by_one_are_the_spawned_ones(baseline_path: Path) -> None:
    spec = EnsembleSpec(load_scenario(baseline_path).scenario, runs=25, seed=123)
    for run, spawned in enumerate(spec.run_seeds()):
        alone = spec.run_seed(run)
        assert (alone.entropy, alone.spawn_key) == (spawned.entropy, spawned.spawn_key)
        assert (alone.generate_state(8) == spawned.generate_state(8)).all()
