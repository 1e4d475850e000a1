"""Ensembles on a Dask cluster: a real LocalCluster (two worker processes) gives the same
summary and tables as a local run with the same seed; an unreachable scheduler is a one-line
error with exit status 2; the default path never imports Dask."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from model import api

from .conftest import ROOT, SMALL_SCALE

distributed = pytest.importorskip("distributed")

VOLATILE = {"wall_time_s", "settings"}
RUNS, SEED = 20, 5


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as c:
        yield c


def test_dask_run_identical_to_local(cluster, baseline_path: Path, tmp_path: Path) -> None:
    common = {"runs": RUNS, "seed": SEED, "scale": SMALL_SCALE, "progress": False}
    local = api.run(baseline_path, workers=1, out=tmp_path / "local", **common)
    dask = api.run(baseline_path, scheduler=cluster.scheduler_address, out=tmp_path / "dask", **common)
    assert dask.summary["settings"]["scheduler"] == cluster.scheduler_address
    assert _stable(dask.summary) == _stable(local.summary)
    pd.testing.assert_frame_equal(dask.sectors, local.sectors)
    pd.testing.assert_frame_equal(dask.zone, local.zone)
    assert len(dask.sectors) == RUNS * 6 * 7
    assert (tmp_path / "dask" / "runs.parquet").read_bytes() == (tmp_path / "local" / "runs.parquet").read_bytes()
    # both workers took part (chunks of 10 runs: 2 chunks for 2 single-thread workers)
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "localhost-without-port"])
def test_unreachable_scheduler_is_one_line_exit_2(address: str, baseline_path: Path, tmp_path: Path) -> None:
    address = address.format(port=_free_port())
    args = ["run", str(baseline_path), "--runs", "10", "--scale", str(SMALL_SCALE), "--out", str(tmp_path / "out")]
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", *args, "--scheduler", address],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"etown: cannot reach the Dask scheduler at {address}: ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()  # the folder is not touched before the scheduler answers


def test_default_path_does_not_import_dask(baseline_path: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from model import api, cli; "
        f"api.run({str(baseline_path)!r}, runs=2, scale={SMALL_SCALE}, out={str(tmp_path)!r}, progress=False); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
