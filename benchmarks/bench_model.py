"""Benchmark of the full-scale model (scale=1, ~30,000 firm agents, quarterly 2021-2025).

Prints, for ClusterModel with its vectorised firm rules (model/firm_rules.py, FirmRules) and
for the same model with the per-agent reference rules (benchmarks/reference_model.py,
PerAgentRules: every firm agent applies the rules to itself in scalar Python through
`shuffle_do`), measured in the same run:
  wall time per run (build + 20 steps; median of several seeds), firm agent-steps per second,
  peak memory of a fresh process running one model, ensemble throughput with 1 and 2 local
  workers, and the extrapolated wall time of a 1,000-run ensemble on 2 cores.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_model.py [--runs N ...]`); about
10 minutes on a busy 2-core machine (the reference takes ~35 CPU-s a run). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

import mesa  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.reference_model import reference_model, run_reference_chunk  # noqa: E402
from model.agents import Firm  # noqa: E402
from model.cluster_model import ClusterModel  # noqa: E402
from model.ensemble import EnsembleSpec, RunSettings, run_ensemble  # noqa: E402
from model.scenario import load_scenario  # noqa: E402

SCENARIO = load_scenario(ROOT / "scenarios" / "baseline.yaml").scenario
MODELS: dict[str, Callable[..., ClusterModel]] = {
    "ours": ClusterModel,  # rules=FirmRules() (vectorised)
    "reference": reference_model,  # ClusterModel(..., rules=PerAgentRules())
}

_MEMORY_PROBE = """
import resource, sys, json
sys.path.insert(0, {root!r})
from benchmarks.bench_model import MODELS, SCENARIO
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
make = MODELS[{kind!r}]
before = rss_kb()
make(SCENARIO, rng=1).run()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"before_kb": before, "peak_kb": peak}}))
"""


def time_runs(kind: str, seeds: list[int]) -> dict[str, float]:
    """Wall time of build + run per seed, and firm agent-steps (live firm agents summed over steps)."""
    make = MODELS[kind]
    times, cpus, builds, agent_steps, live = [], [], [], [], []
    for seed in seeds:
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        model = make(SCENARIO, rng=seed)
        t1 = time.perf_counter()
        steps = 0
        while model.step_count < model.n_steps:  # live firms from the store: building agent views is not timed
            steps += int(model.firms.weight[model.firms.live_rows()].size)
            model.step()
        t2 = time.perf_counter()
        cpus.append(time.process_time() - c0)
        times.append(t2 - t0)
        builds.append(t1 - t0)
        agent_steps.append(steps / (t2 - t1))
        live.append(len(model.agents_by_type[Firm]))
    return {
        "runs": len(seeds),
        "wall_s": statistics.median(times),
        "cpu_s": statistics.median(cpus),
        "build_s": statistics.median(builds),
        "agent_steps_per_s": statistics.median(agent_steps),
        "firms_start": len(make(SCENARIO, rng=seeds[0]).agents_by_type[Firm]),
        "firms_end": statistics.median(live),
    }


def peak_memory(kind: str) -> dict[str, float]:
    """Peak RSS (MB) of a fresh process that imports the model and runs one replication, and
    the increase over its RSS after the imports."""
    code = _MEMORY_PROBE.format(root=str(ROOT), kind=kind)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    m = json.loads(out.strip().splitlines()[-1])
    return {"peak_rss_mb": m["peak_kb"] / 1024, "model_rss_mb": (m["peak_kb"] - m["before_kb"]) / 1024}


def ours_ensemble(workers: int, runs: int) -> tuple[float, float]:
    """Runs per second of model.ensemble.run_ensemble (Parquet parts in a temporary folder),
    and CPU seconds per run of this process (meaningful for 1 worker, which runs in-process)."""
    spec = EnsembleSpec(SCENARIO, runs, seed=2026, settings=RunSettings(scale=1.0))
    with tempfile.TemporaryDirectory() as out:
        c0, t0 = time.process_time(), time.perf_counter()
        run_ensemble(spec, Path(out), workers=workers)
        return runs / (time.perf_counter() - t0), (time.process_time() - c0) / runs


def reference_ensemble(workers: int, runs: int) -> tuple[float, float]:
    """Runs per second of the reference with the same seeds and executor layout as run_ensemble
    (in-process for 1 worker, a forkserver process pool otherwise; one run per task)."""
    seeds = np.random.SeedSequence(2026).spawn(runs)
    c0, t0 = time.process_time(), time.perf_counter()
    if workers <= 1:
        run_reference_chunk(SCENARIO, seeds)
    else:
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            list(pool.map(run_reference_chunk, [SCENARIO] * runs, [[s] for s in seeds]))
    return runs / (time.perf_counter() - t0), (time.process_time() - c0) / runs


LOADS: list[float] = []


def progress(msg: str) -> None:
    """Print a progress line with the 1-minute load average (kept for the summary)."""
    LOADS.append(os.getloadavg()[0])
    print(f"... {msg} (load average {LOADS[-1]:.2f})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="timed single runs of ClusterModel (default 7)")
    ap.add_argument("--ref-runs", type=int, default=3, help="timed single runs of the reference (default 3)")
    ap.add_argument("--ensemble-runs", type=int, default=40, help="ClusterModel ensemble size (default 40)")
    ap.add_argument("--ref-ensemble-runs", type=int, default=4, help="reference ensemble size (default 4)")
    ap.add_argument("--ours-only", action="store_true", help="skip the reference (e.g. to compare commits)")
    args = ap.parse_args()

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    print(
        f"# E-Town model benchmark: scale=1, baseline scenario, {SCENARIO.start_year + 1}-{SCENARIO.end_year} quarterly"
    )
    print(
        f"# Python {platform.python_version()}, Mesa {mesa.__version__}, NumPy {np.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}; load average {load_start:.2f} at start"
    )
    res: dict[str, dict[str, float]] = {}
    for kind, n_runs, n_ens in (
        ("ours", args.runs, args.ensemble_runs),
        ("reference", args.ref_runs, args.ref_ensemble_runs),
    ):
        progress(f"{kind}: {n_runs} single runs")
        r = time_runs(kind, list(range(n_runs)))
        progress(f"{kind}: peak memory")
        r |= peak_memory(kind)
        ens = ours_ensemble if kind == "ours" else reference_ensemble
        for workers in (1, 2):
            runs = n_ens if workers == 2 else max(n_ens // 2, 1)
            progress(f"{kind}: ensemble of {runs} runs on {workers} worker(s)")
            r[f"ens{workers}_runs"] = runs
            r[f"ens{workers}_rps"], cpu_per_run = ens(workers, runs)
            if workers == 1:
                r["ens_cpu_per_run"] = cpu_per_run
        r["ens1000_min"] = 1000 / r["ens2_rps"] / 60
        r["ens1000_cpu_min"] = 1000 * r["ens_cpu_per_run"] / 2 / 60
        res[kind] = r
        if args.ours_only:
            print(json.dumps(r, indent=1))
            return

    o, f = res["ours"], res["reference"]
    rows = [
        ("firm agents at start", f"{o['firms_start']:,}", f"{f['firms_start']:,}", "", None),
        ("firm agents alive at the end (median)", f"{o['firms_end']:,.0f}", f"{f['firms_end']:,.0f}", "", None),
        ("timed single runs", f"{o['runs']}", f"{f['runs']}", "", None),
        (
            "wall time per run, s (median; build + 20 steps)",
            f"{o['wall_s']:.3f}",
            f"{f['wall_s']:.2f}",
            "x faster",
            f["wall_s"] / o["wall_s"],
        ),
        ("CPU time per run, s (median)", f"{o['cpu_s']:.3f}", f"{f['cpu_s']:.2f}", "x less", f["cpu_s"] / o["cpu_s"]),
        (
            "  of which build (wall), s",
            f"{o['build_s']:.3f}",
            f"{f['build_s']:.2f}",
            "x faster",
            f["build_s"] / o["build_s"],
        ),
        (
            "firm agent-steps per second (steps only)",
            f"{o['agent_steps_per_s']:,.0f}",
            f"{f['agent_steps_per_s']:,.0f}",
            "x more",
            o["agent_steps_per_s"] / f["agent_steps_per_s"],
        ),
        (
            "peak RSS of a process running one model, MB",
            f"{o['peak_rss_mb']:.0f}",
            f"{f['peak_rss_mb']:.0f}",
            "x less",
            f["peak_rss_mb"] / o["peak_rss_mb"],
        ),
        (
            "  of which the model (peak - after imports), MB",
            f"{o['model_rss_mb']:.0f}",
            f"{f['model_rss_mb']:.0f}",
            "x less",
            f["model_rss_mb"] / o["model_rss_mb"],
        ),
        (
            f"ensemble, 1 worker, runs/s ({o['ens1_runs']} / {f['ens1_runs']} runs)",
            f"{o['ens1_rps']:.2f}",
            f"{f['ens1_rps']:.3f}",
            "x more",
            o["ens1_rps"] / f["ens1_rps"],
        ),
        (
            f"ensemble, 2 workers, runs/s ({o['ens2_runs']} / {f['ens2_runs']} runs)",
            f"{o['ens2_rps']:.2f}",
            f"{f['ens2_rps']:.3f}",
            "x more",
            o["ens2_rps"] / f["ens2_rps"],
        ),
        (
            "1,000-run ensemble on 2 workers, min (extrapolated from the 2-worker runs/s)",
            f"{o['ens1000_min']:.1f}",
            f"{f['ens1000_min']:.0f}",
            "x faster",
            f["ens1000_min"] / o["ens1000_min"],
        ),
        (
            "1,000-run ensemble on 2 idle cores, min (1-worker CPU s per run x 1000 / 2)",
            f"{o['ens1000_cpu_min']:.1f}",
            f"{f['ens1000_cpu_min']:.0f}",
            "x faster",
            f["ens1000_cpu_min"] / o["ens1000_cpu_min"],
        ),
    ]
    print()
    print("| measure | ours (ClusterModel) | reference (per-agent) | ours vs reference |")
    print("|---|---:|---:|---:|")
    for name, a, b, word, ratio in rows:
        print(f"| {name} | {a} | {b} | {'' if ratio is None else f'{ratio:.1f} {word}'} |")
    print()
    print("Ensembles: ours through model.ensemble.run_ensemble (Parquet parts in a temporary folder);")
    print("the reference through an equivalent process pool (same seeds, no Parquet writing).")
    LOADS.append(os.getloadavg()[0])
    print(
        f"Benchmark wall time: {time.perf_counter() - t_start:.0f} s; 1-minute load average {load_start:.2f} at start, "
        f"{statistics.median(LOADS):.2f} median / {max(LOADS):.2f} max during, {LOADS[-1]:.2f} at end "
        f"({os.cpu_count()} CPUs; the benchmark itself adds 1, or 2 in the 2-worker ensembles)"
    )
    if load_start > 0.5:
        print("WARNING: other processes were using the CPUs; timings (especially 2-worker ensembles) are pessimistic")


if __name__ == "__main__":
    main()
