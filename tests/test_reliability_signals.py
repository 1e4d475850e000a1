"""Clean interruption (issue 11), with real signals sent to a real `etown run` process with two
worker processes: Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and
SIGTERM (to the main process only, as `timeout` and job schedulers send it) each end the run
with one line naming the runs finished and the exact --resume command, exit status 130 / 143;
no process of the command outlives it; the previous results in --out are untouched; and the
printed command finishes the ensemble (tests/test_resume.py checks that a resumed ensemble
equals an uninterrupted one)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model import api
from model.ensemble import PARTS_DIR, STAGING_DIR

from .conftest import ROOT, SCENARIOS

SCRIPT = Path(sys.executable).with_name("etown")
ETOWN = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "model.cli"]
RUNS, SCALE = 30, 0.05


def _session_processes(sid: int) -> list[int]:
    """Processes of the session `sid` (the command started with start_new_session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the command's processes")
@pytest.mark.parametrize(("signame", "to_group", "status"), [("SIGINT", True, 130), ("SIGTERM", False, 143)])
def test_signal_ends_pool_says_how_to_resume(signame: str, to_group: bool, status: int, tmp_path: Path) -> None:
    out = tmp_path / "out"
    baseline = SCENARIOS / "baseline.yaml"
    api.run(baseline, runs=2, seed=1, scale=0.01, out=out, progress=False, point_estimate=True)
    previous = _snapshot(out)
    args = [*ETOWN, "run", str(baseline), "--runs", str(RUNS), "--seed", "7", "--scale", str(SCALE)]
    args += ["--workers", "2", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        parts = out / STAGING_DIR / PARTS_DIR
        while not list(parts.glob("sectors-*.parquet")):  # a chunk finished: the workers are busy
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no finished chunk after 120 s"
            time.sleep(0.02)
        sig = getattr(signal, signame)
        os.killpg(proc.pid, sig) if to_group else os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=120)  # generous: a loaded CI machine
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == status, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    prefix = f"etown: interrupted ({signame}) after "
    assert lines[0].startswith(prefix), lines[0]
    done = int(lines[0].removeprefix(prefix).split()[0])
    assert 10 <= done < RUNS and f"after {done} of {RUNS} runs" in lines[0]
    assert f"finished runs are kept in {out / STAGING_DIR}" in lines[0]
    resume = lines[0].split("; resume with: ")[1]

    # no process of the command outlives it (workers, forkserver, resource tracker)
    deadline = time.monotonic() + 5
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session_processes(proc.pid) == []

    # the previous results are untouched (the new run lives in unfinished/ until it finishes)
    assert {k: v for k, v in _snapshot(out).items() if not k.startswith(STAGING_DIR)} == previous
    assert len(list((out / STAGING_DIR / PARTS_DIR).glob("sectors-*.parquet"))) * 10 == done

    # the printed command finishes the ensemble (once is enough: the same code path)
    if signame != "SIGINT":
        return
    words = shlex.split(resume)
    assert words[:2] == ["etown", "run"] and words[-1] == "--resume"
    finished = subprocess.run(
        [*ETOWN, *words[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert finished.returncode == 0, finished.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["runs"], summary["seed"]) == (RUNS, 7)
    assert not (out / STAGING_DIR).exists()


def test_sigterm_handler_does_not_leak_into_the_caller() -> None:
    """`etown` run in-process (tests, notebooks) restores the caller's SIGTERM handling."""
    from typer.testing import CliRunner

    from model.cli import app

    before = signal.getsignal(signal.SIGTERM)
    CliRunner().invoke(app, ["validate", str(SCENARIOS / "baseline.yaml")])
    assert signal.getsignal(signal.SIGTERM) == before
    assert ROOT.is_dir()
