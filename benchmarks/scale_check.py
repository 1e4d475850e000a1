"""Does a small-scale run answer the full-scale question? Paired runs at two scales.

The same replications (seeds `SeedSequence(seed).spawn(runs)`, so the same parameters, 2020
draws, shocks and full-scale start population) at `--small` and at `--full` scale: for each
target cluster, the ratio of the median 2025 outputs, the difference of P(>= 100 bn by 2025),
and the paired mean log ratio of each run's 2025 output with its 95% interval.
tests/test_scale.py asserts the same on 40 runs; this prints the figures for more.

Run: `.venv/bin/python benchmarks/scale_check.py --runs 200 --workers 2`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.calibration.store import default_source  # noqa: E402
from model.cluster_model import ClusterModel  # noqa: E402
from model.executor import run_tasks  # noqa: E402
from model.outcomes import reached  # noqa: E402
from model.sectors import SECTOR_INDEX, TARGET_SECTORS  # noqa: E402

TARGETS = [SECTOR_INDEX[s] for s in TARGET_SECTORS]


def outputs(seed: int, runs: int, index: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(2025 output per sector, reached per sector) of replication `index` at `scale`."""
    s = np.random.SeedSequence(seed).spawn(runs)[index]
    rec = ClusterModel(None, default_source(), rng=s, scale=scale).run()
    return rec.sector_output[-1], reached(rec.sector_output, rec.years, rec.years[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20210201)
    ap.add_argument("--small", type=float, default=0.1)
    ap.add_argument("--full", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    res = {}
    for scale in (a.small, a.full):
        t = time.perf_counter()
        got = [
            r
            for _, r in sorted(
                run_tasks(outputs, [(a.seed, a.runs, i, scale) for i in range(a.runs)], workers=a.workers),
                key=lambda x: x[0],
            )
        ]
        res[scale] = (np.array([g[0] for g in got])[:, TARGETS], np.array([g[1] for g in got])[:, TARGETS])
        print(f"scale {scale}: {a.runs} runs in {time.perf_counter() - t:.0f} s")
    (small, hit_s), (full, hit_f) = res[a.small], res[a.full]
    d = np.log(small / full)
    half = 1.96 * d.std(axis=0, ddof=1) / np.sqrt(a.runs)
    print(f"\n{a.runs} paired runs, seed {a.seed}: scale {a.small} against scale {a.full}")
    print("cluster      median ratio   P small   P full    dP     mean log ratio [95% CI]")
    for j, s in enumerate(TARGET_SECTORS):
        ratio = np.median(small[:, j]) / np.median(full[:, j])
        ps, pf = hit_s[:, j].mean(), hit_f[:, j].mean()
        print(
            f"{s:12s} {ratio:12.4f} {ps:9.3f} {pf:9.3f} {ps - pf:+7.3f}   "
            f"{d[:, j].mean():+.4f} [{d[:, j].mean() - half[j]:+.4f}, {d[:, j].mean() + half[j]:+.4f}]"
        )


if __name__ == "__main__":
    main()
