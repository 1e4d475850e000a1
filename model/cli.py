"""The `etown` command: thin over model.api. User mistakes give one line on stderr and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import matplotlib
import typer

from .api import DEFAULT_SEED, run
from .ensemble import EnsembleError, default_runs
from .io import write_json
from .scenario import ScenarioError, load_scenario

matplotlib.use("Agg")  # the command draws to files only; library code never picks a backend

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


@app.command("calibrate")
def calibrate_cmd(
    scale: Annotated[float, typer.Option(min=0.01, max=1.0, help="share of firms simulated")] = 0.1,
    reps: Annotated[int, typer.Option(min=1, help="replications per candidate (common random numbers)")] = 6,
    seed: Annotated[int, typer.Option(min=0, help="seed of the common random numbers and the optimiser")] = 2015,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 2,
    minutes: Annotated[float, typer.Option(min=0.1, help="wall-time budget of the fit")] = 10.0,
    out: Annotated[Path, typer.Option(help="folder for fit_table.csv and fit_plot.png")] = Path("results/calibration"),
    write: Annotated[bool, typer.Option(help="write model/data/calibrated.yaml")] = True,
    synthetic: Annotated[bool, typer.Option(help="identifiability check: recover known parameters instead")] = False,
) -> None:
    """Fit the free parameters to the 2015-2020 history by simulated moments; print the fit table."""
    from .calibration.fit import FitConfig, format_table, run_calibration, run_identifiability

    cfg = FitConfig(scale=scale, reps=reps, seed=seed, workers=workers, max_minutes=minutes)
    say = None if not sys.stderr.isatty() else (lambda m: typer.echo(m, err=True))
    if synthetic:
        table = run_identifiability(cfg, out, progress=say)
        typer.echo(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        typer.echo(f"results: {out}/identifiability.csv")
        return
    result, table = run_calibration(cfg, out, write=write, progress=say)
    typer.echo(format_table(table))
    typer.echo(
        f"loss {result.loss:.2f} at the point estimate; {result.evaluations} candidates, "
        f"{len(result.sample)} draws in the sample (threshold {result.threshold:.2f})"
    )
    typer.echo(f"results: {out}/ (fit_table.csv, fit_plot.png)" + ("; model/data/calibrated.yaml" if write else ""))


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
        )
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


@app.command("dashboard")
def dashboard_cmd(
    scenario: Annotated[Path | None, typer.Argument(help="scenario YAML file [default: 2020 levers]")] = None,
    host: Annotated[str, typer.Option(help="address to listen on (localhost only by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port")] = 8521,
    scale: Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated")] = 0.1,
    seed: Annotated[int, typer.Option(min=0, help="seed of the model on screen and of the ensemble")] = DEFAULT_SEED,
    runs: Annotated[int, typer.Option(min=2, help="replications of the ensemble button")] = 40,
) -> None:
    """Serve an interactive dashboard (Mesa SolaraViz): lever sliders, live plots, a small ensemble."""
    if scenario is not None:
        try:
            load_scenario(scenario)
        except ScenarioError as exc:
            fail(str(exc))
    try:
        from .dashboard import serve
    except ImportError as exc:
        fail(f"the dashboard needs the dashboard extra (pip install -e '.[dashboard]'): {exc}")
    typer.echo(f"etown dashboard: http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    serve(scenario, host, port, scale, seed, runs)


if __name__ == "__main__":  # pragma: no cover
    app()
