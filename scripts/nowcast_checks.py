"""The figures of docs/nowcasting.md: twin experiment, in-sample backtest, time of an assimilation.

    .venv/bin/python scripts/nowcast_checks.py twin [--runs 390] [--scale 1] [--workers 2]
    .venv/bin/python scripts/nowcast_checks.py study [--runs 200] [--scale 0.1] [--truths 20] [--workers 2]
    .venv/bin/python scripts/nowcast_checks.py timing [--runs 390] [--scale 1] [--workers 2]
    .venv/bin/python scripts/nowcast_checks.py backtest [--runs 200] [--scale 0.1] [--workers 2] [--prior]

twin: three observations (ngit output 2021Q1-2021Q3, GDP 2021, industrial output 2021H1, 3% error)
      generated from one run of the baseline (seed 2021, parameters drawn like any run) are
      assimilated into an ensemble of --runs runs (in memory); prior and updated bands and P
      against that run.
study: the twin experiment repeated over --truths truth runs (seeds 1000, 1001, ...), each
      assimilated into one prior ensemble: mean Brier score of P for the four targets and CRPS
      of their outputs (year after the observations and 2025) and of the observed quantities
      against the truths, before and after; how often rejuvenation was needed.
timing: `etown assimilate scenarios/baseline.yaml` of the same three (synthetic) observations,
      written to results/nowcast_checks/twin_observations.yaml, into results/nowcast_checks/timing/
      (the prior ensemble is run first; a second call reuses it); wall times and machine load.
backtest: history mode from end-2015 with the posterior of an ABC-SMC fit to data up to 2018
      (etown backtest's calibration, ~12 min on 2 cores; kept in results/nowcast_checks/fit_2018.json),
      assimilate the published 2019 GDP, industrial output and firm count, score 2020.
      --prior: parameters from their priors instead of the fit (no calibration).
Every result is written as JSON to results/nowcast_checks/ and summarised on screen.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "nowcast_checks"
TRUTH_SEED = 2021


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def twin(args: argparse.Namespace) -> None:
    from model.calibration.store import default_source
    from model.nowcast.experiments import twin_experiment
    from model.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").scenario
    load = _load()
    r = twin_experiment(
        sc,
        default_source(),
        runs=args.runs,
        seed=20210201,
        truth_seed=TRUTH_SEED,
        scale=args.scale,
        workers=args.workers,
    )
    r["load_before"], r["load_after"] = load, _load()
    _write("twin", r)
    for k, o in enumerate(r["observations"]):
        b, a = r["observed_prior"][k], r["observed_updated"][k]
        print(
            f"{o['label']}: truth {o['truth']:.1f}, observed {o['observed']:.1f}; prior {_band(b)}, updated {_band(a)}"
        )
    for s, c in r["clusters"].items():
        rows = "; ".join(
            f"{y}: truth {v['truth']:.1f}, prior {_band(v['prior'])}, updated {_band(v['updated'])}"
            for y, v in c["output_bn"].items()
        )
        print(f"{s}: truth crosses {c['truth_crosses']}, P {c['p_before']:.2f} -> {c['p_after']:.2f}; {rows}")
    print(
        f"ESS {r['ess_prior']:.1f} of {r['runs']}, {r['rejuvenations']} rejuvenation(s), "
        f"{r['distinct_pasts']} distinct pasts, {r['wall_time_s']:.0f} s (load {r['load_before']} -> {r['load_after']})"
    )


def study(args: argparse.Namespace) -> None:
    from model.calibration.store import default_source
    from model.nowcast.experiments import twin_study
    from model.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").scenario
    load, t = _load(), time.perf_counter()
    r = twin_study(
        sc, default_source(), runs=args.runs, seed=20210201, truths=args.truths, scale=args.scale, workers=args.workers
    )
    r["wall_time_s"], r["load_before"], r["load_after"] = time.perf_counter() - t, load, _load()
    _write("study", r)
    for k, v in r["scores"].items():
        skill = "-" if v["skill"] is None else f"{v['skill']:+.2f}"
        print(f"{k:36s} prior {v['prior']:8.4f}  updated {v['updated']:8.4f}  skill {skill}")
    b = r["brier_targets"]
    print(
        f"Brier (four targets): {b['prior']:.4f} -> {b['updated']:.4f}; rejuvenated in {r['rejuvenated_share']:.0%} "
        f"of {r['truths']} truths (mean {r['rejuvenations_mean']:.1f}, max {r['rejuvenations_max']}); median ESS "
        f"{r['ess_prior_median']:.1f} of {r['runs']}; fewest distinct pasts {r['distinct_pasts_min']}; "
        f"{r['wall_time_s']:.0f} s (load {r['load_before']} -> {r['load_after']})"
    )


def timing(args: argparse.Namespace) -> None:
    from model.api import assimilate
    from model.calibration.store import default_source
    from model.nowcast.experiments import twin_observations
    from model.nowcast.observations import dump_observations
    from model.nowcast.smc import Simulator
    from model.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").scenario
    _, _, observations = twin_observations(Simulator(sc, args.scale), default_source(), TRUTH_SEED)
    obs_file = OUT / "twin_observations.yaml"
    OUT.mkdir(parents=True, exist_ok=True)
    obs_file.write_text(
        dump_observations(
            observations,
            "SYNTHETIC: generated by scripts/nowcast_checks.py from one model run (twin experiment), not zone data",
        )
    )
    rows = []
    for attempt in ("prior run", "prior reused"):
        load = _load()
        t = time.perf_counter()
        res = assimilate(
            ROOT / "scenarios" / "baseline.yaml",
            obs_file,
            runs=args.runs,
            workers=args.workers,
            scale=args.scale,
            out=OUT / "timing",
            progress=False,
        )
        rows.append(
            {
                "case": attempt,
                "wall_s": time.perf_counter() - t,
                "load_before": load,
                "load_after": _load(),
                **res.report["timings_s"],
                "rejuvenations": res.report["rejuvenations"],
                "ess_prior": res.report["ess_prior"],
                "distinct_pasts": res.report["distinct_pasts"],
                "prefix_runs": res.report["prefix_runs"],
            }
        )
        print(rows[-1])
    print(res.table())
    _write(
        "timing",
        {"runs": args.runs, "scale": args.scale, "workers": args.workers, "cpus": os.cpu_count(), "rows": rows},
    )


def backtest(args: argparse.Namespace) -> None:
    from model.calibration.backtest import default_config
    from model.calibration.fit import calibrate
    from model.inputs import ParamSource
    from model.nowcast.experiments import history_backtest

    if args.prior:
        source, basis = ParamSource(prior_for_rest=True), "priors (no calibration)"
    else:
        fit_file = OUT / "fit_2018.json"
        if not fit_file.is_file():
            t = time.perf_counter()
            cal = calibrate(default_config(workers=args.workers), progress=print)
            OUT.mkdir(parents=True, exist_ok=True)
            fit_file.write_text(
                json.dumps(
                    {
                        "draws": cal.draws,
                        "wall_time_s": time.perf_counter() - t,
                        "stop": cal.smc.stop_reason,
                        "simulations": cal.smc.simulations,
                    }
                )
            )
        draws = json.loads(fit_file.read_text())["draws"]
        source = ParamSource(posterior=tuple(tuple(sorted(d.items())) for d in draws), prior_for_rest=True)
        basis = f"ABC-SMC fit to data up to 2018 ({len(draws)} draws; {fit_file})"
    load = _load()
    r = history_backtest(source, runs=args.runs, seed=2018, scale=args.scale, workers=args.workers)
    r["parameters"], r["load_before"], r["load_after"] = basis, load, _load()
    _write("backtest_prior" if args.prior else "backtest", r)
    for row in r["scored"]:
        b, a = row["prior"], row["updated"]
        print(
            f"{row['metric']} {row['year']}: observed {row['observed']:.4g}; "
            f"prior {_band(b, '.4g')} (CRPS log {b['crps_log']:.3f}), "
            f"updated {_band(a, '.4g')} (CRPS log {a['crps_log']:.3f})"
        )
    m = r["mean_crps_log"]
    print(
        f"mean CRPS of logs: {m['prior']:.3f} -> {m['updated']:.3f} (CRPSS {r['crpss_log']:.2f}); "
        f"ESS {r['ess_prior']:.1f} of {r['runs']}, {r['rejuvenations']} rejuvenation(s), {r['wall_time_s']:.0f} s; "
        f"parameters: {basis}"
    )


def _band(b: dict, fmt: str = ".1f") -> str:
    return f"{b['p10']:{fmt}}-{b['p90']:{fmt}}"


def _write(name: str, data: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, default=float))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["twin", "study", "timing", "backtest"])
    p.add_argument("--truths", type=int, default=20)
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--scale", type=float, default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--prior", action="store_true", help="backtest: priors instead of the fit to 2018")
    args = p.parse_args()
    small = args.what in ("backtest", "study")
    args.runs = args.runs or (200 if small else 390)
    args.scale = args.scale or (0.1 if small else 1.0)
    {"twin": twin, "study": study, "timing": timing, "backtest": backtest}[args.what](args)


if __name__ == "__main__":
    main()
