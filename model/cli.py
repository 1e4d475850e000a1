"""The `etown` command: thin over model.api. User mistakes give one line on stderr and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .api import DEFAULT_SEED, run
from .ensemble import EnsembleError, default_runs
from .scenario import ScenarioError, load_scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="E-Town cluster-growth model: run policy scenarios as Monte Carlo ensembles.")

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
) -> None:
    """Run SCENARIO as an ensemble; write runs.parquet, summary.json and fan_chart.png."""
    try:
        loaded = load_scenario(scenario)
        result = run(loaded, runs=runs, seed=seed, workers=workers, out=out, scheduler=scheduler, resume=resume,
                     scale=scale, progress=not quiet and sys.stderr.isatty())
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


if __name__ == "__main__":  # pragma: no cover
    app()
