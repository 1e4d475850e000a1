"""Peak memory of the final step of a huge ensemble (not a test).

Fabricates the Parquet parts of an N-run ensemble (synthetic tables of the real shape: 6 years
x 7 sectors per run, and a row of sampled inputs and levers per run shaped like a real run's;
no simulation), then, in a fresh process, runs what follows the
simulations: `run_ensemble(..., resume=True)` with every chunk already on disk (folds the parts
into the compact per-run aggregate and streams them into runs.parquet / zone.parquet), the
summary and the fan chart. Prints the peak RSS of that process above its RSS after imports.
With --legacy it also measures the former route (concatenate every part in pandas, summarize,
write the tables, plot) for comparison.

    .venv/bin/python benchmarks/bench_memory.py                # 100,000 runs
    .venv/bin/python benchmarks/bench_memory.py --runs 20000 --legacy
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.cluster_model import ZONE_METRICS  # noqa: E402
from model.ensemble import CHUNK_RUNS, EnsembleSpec, RunSettings, inputs_table, prepare_parts  # noqa: E402
from model.inputs import draw_inputs  # noqa: E402
from model.scenario import load_scenario  # noqa: E402
from model.sectors import SECTOR_IDS  # noqa: E402

SCENARIO = ROOT / "scenarios" / "baseline.yaml"
SEED = 1


def spec_for(runs: int) -> EnsembleSpec:
    return EnsembleSpec(load_scenario(SCENARIO).scenario, runs, SEED, RunSettings())


def fabricate(out: Path, runs: int) -> None:
    """Parts of the right shape and plausible size for `runs` runs, plus their manifest."""
    spec = spec_for(runs)
    parts = prepare_parts(out, spec, resume=False)
    years = np.asarray(spec.scenario.years, dtype=np.int16)
    ny, ns = len(years), len(SECTOR_IDS)
    rng = np.random.default_rng(0)
    base = np.array([250, 120, 83, 60, 45, 40, 150], dtype=float) * 1e9  # yuan/year in 2020
    growth = np.array([0.05, 0.10, 0.08, 0.12, 0.15, 0.14, 0.03])
    sector_dict = pa.array(SECTOR_IDS)
    # one real run's inputs row (parameters, shocks, pipeline, levers): the columns of inputs.parquet
    template = inputs_table(0, draw_inputs(np.random.SeedSequence(SEED), spec.scenario), spec.scenario)
    floats = template.columns[template.dtypes == np.float64]
    for chunk, members in enumerate(spec.chunks()):
        n = len(members)
        run_ids = np.asarray(members, dtype=np.int32)
        rates = growth * rng.lognormal(0.0, 0.3, size=(n, 1, ns))
        output = base * (1 + rates) ** np.arange(ny)[None, :, None]  # [run, year, sector]
        sectors = pa.table(
            {
                "run": np.repeat(run_ids, ny * ns),
                "year": np.tile(np.repeat(years, ns), n),
                "sector": pa.DictionaryArray.from_arrays(
                    pa.array(np.tile(np.arange(ns, dtype=np.int8), n * ny)), sector_dict
                ),
                "output_yuan": output.ravel(),
                "firms": np.round(output.ravel() / 2e8),
                "employees": np.round(output.ravel() / 2e6),
            }
        )
        zone = {"run": np.repeat(run_ids, ny), "year": np.tile(years, n)}
        total = output.sum(axis=2).ravel()
        for m in ZONE_METRICS:
            zone[m] = total * rng.uniform(0.5, 1.5, size=total.shape)
        zone["budget_spent"][::ny] = np.nan  # no spending in the start year, as in real runs
        pq.write_table(pa.table(zone), parts / f"zone-{chunk:06d}.parquet")
        inputs = template.loc[np.zeros(n, dtype=int)].reset_index(drop=True)
        inputs[floats] = inputs[floats].to_numpy() * rng.uniform(0.5, 1.5, size=(n, floats.size))
        inputs["run"] = run_ids
        inputs.to_parquet(parts / f"inputs-{chunk:06d}.parquet", index=False)
        pq.write_table(sectors, parts / f"sectors-{chunk:06d}.parquet")


def rss_now_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def measure(out: Path, runs: int, legacy: bool) -> dict:
    """The final step in this process; peak RSS (MB) above the RSS after imports."""
    from model.analysis import summarize
    from model.ensemble import read_parts, run_ensemble
    from model.plots import fan_chart, save_figure

    spec = spec_for(runs)
    start_kb = rss_now_kb()
    t0 = time.perf_counter()
    if legacy:  # the former route: every run's tables in pandas at once
        sectors, zone = read_parts(out / "parts")
        summary = summarize(sectors, zone, spec.scenario.end_year)
        sectors.to_parquet(out / "runs.parquet", index=False)
        zone.to_parquet(out / "zone.parquet", index=False)
        save_figure(fan_chart(sectors, summary, title="legacy"), out / "fan_chart.png")
    else:
        aggregate = run_ensemble(spec, out, resume=True)
        summary = aggregate.summary(spec.scenario.end_year)
        save_figure(fan_chart(aggregate.fan_frame(), summary, title="streamed"), out / "fan_chart.png")
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "route": "legacy" if legacy else "streamed",
        "runs": runs,
        "seconds": round(seconds, 1),
        "rss_after_imports_mb": round(start_kb / 1024),
        "peak_rss_mb": round(peak_kb / 1024),
        "peak_above_imports_mb": round((peak_kb - start_kb) / 1024),
        "runs_parquet_mb": round((out / "runs.parquet").stat().st_size / 2**20, 1),
        "p_all_four_targets": summary["p_all_four_targets"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--legacy", action="store_true", help="also measure the former all-in-pandas route")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child process: measure in this folder
    ap.add_argument("--route", default="streamed", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs, args.route == "legacy")))
        return
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        fabricate(out, args.runs)
        chunks = -(-args.runs // CHUNK_RUNS)
        print(f"fabricated {args.runs:,} runs ({chunks:,} chunks) in {time.perf_counter() - t0:.0f} s")
        for route in ["streamed", "legacy"] if args.legacy else ["streamed"]:
            child = [sys.executable, __file__, "--runs", str(args.runs), "--measure", str(out), "--route", route]
            result = json.loads(subprocess.run(child, capture_output=True, text=True, check=True).stdout)
            print(
                f"{route:>8}: peak RSS {result['peak_rss_mb']} MB ({result['peak_above_imports_mb']} MB above "
                f"{result['rss_after_imports_mb']} MB after imports), {result['seconds']} s; "
                f"runs.parquet {result['runs_parquet_mb']} MB"
            )


if __name__ == "__main__":
    main()
