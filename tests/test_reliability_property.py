"""One validation `run` can trust (issue 11): random scenario trees, valid and invalid, with
nesting, aliases, extreme floats, wrong types and unknown keys. For every one, either
`etown validate` rejects it with one line on stderr and exit status 2, or `etown run` at a tiny
scale completes (exit 0, summary.json written)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from model.cli import app
from model.scenario import Scenario

runner = CliRunner()

EXTREME = [
    math.inf,
    -math.inf,
    math.nan,
    1e308,
    -1e308,
    1e16,
    5e-324,
    -1.0,
    -(10**20),
    10**20,
    True,
    False,
    None,
    "1e9",
    "",
    [],
    {},
    [1, 2],
]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        node = {**_resolve(schema, node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def _number(node: dict[str, Any]) -> st.SearchStrategy:
    """Values inside the declared range of a number (any finite value where none is declared)."""
    low = node.get("minimum", node.get("exclusiveMinimum", -1e15))
    high = node.get("maximum", node.get("exclusiveMaximum", 1e15))
    if node.get("type") == "integer":
        return st.integers(int(max(low, -1e6)), int(min(high, 1e6)))
    return st.floats(
        low,
        high,
        exclude_min="exclusiveMinimum" in node,
        exclude_max="exclusiveMaximum" in node,
        allow_nan=False,
    )


def _value(schema: dict[str, Any], node: dict[str, Any], depth: int = 0, hostile: bool = True) -> st.SearchStrategy:
    """A strategy of values for a schema node: well-typed within the declared ranges, and (if
    hostile) now and then anything odd."""
    node = _resolve(schema, node)
    odd = st.sampled_from(EXTREME)
    if "anyOf" in node:
        return st.one_of(*[_value(schema, n, depth, hostile) for n in node["anyOf"]])
    kind = node.get("type")
    if kind in ("number", "integer"):
        good = _number(node)
    elif kind == "boolean":
        good = st.booleans()
    elif kind == "string":
        good = st.sampled_from(node["enum"]) if "enum" in node else st.text(max_size=20)
    elif kind == "array":
        good = st.lists(_value(schema, node.get("items", {}), depth + 1, hostile), max_size=3)
    elif kind == "object" and "properties" in node:
        props = node["properties"]
        keys = st.lists(st.sampled_from(sorted(props)), unique=True, max_size=min(4, len(props)))
        good = keys.flatmap(
            lambda ks: st.fixed_dictionaries({k: _value(schema, props[k], depth + 1, hostile) for k in ks})
        )
    elif kind == "object":
        names = _resolve(schema, node.get("propertyNames", {})).get("enum") or ["trend_auto", "sigma_ref", "nope"]
        good = st.dictionaries(
            st.sampled_from(names), _value(schema, node.get("additionalProperties", {}), depth + 1, hostile), max_size=3
        )
    else:
        good = odd
    return st.one_of(good, good, good, odd) if hostile and depth < 6 else good


TAILS = ["", "", "name: again\n", "bomb: &b [1, 1, 1]\nboom: [*b, *b, *b]\n", "a: &r [*r]\n", "---\nname: two\n"]
SCHEMA = Scenario.model_json_schema()
SECTIONS = {k: v for k, v in SCHEMA["properties"].items() if k not in ("name", "description")}


@st.composite
def scenario_trees(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """(tree, text appended to its YAML); half of them without odd values (mostly valid)."""
    hostile = draw(st.booleans())
    names = ["prop", "prop.v2", "..", "a/b", "x" * 70, "ok_1"] if hostile else ["prop", "ok_1"]
    tree: dict[str, Any] = {"name": draw(st.sampled_from(names))}
    for key in draw(st.lists(st.sampled_from(sorted(SECTIONS)), unique=True, max_size=4)):
        tree[key] = draw(_value(SCHEMA, SECTIONS[key], hostile=hostile))
    tail = draw(st.sampled_from(TAILS)) if hostile else ""
    if not hostile:
        return tree, tail
    if draw(st.integers(0, 9)) == 0:
        tree[draw(st.sampled_from(["polcy", "levers", "inherits"]))] = draw(st.sampled_from(EXTREME))
    if draw(st.integers(0, 4)) == 0:  # the same mapping twice: PyYAML writes an anchor and an alias
        shared = {"special_funds_yuan_per_year": draw(st.floats(0, 2e10))}
        tree["policy"] = shared
        tree.setdefault("talent", {})
        tree["uncertainties"] = {"parameters": {"sigma_ref": shared}} if draw(st.booleans()) else tree.get("talent")
    if draw(st.integers(0, 5)) == 0:  # nesting
        deep: Any = 1.0
        for _ in range(draw(st.integers(1, 40))):
            deep = {"x": deep} if draw(st.booleans()) else [deep]
        tree[draw(st.sampled_from(["ecosystem", "deep"]))] = deep
    return tree, tail


def _render(tree: dict[str, Any], tail: str) -> str:
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=10_000)
    return text + tail


# no shrinking: a failure prints the whole file, and shrinking full runs would take minutes
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(case=scenario_trees())
def test_validate_rejects_in_one_line_or_run_completes(case: tuple[dict[str, Any], str], tmp_path_factory) -> None:
    tree, tail = case
    folder = tmp_path_factory.mktemp("prop")
    path = folder / "scenario.yaml"
    path.write_text(_render(tree, tail), encoding="utf-8")
    checked = runner.invoke(app, ["validate", str(path)])
    assert checked.exception is None or isinstance(checked.exception, SystemExit), checked.exception
    event("rejected" if checked.exit_code else "ran")
    if checked.exit_code != 0:
        event(checked.stderr.split(": ")[-2][:40] if checked.stderr.count(": ") > 1 else checked.stderr[:40])
        assert checked.exit_code == 2, checked.output
        lines = checked.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("etown: "), checked.stderr
        assert "Traceback" not in checked.output and len(lines[0]) <= 510
        return
    out = folder / "out"
    ran = runner.invoke(
        app, ["run", str(path), "--runs", "1", "--scale", "0.01", "--point-estimate", "--quiet", "--out", str(out)]
    )
    assert ran.exit_code == 0, f"validate said ok, run failed: {ran.stderr or ran.exception!r}\n{path.read_text()}"
    assert (out / "summary.json").is_file()


def test_the_generator_reaches_both_outcomes(tmp_path: Path) -> None:
    """The property is not vacuous: hand-made trees of the generator's kinds give both outcomes."""
    ok = tmp_path / "ok.yaml"
    ok.write_text(_render({"name": "prop", "policy": {"special_funds_yuan_per_year": 1.5e10}}, ""))
    bad = tmp_path / "bad.yaml"
    bad.write_text(_render({"name": "prop", "policy": {"special_funds_yuan_per_year": math.inf}}, ""))
    assert runner.invoke(app, ["validate", str(ok)]).exit_code == 0
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and "must be a finite number" in result.stderr
