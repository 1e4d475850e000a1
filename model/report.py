"""`etown report`: one self-contained HTML file a planner hands to a director, from finished
results, in English or Chinese.

`etown report RESULT... [--lang zh|en] [--out FILE.html]` reads result folders as they are
(nothing is rerun) and writes one HTML file with every image embedded (PNG data URIs) and a
print stylesheet, so "print to PDF" in a browser gives a clean A4 document. Each folder is
recognised by the file it holds:

| file | written by | section |
|---|---|---|
| summary.json | `etown run` | question, headline table, fan chart, provenance (the first one is the main result) |
| compare.json | `etown compare` | comparison against its baseline |
| effects.json | `etown effects` | what each lever or measure contributes |
| uncertainty.json | `etown uncertainty` | the variance split (main uncertainties) |
| backtest.json | `etown backtest` | the out-of-sample test |

Several ensemble folders give a comparison against the one named `baseline` (or `--baseline`;
else the first), paired when they share seed, runs and scale (common random numbers). Readers
are tolerant: a section appears only when its result is given, and only the fields present are
shown, so result files of another model version still make a report. The calibration fit comes
from the main result's summary.json (its calibration provenance). Every word comes from
model/i18n.py.
"""

from __future__ import annotations

import base64
import io
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.figure import Figure

from . import plots
from .analysis import p_key
from .api import EnsembleResult, load, model_version, read_json, read_summary
from .ensemble import EnsembleError
from .i18n import TEXT, Lang, cluster_name, crossing_words, likelihood_words, money, money_ci, money_range, tr
from .io import write_atomic
from .sectors import TARGET_SECTORS

KINDS = {
    "summary.json": "ensemble",
    "compare.json": "compare",
    "effects.json": "effects",
    "uncertainty.json": "uncertainty",
    "backtest.json": "backtest",
}
"""The file that marks each kind of result folder, in the order they are looked for."""
DPI = 120


@dataclass
class Found:
    """The results given to the report, by kind (folders in the order given)."""

    ensembles: list[Path] = field(default_factory=list)
    compares: list[Path] = field(default_factory=list)
    effects: list[Path] = field(default_factory=list)
    uncertainty: list[Path] = field(default_factory=list)
    backtest: list[Path] = field(default_factory=list)

    def add(self, folder: Path) -> None:
        kinds = {
            "ensemble": self.ensembles,
            "compare": self.compares,
            "effects": self.effects,
            "uncertainty": self.uncertainty,
            "backtest": self.backtest,
        }
        for name, kind in KINDS.items():
            if (folder / name).is_file():
                kinds[kind].append(folder)
                return
        if not folder.is_dir():
            raise EnsembleError(f"RESULT: {folder}: not a folder")
        raise EnsembleError(
            f"RESULT: {folder}: no result of etown run, compare, effects, uncertainty or backtest "
            f"(none of {', '.join(KINDS)})"
        )


def find_results(paths: list[Path]) -> Found:
    """Classify the result folders given; one line (EnsembleError) for one that is none."""
    found = Found()
    for p in paths:
        found.add(Path(p))
    if not found.ensembles and not found.compares:
        raise EnsembleError("RESULT: give at least one result of etown run or etown compare (summary.json)")
    return found


# ------------------------------------------------------------------------------------ images
def image(fig: Figure, lang: Lang, dpi: int = DPI) -> str:
    """A figure as a PNG data URI (drawn in `lang`'s font)."""
    buf = io.BytesIO()
    with plots.language(lang):
        fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# ------------------------------------------------------------------------------------ sections
def _num(x: Any, fmt: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(float(x), fmt)


def _ci(lo: Any, hi: Any, fmt: str = ".2f") -> str:
    return f"[{_num(lo, fmt)}, {_num(hi, fmt)}]"


def _p(c: dict[str, Any], end: int) -> float:
    return float(c.get(p_key(end), c.get("p_100bn_by_2025", float("nan"))))


def headline_rows(summary: dict[str, Any], lang: Lang) -> list[dict[str, Any]]:
    """Per cluster (the four targets first): P(>= 100 bn by the end year), its 95% interval,
    P in words, when in words, the median end-year output and its 80% band; then all four."""
    end = int(summary.get("end_year", summary["years"][-1]))
    start = int(summary["years"][0])
    rows = []
    ordered = sorted(summary["clusters"].items(), key=lambda kv: not kv[1].get("target"))
    for sid, c in ordered:
        p = _p(c, end)
        band = c.get("output_bn", {}).get(str(end), {})
        rows.append(
            {
                "cluster": cluster_name(sid, lang),
                "target": bool(c.get("target")),
                "p": _num(p),
                "ci": _ci(*c.get("p_ci95", (None, None))),
                "words": likelihood_words(p, lang),
                "when": crossing_words(c.get("median_cross_year"), p, start, end, lang),
                "median": money(band["p50"], lang) if "p50" in band else "-",
                "band": money_range(band["p10"], band["p90"], lang) if "p10" in band else "-",
            }
        )
    if "p_all_four_targets" in summary:
        p = float(summary["p_all_four_targets"])
        rows.append(
            {
                "cluster": tr("all_four_row", lang),
                "target": True,
                "p": _num(p),
                "ci": _ci(*summary.get("p_all_four_ci95", (None, None))),
                "words": likelihood_words(p, lang),
                "when": "",
                "median": "",
                "band": "",
                "total": True,
            }
        )
    return rows


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(width - _display_width(text), 0)
    return fill + text if right else text + fill


def format_headline(summary: dict[str, Any], lang: Lang) -> str:
    """The headline table as text (what `etown show --lang zh` prints)."""
    end = int(summary.get("end_year", summary["years"][-1]))
    head = [tr(k, lang, end=end) for k in ("col_cluster", "col_p", "col_ci", "col_words", "col_cross", "col_median")]
    rows = [head]
    for r in headline_rows(summary, lang):
        rows.append(
            [
                ("*" if r["target"] and not r.get("total") else " ") + r["cluster"],
                r["p"],
                r["ci"],
                r["words"],
                r["when"],
                r["median"],
            ]
        )
    widths = [max(_display_width(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(_pad(v, w, right=i in (1, 2)) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    lines.insert(1, "-" * max(_display_width(line) for line in lines))
    lines.append(f"(* = {tr('target_mark', lang)}; {plots.footer_text(summary, lang)})")
    return "\n".join(lines)


def _description(summary: dict[str, Any]) -> str:
    """The scenario's description from the scenario text recorded in the summary (the file's
    own, else the nearest it inherits)."""
    text = summary.get("scenario_text") or ""
    try:
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return ""
    for doc in reversed(docs):
        if isinstance(doc.get("description"), str) and doc["description"].strip():
            return " ".join(doc["description"].split())
    return ""


def ensemble_section(result: EnsembleResult, lang: Lang) -> dict[str, Any]:
    s = result.summary
    return {
        "scenario": s.get("scenario", result.out.name),
        "end": int(s.get("end_year", s["years"][-1])),
        "description": _description(s),
        "rows": headline_rows(s, lang),
        "runs": s.get("runs", "?"),
        "fan": image(result.fan_chart(lang=lang), lang),
    }


def _difference(row: dict[str, Any], cols: tuple[str, str, str], fmt: str, money_lang: Lang | None) -> str:
    if row.get("is_baseline"):
        return ""
    mid, lo, hi = (row.get(c) for c in cols)
    if mid is None or (isinstance(mid, float) and math.isnan(mid)):
        return "-"
    if money_lang is not None:
        return money_ci(mid, lo, hi, money_lang)
    return f"{float(mid):+{fmt}} [{_num(lo, '+' + fmt)}, {_num(hi, '+' + fmt)}]"


def comparison_rows(table: pd.DataFrame, baseline: str, end: int, lang: Lang) -> list[dict[str, Any]]:
    """Per cluster and scenario: P [CI], the median end-year output, and the differences to the
    baseline with their 95% CIs (the baseline's row says it is the reference)."""
    rows = []
    for rec in table.replace({np.nan: None}).to_dict(orient="records"):
        base = rec.get("scenario") == baseline or bool(rec.get("is_baseline"))
        rec["is_baseline"] = base
        rows.append(
            {
                "cluster": cluster_name(str(rec["cluster"]), lang, short=True),
                "scenario": rec["scenario"],
                "p": f"{_num(rec.get('p'))} {_ci(rec.get('p_lo'), rec.get('p_hi'))}",
                "median": money(rec["median_output_bn"], lang) if rec.get("median_output_bn") is not None else "",
                "dp": tr("baseline_cell", lang)
                if base
                else _difference(rec, ("p_diff", "p_diff_lo", "p_diff_hi"), ".3f", None),
                "dout": ""
                if rec.get("median_output_bn") is None
                else tr("baseline_cell", lang)
                if base
                else _difference(rec, ("output_diff_bn", "output_diff_lo_bn", "output_diff_hi_bn"), ".1f", lang),
                "first": False,
            }
        )
    for i, r in enumerate(rows):
        r["first"] = i == 0 or rows[i - 1]["cluster"] != r["cluster"]
    return rows


def ensembles_table(results: list[EnsembleResult], base: int = 0) -> tuple[pd.DataFrame, bool]:
    """The comparison table of several ensembles against results[base], from each run's values
    of the declared headline outcomes (outcomes.headline_from_table: the one definition of the
    event): paired differences when they share seed, runs and scale (the same replications:
    common random numbers), else differences between independent ensembles (Welch intervals).
    Returns (table, paired)."""
    from . import outcomes as oc
    from .experiments.compare import ALL_FOUR, compare_table
    from .stats import probability, unpaired_half_width

    labels = _unique([r.summary.get("scenario", r.out.name) for r in results])
    end = int(results[0].summary.get("end_year", results[0].summary["years"][-1]))
    values = [oc.headline_from_table(r.sectors, end) for r in results]
    keys = {(r.summary.get("seed"), r.summary.get("runs"), r.summary.get("settings", {}).get("scale")) for r in results}
    if len(keys) == 1:
        return compare_table(labels, values, base), True
    col = oc.by_name(oc.HEADLINE)  # independent ensembles: difference of means, Welch half-width
    rows = []
    for cluster in [*TARGET_SECTORS, ALL_FOUR]:
        p_name = (oc.P_ALL_FOUR if cluster == ALL_FOUR else oc.p_reach(cluster)).name
        a = values[base][:, col[p_name]]
        for k, (label, v) in enumerate(zip(labels, values, strict=True)):
            b, est = v[:, col[p_name]], probability(v[:, col[p_name]])
            d, hw = float(b.mean() - a.mean()), (unpaired_half_width(a, b) if k != base else 0.0)
            row = {"cluster": cluster, "scenario": label, "is_baseline": k == base, "runs": est.n}
            row |= {
                "p": est.value,
                "p_lo": est.lo,
                "p_hi": est.hi,
                "p_diff": d,
                "p_diff_lo": d - hw,
                "p_diff_hi": d + hw,
            }
            if cluster != ALL_FOUR:
                o = oc.output(cluster).name
                y, y0 = v[:, col[o]], values[base][:, col[o]]
                d, hw = float(y.mean() - y0.mean()), (unpaired_half_width(y0, y) if k != base else 0.0)
                row |= {"median_output_bn": float(np.median(y))}
                row |= {"output_diff_bn": d, "output_diff_lo_bn": d - hw, "output_diff_hi_bn": d + hw}
            rows.append(row)
    return pd.DataFrame(rows), False


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        label, k = name, 2
        while label in out:
            label, k = f"{name}-{k}", k + 1
        out.append(label)
    return out


def comparison_section(
    table: pd.DataFrame,
    summaries: dict[str, dict[str, Any]],
    labels: list[str],
    baseline: str,
    meta: dict[str, Any],
    paired: bool,
    lang: Lang,
) -> dict[str, Any]:
    end = int(meta["end_year"])
    fig = plots.compare_chart(table, summaries, labels=labels, baseline=baseline, end_year=end, lang=lang)
    note = (
        tr("compare_paired", lang, seed=meta.get("seed", "?"), baseline=baseline)
        if paired
        else tr("compare_unpaired", lang)
    )
    return {
        "baseline": baseline,
        "note": note,
        "rows": comparison_rows(table, baseline, end, lang),
        "chart": image(fig, lang),
        "end": end,
    }


def effects_section(folder: Path, lang: Lang) -> dict[str, Any] | None:
    """Lever or measure effects from effects.json (rows per variant x cluster); None if none."""
    data = read_json(folder / "effects.json")
    records = data.get("effects") if isinstance(data, dict) else None
    if not records:
        return None
    table = pd.DataFrame(records)
    need = {"variant", "cluster"}
    if not need <= set(table.columns):
        return None
    end = int(data.get("end_year", 2025))
    convention = next(
        (str(data[k]) for k in ("difference", "convention", "sign", "method") if k in data), "variant minus scenario"
    )
    rows = []
    for variant, g in table.groupby("variant", sort=False):
        first = g.iloc[0]
        for i, (_, r) in enumerate(g.iterrows()):
            rec = r.to_dict()
            rows.append(
                {
                    "variant": variant if i == 0 else "",
                    "change": str(first.get("change", "")) if i == 0 else "",
                    "span": len(g) if i == 0 else 0,
                    "cluster": cluster_name(str(rec["cluster"]), lang, short=True),
                    "dout": _difference(rec, ("output_diff_bn", "output_lo_bn", "output_hi_bn"), ".1f", lang),
                    "dp": _difference(rec, ("p_diff", "p_lo", "p_hi"), ".3f", None),
                    "flag": tr("no_effect", lang) if i == 0 and bool(first.get("no_detectable_effect")) else "",
                }
            )
    chart = None
    if {"output_diff_bn", "p_diff"} <= set(table.columns):
        chart = image(plots.effects_chart(table, end_year=end, lang=lang), lang)
    note = tr(
        "effects_note",
        lang,
        convention=convention,
        runs=data.get("runs", "?"),
        seed=data.get("seed", "?"),
        scale=data.get("scale", "?"),
    )
    return {"rows": rows, "chart": chart, "note": note, "end": end}


def uncertainty_section(folder: Path, lang: Lang) -> dict[str, Any] | None:
    """The variance split from uncertainty.json; None if it has no components."""
    data = read_json(folder / "uncertainty.json")
    comps = data.get("components") if isinstance(data, dict) else None
    if not comps:
        return None
    table = pd.DataFrame(comps)
    shares = [f"share_{s}" for s, _ in plots.VARIANCE_SOURCES]
    if "outcome" not in table or not set(shares) <= set(table.columns):
        return None
    rows = [
        {
            "outcome": plots.outcome_label(str(r["outcome"]), lang),
            "mean": _mean_text(str(r["outcome"]), r.get("mean"), lang),
            "shares": [_num(r[s], ".0%") if r[s] is not None and not pd.isna(r[s]) else "-" for s in shares],
        }
        for r in table.to_dict(orient="records")
    ]
    note = tr(
        "uncertainty_note",
        lang,
        params=data.get("params", "?"),
        baselines=data.get("baselines", "?"),
        seeds=data.get("seeds", "?"),
        scale=data.get("scale", "?"),
    )
    return {
        "rows": rows,
        "sources": [tr(f"var_{s}", lang) for s, _ in plots.VARIANCE_SOURCES],
        "chart": image(plots.variance_chart(table, lang=lang), lang),
        "note": note,
    }


def _mean_text(outcome: str, mean: Any, lang: Lang) -> str:
    """An outcome's mean: a probability, or bn yuan for the `..._bn` outcomes."""
    if mean is None or pd.isna(mean):
        return "-"
    return money(float(mean), lang) if "_bn" in outcome else _num(mean)


def fit_text(summary: dict[str, Any], lang: Lang) -> str | None:
    """The calibration fit in one sentence (from the summary's calibration provenance)."""
    cal = summary.get("calibration")
    fit = cal.get("fit") if isinstance(cal, dict) else None
    if not isinstance(fit, dict) or not fit:
        return None
    inside = [k for k, v in fit.items() if isinstance(v, dict) and v.get("inside_80")]
    text = tr("fit_summary", lang, inside=len(inside), total=len(fit))
    outside = [k for k in fit if k not in inside]
    if outside:
        text += " " + tr("fit_outside", lang, names=", ".join(outside))
    return text


def backtest_text(folder: Path, lang: Lang) -> str | None:
    """The out-of-sample test in one sentence (backtest.json summary)."""
    data = read_json(folder / "backtest.json")
    s = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(s, dict) or not s.get("n"):
        return None
    until = data.get("settings", {}).get("until", "?")
    return tr(
        "backtest_summary",
        lang,
        until=until,
        n=s["n"],
        in50=_num(s.get("inside_50"), ".0%"),
        in80=_num(s.get("inside_80"), ".0%"),
        crps=_num(s.get("mean_crps_log"), ".3f"),
        naive=_num(s.get("naive_mean_crps_log"), ".3f"),
    )


def provenance_rows(summary: dict[str, Any], folders: list[Path], lang: Lang) -> list[tuple[str, str]]:
    """Scenario, file and hash, seed, runs, scale, parameters, model version, calibration."""
    cal = summary.get("calibration")
    if isinstance(cal, dict):
        calibration = tr(
            "prov_calibrated",
            lang,
            method=str(cal.get("method", "?")).split(";")[0],
            until=cal.get("data_until", "?"),
            date=cal.get("date", "?"),
            sha=str(cal.get("data_sha256", "?"))[:12],
        )
    else:
        calibration = str(cal) if cal else tr("prov_uncalibrated", lang)
    how = summary.get("parameter_uncertainty", "")
    rows = [
        (tr("prov_scenario", lang), str(summary.get("scenario", "?"))),
        (
            tr("prov_file", lang),
            f"{summary.get('scenario_file', '?')} ({str(summary.get('scenario_sha256', '?'))[:12]})",
        ),
        (tr("prov_seed", lang), str(summary.get("seed", "?"))),
        (tr("prov_runs", lang), str(summary.get("runs", "?"))),
        (tr("prov_scale", lang), str(summary.get("settings", {}).get("scale", "?"))),
        (tr("prov_params", lang), tr(how, lang) if how in TEXT else str(how or "?")),
        (tr("prov_version", lang), str(summary.get("model_version", "?"))),
        (tr("prov_calibration", lang), calibration),
        (tr("prov_sources", lang), ", ".join(str(f) for f in folders)),
    ]
    return rows


# ------------------------------------------------------------------------------------ the report
def build_report(paths: list[Path], lang: Lang = "en", baseline: str | None = None) -> str:
    """The report of the result folders `paths` as one HTML document (see the module doc).
    baseline: the scenario the other ensembles are compared with (default: the one named
    "baseline" if given, else the first)."""
    found = find_results([Path(p) for p in paths])
    comparisons = []
    ensembles = [load(f) for f in found.ensembles]
    for folder in found.compares:
        cmp = load(folder)
        meta = {"end_year": cmp.end_year, "seed": cmp.seed}
        comparisons.append(comparison_section(cmp.table, cmp.summaries, cmp.labels, cmp.baseline, meta, True, lang))
    if not ensembles:
        raise EnsembleError(
            "RESULT: give at least one etown run folder (the main result); a comparison holds no ensemble "
            "of its own: run `etown run` on its baseline too"
        )
    main: EnsembleResult = ensembles[0]  # type: ignore[assignment]
    if len(ensembles) > 1:
        names = [e.summary.get("scenario") for e in ensembles]  # type: ignore[union-attr]
        ref = names.index(baseline) if baseline in names else (names.index("baseline") if "baseline" in names else 0)
        table, paired = ensembles_table(ensembles, ref)  # type: ignore[arg-type]
        labels = _unique([str(n) for n in names])
        summaries = dict(zip(labels, (e.summary for e in ensembles), strict=True))  # type: ignore[union-attr]
        meta = {"end_year": main.summary.get("end_year", main.summary["years"][-1]), "seed": main.summary.get("seed")}
        comparisons.insert(0, comparison_section(table, summaries, labels, labels[ref], meta, paired, lang))
    s = main.summary
    how = s.get("parameter_uncertainty", "")
    context = {
        "lang": lang,
        "t": lambda key, **kw: tr(key, lang, **kw),
        "main": ensemble_section(main, lang),
        "comparisons": comparisons,
        "effects": [e for e in (effects_section(f, lang) for f in found.effects) if e],
        "uncertainty": [u for u in (uncertainty_section(f, lang) for f in found.uncertainty) if u],
        "sources_text": tr("uncertainty_sources", lang, how=tr(how, lang) if how in TEXT else how),
        "fit": fit_text(s, lang),
        "backtests": [b for b in (backtest_text(f, lang) for f in found.backtest) if b],
        "provenance": provenance_rows(s, [Path(p) for p in paths], lang),
        "version": model_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return _environment().get_template("report.html.j2").render(**context)


def _environment() -> Environment:
    return Environment(loader=PackageLoader("model", "templates"), autoescape=select_autoescape(["html", "j2"]))


def report_path(first: Path, lang: Lang = "en") -> Path:
    """Where the report goes by default: report.html (report_<lang>.html) in the first result folder."""
    return Path(first) / ("report.html" if lang == "en" else f"report_{lang}.html")


def write_report(paths: list[Path], lang: Lang = "en", out: Path | None = None, baseline: str | None = None) -> Path:
    """Write the report (default: `report_path`)."""
    html = build_report(paths, lang, baseline)
    target = out if out is not None else report_path(paths[0], lang)
    write_atomic(target, lambda p: p.write_text(html, encoding="utf-8"))
    return target


__all__ = [
    "build_report",
    "find_results",
    "format_headline",
    "headline_rows",
    "read_summary",
    "report_path",
    "write_report",
]
