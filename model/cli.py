"""The `etown` command: thin over model.api. User mistakes give one line on stderr and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .api import DEFAULT_SEED, run
from .ensemble import EnsembleError, default_runs
from .io import write_json
from .scenario import ScenarioError, load_scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="E-Town cluster-growth model: run policy scenarios as Monte Carlo ensembles.",
)

USER_ERRORS = (ScenarioError, EnsembleError)


def fail(message: str) -> None:
    """Print a one-line error and exit with status 2."""
    typer.echo(f"etown: {message}", err=True)
    raise typer.Exit(2)


@app.command("run")
def run_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    runs: Annotated[int | None, typer.Option(min=1, help=f"replications [default: {default_runs()}]")] = None,
    seed: Annotated[int, typer.Option(min=0, help="master seed")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 1,
    out: Annotated[Path | None, typer.Option(help="output folder [default: results/<scenario name>]")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    resume: Annotated[bool, typer.Option(help="finish an interrupted ensemble in the same --out")] = False,
    scale: Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated (1 = all)")] = 1.0,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    point_estimate: Annotated[
        bool, typer.Option("--point-estimate", help="calibrated point for every run (default: draw from the sample)")
    ] = False,
) -> None:
    """Run SCENARIO as an ensemble; write runs.parquet, summary.json and fan_chart.png."""
    try:
        loaded = load_scenario(scenario)
        result = run(
            loaded,
            runs=runs,
            seed=seed,
            workers=workers,
            out=out,
            scheduler=scheduler,
            resume=resume,
            scale=scale,
            progress=not quiet and sys.stderr.isatty(),
            point_estimate=point_estimate,
        )
    except USER_ERRORS as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write results: {exc}")
    typer.echo(result.table())
    typer.echo(f"results: {result.out}/ (summary.json, runs.parquet, fan_chart.png)")


@app.command("validate")
def validate_cmd(scenario: Annotated[Path, typer.Argument(help="scenario YAML file")]) -> None:
    """Check SCENARIO without running it."""
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
    sc = loaded.scenario
    typer.echo(f"{scenario}: ok (scenario {sc.name!r}, {sc.start_year}-{sc.end_year}, sha256 {loaded.sha256[:12]})")


def _client(scheduler: str | None):
    """A Dask client for --scheduler (None without it); a one-line error if unreachable."""
    if not scheduler:
        return None
    from .ensemble import connect

    try:
        return connect(scheduler)
    except EnsembleError as exc:
        fail(str(exc))


def _say():
    return (lambda m: typer.echo(m, err=True)) if sys.stderr.isatty() else None


@app.command("calibrate")
def calibrate_cmd(
    scale: Annotated[float, typer.Option(min=0.01, max=1.0, help="share of firms simulated")] = 0.1,
    particles: Annotated[int, typer.Option(min=10, help="ABC-SMC particles")] = 400,
    seed: Annotated[int, typer.Option(min=0, help="seed of the calibration")] = 2015,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    minutes: Annotated[float, typer.Option(min=0.1, help="wall-time budget of the ABC-SMC")] = 35.0,
    max_simulations: Annotated[int, typer.Option(min=100, help="simulation budget")] = 40_000,
    until: Annotated[int, typer.Option(min=2016, max=2020, help="last year of data used")] = 2020,
    out: Annotated[Path, typer.Option(help="folder for tables and plots")] = Path("results/calibration"),
    write: Annotated[bool, typer.Option(help="write model/data/calibrated.yaml")] = True,
    screen: Annotated[bool, typer.Option(help="Morris screening of which parameters the data inform, instead")] = False,
) -> None:
    """Bayesian calibration (ABC-SMC) to the 2015-2020 history; prints the fit table."""
    from .calibration import fit

    client = _client(scheduler)
    if screen:
        from .calibration.screen import screen as run_screen

        rank, long = run_screen(scale=scale, seed=seed, workers=workers, client=client)
        out.mkdir(parents=True, exist_ok=True)
        rank.to_csv(out / "screening.csv", index=False)
        long.to_csv(out / "screening_long.csv", index=False)
        typer.echo(rank.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        typer.echo(f"results: {out}/screening.csv")
        return
    cfg = fit.CalibConfig(
        scale=scale,
        particles=particles,
        seed=seed,
        workers=workers,
        max_minutes=minutes,
        max_simulations=max_simulations,
        until=until,
    )
    try:
        cal, table, post = fit.run_calibration(cfg, out, write=write and until == 2020, client=client, progress=_say())
    finally:
        if client is not None:
            client.close()
    typer.echo(fit.format_table(table))
    typer.echo(post.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    smc = cal.smc
    typer.echo(
        f"{smc.simulations} simulations in {cal.wall_time_s:.0f} s on {cal.workers}; {len(smc.generations) - 1} "
        f"generations; stop: {smc.stop_reason}"
    )
    typer.echo(f"results: {out}/" + ("; model/data/calibrated.yaml" if write and until == 2020 else ""))


@app.command("backtest")
def backtest_cmd(
    until: Annotated[int, typer.Option(min=2016, max=2019, help="last year of data used to calibrate")] = 2018,
    scale: Annotated[float, typer.Option(min=0.01, max=1.0, help="share of firms simulated")] = 0.1,
    particles: Annotated[int, typer.Option(min=10, help="ABC-SMC particles")] = 200,
    draws: Annotated[int, typer.Option(min=10, help="posterior-predictive runs scored")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="seed")] = 2018,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address")] = None,
    minutes: Annotated[float, typer.Option(min=0.1, help="wall-time budget of the calibration")] = 12.0,
    out: Annotated[Path, typer.Option(help="folder for backtest.json and backtest.png")] = Path("results/backtest"),
) -> None:
    """Out-of-sample test: calibrate on data to UNTIL, project to 2020, score against what followed."""
    from .calibration import backtest

    cfg = backtest.default_config(
        until=until, scale=scale, particles=particles, ppc_draws=draws, seed=seed, workers=workers, max_minutes=minutes
    )
    client = _client(scheduler)
    try:
        report = backtest.run_backtest(cfg, out, client=client, progress=_say())
    finally:
        if client is not None:
            client.close()
    typer.echo(backtest.format_report(report))
    typer.echo(f"results: {out}/ (backtest.json, backtest.png)")


@app.command("uncertainty")
def uncertainty_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    params: Annotated[int, typer.Option(min=2, help="parameter draws")] = 30,
    baselines: Annotated[int, typer.Option(min=2, help="2020-baseline draws per parameter draw")] = 4,
    seeds: Annotated[int, typer.Option(min=2, help="runs per (parameter, baseline) pair")] = 4,
    scale: Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated")] = 1.0,
    seed: Annotated[int, typer.Option(min=0, help="master seed")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder [default: results/uncertainty/<scenario>]")] = None,
) -> None:
    """Split each headline outcome's variance into parameters, 2020 baseline and stochasticity."""
    from .calibration.store import default_source
    from .experiments import uncertainty as unc

    try:
        sc = load_scenario(scenario).scenario
    except ScenarioError as exc:
        fail(str(exc))
    client = _client(scheduler)
    try:
        table = unc.run_uncertainty(
            sc,
            source=default_source(),
            params=params,
            baselines=baselines,
            seeds=seeds,
            scale=scale,
            master=seed,
            workers=workers,
            client=client,
        )
    finally:
        if client is not None:
            client.close()
    out = out if out is not None else Path("results") / "uncertainty" / sc.name
    meta = {"scenario": sc.name, "params": params, "baselines": baselines, "seeds": seeds, "scale": scale, "seed": seed}
    unc.write_outputs(table, meta, out)
    typer.echo(unc.format_table(table))
    typer.echo(f"results: {out}/ (uncertainty.csv, uncertainty.json, uncertainty.png)")


@app.command("sensitivity")
def sensitivity_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")] = Path("scenarios/baseline.yaml"),
    method: Annotated[str, typer.Option(help="morris, sobol, or both (Morris screening, then Sobol)")] = "both",
    n: Annotated[int | None, typer.Option("--n", min=2, help="Morris trajectories [default: 10]")] = None,
    sobol_n: Annotated[int, typer.Option(min=2, help="Sobol base sample (power of two)")] = 128,
    sobol_top: Annotated[int, typer.Option(min=1, help="inputs Morris passes on to Sobol (method both)")] = 12,
    runs_per_point: Annotated[int, typer.Option(min=1, help="replications per design point (same seeds)")] = 10,
    scale: Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated")] = 0.05,
    seed: Annotated[int, typer.Option(min=0, help="seed of the design and the replications")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 2,
    inputs: Annotated[str | None, typer.Option(help="comma-separated inputs to vary [default: all]")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder [default: results/sensitivity/<scenario>]")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
) -> None:
    """Global sensitivity of the target-cluster outcomes to parameters and levers (SALib)."""
    from tqdm import tqdm

    from .calibration import sensitivity as sa

    if method not in ("morris", "sobol", "both"):
        fail(f"--method: must be morris, sobol or both, got {method!r}")
    try:
        sc = load_scenario(scenario).scenario
        chosen = sa.select_inputs([s.strip() for s in inputs.split(",") if s.strip()] if inputs else None)
        if method != "morris" and sobol_n & (sobol_n - 1):
            raise ValueError(f"--sobol-n must be a power of two, got {sobol_n}")
    except ScenarioError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"--inputs: {exc}" if "input" in str(exc) else str(exc))
    total = sa.design_size(method, len(chosen), n, sobol_n, sobol_top)  # type: ignore[arg-type]
    out = out if out is not None else Path("results") / "sensitivity" / sc.name
    typer.echo(f"{method}: {total} design points x {runs_per_point} runs, scale {scale}, {workers} worker(s)", err=True)
    client = _client(scheduler)
    with tqdm(total=total, unit="pt", disable=quiet or not sys.stderr.isatty(), leave=False) as bar:
        result = sa.run_sensitivity(
            sc,
            method=method,  # type: ignore[arg-type]
            n=n,
            sobol_n=sobol_n,
            sobol_top=sobol_top,
            runs_per_point=runs_per_point,
            scale=scale,
            seed=seed,
            workers=workers,
            inputs=[i.name for i in chosen],
            progress=bar.update,
            client=client,
        )
    if client is not None:
        client.close()
    try:
        sa.write_outputs(result, out)
    except OSError as exc:
        fail(f"cannot write results: {exc}")
    typer.echo(f"ten most influential inputs ({result.meta['ranking_method']}, {result.meta['wall_time_s']:.0f} s):")
    typer.echo(result.top_table(10))
    typer.echo(f"results: {out}/ (indices.csv, sensitivity.json, indices_*.png, design_*.csv)")


@app.command("score")
def score_cmd(
    results_dir: Annotated[Path, typer.Argument(help="folder of a finished ensemble (runs.parquet, zone.parquet)")],
    observations: Annotated[Path, typer.Argument(help="observations YAML (see docs/sensitivity_and_scoring.md)")],
    out: Annotated[Path | None, typer.Option(help="score file [default: RESULTS_DIR/score.json]")] = None,
) -> None:
    """Score a finished ensemble against observed values and threshold events."""
    from .score import ObservationsError, format_score_table, score_ensemble

    try:
        report = score_ensemble(results_dir, observations)
    except ObservationsError as exc:
        fail(str(exc))
    target = out if out is not None else results_dir / "score.json"
    try:
        write_json(target, report)
    except OSError as exc:
        fail(f"cannot write {target}: {exc}")
    typer.echo(format_score_table(report))
    typer.echo(f"score: {target}")


if __name__ == "__main__":  # pragma: no cover
    app()
