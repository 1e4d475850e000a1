"""Safe against any input (issue 11): every bad scenario file, inherited file or option ends in
one line on stderr naming the cause and exit status 2, with no traceback and nothing written;
`etown score` checks its tables the same way; the output folder is locked, only etown's own
files in it are replaced, and only when the new run has finished."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model import api
from model.cli import app
from model.ensemble import LOCK_FILE, PARTS_DIR, RESULT_FILES, STAGING_DIR, OutputFolder
from model.io import MAX_FILE_BYTES, MAX_NODES

from .conftest import ROOT, SCENARIOS

runner = CliRunner()
TINY = ["--runs", "1", "--scale", "0.01", "--point-estimate", "--quiet"]


def _bomb(levels: int = 6) -> str:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "name: x\nbomb:\n" + "\n".join("  " + line for line in lines) + "\n"


# name -> (file content, or a callable(tmp_path) -> path to validate; expected text in the message)
BAD_FILES: dict[str, tuple[object, str]] = {
    "inf": ("name: x\ntalent:\n  housing_units: .inf\n", "line 3: talent.housing_units: must be a finite number"),
    "minus_inf": ("name: x\ntalent:\n  housing_units: -.inf\n", "must be a finite number"),
    "nan": ("name: x\npolicy:\n  rd_reward_rate: .nan\n", "policy.rd_reward_rate: must be a finite number"),
    "overflow_literal": ("name: x\npolicy:\n  rd_reward_rate: 1e400\n", "must be a finite number"),
    "huge": ("name: x\npolicy:\n  special_funds_yuan_per_year: 1e308\n", "beyond the limit of +-1e+15"),
    "huge_int": ("name: x\nclusters:\n  suppliers_per_anchor: 100000000000000000000\n", "beyond the limit"),
    "subnormal": ("name: x\npolicy:\n  approval_months: 5e-324\n", "too close to 0"),
    "lever_above_range": (
        "name: x\nclusters:\n  suppliers_per_anchor: 1.0e9\n",
        "clusters.suppliers_per_anchor: must be within [0, 200] firms/project, got 1e+09",
    ),
    "bool_as_number": ("name: x\ntalent:\n  housing_units: true\n", "Input should be a valid number (got True)"),
    "bool_as_count": ("name: x\necosystem:\n  pilot_bases: yes\n", "ecosystem.pilot_bases: Input should be a valid"),
    "string_as_number": ("name: x\npolicy:\n  special_funds_yuan_per_year: '1e10'\n", "valid number (got '1e10')"),
    "nan_in_range": (
        "name: x\nuncertainties:\n  parameters: {sigma_ref: {low: .nan, high: 0.4}}\n",
        "uncertainties.parameters.sigma_ref.low: must be a finite number",
    ),
    "low_above_high": (
        "name: x\nuncertainties:\n  parameters: {sigma_ref: {low: 0.4, high: 0.2}}\n",
        "line 3: uncertainties.parameters.sigma_ref: low (0.4) must not exceed high (0.2)",
    ),
    "point_outside_documented": (
        "name: x\nuncertainties:\n  parameters: {trend_xinchuang: 5}\n",
        "uncertainties.parameters.trend_xinchuang: value (5) must lie within the documented range [0.05, 0.5]",
    ),
    "range_outside_documented": (
        "name: x\nuncertainties:\n  parameters: {sigma_ref: {low: 0.0, high: 9}}\n",
        "range must lie within the documented range",
    ),
    "start_year_without_state": ("name: x\nstart_year: 2018\n", "line 2: start_year: no start state for 2018"),
    "end_before_start": ("name: x\nend_year: 2019\n", "line 2: end_year: must be after start_year (2020)"),
    "duplicate_top_key": ("name: x\npolicy: {rent_subsidy_share: 0.2}\npolicy: {}\n", "line 3: duplicate key 'policy'"),
    "duplicate_nested_key": ("name: x\ntalent:\n  housing_units: 1\n  housing_units: 2\n", "duplicate key"),
    "alias_bomb": (_bomb(), f"more than {MAX_NODES:,} values once aliases are expanded"),
    "recursive_alias": ("name: x\na: &r [1, *r]\n", "recursive"),
    "nesting": ("name: x\nclusters: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
    "nesting_extreme": ("name: x\nx: " + "[" * 20000 + "]" * 20000 + "\n", "nesting depth"),
    "two_documents": ("name: x\n---\nname: y\n", "more than one YAML document"),
    "too_large": (lambda p: _write(p / "big.yaml", "name: x\n#" + "x" * MAX_FILE_BYTES + "\n"), "file too large"),
    "long_list": ("name: x\nl: [" + "1," * (MAX_NODES + 5) + "1]\n", "more than 100,000 values"),
    "not_utf8": (lambda p: _write(p / "latin.yaml", b"name: caf\xe9\n"), "not UTF-8 text"),
    "binary": (lambda p: _write(p / "bin.yaml", bytes(range(256)) * 4), "not UTF-8"),
    "control_chars": ("name: x\x07\n", "not valid YAML"),
    "int_5000_digits": ("name: x\nend_year: 1" + "0" * 5000 + "\n", "line 2: cannot read '1000"),
    "bad_date": ("name: x\ndescription: 2020-13-45\n", "cannot read '2020-13-45'"),
    "python_tag": ("name: !!python/object:os.system x\n", "not valid YAML"),
    "syntax": ("name: x\npolicy: [1, 2\n", "not valid YAML at line"),
    "empty_file": ("", "top level must be a mapping"),
    "top_level_list": ("- name: x\n", "top level must be a mapping"),
    "name_dotdot": ("name: ..\n", "name: must be a safe folder name"),
    "name_dot": ("name: .\n", "must be a safe folder name"),
    "name_separator": ("name: a/b\n", "must be a safe folder name"),
    "name_too_long": ("name: " + "n" * 65 + "\n", "must be a safe folder name"),
    "name_from_file_name": (lambda p: _write(p / "..yaml", "description: no name\n"), "must be a safe folder name"),
    "unknown_key": ("name: x\npolicy:\n  special_fundz: 1\n", "line 3: policy.special_fundz: unknown key; allowed:"),
    "section_wrong_type": ("name: x\npolicy: [1]\n", "policy: Input should be"),
    "long_value_echo": ("name: x\npolicy:\n  special_funds_yuan_per_year: '" + "9" * 100_000 + "'\n", "(got '999"),
    "inherits_missing": (
        "name: x\ninherits: nope.yaml\n",
        "line 2: inherits: nope.yaml: file not found (looked for",
    ),
    "inherits_not_string": ("inherits: [a.yaml]\nname: x\n", "line 1: inherits: must be a file name"),
    "inherits_directory": (lambda p: _inherit(p, "."), "not a regular file (a directory)"),
    "inherits_fifo": (lambda p: _inherit(p, _fifo(p)), "not a regular file (a FIFO"),
    "inherits_device": (lambda p: _inherit(p, "/dev/zero"), "/dev/zero: not a regular file (a character device)"),
    "inherits_symlink_loop": (lambda p: _inherit(p, _loop(p)), "Too many levels of symbolic links"),
    "inherits_circular": (lambda p: _write(p / "me.yaml", "inherits: me.yaml\nname: x\n"), "circular inheritance"),
    "inherits_chain_too_long": (lambda p: _chain(p, 20), "more than 16 files in the inherits: chain"),
    "error_in_inherited_file": (lambda p: _chain(p, 2, "policy:\n  approval_months: -1\n"), "policy.approval_months"),
    "file_is_directory": (lambda p: p, "not a regular file (a directory)"),
    "file_is_fifo": (lambda p: p / _fifo(p), "not a regular file (a FIFO"),
    "file_symlink_loop": (lambda p: p / _loop(p), "Too many levels of symbolic links"),
    "file_missing": (lambda p: p / "missing.yaml", "file not found"),
}


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _inherit(folder: Path, target: str) -> Path:
    return _write(folder / "child.yaml", f"name: child\ninherits: {target}\n")


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe.yaml")
    return "pipe.yaml"


def _loop(folder: Path) -> str:
    (folder / "loop_a.yaml").symlink_to("loop_b.yaml")
    (folder / "loop_b.yaml").symlink_to("loop_a.yaml")
    return "loop_a.yaml"


def _chain(folder: Path, n: int, last: str = "") -> Path:
    """f0.yaml inherits f1.yaml ... f{n}.yaml, which holds `last`."""
    for i in range(n):
        _write(folder / f"f{i}.yaml", f"inherits: f{i + 1}.yaml\nname: f{i}\n")
    _write(folder / f"f{n}.yaml", f"name: f{n}\n{last}")
    return folder / "f0.yaml"


def _bad_file(tmp_path: Path, case: str) -> Path:
    content, _ = BAD_FILES[case]
    folder = tmp_path / "in"
    folder.mkdir()
    return content(folder) if callable(content) else _write(folder / f"{case}.yaml", content)


def _one_line(result, expected: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("etown: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.output and len(lines[0]) <= 510
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_one_line_exit_2_nothing_written(tmp_path: Path, case: str, monkeypatch) -> None:
    path = _bad_file(tmp_path, case)
    monkeypatch.chdir(tmp_path)  # the default output folder, results/<name>, would be here
    _one_line(runner.invoke(app, ["validate", str(path)]), BAD_FILES[case][1])
    _one_line(runner.invoke(app, ["run", str(path), *TINY]), BAD_FILES[case][1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # nothing written


def test_error_in_inherited_file_names_that_file_line_and_chain(tmp_path: Path) -> None:
    child = _chain(tmp_path, 2, "policy:\n  approval_months: -1\n")
    line = _one_line(runner.invoke(app, ["validate", str(child)]), "policy.approval_months")
    f2 = tmp_path / "f2.yaml"
    assert line.startswith(f"etown: {f2}: line 3: policy.approval_months: must be within [0.5, 48] months, got -1")
    assert line.endswith(f"(inherited: {child} -> {tmp_path / 'f1.yaml'} -> {f2})")
    # the child overriding the bad value fixes it: the error was the parent's
    _write(child, "inherits: f1.yaml\nname: f0\npolicy:\n  approval_months: 3\n")
    assert runner.invoke(app, ["validate", str(child)]).exit_code == 0


def test_inherits_resolves_relative_to_the_referring_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    _write(tmp_path / "a" / "base.yaml", "name: base\npolicy:\n  approval_months: 4\n")
    _write(tmp_path / "a" / "b" / "mid.yaml", "inherits: ../base.yaml\nname: mid\n")
    _write(tmp_path / "child.yaml", "inherits: a/b/mid.yaml\nname: child\n")
    monkeypatch.chdir(tmp_path / "a" / "b")  # not where the files are
    result = runner.invoke(app, ["validate", str(tmp_path / "child.yaml")])
    assert result.exit_code == 0, result.output
    # from a file outside scenarios/, a missing target names the referring file and its line
    _write(tmp_path / "elsewhere.yaml", "name: e\n\ninherits: baseline.yaml\n")
    line = _one_line(runner.invoke(app, ["validate", str(tmp_path / "elsewhere.yaml")]), "file not found")
    assert line.startswith(f"etown: {tmp_path / 'elsewhere.yaml'}: line 3: inherits: baseline.yaml: file not found")


BAD_OPTIONS = {
    "runs_zero": (["--runs", "0"], "etown: --runs: must be at least 1"),
    "runs_negative": (["--runs", "-5"], "etown: --runs: must be at least 1"),
    "runs_huge": (["--runs", "1000000000"], "etown: --runs: must be at most 1,000,000"),
    "runs_bignum": (["--runs", "9" * 40], "etown: --runs: must be at most 1,000,000"),
    "runs_text": (["--runs", "many"], "etown: --runs: must be an integer"),
    "scale_zero": (["--scale", "0"], "etown: --scale: must be at least 0.001"),
    "scale_above_one": (["--scale", "2"], "etown: --scale: must be at most 1"),
    "scale_nan": (["--scale", "nan"], "etown: --scale:"),
    "workers_zero": (["--workers", "0"], "etown: --workers: must be at least 1"),
    "workers_huge": (["--workers", "100000"], "etown: --workers: must be at most 256"),
    "seed_negative": (["--seed", "-1"], "etown: --seed: must be at least 0"),
    "seed_huge": (["--seed", "9" * 30], "etown: --seed: must be at most"),
    "unknown_option": (["--bogus"], "etown: No such option: --bogus"),
    "scheduler_protocol": (["--scheduler", "http://127.0.0.1:8786"], "--scheduler: unsupported protocol 'http://'"),
    "scheduler_no_port": (["--scheduler", "tcp://127.0.0.1"], "give the address as tcp://HOST:PORT"),
    "scheduler_bad_port": (["--scheduler", "tcp://127.0.0.1:99999"], "give the address as tcp://HOST:PORT"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_option_one_line_exit_2(tmp_path: Path, case: str) -> None:
    options, expected = BAD_OPTIONS[case]
    out = tmp_path / "out"
    args = ["run", str(SCENARIOS / "baseline.yaml"), "--runs", "1", "--scale", "0.01", "--out", str(out), *options]
    _one_line(runner.invoke(app, args), expected.removeprefix("etown: "))
    assert not out.exists()


def test_usage_errors_of_any_command_are_one_line(tmp_path: Path) -> None:
    for args, expected in [
        (["run"], "etown: SCENARIO: missing (see etown run --help)"),
        (["nosuch"], "No such command 'nosuch'"),
        (["score", str(tmp_path)], "OBSERVATIONS: missing"),
        (["validate", str(SCENARIOS / "baseline.yaml"), "extra"], "etown: "),
    ]:
        line = _one_line(runner.invoke(app, args), expected)
        assert "Usage:" not in line and "╭" not in line


def test_real_process_usage_error_one_line_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", "run", "scenarios/baseline.yaml", "--runs", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stderr, proc.stdout) == (2, "etown: --runs: must be at least 1\n", "")


# ---------------------------------------------------------------------- etown score
@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "out"
    api.run(SCENARIOS / "baseline.yaml", runs=2, scale=0.01, out=out, progress=False, point_estimate=True)
    return out


def _table_cases(finished: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    import pandas as pd

    runs, zone = pd.read_parquet(finished / "runs.parquet"), pd.read_parquet(finished / "zone.parquet")
    cases = {}

    def make(name: str, runs_frame: pd.DataFrame, zone_frame: pd.DataFrame, expected: str) -> None:
        d = folder / name
        d.mkdir()
        runs_frame.to_parquet(d / "runs.parquet")
        zone_frame.to_parquet(d / "zone.parquet")
        cases[name] = (d, expected)

    make("swapped", zone, runs, "not an etown runs.parquet table: no column(s) sector, output_yuan")
    make("empty", runs.iloc[:0], zone.iloc[:0], "the table has no rows")
    make("no_column", runs.drop(columns="output_yuan"), zone, "no column(s) output_yuan")
    make("text_numbers", runs.assign(output_yuan="x"), zone, "column output_yuan: must hold number values")
    make("one_year", runs[runs["year"] == 2020], zone[zone["year"] == 2020], "needs at least two years")
    make("foreign_sector", runs.assign(sector="steel"), zone, "unknown sector(s) ['steel']")
    make("mixed_runs", runs, zone.assign(run=zone["run"] + 100), "hold different runs")
    make("no_observed_metric", runs, zone.drop(columns="gdp"), "no column gdp, which")
    (folder / "damaged").mkdir()
    (folder / "damaged" / "runs.parquet").write_bytes(b"PAR1 not really")
    (folder / "damaged" / "zone.parquet").write_bytes(b"")
    cases["damaged"] = (folder / "damaged", "runs.parquet: cannot read")
    cases["missing"] = (folder / "nothing", "not a folder")
    return cases


def test_score_checks_its_tables_in_one_line(finished: Path, tmp_path: Path) -> None:
    obs = _write(tmp_path / "obs.yaml", "sectors:\n  ngit: {2021: 1.0e11}\nzone:\n  gdp: {2021: 2.0e11}\n")
    cases = _table_cases(finished, tmp_path)
    for name, (folder, expected) in cases.items():
        result = runner.invoke(app, ["score", str(folder), str(obs)])
        _one_line(result, expected)
        assert not (folder / "score.json").exists(), name
    assert runner.invoke(app, ["score", str(finished), str(obs), "--out", str(tmp_path / "s.json")]).exit_code == 0


# ---------------------------------------------------------------------- the output folder
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("foreign", ["summary.json", "runs.parquet", "parts", "unfinished", "fan_chart.png"])
def test_files_etown_did_not_write_are_never_replaced(tmp_path: Path, foreign: str) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    target = out / foreign
    if foreign in ("parts", "unfinished"):
        target.mkdir()
        _write(target / "notes.txt", "my own")
    else:
        _write(target, '{"my": "own"}')
    _write(out / "other.txt", "keep")
    before = _snapshot(out)
    line = _one_line(runner.invoke(app, ["run", str(SCENARIOS / "baseline.yaml"), *TINY, "--out", str(out)]), foreign)
    assert "was not written by etown" in line
    assert _snapshot(out) == before


def test_out_that_is_a_file_or_a_symlinked_result(tmp_path: Path) -> None:
    file = _write(tmp_path / "file", "x")
    _one_line(runner.invoke(app, ["run", str(SCENARIOS / "baseline.yaml"), *TINY, "--out", str(file)]), "not a folder")
    assert file.read_text() == "x"
    out = tmp_path / "out"
    out.mkdir()
    _write(tmp_path / "precious.json", "{}")
    (out / "summary.json").symlink_to(tmp_path / "precious.json")
    _one_line(runner.invoke(app, ["run", str(SCENARIOS / "baseline.yaml"), *TINY, "--out", str(out)]), "symbolic link")
    assert (tmp_path / "precious.json").read_text() == "{}"


def test_second_run_on_a_locked_folder_is_refused_naming_the_holder(finished: Path) -> None:
    before = _snapshot(finished)
    holder = OutputFolder(finished, "run", RESULT_FILES)
    holder.lock("etown run held-by-the-test.yaml")
    try:
        line = _one_line(
            runner.invoke(app, ["run", str(SCENARIOS / "baseline.yaml"), *TINY, "--out", str(finished)]), "in use"
        )
        assert f"pid {os.getpid()} on " in line and "etown run held-by-the-test.yaml" in line
        assert "wait for it to finish or choose another --out" in line
        assert _snapshot(finished) == before | {LOCK_FILE: (finished / LOCK_FILE).read_bytes()}
    finally:
        holder.release()
    assert not (finished / LOCK_FILE).exists() and _snapshot(finished) == before


def test_failed_run_keeps_the_previous_results(finished: Path, tmp_path: Path, monkeypatch) -> None:
    import model.ensemble

    out = tmp_path / "out"
    api.run(SCENARIOS / "baseline.yaml", runs=2, scale=0.01, out=out, progress=False, point_estimate=True)
    before = _snapshot(out)

    def broken(*args, **kwargs):
        raise RuntimeError("a failure after the settings were accepted")

    monkeypatch.setattr(model.ensemble, "run_chunk", broken)
    with pytest.raises(RuntimeError):
        api.run(SCENARIOS / "baseline.yaml", runs=20, seed=3, scale=0.01, out=out, progress=False)
    after = _snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith(STAGING_DIR)} == before
    assert not (out / LOCK_FILE).exists()


def test_commit_killed_half_way_is_completed_by_the_next_run(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    old = api.run(SCENARIOS / "baseline.yaml", runs=2, seed=1, scale=0.01, out=out, progress=False).summary
    real_replace = os.replace

    def dies_before_the_summary(src, dst, *a, **k):
        if Path(dst) == out / "summary.json":
            raise KeyboardInterrupt  # as if killed here: the new tables are in, the summary is not
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", dies_before_the_summary)
    with pytest.raises(BaseException):  # noqa: B017 - Interrupted, whatever wraps it
        api.run(SCENARIOS / "baseline.yaml", runs=2, seed=2, scale=0.01, out=out, progress=False)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not (out / "summary.json").exists()  # never a summary that disagrees with the tables
    assert (out / STAGING_DIR / "summary.json").exists()
    folder = OutputFolder(out, "run", RESULT_FILES)
    folder.lock("test")
    try:
        folder.stage()
    finally:
        folder.release()
    new = json.loads((out / "summary.json").read_text())
    assert (new["seed"], old["seed"]) == (2, 1)
    assert (out / PARTS_DIR / "manifest.json").is_file()


def test_scenario_name_dotdot_cannot_reach_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parts").mkdir()
    _write(tmp_path / "parts" / "mine.txt", "keep")
    _write(tmp_path / "summary.json", "{}")
    scenario = _write(tmp_path / "dots.yaml", "name: ..\n")
    _one_line(runner.invoke(app, ["run", str(scenario), *TINY]), "name: must be a safe folder name")
    assert (tmp_path / "parts" / "mine.txt").read_text() == "keep"
    assert (tmp_path / "summary.json").read_text() == "{}"
