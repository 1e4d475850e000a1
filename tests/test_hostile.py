"""Hostile input across every command (issue 19): a table of commands x hostile cases. Each case
ends in one `etown:` line and its documented exit status (2 for bad input, 130 / 143 for
SIGINT / SIGTERM) with nothing of the user's touched, or in a correct result.

Cheap by construction: every case that should be refused before any work runs with the model's
work functions replaced by a tripwire (a missing check fails at once instead of simulating), and
the commands that read results use one finished ensemble of one run at scale 0.01."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model import api
from model.cli import app
from model.outfolder import LOCK_FILE, parts_name
from model.signals import Terminated

from .conftest import ROOT, SCENARIOS

runner = CliRunner()
BASELINE = SCENARIOS / "baseline.yaml"
LEVERS = SCENARIOS / "discovery" / "levers.yaml"
SCORE_OBS = ROOT / "tests" / "data" / "observations_made_up.yaml"
NOWCAST_OBS = (
    "description: SYNTHETIC figures made up for a test, not zone data\nobservations:\n"
    "  - {metric: gdp_bn, period: 2021, value: 215, rel_error: 0.03, source: synthetic}\n"
)


class WorkStarted(AssertionError):
    """The tripwire: a command began its work although its input should have been refused."""


# ---------------------------------------------------------------------- the commands
# command -> (arguments before --out, given the case's folder of inputs; the function doing its work;
# whether it keeps parts for a resume; an option whose huge value plans too much work)
MODEL_COMMANDS: dict[str, tuple[Callable[[Path], list[str]], str, bool, list[str]]] = {
    "run": (lambda d: [str(d / "s.yaml"), "--runs", "1", "--scale", "0.01", "--point-estimate", "--quiet"],
            "model.api.run_ensemble", True, ["--runs", str(10**9)]),
    "compare": (lambda d: [str(d / "s.yaml"), str(BASELINE), "--max-runs", "10", "--scale", "0.01", "--quiet"],
                "model.experiments.compare.run_compare", True, ["--max-runs", str(10**9)]),
    "effects": (lambda d: [str(d / "s.yaml"), "--max-runs", "10", "--scale", "0.01", "--quiet"],
                "model.experiments.effects.run_effects", True, ["--max-runs", str(10**9)]),
    "discover": (lambda d: [str(d / "levers.yaml"), "--points", "2", "--max-runs", "10", "--scale", "0.01", "--quiet"],
                 "model.experiments.discover.run_discovery", True, ["--points", str(10**9)]),
    "optimize": (lambda d: [str(d / "s.yaml"), "--trials", "2", "--search-runs", "10", "--max-runs", "10",
                            "--scale", "0.01", "--quiet"],
                 "model.experiments.optimize.run_optimize", True, ["--trials", str(10**9)]),
    "uncertainty": (lambda d: [str(d / "s.yaml"), "--params", "2", "--baselines", "2", "--seeds", "2",
                               "--scale", "0.01", "--quiet"],
                    "model.experiments.uncertainty.run_uncertainty", True, ["--params", str(10**9)]),
    "sensitivity": (lambda d: [str(d / "s.yaml"), "--method", "morris", "--n", "2", "--runs-per-point", "1",
                               "--scale", "0.01", "--quiet"],
                    "model.calibration.sensitivity.run_sensitivity", True, ["--runs-per-point", str(10**9)]),
    "calibrate": (lambda d: ["--particles", "10", "--max-simulations", "100", "--scale", "0.01", "--no-write"],
                  "model.calibration.fit.run_calibration", False, ["--max-simulations", str(10**9)]),
    "backtest": (lambda d: ["--particles", "10", "--draws", "10", "--scale", "0.01"],
                 "model.calibration.backtest.run_backtest", False, ["--draws", str(10**9)]),
    "assimilate": (lambda d: [str(d / "s.yaml"), str(d / "obs.yaml"), "--runs", "1", "--scale", "0.01", "--quiet"],
                   "model.api.run_ensemble", True, ["--runs", str(10**9)]),
}  # fmt: skip
PRIMARY = {"run": "summary.json", "compare": "compare.json", "effects": "effects.json", "discover": "discover.json",
           "optimize": "optimize.json", "uncertainty": "uncertainty.json", "sensitivity": "sensitivity.json",
           "calibrate": "fit_table.csv", "backtest": "backtest.json", "assimilate": "summary.json"}  # fmt: skip
"""A result file of each command (one a user may happen to have made too)."""
OTHER = {"run": "runs.parquet", "compare": "compare.csv", "effects": "effects_money.csv", "discover": "discover.csv",
         "optimize": "frontier.csv", "uncertainty": "uncertainty.csv", "sensitivity": "indices.csv",
         "calibrate": "posterior.csv", "backtest": "backtest.png", "assimilate": "assimilation.json"}  # fmt: skip
"""Another of its result files (a table a user would keep under that name)."""


def _inputs(folder: Path, lever_year: str = "2025") -> Path:
    """The input files of a case: a scenario (with a per-year lever), a levers file, observations."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "s.yaml").write_text(
        f"name: hostile\ninherits: {BASELINE}\npolicy:\n  special_funds_yuan_per_year: {{{lever_year}: 1.2e10}}\n"
    )
    (folder / "levers.yaml").write_text(
        "scenario: s.yaml\npoints: 2\nlevers:\n  policy.special_funds_yuan_per_year: [5.0e9, 3.0e10]\n"
    )
    (folder / "obs.yaml").write_text(NOWCAST_OBS)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(result, status: int, expected: str) -> str:
    """The case ended in one `etown:` line matching `expected` (a regex), with exit status `status`."""
    assert not isinstance(result.exception, WorkStarted), f"the command started its work: {result.output}"
    assert result.exit_code == status, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.startswith("etown")]
    assert len(lines) == 1 and result.stderr.splitlines()[-1] == lines[0], result.stderr  # the last line
    assert re.search(expected, lines[0]), lines[0]
    assert "Traceback" not in result.output and len(lines[0]) <= 510
    return lines[0]


HELD: list[int] = []
"""Locks held by the test (released after each test)."""


@pytest.fixture(autouse=True)
def _release_locks():
    yield
    while HELD:
        os.close(HELD.pop())


def _lock(out: Path) -> None:
    """Hold `out`'s lock as another etown command would."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, b"pid 1 on elsewhere, since 2021-01-01 00:00:00: etown compare held-by-the-test\n")
    HELD.append(fd)


# case -> (prepare(inputs folder, out) -> extra arguments, status, text of the line). A case
# touching `out` leaves there a user's file whose bytes must survive.
def _foreign_result(command: str, names: dict[str, str] = PRIMARY) -> Callable[[Path, Path], list[str]]:
    def prepare(d: Path, out: Path) -> list[str]:
        out.mkdir()
        (out / names[command]).write_text("my own\n")
        return []

    return prepare


def _foreign_parts(command: str) -> Callable[[Path, Path], list[str]]:
    def prepare(d: Path, out: Path) -> list[str]:
        parts = out / parts_name(command)
        parts.mkdir(parents=True)
        (parts / "manifest.json").write_text('{"mine": true}')  # a manifest etown did not write
        (parts / "notes.txt").write_text("my own\n")
        return []

    return prepare


def _symlinked_result(command: str) -> Callable[[Path, Path], list[str]]:
    def prepare(d: Path, out: Path) -> list[str]:
        out.mkdir()
        (d / "precious.txt").write_text("precious\n")
        (out / PRIMARY[command]).symlink_to(d / "precious.txt")
        return []

    return prepare


def _out_is_file(d: Path, out: Path) -> list[str]:
    out.write_text("a file of mine\n")
    return []


def _locked(d: Path, out: Path) -> list[str]:
    _lock(out)
    return []


def _whole_years(d: Path, out: Path) -> list[str]:
    _inputs(d, "2023.5")
    return []


def _option(*words: str) -> Callable[[Path, Path], list[str]]:
    return lambda d, out: list(words)


HOSTILE: dict[str, tuple[Callable[[str], Callable[[Path, Path], list[str]]], int, str]] = {
    "workers_beyond_cores": (lambda c: _option("--workers", "100000"), 2, "--workers: must be at most"),
    "seed_beyond_range": (lambda c: _option("--seed", str(2**64)), 2, "--seed: must be at most"),
    "seed_negative": (lambda c: _option("--seed", "-1"), 2, "--seed"),
    "scheduler_without_port": (lambda c: _option("--scheduler", "tcp://localhost"), 2, "HOST:PORT"),
    "scheduler_wrong_protocol": (lambda c: _option("--scheduler", "http://host:8786"), 2, "unsupported protocol"),
    "scheduler_unparsable": (lambda c: _option("--scheduler", "tcp://[::1:8786"), 2, "--scheduler"),
    "scheduler_unreachable": (lambda c: _option("--scheduler", "tcp://127.0.0.1:1"), 2, "cannot reach the Dask"),
    "too_much_work": (lambda c: _option(*MODEL_COMMANDS[c][3]), 2, ""),
    "out_is_a_file": (lambda c: _out_is_file, 2, "not a folder"),
    "foreign_result_file": (_foreign_result, 2, "was not written by etown"),
    "foreign_table_of_a_result_name": (lambda c: _foreign_result(c, OTHER), 2, "was not written by etown"),
    "symlinked_result_file": (_symlinked_result, 2, "symbolic link"),
    "foreign_parts_folder": (_foreign_parts, 2, "not written by etown|etown did not write"),
    "locked_by_another_command": (lambda c: _locked, 2, "in use by another etown command"),
    "lever_year_not_whole": (lambda c: _whole_years, 2, "whole years as keys, got '2023\\.5'"),
}
"""The hostile cases of the commands that run the model."""


def _applies(command: str, case: str) -> bool:
    if case == "foreign_parts_folder":
        return MODEL_COMMANDS[command][2]
    if case == "lever_year_not_whole":
        return command not in ("calibrate", "backtest")
    return True


MODEL_CASES = [(c, h) for c in MODEL_COMMANDS for h in HOSTILE if _applies(c, h)]


def _tripwire(monkeypatch, command: str, effect: BaseException | None = None) -> None:
    """Replace the command's work by a tripwire (or by `effect`, an interruption, raised there)."""

    def work(*args, **kwargs):
        raise effect if effect is not None else WorkStarted(command)

    monkeypatch.setattr(MODEL_COMMANDS[command][1], work)


@pytest.mark.parametrize(("command", "case"), MODEL_CASES, ids=[f"{c}-{h}" for c, h in MODEL_CASES])
def test_hostile_case_ends_in_one_line(command: str, case: str, tmp_path: Path, monkeypatch) -> None:
    make, status, expected = HOSTILE[case]
    d, out = _inputs(tmp_path / "in"), tmp_path / "out"
    extra = make(command)(d, out)
    before = _snapshot(tmp_path)
    _tripwire(monkeypatch, command)
    monkeypatch.chdir(tmp_path)  # any default folder would be made here
    result = runner.invoke(app, [command, *MODEL_COMMANDS[command][0](d), *extra, "--out", str(out)])
    line = _one_line(result, status, expected)
    if case == "too_much_work":
        assert "the settings" in line or "must be at most" in line, line
    assert _snapshot(tmp_path) == before, "a file of the user's was changed"
    assert not (tmp_path / "results").exists()


INTERRUPTIONS = [(c, s) for c in MODEL_COMMANDS for s in ("SIGINT", "SIGTERM")]


@pytest.mark.parametrize(("command", "signame"), INTERRUPTIONS, ids=[f"{c}-{s}" for c, s in INTERRUPTIONS])
def test_interrupted_command_says_what_is_kept_and_the_exact_command(
    command: str, signame: str, tmp_path: Path, monkeypatch
) -> None:
    """Ctrl-C or SIGTERM in the middle of the work: exit 130 / 143 and one line with the work
    finished, where it is kept, and the command that resumes it (or starts it again)."""
    d, out = _inputs(tmp_path / "in"), tmp_path / "out"
    _tripwire(monkeypatch, command, KeyboardInterrupt() if signame == "SIGINT" else Terminated())
    args = [command, *MODEL_COMMANDS[command][0](d), "--out", str(out)]
    result = runner.invoke(app, args)
    line = _one_line(result, 130 if signame == "SIGINT" else 143, rf"\({signame}\)")
    kept = MODEL_COMMANDS[command][2]
    said, again = line.split("; resume with: " if kept else "; start again with: ")
    assert "after 0" in said or "interrupted" in said
    if kept:
        assert f"are kept in {out.resolve()}" in said, said
    repeated = shlex.split(again)
    assert repeated[:2] == ["etown", command] and repeated[repeated.index("--out") + 1] == str(out.resolve())
    assert set(args) - {str(out)} <= set(repeated), (args, repeated)  # every argument given is repeated
    assert not (out / PRIMARY[command]).exists()  # no result for unfinished work


# ---------------------------------------------------------------------- the commands that read results
@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "out"
    api.run(BASELINE, runs=1, scale=0.01, out=out, progress=False, point_estimate=True)
    return out


def _summary(text: str | bytes) -> Callable[[Path, Path], None]:
    def make(finished: Path, res: Path) -> None:
        shutil.copytree(finished, res)
        (res / "summary.json").unlink()
        (res / "summary.json").write_bytes(text.encode() if isinstance(text, str) else text)

    return make


def _edit_summary(change: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    def make(finished: Path, res: Path) -> None:
        shutil.copytree(finished, res)
        data = json.loads((res / "summary.json").read_text())
        change(data)
        (res / "summary.json").unlink()
        (res / "summary.json").write_text(json.dumps(data))

    return make


def _table(content: bytes) -> Callable[[Path, Path], None]:
    def make(finished: Path, res: Path) -> None:
        shutil.copytree(finished, res)
        for name in ("runs.parquet", "zone.parquet"):
            (res / name).unlink()
            (res / name).write_bytes(content)

    return make


def _summary_folder(finished: Path, res: Path) -> None:
    shutil.copytree(finished, res)
    (res / "summary.json").unlink()
    (res / "summary.json").mkdir()


def _summary_loop(finished: Path, res: Path) -> None:
    shutil.copytree(finished, res)
    (res / "summary.json").unlink()
    (res / "summary.json").symlink_to(res / "summary.json")


READERS = {
    "export": lambda res: ["export", str(res)],
    "score": lambda res: ["score", str(res), str(SCORE_OBS)],
    "report": lambda res: ["report", str(res)],
    "show": lambda res: ["show", str(res)],
}
MALFORMED: dict[str, Callable[[Path, Path], None]] = {
    "missing_folder": lambda finished, res: None,
    "empty_folder": lambda finished, res: res.mkdir(),
    "summary_empty": _summary(""),
    "summary_truncated": _summary('{"scenario": "baseline", "seed": 1, "clu'),
    "summary_garbage": _summary(b"\x00\xff\xfe garbage \x89PNG"),
    "summary_a_list": _summary("[1, 2, 3]"),
    "summary_of_another_kind": _summary('{"scenarios": ["a", "b"], "baseline": "a"}'),
    "summary_nan": _edit_summary(lambda s: s.update(p_all_four_targets=float("nan"))),
    "summary_no_clusters": _edit_summary(lambda s: s.update(clusters={})),
    "summary_is_a_folder": _summary_folder,
    "summary_symlink_loop": _summary_loop,
    "tables_garbage": _table(b"PAR1 not really a table PAR1"),
    "tables_empty_files": _table(b""),
}
"""Malformed result folders given to the commands that read results."""
READER_CASES = [(c, m) for c in READERS for m in MALFORMED]
READS_SUMMARY = {"export", "report", "show"}
"""Commands that read summary.json (score reads the tables only)."""


@pytest.mark.parametrize(("command", "case"), READER_CASES, ids=[f"{c}-{m}" for c, m in READER_CASES])
def test_malformed_results_end_in_one_line_naming_the_file(
    command: str, case: str, finished: Path, tmp_path: Path
) -> None:
    res = tmp_path / "res"
    MALFORMED[case](finished, res)
    if command not in READS_SUMMARY and case.startswith("summary"):
        # a damaged summary is not read by score: a correct score, its JSON without NaN or Infinity
        result = runner.invoke(app, READERS[command](res))
        assert result.exit_code == 0, result.output
        json.loads((res / "score.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in score.json"))
        return
    before = _snapshot(tmp_path) if res.exists() else {}
    line = _one_line(runner.invoke(app, READERS[command](res)), 2, "")
    assert str(res) in line, line  # names the file (or the folder) that is wrong
    if res.exists():
        assert _snapshot(tmp_path) == before, "the results were changed"


OUTPUT_NAME = {"export": "export", "score": "score.json", "report": "report.html", "show": "fan_chart.png"}


@pytest.mark.parametrize("command", sorted(READERS))
@pytest.mark.parametrize("case", ["foreign_output", "locked", "out_is_a_folder"])
def test_readers_never_replace_what_is_not_theirs(command: str, case: str, finished: Path, tmp_path: Path) -> None:
    res = tmp_path / "res"
    shutil.copytree(finished, res)
    args = READERS[command](res)
    if case == "foreign_output":
        target = res / OUTPUT_NAME[command]
        if command == "show":  # the run's fan chart is etown's: replacing it is correct
            target = tmp_path / "charts" / "fan_chart.png"
            args += ["--out", str(target.parent)]
        if command == "export":  # a folder of files: a user's file of one of their names in it
            target = target / "clusters.csv"
        target.parent.mkdir(exist_ok=True)
        target.write_text("my own\n")
        expected = "was not written by etown"
    elif case == "locked":
        _lock(res / "export" if command == "export" else res)  # the folder the command writes
        expected = "in use by another etown command"
    else:
        if command in ("export", "show"):  # these take a folder: give them a file
            (tmp_path / "a_file").write_text("mine\n")
            args += ["--out", str(tmp_path / "a_file")]
            expected = "not a folder"
        else:
            (tmp_path / "a_folder").mkdir()
            args += ["--out", str(tmp_path / "a_folder")]
            expected = "is a folder"
    before = _snapshot(tmp_path)
    _one_line(runner.invoke(app, args), 2, expected)
    assert _snapshot(tmp_path) == before


# ---------------------------------------------------------------------- resume from damaged parts
RESUMING = {  # command -> (arguments, a table of its results that must come out the same)
    "compare": ([str(BASELINE), str(SCENARIOS / "no_policy.yaml"), "--max-runs", "40"], "compare.csv"),
    "effects": ([str(BASELINE), "--by", "measure", "--max-runs", "20"], "effects.csv"),
    "uncertainty": ([str(BASELINE), "--params", "4", "--baselines", "2", "--seeds", "2"], "uncertainty.csv"),
    "sensitivity": ([str(BASELINE), "--method", "morris", "--n", "2", "--runs-per-point", "2"], "indices.csv"),
    "optimize": ([str(BASELINE), "--trials", "3", "--search-runs", "10", "--max-runs", "20"], "evaluations.csv"),
    "discover": ([str(LEVERS), "--points", "4", "--max-runs", "20"], "discover.csv"),
}


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))


def _damage(parts: Path, tmp: Path) -> list[str]:
    """Damage a store the ways a crash, a disk or a hand can; returns the parts that must be
    computed again."""
    index = parts / "parts.jsonl"
    lines = [json.loads(line) for line in index.read_text().splitlines()]
    names = [e["name"] for e in lines]
    victims = names[:7]
    actions = [
        _flip,
        lambda p: p.write_bytes(p.read_bytes()[:20]),  # truncated
        lambda p: p.write_bytes(b""),  # empty
        lambda p: (shutil.copy(p, tmp / "copy.npy"), p.unlink(), p.symlink_to(tmp / "copy.npy")),  # a link
    ]
    for name, act in zip(victims, actions, strict=False):
        act(parts / name)
    if len(victims) >= 6:  # two parts swapped (no damage if they hold the same values)
        a, b = parts / victims[4], parts / victims[5]
        data = a.read_bytes()
        if data == b.read_bytes():
            victims = [v for v in victims if v not in (a.name, b.name)]
        a.write_bytes(b.read_bytes())
        b.write_bytes(data)
    if len(names) >= 7:  # a part listed as another seed's
        for entry in lines:
            if entry["name"] == names[6]:
                entry["seed"] += 1
    stray = {**lines[0], "name": "f" * 32 + ".npy", "runs": [10_000, 10_010]}  # past the last run
    (parts / stray["name"]).write_bytes((parts / names[-1]).read_bytes())
    (parts / "mine.txt").write_text("a user's file\n")  # not listed: never read, never deleted
    index.write_text("".join(json.dumps(e) + "\n" for e in [*lines, stray]) + '{"name": "torn')
    return victims


@pytest.mark.parametrize("command", sorted(RESUMING))
def test_resume_from_damaged_parts_is_the_uninterrupted_result(command: str, tmp_path: Path, monkeypatch) -> None:
    """Parts flipped, truncated, emptied, linked, swapped, of another seed; a stray part past
    the last run and a torn line: each damaged part is named, computed again, and the result is
    the one of a run never interrupted; the user's file stays."""
    from .standin import use_standin

    calls = use_standin(monkeypatch)
    args, table = RESUMING[command]
    out = tmp_path / "out"
    base = [command, *args, "--scale", "0.01", "--workers", "1", "--quiet", "--out", str(out)]
    assert runner.invoke(app, base).exit_code == 0
    first, blocks = (out / table).read_bytes(), len(calls)
    victims = _damage(out / parts_name(command), tmp_path)
    (out / table).unlink()  # and the results are gone (a user cleaning up, a crash before the commit)
    result = runner.invoke(app, base)
    assert result.exit_code == 0, result.output
    assert (out / table).read_bytes() == first
    named = [line for line in result.stderr.splitlines() if "damaged or foreign part" in line]
    assert sorted({v for v in victims if any(v in line for line in named)}) == sorted(victims), result.stderr
    assert len(calls) - blocks == len(victims)  # only those were computed again
    assert (out / parts_name(command) / "mine.txt").read_text() == "a user's file\n"


# ---------------------------------------------------------------------- signals, from the first instruction
def _catches(pid: int, signum: int) -> bool:
    """The process has a handler for the signal (/proc/<pid>/status SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(mask >> (signum - 1) & 1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(("signame", "status"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_signal_at_the_first_moment_is_one_line(signame: str, status: int, tmp_path: Path) -> None:
    """A signal as soon as the console script has run its first lines (while numpy, pandas and
    the model are still loading) ends the command with one line and the signal's status."""
    import signal
    import subprocess
    import sys
    import time

    script = Path(sys.executable).with_name("etown")
    sig = getattr(signal, signame)
    proc = subprocess.Popen(
        [str(script), "run", str(BASELINE), "--runs", "1", "--scale", "0.01", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        # the interpreter's own start is outside any program's reach: wait for etown's first lines
        while not _catches(proc.pid, signal.SIGTERM) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        assert proc.poll() is None, proc.communicate()  # (so the pid is still this process's)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == status, stderr
    assert stderr.splitlines() == [stderr.splitlines()[0]] and stderr.startswith("etown: "), stderr
    assert f"({signame})" in stderr and "Traceback" not in stderr


WORKERS_SCRIPT = """
import os, sys, time
from model.executor import local_pool
with local_pool(2) as pool:
    futures = [pool.submit(time.sleep, 120) for _ in range(2)]
    print(os.getpid(), flush=True)
    time.sleep(120)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_workers_end_when_the_main_process_is_killed(tmp_path: Path) -> None:
    """kill -9 of the main process: its forkserver and worker processes end with it (the
    workers' watchdog), none lives on as an orphan."""
    import signal
    import subprocess
    import sys
    import time

    from .test_reliability_signals import _session_processes

    proc = subprocess.Popen([sys.executable, "-c", WORKERS_SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == str(proc.pid)
        deadline = time.monotonic() + 30
        while len(_session_processes(proc.pid)) < 4 and time.monotonic() < deadline:  # main, forkserver, 2 workers
            time.sleep(0.02)
        assert len(_session_processes(proc.pid)) >= 4, "the workers did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while _session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _session_processes(proc.pid)
    finally:
        for pid in _session_processes(proc.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes outlived the main one: {left}"


def test_run_resume_from_damaged_parts_is_the_uninterrupted_run(tmp_path: Path) -> None:
    """etown run --resume on a finished ensemble whose parts were damaged (a flipped part, a
    part replaced by a link, a stray part past the last run, a torn line): the damaged chunk is
    named and run again, the stray part is not read, and the tables are the same bytes."""
    out = tmp_path / "out"
    args = ["run", str(BASELINE), "--runs", "11", "--scale", "0.01", "--point-estimate", "--quiet", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    tables = {name: (out / name).read_bytes() for name in ("runs.parquet", "zone.parquet")}
    summary = json.loads((out / "summary.json").read_text())
    parts = out / "parts"
    _flip(parts / "sectors-000001.parquet")
    shutil.copy(parts / "zone-000001.parquet", tmp_path / "zone.parquet")
    (parts / "zone-000001.parquet").unlink()
    (parts / "zone-000001.parquet").symlink_to(tmp_path / "zone.parquet")
    lines = (parts / "parts.jsonl").read_text().splitlines()
    stray = {**json.loads(lines[0]), "name": "sectors-000005.parquet", "chunk": 5, "runs": [50, 60]}
    shutil.copy(parts / "sectors-000000.parquet", parts / "sectors-000005.parquet")
    (parts / "parts.jsonl").write_text("\n".join([*lines, json.dumps(stray)]) + '\n{"name": "zone-0000')
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    warned = " ".join(line for line in result.stderr.splitlines() if "damaged or foreign part" in line)
    assert "sectors-000001.parquet" in warned or "zone-000001.parquet" in warned, result.stderr
    assert "000000" not in warned and "000005" not in warned
    assert {name: (out / name).read_bytes() for name in tables} == tables
    again = json.loads((out / "summary.json").read_text())
    assert {k: v for k, v in again.items() if k != "wall_time_s"} == {
        k: v for k, v in summary.items() if k != "wall_time_s"
    }


def test_every_shipped_scenario_is_a_sensitivity_design_point() -> None:
    """Per-year schedules are accepted wherever levers are read: each shipped scenario's levers
    are a design point of `etown sensitivity` (a schedule held at its mean)."""
    from model.calibration.sensitivity import nominal_point
    from model.scenario import load_scenario

    for path in sorted(SCENARIOS.glob("*.yaml")):
        point = nominal_point(load_scenario(path).scenario)
        assert point and all(v == v and abs(v) < float("inf") for v in point.values()), path.name
