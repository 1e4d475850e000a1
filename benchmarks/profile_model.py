"""Profile full-scale runs of ClusterModel with pyinstrument and print the call tree.

Run: `.venv/bin/python benchmarks/profile_model.py [--runs 5] [--scale 1.0]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyinstrument import Profiler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.cluster_model import ClusterModel  # noqa: E402
from model.scenario import load_scenario  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml").scenario
    ClusterModel(scenario, rng=0, scale=0.1).run()  # warm up imports and caches
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for seed in range(args.runs):
        ClusterModel(scenario, rng=seed, scale=args.scale).run()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    main()
