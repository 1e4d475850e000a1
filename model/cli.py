"""The `etown` command: thin over model.api. User mistakes give one line on stderr and exit 2.

Every command inherits this from `EtownGroup`: usage errors (bad options, missing arguments)
and the user errors in USER_ERRORS become `etown: <one line>` with exit status 2; SIGINT and
SIGTERM end a command with one line and status 130 / 143 (`etown run` says how to resume).
"""

from __future__ import annotations

import re
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import matplotlib
import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - typer built on click
    from click import exceptions as click_exceptions

from .api import DEFAULT_SEED, EnsembleResult, assimilate, compare, run
from .ensemble import STAGING_DIR, EnsembleError, Interrupted, Terminated, default_runs, stop_helper_processes
from .io import RESULT_DIGITS, write_json
from .levers import format_effective_levers, format_lever_table, plausibility_warnings
from .scenario import ScenarioError, load_scenario
from .score import ObservationsError
from .store import StoreError

USER_ERRORS = (ScenarioError, EnsembleError, ObservationsError, StoreError)
MAX_MESSAGE = 500
"""Longest error line printed (user input in it is cut before that)."""
EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143}


def one_line(message: str) -> str:
    """The message on one line (control characters escaped), at most MAX_MESSAGE characters."""
    text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in " ".join(message.split()))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def fail(message: str, status: int = 2) -> None:
    """Print a one-line error and exit with status 2."""
    typer.echo(f"etown: {one_line(message)}", err=True)
    raise typer.Exit(status)


def write_failed(exc: OSError) -> None:
    """The one-line error for results that cannot be written (exit 2)."""
    fail(f"cannot write results: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))


def close_client(client: Any) -> None:
    """Close a Dask client from `_client` (None: nothing to close)."""
    if client is not None:
        client.close()


_REWRITES = [  # click's and pydantic's wording of a bad option value -> "must be ..."
    (
        r"^(?P<got>.*) is not in the range (?P<low>[^<]+)<=x<=(?P<high>[^.]+(\.\d+)?)\.?$",
        "must be between {low} and {high}",
    ),
    (r"^(?P<got>.*) is not in the range x>=(?P<low>.+?)\.?$", "must be at least {low}"),
    (r"^(?P<got>.*) is not in the range x<=(?P<high>.+?)\.?$", "must be at most {high}"),
    (r"^Input should be greater than or equal to (?P<low>.+)$", "must be at least {low}"),
    (r"^Input should be greater than (?P<low>.+)$", "must be more than {low}"),
    (r"^Input should be less than or equal to (?P<high>.+)$", "must be at most {high}"),
    (r"^Input should be less than (?P<high>.+)$", "must be less than {high}"),
    (r"^Input should be a valid (?P<kind>integer|number).*$", "must be {kind}"),
    (r"^.* is not a valid (?P<kind>integer|float)( range)?\.?$", "must be {kind}"),
]


def usage_message(exc: Exception) -> str:
    """`<option>: <what is wrong>` for a click usage error (one line, no usage box)."""
    param = getattr(exc, "param", None)
    hint = None
    if param is not None:
        opts = getattr(param, "opts", None) or []
        is_option = getattr(param, "param_type_name", "") == "option"
        hint = "/".join(opts) if is_option and opts else str(getattr(param, "name", None) or "argument").upper()
    if isinstance(exc, click_exceptions.MissingParameter):
        msg = "missing"
    elif isinstance(exc, click_exceptions.BadParameter):
        msg = exc.message
    else:
        msg = exc.format_message()
    for pattern, template in _REWRITES:
        m = re.match(pattern, msg)
        if m:
            msg = template.format(**{k: v.strip() for k, v in m.groupdict().items() if v is not None})
            msg = msg.replace("must be integer", "must be an integer").replace("must be number", "must be a number")
            msg = msg.replace("must be float", "must be a number")
            break
    ctx = getattr(exc, "ctx", None)
    see = "" if hint and not isinstance(exc, click_exceptions.MissingParameter) else f" (see {_command(ctx)} --help)"
    return f"{hint}: {msg}{see}" if hint else f"{msg}{see}"


def _command(ctx: Any) -> str:
    """`etown <command>` of a click context (whatever name the program was started by)."""
    path = str(getattr(ctx, "command_path", None) or "etown").split()
    return " ".join(["etown", *path[1:]])


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


class EtownGroup(TyperGroup):
    """Turns usage errors, user errors and interruptions of any command into one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        old_handler = None
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            old_handler = signal.signal(signal.SIGTERM, _terminate)  # SIGTERM ends a command like Ctrl-C
        try:
            status = super().main(*args, **kwargs)
        except click_exceptions.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
            sys.exit(2)
        except click_exceptions.UsageError as exc:
            typer.echo(f"etown: {one_line(usage_message(exc))}", err=True)
            sys.exit(2)
        except click_exceptions.ClickException as exc:
            typer.echo(f"etown: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("etown: interrupted (SIGINT)", err=True)
            sys.exit(130)
        finally:
            stop_helper_processes()
            if old_handler is not None:
                signal.signal(signal.SIGTERM, old_handler)
        sys.exit(status if isinstance(status, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            fail(str(exc))
        except Interrupted as exc:
            fail(f"{exc}; finished runs are kept in {exc.folder / STAGING_DIR}", EXIT_STATUS[exc.signame])
        except KeyboardInterrupt:
            fail("interrupted (SIGINT)", 130)
        except Terminated:
            fail("terminated (SIGTERM)", 143)


matplotlib.use("Agg")  # the command draws to files only; library code never picks a backend

app = typer.Typer(
    cls=EtownGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="E-Town cluster-growth model: run policy scenarios as Monte Carlo ensembles.",
)


# ---------------------------------------------------------------------- experiments: shared options
PRECISION = Annotated[
    float,
    typer.Option(min=0.005, max=0.5, help="95% half-width to reach for P and for paired differences of P"),
]
OUTPUT_PRECISION = Annotated[
    float, typer.Option(min=0.01, max=1000.0, help="95% half-width to reach for paired output differences, bn yuan/yr")
]
FRESH = Annotated[bool, typer.Option(help="discard the finished blocks saved in --out/parts (else they are reused)")]
QUIET = Annotated[bool, typer.Option(help="no progress bar")]
SEED = Annotated[int, typer.Option(min=0, help="master seed")]
SCALE = Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated")]
WORKERS = Annotated[int, typer.Option(min=1, help="local worker processes")]
SCHEDULER = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")]


def _bar(quiet: bool, desc: str):
    """A progress bar of runs whose total grows as rounds ask for more (shown on a terminal)."""
    from tqdm import tqdm

    return tqdm(total=0, unit="run", desc=desc, disable=quiet or not sys.stderr.isatty(), leave=False)


def _executor(workers: int, scheduler: str | None):
    from .experiments.core import Executor

    return Executor(workers, _client(scheduler))


def _run_settings(scale: float, point_estimate: bool = False):
    from .calibration.store import default_source
    from .ensemble import RunSettings

    return RunSettings(scale=scale, param_source=None if point_estimate else default_source())


def resume_command(scenario: Path, runs: int, seed: int, options: dict[str, Any], out: Path) -> str:
    """The `etown run ... --resume` command that finishes an interrupted run."""
    words = ["etown", "run", str(scenario), "--runs", str(runs), "--seed", str(seed)]
    for name, value in options.items():
        if value is True:
            words.append(f"--{name}")
        elif value not in (None, False):
            words += [f"--{name}", str(value)]
    return shlex.join([*words, "--out", str(out), "--resume"])


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
    runs = default_runs() if runs is None else runs
    try:
        loaded = load_scenario(scenario)
        _warn_implausible(loaded.scenario)
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
            command=shlex.join(["etown", *sys.argv[1:]]),
        )
    except Interrupted as exc:
        options = {"scale": scale, "point-estimate": point_estimate, "quiet": quiet}
        options.update({"scheduler": scheduler} if scheduler else {"workers": workers})
        again = resume_command(scenario, runs, seed, options, exc.folder)
        fail(
            f"{exc}; finished runs are kept in {exc.folder / STAGING_DIR}; resume with: {again}",
            EXIT_STATUS[exc.signame],
        )
    except OSError as exc:
        write_failed(exc)
    typer.echo(result.table())
    typer.echo(f"results: {result.out}/ (summary.json, runs.parquet, fan_chart.png)")


def _warn_implausible(sc: Any) -> None:
    """Plausibility warnings (values far from real zone policies) on stderr: not errors."""
    for warning in plausibility_warnings(sc):
        typer.echo(f"warning: {sc.name}: {warning}", err=True)


@app.command("validate")
def validate_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    against: Annotated[
        str | None,
        typer.Option(
            help="what to compare with: a scenario file, 'baseline' (baseline.yaml beside the file or in "
            "scenarios/) or '2020' (the 2020 levers) [default: the file it inherits, else 2020]"
        ),
    ] = None,
    levers: Annotated[bool, typer.Option("--levers", help="also list every effective lever")] = False,
) -> None:
    """Check SCENARIO without running it; say what it changes against what it inherits."""
    from .changes import scenario_changes
    from .scenario import Scenario, inherited_path

    loaded = load_scenario(scenario)
    sc = loaded.scenario
    typer.echo(f"{scenario}: ok (scenario {sc.name!r}, {sc.start_year}-{sc.end_year}, sha256 {loaded.sha256[:12]})")
    for warning in plausibility_warnings(sc):
        typer.echo(f"warning: {warning}", err=True)
    if against is None:
        parent = inherited_path(scenario)
        against = str(parent) if parent is not None else "2020"
        if parent is not None:
            try:
                load_scenario(parent)
            except ScenarioError as exc:  # the file fixes what it inherits: compare with 2020
                typer.echo(f"note: {parent} is not valid on its own ({one_line(str(exc))}); compared with 2020")
                against = "2020"
    if against == "2020":
        reference, what = (
            Scenario(name="levers_2020", start_year=sc.start_year, end_year=sc.end_year),
            "the 2020 levers",
        )
    else:
        path = _baseline_file(scenario) if against == "baseline" else Path(against)
        reference, what = load_scenario(path).scenario, f"{path} ({load_scenario(path).scenario.name})"
    changes = scenario_changes(sc, reference)
    typer.echo(f"changes against {what}: {len(changes) or 'none'}")
    for line in changes:
        typer.echo(f"  {line}")
    if levers:
        typer.echo(format_effective_levers(sc))


def _baseline_file(scenario: Path) -> Path:
    """baseline.yaml beside the scenario file, else scenarios/baseline.yaml (one line if none)."""
    for path in (scenario.parent / "baseline.yaml", Path("scenarios") / "baseline.yaml"):
        if path.is_file():
            return path
    fail(f"--against baseline: no baseline.yaml beside {scenario} or in scenarios/; give the file instead")
    raise AssertionError  # unreachable: fail exits


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
        close_client(client)
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
        close_client(client)
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
    fresh: FRESH = False,
    quiet: QUIET = False,
) -> None:
    """Split each headline outcome's variance into parameters, 2020 baseline and stochasticity."""
    from .calibration.store import default_source
    from .experiments import uncertainty as unc

    try:
        sc = load_scenario(scenario).scenario
    except ScenarioError as exc:
        fail(str(exc))
    from .experiments.core import Executor

    out = out if out is not None else Path("results") / "uncertainty" / sc.name
    client = _client(scheduler)
    try:
        with _bar(quiet, "uncertainty") as bar:
            table = unc.run_uncertainty(
                sc,
                source=default_source(),
                params=params,
                baselines=baselines,
                seeds=seeds,
                scale=scale,
                master=seed,
                executor=Executor(workers, client),
                out=out,
                fresh=fresh,
                progress=bar,
            )
    finally:
        close_client(client)
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
    close_client(client)
    try:
        sa.write_outputs(result, out)
    except OSError as exc:
        write_failed(exc)
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
        write_json(target, report, digits=RESULT_DIGITS)
    except OSError as exc:
        fail(f"cannot write {target}: {exc}")
    typer.echo(format_score_table(report))
    typer.echo(f"score: {target}")


@app.command("levers")
def levers_cmd(
    markdown: Annotated[bool, typer.Option("--markdown", help="a Markdown table (docs/levers.md)")] = False,
) -> None:
    """List every lever: measure, unit, 2020 value, allowed and plausible range, channel."""
    typer.echo(format_lever_table(markdown=markdown))


@app.command("effects")
def effects_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    by: Annotated[
        str, typer.Option(help="lever (each lever alone) or measure (each measure's levers together)")
    ] = "lever",
    precision: PRECISION = 0.05,
    output_precision: OUTPUT_PRECISION = 1.0,
    max_runs: Annotated[int, typer.Option(min=10, help="paired replications per variant at most")] = 2000,
    seed: SEED = DEFAULT_SEED,
    scale: SCALE = 0.1,
    workers: WORKERS = 1,
    scheduler: SCHEDULER = None,
    out: Annotated[Path | None, typer.Option(help="output folder [default: results/effects/<scenario>]")] = None,
    fresh: FRESH = False,
    quiet: QUIET = False,
) -> None:
    """The effect of each lever (or measure): scenario with it minus scenario without it, on common seeds,
    to a stated precision; per target cluster, end-year output and P(>= 100 bn); per yuan spent."""
    from .ensemble import check_settings
    from .experiments.core import Precision
    from .experiments.effects import run_effects, write_effects

    if by not in ("lever", "measure"):
        fail(f"--by: must be lever or measure, got {by!r}")
    sc = load_scenario(scenario).scenario
    settings = _run_settings(scale)
    check_settings(max_runs, seed, workers, settings)
    out = out if out is not None else Path("results") / "effects" / sc.name
    executor = _executor(workers, scheduler)
    try:
        with _bar(quiet, "effects") as bar:
            result = run_effects(
                sc,
                by=by,
                precision=Precision(precision, output_precision, max_runs),
                seed=seed,
                settings=settings,
                executor=executor,
                out=out,
                fresh=fresh,
                progress=bar,
            )
        write_effects(result, out)
    except OSError as exc:
        write_failed(exc)
    finally:
        close_client(executor.client)
    typer.echo(result.format())
    typer.echo(f"results: {out}/ (effects.csv, effects_money.csv, effects.json, effects.png)")


@app.command("compare")
def compare_cmd(
    scenarios: Annotated[
        list[Path], typer.Argument(help="scenario YAML files (two or more; the same file twice is allowed)")
    ],
    baseline: Annotated[
        str | None, typer.Option(help="scenario the others are compared with: its name or file [default: the first]")
    ] = None,
    precision: PRECISION = 0.05,
    output_precision: OUTPUT_PRECISION = 1.0,
    max_runs: Annotated[int, typer.Option(min=10, help="paired replications per scenario at most")] = 2000,
    seed: Annotated[int, typer.Option(min=0, help="master seed (the same for every scenario)")] = DEFAULT_SEED,
    scale: SCALE = 0.1,
    workers: WORKERS = 1,
    scheduler: SCHEDULER = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("results/compare"),
    fresh: FRESH = False,
    point_estimate: Annotated[bool, typer.Option("--point-estimate", help="calibrated point for every run")] = False,
    quiet: QUIET = False,
) -> None:
    """Scenarios on common seeds, to a stated precision: P(>= 100 bn) and end-year output per target
    cluster with paired differences to the baseline (compare.csv, compare.json, compare.png)."""
    from .experiments.compare import labels, pick_baseline

    if len(scenarios) < 2:
        fail("SCENARIOS: give at least two scenario files (a file may be given twice)")
    loaded = [load_scenario(p) for p in scenarios]
    pick_baseline(loaded, labels(loaded), baseline)
    for sc in {id(x.scenario): x.scenario for x in loaded}.values():
        _warn_implausible(sc)
    try:
        cmp = compare(
            loaded,
            baseline=baseline,
            precision=precision,
            output_precision=output_precision,
            max_runs=max_runs,
            seed=seed,
            scale=scale,
            workers=workers,
            out=out,
            scheduler=scheduler,
            fresh=fresh,
            point_estimate=point_estimate,
            progress=not quiet and sys.stderr.isatty(),
        )
    except OSError as exc:
        write_failed(exc)
    typer.echo(cmp.format())
    typer.echo(f"results: {out}/ (compare.csv, compare.json, compare.png)")


@app.command("discover")
def discover_cmd(
    levers_file: Annotated[
        Path, typer.Argument(help="levers file: ranges to explore (scenarios/discovery/levers.yaml)")
    ],
    points: Annotated[
        int | None, typer.Option(min=2, help="Latin-hypercube points [default: the file's, else 48]")
    ] = None,
    p_min: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="level a point's P must clear [default: the file's]")
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(min=0.005, max=0.5, help="95% half-width at which an undecided point stops [default: 0.05]"),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option(min=10, help="replications a point gets at most [default: the file's, else 400]")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of the design and the replications")] = DEFAULT_SEED,
    scale: SCALE = 0.1,
    workers: WORKERS = 1,
    scheduler: SCHEDULER = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("results/discover"),
    fresh: FRESH = False,
    quiet: QUIET = False,
) -> None:
    """Scenario discovery: Latin hypercube over lever ranges; each point replicated until its P is decided
    against p_min (or precise); PRIM boxes on the decided points (discover.md/json/csv, boxes.png)."""
    from .ensemble import check_settings
    from .experiments.discover import read_levers_file, require_prim, run_discovery, write_discovery

    spec = read_levers_file(levers_file)
    spec.points = points or spec.points
    spec.p_min = spec.p_min if p_min is None else p_min
    spec.precision = spec.precision if precision is None else precision
    spec.max_runs = max_runs or spec.max_runs
    settings = _run_settings(scale)
    check_settings(spec.max_runs, seed, workers, settings)
    require_prim()  # the discovery extra is installed (one line if not)
    executor = _executor(workers, scheduler)
    try:
        with _bar(quiet, "discover") as bar:
            result = run_discovery(
                spec, seed=seed, settings=settings, executor=executor, out=out, fresh=fresh, progress=bar
            )
        write_discovery(result, out)
    except OSError as exc:
        write_failed(exc)
    finally:
        close_client(executor.client)
    typer.echo(result.format())
    typer.echo(f"results: {out}/ (discover.md, discover.json, discover.csv, boxes.png)")


@app.command("optimize")
def optimize_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario the other levers come from")] = Path(
        "scenarios/baseline.yaml"
    ),
    target: Annotated[float, typer.Option(min=0.01, max=0.99, help="probability level to reach")] = 0.5,
    cluster: Annotated[
        str | None,
        typer.Option(help="one target cluster's P instead of P(all four): ngit, biotech, xinchuang, robotics"),
    ] = None,
    budget_min: Annotated[float, typer.Option(min=0.0, max=200.0, help="lowest budget searched, bn yuan/yr")] = 0.0,
    budget_max: Annotated[float, typer.Option(min=0.1, max=200.0, help="highest budget searched, bn yuan/yr")] = 30.0,
    budget_tol: Annotated[
        float, typer.Option(min=0.01, max=50.0, help="stop bisecting when the budget is known to this, bn yuan/yr")
    ] = 0.5,
    weight_max: Annotated[
        float, typer.Option(min=0.1, max=100.0, help="highest targeting weight of a sector searched")
    ] = 5.0,
    trials: Annotated[int, typer.Option(min=2, help="search evaluations (Optuna TPE)")] = 40,
    search_runs: Annotated[int, typer.Option(min=2, help="runs per search evaluation (rough screening)")] = 40,
    precision: PRECISION = 0.05,
    max_runs: Annotated[int, typer.Option(min=10, help="replications per decided budget at most")] = 400,
    seed: Annotated[int, typer.Option(min=0, help="seed of the search and the decisions")] = DEFAULT_SEED,
    scale: SCALE = 0.1,
    workers: WORKERS = 1,
    scheduler: SCHEDULER = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("results/optimize"),
    fresh: FRESH = False,
    quiet: QUIET = False,
) -> None:
    """Lowest annual special-fund budget (and its split over instruments and target sectors) for which
    P(all four targets), or one cluster's P, reaches TARGET, decided at a stated precision."""
    from .ensemble import check_settings
    from .experiments import optimize as opt
    from .sectors import TARGET_SECTORS

    if cluster is not None and cluster not in TARGET_SECTORS:
        fail(f"--cluster: must be one of {', '.join(TARGET_SECTORS)}, got {cluster!r}")
    if budget_min >= budget_max:
        fail(f"--budget-min: must be below --budget-max ({budget_max:g}), got {budget_min:g}")
    sc = load_scenario(scenario).scenario
    settings = _run_settings(scale)
    check_settings(max(search_runs, max_runs), seed, workers, settings)
    try:
        import optuna  # noqa: F401
    except ImportError:
        fail("etown optimize needs Optuna: pip install 'etown-clusters[optimize]'")
    cfg = opt.OptimizeSettings(
        target=target,
        budget_range=(budget_min * 1e9, budget_max * 1e9),
        seed=seed,
        trials=trials,
        search_runs=search_runs,
        precision=precision,
        max_runs=max_runs,
        budget_tol=budget_tol * 1e9,
        weight_max=weight_max,
    )
    executor = _executor(workers, scheduler)
    say = _say()
    try:
        with _bar(quiet, "optimize") as bar:

            def stage(name: str) -> None:
                bar.set_description(f"optimize: {name}")
                if name == opt.SEARCH:
                    bar.total = trials * search_runs  # the decisions add to it as they ask for runs
                    bar.refresh()

            result = opt.run_optimize(
                sc,
                cfg,
                cluster=cluster,
                run_settings=settings,
                executor=executor,
                out=out,
                fresh=fresh,
                progress=bar,
                on_stage=stage if say and not quiet else None,
            )
        opt.write_optimize(result, out)
    except OSError as exc:
        write_failed(exc)
    finally:
        close_client(executor.client)
    typer.echo(result.format())
    typer.echo(f"results: {out}/ (optimize.json, frontier.csv, evaluations.csv, frontier.png)")


@app.command("assimilate")
def assimilate_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    observations: Annotated[Path, typer.Argument(help="observations YAML (docs/nowcasting.md)")],
    runs: Annotated[int | None, typer.Option(min=1, help=f"runs of the ensemble [default: {default_runs()}]")] = None,
    seed: Annotated[int, typer.Option(min=0, help="master seed (prior ensemble and update)")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(min=1, help="local worker processes")] = 1,
    out: Annotated[Path | None, typer.Option(help="output folder [default: results/<scenario>_nowcast]")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    scale: Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated (1 = all)")] = 1.0,
    ess_threshold: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="rejuvenate when the ESS falls below this share of the runs")
    ] = 0.5,
    sweeps: Annotated[int, typer.Option(min=1, max=50, help="MCMC sweeps per rejuvenation")] = 2,
    prior: Annotated[
        Path | None,
        typer.Option(
            help="a finished `etown run` of SCENARIO to update (its runs, seed, scale apply) [default: OUT/prior]"
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Update SCENARIO's projection with figures published after its start (OBSERVATIONS): re-weight
    and rejuvenate its ensemble; print P before and after, the ESS and which observations moved what."""
    from .nowcast.assimilate import Collapsed
    from .nowcast.observations import load_observations

    for warning in load_observations(observations).overlaps():
        typer.echo(f"warning: {observations}: {warning}", err=True)
    say = None if quiet else _say()
    try:
        result = assimilate(
            scenario,
            observations,
            runs=runs,
            seed=seed,
            workers=workers,
            out=out,
            scheduler=scheduler,
            scale=scale,
            ess_threshold=ess_threshold,
            sweeps=sweeps,
            progress=not quiet and sys.stderr.isatty(),
            command=shlex.join(["etown", *sys.argv[1:]]),
            say=say,
            prior=prior,
        )
    except Collapsed as exc:
        fail(str(exc), 1)
    except OSError as exc:
        write_failed(exc)
    typer.echo(result.table())
    typer.echo(
        f"results: {result.out}/ (summary.json, runs.parquet, nowcast.png, assimilation.json; "
        f"prior ensemble in {result.report['prior_folder']}/)"
    )


@app.command("export")
def export_cmd(
    results_dir: Annotated[Path, typer.Argument(help="folder of a finished ensemble (summary.json)")],
    format: Annotated[str, typer.Option("--format", help="csv (a folder of files) or xlsx (one workbook)")] = "csv",
    out: Annotated[
        Path | None, typer.Option(help="where [default: RESULTS_DIR/export/ or RESULTS_DIR/<scenario>.xlsx]")
    ] = None,
) -> None:
    """Export a finished ensemble's tables (clusters, bands, runs, zone, inputs) to CSV or Excel."""
    from .export import export

    try:
        target = export(results_dir, format, out)
    except OSError as exc:
        write_failed(exc)
    typer.echo(f"exported: {target}")


def _lang(lang: str):
    from .i18n import check_lang

    try:
        return check_lang(lang)
    except ValueError as exc:
        fail(str(exc))


@app.command("report")
def report_cmd(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="result folders: etown run (the first is the main result), compare, effects, uncertainty, backtest"
        ),
    ],
    lang: Annotated[str, typer.Option(help="en or zh")] = "en",
    out: Annotated[
        Path | None, typer.Option(help="HTML file [default: FIRST_RESULT/report.html or report_zh.html]")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="scenario the ensembles are compared with [default: baseline, else the first]")
    ] = None,
) -> None:
    """Write one self-contained HTML report (images embedded, print-ready) from finished results:
    the first etown run result is the main one; several are compared with the baseline."""
    from .report import write_report

    language = _lang(lang)
    try:
        target = write_report(results, language, out, baseline)
    except OSError as exc:
        write_failed(exc)
    typer.echo(f"report: {target}")


@app.command("show")
def show_cmd(
    result: Annotated[Path, typer.Argument(help="folder of a finished etown run or etown compare")],
    lang: Annotated[str, typer.Option(help="en or zh")] = "en",
    out: Annotated[Path | None, typer.Option(help="folder for the redrawn chart [default: RESULT]")] = None,
) -> None:
    """Reprint the table and redraw the chart of a finished result, without rerunning it."""
    from .api import load
    from .plots import save_figure
    from .report import format_headline

    language = _lang(lang)
    res = load(result)
    suffix = "" if language == "en" else f"_{language}"
    folder = out if out is not None else result
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(res, EnsembleResult):
            typer.echo(res.table() if language == "en" else format_headline(res.summary, language))
            target = save_figure(res.fan_chart(lang=language), folder / f"fan_chart{suffix}.png", lang=language)
        else:
            typer.echo(res.format())
            target = save_figure(res.chart(language), folder / f"compare{suffix}.png", lang=language)
    except OSError as exc:
        write_failed(exc)
    typer.echo(f"chart: {target}")


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
