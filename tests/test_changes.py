"""`etown validate` shows what a file changes (issue 16): by default only against the file it
inherits, in words for direction and size, with units; `--against baseline|2020|FILE` for the
other views."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.changes import describe_change, size_words
from model.cli import app
from model.levers import Schedule

from .conftest import SCENARIOS

runner = CliRunner()


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (5000, 2500, "halved"),
        (10, 20, "doubled"),
        (2, 6, "tripled"),
        (100, 120, "up 20%"),
        (10, 6, "down 40%"),
        (0, 5, "introduced"),
        (5, 0, "cut to zero"),
        (3, 3, "unchanged"),
        (1, 25, "25 times as much"),
    ],
)
def test_size_words(old: float, new: float, words: str) -> None:
    assert size_words(old, new) == words


def test_changes_read_with_units() -> None:
    assert describe_change("talent.programme_persons_per_year", 5000.0, 2500.0, [2021]) == (
        "talent.programme_persons_per_year: halved: 5,000 -> 2,500 persons/yr"
    )
    funds = Schedule(kind="steps", points=((2021, 1.0e10), (2022, 5.0e9)))
    assert describe_change("policy.special_funds_yuan_per_year", 1.0e10, funds, list(range(2021, 2026))) == (
        "policy.special_funds_yuan_per_year: 2021: unchanged; 2022-2025: halved: 10 bn -> 5 bn yuan/yr"
    )
    assert describe_change("clusters.anchor_projects_per_year.robotics", 1.5, 3.0, [2021]).endswith(
        "doubled: 1.5 -> 3 projects/yr"
    )


def test_validate_shows_only_what_the_file_changes_against_its_parent(tmp_path: Path) -> None:
    child = tmp_path / "halve_talent.yaml"
    child.write_text(
        f"inherits: {SCENARIOS / 'five_measures.yaml'}\nname: halve_talent\n"
        "talent:\n  programme_persons_per_year: 2500\npolicy:\n  approval_months: 3\n"  # the parent's value
    )
    res = runner.invoke(app, ["validate", str(child)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[1] == f"changes against {SCENARIOS / 'five_measures.yaml'} (five_measures): 1"
    assert lines[2] == "  talent.programme_persons_per_year: halved: 5,000 -> 2,500 persons/yr"
    assert len(lines) == 3
    # against the 2020 levers: every lever the parent changed too
    wide = runner.invoke(app, ["validate", str(child), "--against", "2020"]).stdout.splitlines()
    assert wide[1].startswith("changes against the 2020 levers: ") and int(wide[1].rsplit(" ", 1)[1]) > 20
    assert "  talent.programme_persons_per_year: up 25%: 2,000 -> 2,500 persons/yr" in wide
    # a file that inherits nothing is compared with the 2020 levers; --against baseline finds baseline.yaml
    own = runner.invoke(app, ["validate", str(SCENARIOS / "funding_cut.yaml"), "--against", "baseline"]).stdout
    assert "policy.special_funds_yuan_per_year: 2021: unchanged; 2022-2025: halved: 10 bn -> 5 bn yuan/yr" in own
    base = runner.invoke(app, ["validate", str(SCENARIOS / "baseline.yaml")]).stdout
    assert "changes against the 2020 levers: none" in base
    full = runner.invoke(app, ["validate", str(child), "--levers"]).stdout
    assert "effective levers" in full


def test_validate_against_a_missing_file_is_one_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["validate", str(SCENARIOS / "baseline.yaml"), "--against", str(tmp_path / "x.yaml")])
    assert res.exit_code == 2 and "file not found" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_a_parent_invalid_on_its_own_is_named_and_2020_used(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("name: parent\npolicy:\n  approval_months: -1\n")
    (tmp_path / "child.yaml").write_text("inherits: parent.yaml\nname: child\npolicy:\n  approval_months: 3\n")
    res = runner.invoke(app, ["validate", str(tmp_path / "child.yaml")])
    assert res.exit_code == 0, res.output
    assert "is not valid on its own" in res.stdout and "compared with 2020" in res.stdout
    assert "policy.approval_months: halved: 6 -> 3 months" in res.stdout
