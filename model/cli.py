"""The `etown` command: thin over model.api. User mistakes give one line on stderr and exit 2.

Every command inherits this from `EtownGroup`: usage errors (bad options, missing arguments)
and the user errors in USER_ERRORS become `etown: <one line>` with exit status 2; SIGINT and
SIGTERM end a command with one line and status 130 / 143 (`etown run` says how to resume).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import matplotlib
import numpy as np
import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - typer built on click
    from click import exceptions as click_exceptions

from .api import DEFAULT_SEED, EnsembleResult, assimilate, compare, run
from .ensemble import EnsembleError, default_runs, stop_helper_processes
from .io import RESULT_DIGITS, write_json
from .levers import format_effective_levers, format_lever_table, plausibility_warnings
from .options import OptionError
from .outfolder import FolderError, command_folder
from .scenario import ScenarioError, load_scenario
from .score import ObservationsError
from .signals import EXIT_STATUS, Interrupted, Terminated, install_sigterm, restore_sigterm
from .store import StoreError

USER_ERRORS = (ScenarioError, EnsembleError, ObservationsError, StoreError, FolderError, OptionError)
MAX_MESSAGE = 500
"""Longest error line printed (user input in it is cut before that)."""
_ARGV: list[str] = []
"""The arguments of the command being run (what a resume command repeats)."""
COMPARE_FILES = ("compare.json", "compare.csv", "compare.png")
EFFECTS_FILES = ("effects.json", "effects.csv", "effects_money.csv", "effects.png")
DISCOVER_FILES = ("discover.json", "discover.csv", "discover.md", "boxes.png")
OPTIMIZE_FILES = ("optimize.json", "frontier.csv", "evaluations.csv", "frontier.png")
UNCERTAINTY_FILES = ("uncertainty.json", "uncertainty.csv", "uncertainty.png")
SENSITIVITY_FILES = ("sensitivity.json", "indices.csv", "indices_morris.png", "indices_sobol.png",
                     "design_morris.csv", "design_sobol.csv")  # fmt: skip
CALIBRATE_FILES = ("calibrated.yaml", "fit_table.csv", "posterior.csv", "generations.csv",
                   "posterior_predictive.csv", "fit_plot.png", "posterior.png", "generations.png")  # fmt: skip
SCREEN_FILES = ("screening.csv", "screening_long.csv")
BACKTEST_FILES = ("backtest.json", "backtest.png")
"""Each command's result files in its output folder, the primary one (written last) first."""


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


class EtownGroup(TyperGroup):
    """Turns usage errors, user errors and interruptions of any command into one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        old_handler = install_sigterm()  # SIGTERM ends a command like Ctrl-C
        given = kwargs.get("args", args[0] if args else None)
        _ARGV[:] = [str(a) for a in (sys.argv[1:] if given is None else given)]
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
            restore_sigterm(old_handler)
        sys.exit(status if isinstance(status, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            fail(str(exc))
        except Interrupted as exc:
            fail(interrupted_message(exc), EXIT_STATUS[exc.signame])
        except KeyboardInterrupt:
            fail(f"interrupted (SIGINT); start again with: {again()}", 130)
        except Terminated:
            fail(f"terminated (SIGTERM); start again with: {again()}", 143)
        except OSError as exc:
            fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else f"{exc.strerror or exc}")
        except MemoryError:
            fail("out of memory: the settings need more memory than this machine has; lower --max-runs, the "
                 "design's size, --scale or --workers")  # fmt: skip


def again(out: Path | None = None, drop: tuple[str, ...] = ("--fresh",), add: tuple[str, ...] = ()) -> str:
    """The command being run, as a shell line that repeats it: its arguments as given, without
    `drop`, with `--out` made absolute (or added: `out`) and `add` at the end."""
    words, skip, seen_out = [], False, False
    for i, word in enumerate(_ARGV):
        if skip:
            skip = False
            continue
        if word in drop:
            continue
        if out is not None and (word == "--out" or word.startswith("--out=")):
            seen_out = True
            skip = word == "--out" and i + 1 < len(_ARGV)
            words += ["--out", str(out)]
            continue
        words.append(word)
    if out is not None and not seen_out:
        words += ["--out", str(out)]
    return shlex.join(["etown", *words, *[a for a in add if a not in words]])


def interrupted_message(exc: Interrupted) -> str:
    """The line of an interrupted command: the work finished, where it is kept, and the exact
    command that resumes it (or, for a command that keeps nothing, starts it again)."""
    folder = Path(exc.folder) if exc.folder is not None else None
    if exc.kept is None:
        return (
            f"{exc}; nothing is kept (results are written when the command finishes); start again with: {again(folder)}"
        )
    return f"{exc}; finished {exc.unit}s are kept in {exc.kept}; resume with: {again(folder)}"


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
FRESH = Annotated[
    bool, typer.Option(help="discard the finished blocks saved in --out/parts-<command> (else they are reused)")
]
QUIET = Annotated[bool, typer.Option(help="no progress bar")]
SEED = Annotated[int, typer.Option(min=0, help="master seed")]
SCALE = Annotated[float, typer.Option(min=0.001, max=1.0, help="share of firms simulated")]
WORKERS = Annotated[int, typer.Option(min=1, help="local worker processes")]
SCHEDULER = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")]


def _executor(workers: int, scheduler: str | None):
    from .experiments.core import Executor

    return Executor(workers, _client(scheduler))


def _holder() -> str:
    """The command line, as the lock of its output folder names it."""
    return shlex.join(["etown", *_ARGV])


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def _check(workers: int, seed: int, scheduler: str | None, total_runs: float, scale: float, fix: str) -> None:
    """The options every command that runs the model shares, checked before any work (one line
    each): workers bounded by the cores, the seed in range, the scheduler address parsed, and
    the replications planned (at most `total_runs`) and the memory they need; `fix`: the options
    that lower them."""
    from .ensemble import RunSettings, check_scheduler_address, run_memory
    from .options import check_seed, check_work, check_workers

    check_workers(workers, scheduler)
    check_seed(seed)
    if scheduler:
        check_scheduler_address(scheduler)
    check_work(total_runs, 1 if scheduler else workers, run_memory(RunSettings(scale=scale)), fix=fix)


@contextlib.contextmanager
def _working(
    out: Path,
    command: str,
    files: tuple[str, ...],
    workers: int,
    scheduler: str | None,
    *,
    parts: bool = True,
    quiet: bool = False,
    unit: str = "run",
) -> Any:
    """The executor of a command's work (its Dask scheduler reached before the output folder is
    touched) and its output folder, checked and locked for the whole command: yields
    (folder, progress bar, executor); the Dask client is closed after, whatever happens."""
    executor = _executor(workers, scheduler)
    try:
        with command_folder(
            out, command, files, parts=parts, progress=_progress(quiet), unit=unit, holder=_holder()
        ) as (folder, bar):
            yield folder, bar, executor
    finally:
        close_client(executor.client)


def _default_workers(workers: int | None) -> int:
    """--workers as given, else 2 (at most the cores)."""
    from .options import usable_cores

    return workers if workers is not None else min(2, usable_cores())


@contextlib.contextmanager
def _one_file(target: Path, command: str) -> Any:
    """The folder of a command's one output file (`target`), checked and locked; yields
    (folder, staging): write the file into staging under its name, then commit."""
    if target.is_dir():
        fail(f"--out: {target} is a folder; give a file name")
    with command_folder(target.parent, command, (target.name,), holder=_holder()) as (folder, _):
        yield folder, folder.stage()


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
        command = resume_command(scenario, runs, seed, options, exc.folder)
        fail(f"{exc}; finished runs are kept in {exc.kept}; resume with: {command}", EXIT_STATUS[exc.signame])
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
    workers: Annotated[int | None, typer.Option(min=1, help="local worker processes [default: 2]")] = None,
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

    workers = _default_workers(workers)
    _check(workers, seed, scheduler, max_simulations if not screen else 10**4, scale, "--max-simulations or --scale")
    if screen:
        from .calibration.screen import screen as run_screen

        with _working(out, "calibrate", SCREEN_FILES, workers, scheduler, parts=False, unit="simulation") as (
            folder,
            _,
            executor,
        ):
            rank, long = run_screen(scale=scale, seed=seed, workers=workers, client=executor.client)
            staging = folder.stage()
            rank.to_csv(staging / "screening.csv", index=False)
            long.to_csv(staging / "screening_long.csv", index=False)
            folder.commit()
        typer.echo(rank.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
        typer.echo(f"results: {folder.root}/screening.csv")
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
    with _working(out, "calibrate", CALIBRATE_FILES, workers, scheduler, parts=False, unit="simulation") as (
        folder,
        _,
        executor,
    ):
        staging = folder.stage()
        cal, table, post = fit.run_calibration(
            cfg, staging, write=write and until == 2020, client=executor.client, progress=_say()
        )
        folder.commit()
    typer.echo(fit.format_table(table))
    typer.echo(post.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    smc = cal.smc
    typer.echo(
        f"{smc.simulations} simulations in {cal.wall_time_s:.0f} s on {cal.workers}; {len(smc.generations) - 1} "
        f"generations; stop: {smc.stop_reason}"
    )
    typer.echo(f"results: {folder.root}/" + ("; model/data/calibrated.yaml" if write and until == 2020 else ""))


@app.command("backtest")
def backtest_cmd(
    until: Annotated[int, typer.Option(min=2016, max=2019, help="last year of data used to calibrate")] = 2018,
    scale: Annotated[float, typer.Option(min=0.01, max=1.0, help="share of firms simulated")] = 0.1,
    particles: Annotated[int, typer.Option(min=10, help="ABC-SMC particles")] = 200,
    draws: Annotated[int, typer.Option(min=10, help="posterior-predictive runs scored")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="seed")] = 2018,
    workers: Annotated[int | None, typer.Option(min=1, help="local worker processes [default: 2]")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address")] = None,
    minutes: Annotated[float, typer.Option(min=0.1, help="wall-time budget of the calibration")] = 12.0,
    out: Annotated[Path, typer.Option(help="folder for backtest.json and backtest.png")] = Path("results/backtest"),
) -> None:
    """Out-of-sample test: calibrate on data to UNTIL, project to 2020, score against what followed."""
    from .calibration import backtest

    workers = _default_workers(workers)
    _check(workers, seed, scheduler, particles * 100 + draws, scale, "--particles, --draws or --scale")
    cfg = backtest.default_config(
        until=until, scale=scale, particles=particles, ppc_draws=draws, seed=seed, workers=workers, max_minutes=minutes
    )
    with _working(out, "backtest", BACKTEST_FILES, workers, scheduler, parts=False, unit="simulation") as (
        folder,
        _,
        executor,
    ):
        staging = folder.stage()
        report = backtest.run_backtest(cfg, staging, client=executor.client, progress=_say())
        folder.commit()
    typer.echo(backtest.format_report(report))
    typer.echo(f"results: {folder.root}/ (backtest.json, backtest.png)")


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

    sc = load_scenario(scenario).scenario
    _check(workers, seed, scheduler, params * baselines * seeds, scale, "--params, --baselines, --seeds or --scale")
    out = out if out is not None else Path("results") / "uncertainty" / sc.name
    with _working(out, "uncertainty", UNCERTAINTY_FILES, workers, scheduler, quiet=quiet) as (folder, bar, executor):
        table = unc.run_uncertainty(
            sc,
            source=default_source(),
            params=params,
            baselines=baselines,
            seeds=seeds,
            scale=scale,
            master=seed,
            executor=executor,
            out=folder.root,
            fresh=fresh,
            progress=bar,
        )
        meta = {"scenario": sc.name, "params": params, "baselines": baselines, "seeds": seeds, "scale": scale,
                "seed": seed}  # fmt: skip
        unc.write_outputs(table, meta, folder.stage())
        folder.commit()
    typer.echo(unc.format_table(table))
    typer.echo(f"results: {folder.root}/ (uncertainty.csv, uncertainty.json, uncertainty.png)")


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
    workers: Annotated[int | None, typer.Option(min=1, help="local worker processes [default: 2]")] = None,
    inputs: Annotated[str | None, typer.Option(help="comma-separated inputs to vary [default: all]")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder [default: results/sensitivity/<scenario>]")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    fresh: FRESH = False,
) -> None:
    """Global sensitivity of the target-cluster outcomes to parameters and levers (SALib)."""
    from .calibration import sensitivity as sa

    workers = _default_workers(workers)
    if method not in ("morris", "sobol", "both"):
        fail(f"--method: must be morris, sobol or both, got {method!r}")
    try:
        sc = load_scenario(scenario).scenario
        chosen = sa.select_inputs([s.strip() for s in inputs.split(",") if s.strip()] if inputs else None)
        if method != "morris" and sobol_n & (sobol_n - 1):
            raise ValueError(f"--sobol-n must be a power of two, got {sobol_n}")
    except ValueError as exc:
        fail(f"--inputs: {exc}" if "input" in str(exc) else str(exc))
    total = sa.design_size(method, len(chosen), n, sobol_n, sobol_top)  # type: ignore[arg-type]
    _check(workers, seed, scheduler, total * runs_per_point, scale, "--n, --sobol-n, --runs-per-point or --scale")
    sa.nominal_point(sc)  # the scenario's levers as design values (one line if one cannot be)
    out = out if out is not None else Path("results") / "sensitivity" / sc.name
    typer.echo(f"{method}: {total} design points x {runs_per_point} runs, scale {scale}, {workers} worker(s)", err=True)
    with _working(out, "sensitivity", SENSITIVITY_FILES, workers, scheduler, quiet=quiet, unit="design point") as (
        folder,
        bar,
        executor,
    ):
        bar.total = total
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
            client=executor.client,
            parts=folder.root,
            fresh=fresh,
        )
        sa.write_outputs(result, folder.stage())
        folder.commit()
    typer.echo(f"ten most influential inputs ({result.meta['ranking_method']}, {result.meta['wall_time_s']:.0f} s):")
    typer.echo(result.top_table(10))
    typer.echo(f"results: {folder.root}/ (indices.csv, sensitivity.json, indices_*.png, design_*.csv)")


@app.command("score")
def score_cmd(
    results_dir: Annotated[Path, typer.Argument(help="folder of a finished ensemble (runs.parquet, zone.parquet)")],
    observations: Annotated[Path, typer.Argument(help="observations YAML (see docs/sensitivity_and_scoring.md)")],
    out: Annotated[Path | None, typer.Option(help="score file [default: RESULTS_DIR/score.json]")] = None,
) -> None:
    """Score a finished ensemble against observed values and threshold events."""
    from .score import format_score_table, score_ensemble

    report = score_ensemble(results_dir, observations)
    target = out if out is not None else results_dir / "score.json"
    with _one_file(target, "score") as (folder, staging):
        write_json(staging / target.name, report, digits=RESULT_DIGITS)
        folder.commit()
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
    from .experiments.core import Precision
    from .experiments.effects import lever_variants, measure_variants, run_effects, write_effects

    if by not in ("lever", "measure"):
        fail(f"--by: must be lever or measure, got {by!r}")
    sc = load_scenario(scenario).scenario
    count = len(lever_variants(sc) if by == "lever" else measure_variants(sc)) + 1
    _check(workers, seed, scheduler, count * max_runs, scale, "--max-runs or --scale")
    settings = _run_settings(scale)
    out = out if out is not None else Path("results") / "effects" / sc.name
    with _working(out, "effects", EFFECTS_FILES, workers, scheduler, quiet=quiet) as (folder, bar, executor):
        result = run_effects(
            sc,
            by=by,
            precision=Precision(precision, output_precision, max_runs),
            seed=seed,
            settings=settings,
            executor=executor,
            out=folder.root,
            fresh=fresh,
            progress=bar,
        )
        write_effects(result, folder.stage())
        folder.commit()
    typer.echo(result.format())
    typer.echo(f"results: {folder.root}/ (effects.csv, effects_money.csv, effects.json, effects.png)")


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
    _check(workers, seed, scheduler, len(loaded) * max_runs, scale, "--max-runs or --scale")
    for sc in {id(x.scenario): x.scenario for x in loaded}.values():
        _warn_implausible(sc)
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
        progress=_progress(quiet),
        command=_holder(),
    )
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
    from .experiments.discover import read_levers_file, require_prim, run_discovery, write_discovery

    spec = read_levers_file(levers_file)
    spec.points = points or spec.points
    spec.p_min = spec.p_min if p_min is None else p_min
    spec.precision = spec.precision if precision is None else precision
    spec.max_runs = max_runs or spec.max_runs
    _check(workers, seed, scheduler, spec.points * spec.max_runs, scale, "--points, --max-runs or --scale")
    settings = _run_settings(scale)
    require_prim()  # the discovery extra is installed (one line if not)
    with _working(out, "discover", DISCOVER_FILES, workers, scheduler, quiet=quiet) as (folder, bar, executor):
        result = run_discovery(
            spec, seed=seed, settings=settings, executor=executor, out=folder.root, fresh=fresh, progress=bar
        )
        write_discovery(result, folder.stage())
        folder.commit()
    typer.echo(result.format())
    typer.echo(f"results: {folder.root}/ (discover.md, discover.json, discover.csv, boxes.png)")


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
    from .experiments import optimize as opt
    from .sectors import TARGET_SECTORS

    if cluster is not None and cluster not in TARGET_SECTORS:
        fail(f"--cluster: must be one of {', '.join(TARGET_SECTORS)}, got {cluster!r}")
    if budget_min >= budget_max:
        fail(f"--budget-min: must be below --budget-max ({budget_max:g}), got {budget_min:g}")
    sc = load_scenario(scenario).scenario
    decisions = 2 + max(1, int(np.ceil(np.log2(max(budget_max - budget_min, budget_tol) / budget_tol)))) + 8
    planned = trials * search_runs + decisions * max_runs
    _check(workers, seed, scheduler, planned, scale, "--trials, --search-runs, --max-runs or --scale")
    settings = _run_settings(scale)
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
    say = _say()
    with _working(out, "optimize", OPTIMIZE_FILES, workers, scheduler, quiet=quiet) as (folder, bar, executor):

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
            out=folder.root,
            fresh=fresh,
            progress=bar,
            on_stage=stage if say and not quiet else None,
        )
        opt.write_optimize(result, folder.stage())
        folder.commit()
    typer.echo(result.format())
    typer.echo(f"results: {folder.root}/ (optimize.json, frontier.csv, evaluations.csv, frontier.png)")


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
    from .export import FORMATS, csv_names, export_tables, workbook_name, write_csv, write_workbook_file

    if format not in FORMATS:
        fail(f"--format: must be csv or xlsx, got {format!r}")
    found, summary = export_tables(results_dir, format)
    if format == "csv":
        target = out if out is not None else results_dir / "export"
        with command_folder(target, "export", csv_names(found), holder=_holder()) as (folder, _):
            write_csv(found, folder.stage())
            folder.commit()
    else:
        target = out if out is not None else results_dir / workbook_name(summary, results_dir)
        with _one_file(target, "export") as (folder, staging):
            write_workbook_file(staging / target.name, found, summary, results_dir)
            folder.commit()
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
    from .report import build_report, report_path

    language = _lang(lang)
    target = out if out is not None else report_path(results[0], language)
    html = build_report(results, language, baseline)  # every result read and checked first
    with _one_file(target, "report") as (folder, staging):
        (staging / target.name).write_text(html, encoding="utf-8")
        folder.commit()
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
    name = f"fan_chart{suffix}.png" if isinstance(res, EnsembleResult) else f"compare{suffix}.png"
    folder_path = out if out is not None else result
    with command_folder(folder_path, "show", (name,), holder=_holder()) as (folder, _):
        staging = folder.stage()
        if isinstance(res, EnsembleResult):
            typer.echo(res.table() if language == "en" else format_headline(res.summary, language))
            save_figure(res.fan_chart(lang=language), staging / name, lang=language)
        else:
            typer.echo(res.format())
            save_figure(res.chart(language), staging / name, lang=language)
        folder.commit()
    typer.echo(f"chart: {folder.root / name}")


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
