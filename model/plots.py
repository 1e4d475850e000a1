"""Charts a planner reads at a glance, in English or Chinese: fan charts of cluster output with
the 100-billion line, scenario comparisons, lever effects, scenario-discovery boxes and the
variance split.

Library code never chooses a matplotlib backend: every function here builds a
`matplotlib.figure.Figure` directly (no pyplot), returns it, and leaves showing or saving it to
the caller (`save_figure`). Notebooks display the returned figure inline; the CLI saves it.
Every function takes plain data (data frames, dicts from the result files), so the experiment
modules, `etown show` and `etown report` draw the same charts. `lang="zh"` draws every title,
axis, legend and footer in Chinese (texts: model/i18n.py) with a CJK font; without one the
chart stays English with a warning.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findSystemFonts, fontManager

from .analysis import BN, p_key
from .data import facts
from .i18n import MONEY_FACTOR, TEXT, Lang, cluster_name, money, money_range, tr
from .io import write_atomic
from .sectors import SECTORS, TARGET_SECTORS

BANDS = ((0.10, 0.90, 0.20, "band_80"), (0.25, 0.75, 0.40, "band_50"))
Names = Literal["en", "zh"]
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei")
"""Fonts with Chinese glyphs, by preference (Debian: apt-get install fonts-noto-cjk)."""
CJK_FILE_HINTS = ("NotoSansCJK-Regular", "NotoSansCJK", "SourceHanSans", "wqy-zenhei", "wqy-microhei")
START_NOTE_TOLERANCE = 0.05
"""A start-year median further than this (relative) from its data point gets a footnote."""
NOTE_MARKS = ("†", "‡", "§", "¶", "#", "**", "††")
SCENARIO_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
SCENARIO_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


# ---------------------------------------------------------------------------------- fonts
@cache
def cjk_font() -> FontProperties | None:
    """A regular-weight font that has Chinese glyphs, or None if the machine has none.

    Looks in matplotlib's font list first, then among the system's font files (matplotlib's
    cached list predates fonts installed after it was built); a file found that way is added to
    the font manager so that charts can name its family."""
    for family in CJK_FAMILIES:
        entries = [f for f in fontManager.ttflist if f.name == family]
        if entries:
            regular = [f for f in entries if f.weight in (400, "normal", "regular", "book")] or entries
            return FontProperties(fname=sorted(regular, key=lambda f: f.fname)[0].fname)
    files = findSystemFonts()
    for hint in CJK_FILE_HINTS:
        for path in sorted(files):
            if hint.lower() in Path(path).name.lower():
                fontManager.addfont(path)
                return FontProperties(fname=path)
    return None


def chart_lang(lang: Lang) -> Lang:
    """The language a chart can be drawn in: "zh" needs a CJK font; without one, "en" and a
    warning (once per session)."""
    if lang == "zh" and cjk_font() is None:
        _warn_no_cjk()
        return "en"
    return lang


@contextmanager
def language(lang: Lang) -> Iterator[Lang]:
    """Draw (and save) in `lang`: for Chinese, a CJK font for every text of the figures built
    inside; for English, the default font with the CJK font as fallback (a Chinese name in a
    label still shows). Nothing global is changed after it."""
    lang = chart_lang(lang)
    font = cjk_font()
    if font is None:
        yield lang
        return
    cjk = FontProperties(fname=font.get_file()).get_name()
    default = mpl.rcParams["font.family"] if mpl.rcParams["font.family"] != ["sans-serif"] else ["DejaVu Sans"]
    families = [cjk, *default] if lang == "zh" else [*default, cjk]
    with mpl.rc_context({"font.family": families}):  # named families: resolved when drawn
        yield lang


@cache
def _warn_no_cjk() -> None:
    warnings.warn(
        "no font with Chinese glyphs found (e.g. Debian: apt-get install fonts-noto-cjk); using English",
        UserWarning,
        stacklevel=4,
    )


def _money_scale(lang: Lang) -> float:
    return MONEY_FACTOR[lang]


# ---------------------------------------------------------------------------------- data and text
def sector_history() -> dict[str, list[tuple[int, float, float, float]]]:
    """Data points per sector from the data file (zone_facts.yaml): (year, value, low, high)
    in bn yuan. 2015 values are derived (see the file); 2020 values are estimates with ranges."""
    out: dict[str, list[tuple[int, float, float, float]]] = {}
    for sid, node in facts()["sectors"].items():
        points = []
        for year in range(2015, 2021):
            entry = node.get(f"output_{year}")
            if entry is not None:
                v = float(entry["value"]) / BN
                lo, hi = float(entry.get("low", entry["value"])) / BN, float(entry.get("high", entry["value"])) / BN
                points.append((year, v, lo, hi))
        out[sid] = points
    return out


def footer_text(summary: dict[str, Any], lang: Lang = "en") -> str:
    """Scenario, runs, seed, scale, parameter uncertainty and model version of a run."""
    settings = summary.get("settings", {})
    parts = [
        tr(
            "footer",
            lang,
            scenario=summary.get("scenario", "?"),
            runs=summary.get("runs", "?"),
            seed=summary.get("seed", "?"),
            scale=settings.get("scale", "?"),
        )
    ]
    how = summary.get("parameter_uncertainty")
    if how:
        parts.append(tr("footer_params", lang, how=tr(how, lang) if how in TEXT else how))
    if summary.get("model_version"):
        parts.append(tr("footer_model", lang, version=summary["model_version"]))
    return " · ".join(parts)


def headline(c: dict[str, Any], end: int, lang: Lang = "en") -> str:
    """P(>= 100 bn by the end year) [95% interval] and the median crossing year of a cluster."""
    lo, hi = c["p_ci95"]
    p = c.get(p_key(int(end)), c.get("p_100bn_by_2025"))
    cy = c.get("median_cross_year")
    cross = tr("median_cross", lang, year=cy) if cy is not None else tr("median_no_cross", lang)
    return tr("p_headline", lang, end=end, p=f"{p:.2f}", lo=f"{lo:.2f}", hi=f"{hi:.2f}") + "\n" + cross


def start_notes(medians: dict[str, float], start_year: int, lang: Lang = "en") -> dict[str, str]:
    """Footnotes for clusters whose start-year median (bn yuan, from the runs) departs from the
    start-year data point by more than START_NOTE_TOLERANCE, saying why: runs draw the start
    output uniformly from the published range, whose middle need not be the central estimate."""
    hist = {sid: {p[0]: p[1:] for p in pts} for sid, pts in sector_history().items()}
    notes = {}
    for sid, median in medians.items():
        point = hist.get(sid, {}).get(start_year)
        if point is None or not np.isfinite(median):
            continue
        value, low, high = point
        if abs(median - value) <= START_NOTE_TOLERANCE * value:
            continue
        middle = (low + high) / 2
        side = tr("above" if median > value else "below", lang)
        fmt = {
            "cluster": cluster_name(sid, lang, short=True),
            "year": start_year,
            "median": money(median, lang),
            "value": money(value, lang),
            "side": side,
        }
        same_side = (middle - value) * (median - value) > 0 and abs(middle - value) > START_NOTE_TOLERANCE * value
        if same_side:
            notes[sid] = tr("start_note", lang, range=money_range(low, high, lang), middle=money(middle, lang), **fmt)
        else:
            notes[sid] = tr("start_note_plain", lang, **fmt)
    return notes


def _wrap(text: str, width_in: float, fontsize: float, lang: Lang) -> list[str]:
    """Lines of `text` that fit `width_in` inches at `fontsize` points (CJK glyphs twice as wide)."""
    per_char = fontsize / 72 * (0.95 if lang == "zh" else 0.52)
    return textwrap.wrap(text, max(int(width_in / per_char), 20)) or [""]


def _text_block(fig: Figure, lines: list[str], fontsize: float) -> float:
    """Write `lines` at the foot of the figure; returns the figure fraction they take."""
    height_in = fig.get_size_inches()[1]
    line = fontsize * 1.45 / 72 / height_in
    for i, text in enumerate(reversed(lines)):
        fig.text(0.005, 0.004 + i * line, text, fontsize=fontsize, color="dimgrey", ha="left", va="bottom")
    return 0.008 + len(lines) * line


# ---------------------------------------------------------------------------------- fan chart
def _quantiles_by_year(sectors: pd.DataFrame | None, summary: dict[str, Any], sid: str) -> pd.DataFrame:
    """Quantiles (0.1 ... 0.9 columns) of a cluster's output by year, bn yuan: from the runs
    when given, else from the summary's p10/p50/p90 bands (the 50% band then left out)."""
    if sectors is not None:
        out = sectors.loc[sectors["sector"] == sid]
        q = (out["output_yuan"] / BN).groupby(out["year"], observed=True).quantile([0.1, 0.25, 0.5, 0.75, 0.9])
        q = q.unstack()
        q.index = q.index.astype(int)
        return q
    bands = summary["clusters"][sid]["output_bn"]
    years = sorted(int(y) for y in bands)
    rows = {y: {0.1: bands[str(y)]["p10"], 0.5: bands[str(y)]["p50"], 0.9: bands[str(y)]["p90"]} for y in years}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame[0.25] = np.nan
    frame[0.75] = np.nan
    return frame


def fan_chart(
    sectors: pd.DataFrame | None,
    summary: dict[str, Any],
    *,
    names: Names = "en",
    lang: Lang | None = None,
    history: bool = True,
    title: str | None = None,
    clusters: Sequence[str] | None = None,
) -> Figure:
    """One panel per cluster, the four 2025 targets together on the first row: median and
    50%/80% bands of annual output across runs, the 2015-2020 data points (when `history`), the
    100-bn line (always in view), the end year marked, year labels on every panel, and
    P(>= 100 bn by the end year) with its 95% interval and the median crossing year. Footnotes
    explain a start-year median that departs from its data point; a footer records scenario,
    runs, seed and scale.

    sectors: (year, sector, output_yuan) rows of every run (e.g. `EnsembleResult.sectors`;
    None: drawn from the summary's bands); summary: the run's summary (summary.json); lang (or
    its older name `names`): "en" or "zh"; clusters: sector ids to show (default: all seven).
    """
    with language(lang or names) as lang:
        return _fan_chart(sectors, summary, lang, history, title, clusters)


def _fan_chart(
    sectors: pd.DataFrame | None,
    summary: dict[str, Any],
    lang: Lang,
    history: bool,
    title: str | None,
    clusters: Sequence[str] | None,
) -> Figure:
    k = _money_scale(lang)
    threshold = float(summary.get("threshold_bn", 100.0))
    years = sorted(int(y) for y in (sectors["year"].unique() if sectors is not None else summary["years"]))
    end = int(summary.get("years", years)[-1])
    hist = sector_history() if history else {}
    ordered = sorted(SECTORS, key=lambda s: not s.target_2025)  # the four targets first
    shown = [s for s in ordered if clusters is None or s.id in clusters]
    ncols = min(4, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    legend_slot = len(shown) % ncols != 0
    quant = {s.id: _quantiles_by_year(sectors, summary, s.id) for s in shown}
    notes = start_notes({sid: float(q[0.5].get(years[0], np.nan)) for sid, q in quant.items()}, years[0], lang)
    marks = {sid: NOTE_MARKS[i % len(NOTE_MARKS)] for i, sid in enumerate(notes)}
    width = 4.1 * ncols
    foot = [f"{marks[sid]} {text}" for sid, text in notes.items()]
    foot_lines = [line for text in foot for line in _wrap(text, width - 0.2, 8, lang)]
    foot_lines += _wrap(footer_text(summary, lang), width - 0.2, 8, lang)
    panel_h = 4.0
    fig = Figure(figsize=(width, panel_h * nrows + 0.9 + 0.17 * len(foot_lines) + (0 if legend_slot else 1.2)))
    fig.set_layout_engine("constrained")
    grid = fig.add_gridspec(nrows + (not legend_slot), ncols, height_ratios=[1] * nrows + [0.3] * (not legend_slot))
    axes = np.array([[fig.add_subplot(grid[r, c]) for c in range(ncols)] for r in range(nrows)])
    legend_ax = axes.flat[-1] if legend_slot else fig.add_subplot(grid[nrows, :])
    results = summary.get("clusters", {})
    first_year = min([years[0], *(p[0] for sid in quant for p in hist.get(sid, []))])
    for ax, s in zip(axes.flat, shown, strict=False):
        q = quant[s.id] * k
        for lo, hi, alpha, label in BANDS:
            if q[lo].notna().any():
                ax.fill_between(q.index, q[lo], q[hi], color="tab:blue", alpha=alpha, lw=0, label=tr(label, lang))
        ax.plot(q.index, q[0.5], color="tab:blue", lw=2, label=tr("median_runs", lang))
        top = float(q[0.9].max())
        if hist.get(s.id):
            pts = np.array(hist[s.id]) * [1, k, k, k]
            ax.plot(pts[:, 0], pts[:, 1], color="black", ls=":", lw=1)
            ax.errorbar(
                pts[:, 0],
                pts[:, 1],
                yerr=[pts[:, 1] - pts[:, 2], pts[:, 3] - pts[:, 1]],
                fmt="o",
                color="black",
                ms=4,
                capsize=3,
                label=tr("data_points", lang),
            )
            top = max(top, float(pts[:, 3].max()))
        line = threshold * k
        ax.axhline(
            line, color="tab:red", ls="--", lw=1.2, label=tr("threshold_line", lang, money=money(threshold, lang, 0))
        )
        ax.set_ylim(0, max(top, line) * 1.18)
        ax.axvline(end, color="grey", ls=":", lw=1)
        ax.text(
            end,
            ax.get_ylim()[1] * 0.99,
            tr("target_year", lang, end=end),
            ha="right",
            va="top",
            fontsize=8,
            color="dimgrey",
        )
        if s.id in marks:
            y0 = float(q[0.5].get(years[0], np.nan))
            ax.annotate(
                marks[s.id],
                (years[0], y0),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=11,
                color="tab:blue",
                fontweight="bold",
            )
        label = cluster_name(s.id, lang) + (tr("target_suffix", lang) if s.target_2025 else "")
        if s.id in results:
            label += "\n" + headline(results[s.id], end, lang)
        ax.set_title(label, fontsize=9.5)
        ax.set_ylabel(tr("money_axis", lang), fontsize=9)
        ax.grid(alpha=0.3)
        ax.set_xlim(first_year - 0.3, end + 0.3)
        ax.set_xticks(range(first_year, end + 1))
        ax.tick_params(axis="x", labelbottom=True, labelrotation=90, labelsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    legend_title = tr("legend_title", lang)
    for ax in [*axes.flat[len(shown) :], legend_ax]:
        ax.axis("off")
    ncol = 1 if legend_slot else 3
    legend_ax.legend(handles, labels, loc="center", ncol=ncol, fontsize=9, title=legend_title, title_fontsize=9)
    fig.suptitle(
        title or tr("fan_title", lang, scenario=summary.get("scenario", ""), first=first_year, end=end), fontsize=13
    )
    bottom = _text_block(fig, foot_lines, 8)
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))  # room for the notes and footer
    return fig


# ---------------------------------------------------------------------------------- comparison
def _scenario_styles(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {
        label: {
            "color": f"C{i % 10}",
            "ls": SCENARIO_STYLES[i % len(SCENARIO_STYLES)],
            "marker": SCENARIO_MARKERS[i % len(SCENARIO_MARKERS)],
        }
        for i, label in enumerate(labels)
    }


def compare_chart(
    table: pd.DataFrame,
    summaries: dict[str, dict[str, Any]],
    *,
    labels: Sequence[str],
    baseline: str,
    end_year: int,
    runs: int | None = None,
    seed: int | None = None,
    scale: float | None = None,
    title: str | None = None,
    lang: Lang = "en",
) -> Figure:
    """Scenarios against a baseline. Top: one panel per target cluster with each scenario's
    median output path in its own colour and line style (legend: scenario names) and the
    baseline's p10-p90 band shaded. Bottom: the difference to the baseline in end-year output
    (left) and in P(>= 100 bn by the end year) (right), each with its 95% CI, per cluster.

    table: one row per scenario x cluster (`cluster`, `scenario`, `output_diff_bn`,
    `output_diff_lo_bn`, `output_diff_hi_bn`, `p_diff`, `p_diff_lo`, `p_diff_hi`; the `all_four`
    cluster without output); summaries: per scenario label, its summary.json (for the paths).
    """
    with language(lang) as lang:
        k = _money_scale(lang)
        styles = _scenario_styles(labels)
        fig = Figure(figsize=(14, 9.6), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[3, 2.4])
        for j, sid in enumerate(TARGET_SECTORS):
            ax = top.add_subplot(1, len(TARGET_SECTORS), j + 1)
            for label in labels:
                c = summaries.get(label, {}).get("clusters", {}).get(sid)
                if c is None:
                    continue
                bands = c["output_bn"]
                years = sorted(int(y) for y in bands)
                p50 = np.array([bands[str(y)]["p50"] for y in years]) * k
                if label == baseline:
                    p10 = np.array([bands[str(y)]["p10"] for y in years]) * k
                    p90 = np.array([bands[str(y)]["p90"] for y in years]) * k
                    ax.fill_between(years, p10, p90, color="0.5", alpha=0.18, lw=0)
                st = styles[label]
                ax.plot(years, p50, color=st["color"], ls=st["ls"], lw=2.4 if label == baseline else 1.8, label=label)
                ax.set_xticks(years)
            ax.axhline(100 * k, color="tab:red", lw=0.9, ls="--")
            ax.set_title(cluster_name(sid, lang, short=True), fontsize=11)
            ax.tick_params(axis="x", labelrotation=90, labelsize=8)
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
            if j == 0:
                ax.set_ylabel(tr("cmp_paths_axis", lang))
        handles, names = top.axes[0].get_legend_handles_labels()
        top.legend(
            handles,
            names,
            loc="outside upper center",
            ncol=min(len(labels), 6),
            fontsize=10,
            title=tr("cmp_band_note", lang, baseline=baseline),
            title_fontsize=9,
        )
        others = [lab for lab in labels if lab != baseline]
        axes = bottom.subplots(1, 2)
        for ax, (kind, clusters) in zip(
            axes, (("output", list(TARGET_SECTORS)), ("p", [*TARGET_SECTORS, "all_four"])), strict=True
        ):
            _difference_panel(ax, table, others, clusters, kind, styles, k, lang)
            key = "cmp_dout_title" if kind == "output" else "cmp_dp_title"
            ax.set_title(tr(key, lang, end=end_year, baseline=baseline), fontsize=10)
            ax.set_xlabel(tr("money_diff_axis" if kind == "output" else "cmp_dp_axis", lang, end=end_year))
        if title is None and runs is not None:
            title = tr("cmp_title", lang, runs=runs, seed=seed, scale=scale)
        if title:
            fig.suptitle(title, fontsize=12)
        return fig


def _difference_panel(
    ax: Any,
    table: pd.DataFrame,
    scenarios: Sequence[str],
    clusters: Sequence[str],
    kind: str,
    styles: dict[str, dict[str, Any]],
    k: float,
    lang: Lang,
) -> None:
    """Horizontal dots with 95% CIs: one row per cluster, one dot per scenario."""
    cols = (
        ("output_diff_bn", "output_diff_lo_bn", "output_diff_hi_bn")
        if kind == "output"
        else ("p_diff", "p_diff_lo", "p_diff_hi")
    )
    factor = k if kind == "output" else 1.0
    n = max(len(scenarios), 1)
    for i, label in enumerate(scenarios):
        sub = table[(table["scenario"] == label)].set_index("cluster")
        y = np.arange(len(clusters)) + (i - (n - 1) / 2) * 0.7 / n
        mid = np.array([_cell(sub, c, cols[0]) for c in clusters]) * factor
        lo = np.array([_cell(sub, c, cols[1]) for c in clusters]) * factor
        hi = np.array([_cell(sub, c, cols[2]) for c in clusters]) * factor
        err = np.nan_to_num(np.vstack([mid - lo, hi - mid]))
        st = styles[label]
        ax.errorbar(mid, y, xerr=err, fmt=st["marker"], color=st["color"], capsize=3, ms=6, lw=1.4, label=label)
    ax.axvline(0, color="0.3", lw=0.9)
    ax.set_yticks(np.arange(len(clusters)), [cluster_name(c, lang, short=True) for c in clusters])
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)


def _cell(frame: pd.DataFrame, row: str, col: str) -> float:
    if row not in frame.index or col not in frame.columns:
        return float("nan")
    value = frame.loc[row, col]
    return float(value) if value is not None and not pd.isna(value) else float("nan")


# ---------------------------------------------------------------------------------- effects
def effects_chart(table: pd.DataFrame, *, end_year: int, title: str | None = None, lang: Lang = "en") -> Figure:
    """A forest plot of paired effects: one row per variant, one dot per target cluster with its
    95% CI, on end-year output (left, bn yuan) and on P(>= 100 bn) (right).

    table: one row per variant x cluster with `variant`, `cluster`, `output_diff_bn`,
    `output_lo_bn`, `output_hi_bn`, `p_diff`, `p_lo`, `p_hi` (effects.csv)."""
    with language(lang) as lang:
        k = _money_scale(lang)
        variants = list(dict.fromkeys(table["variant"]))
        clusters = [c for c in TARGET_SECTORS if c in set(table["cluster"])]
        styles = _scenario_styles(clusters)
        fig = Figure(figsize=(13, 1.6 + 0.42 * len(variants) * max(1, len(clusters) / 3)), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, cols, factor, xlabel in (
            (axes[0], ("output_diff_bn", "output_lo_bn", "output_hi_bn"), k, "eff_out_axis"),
            (axes[1], ("p_diff", "p_lo", "p_hi"), 1.0, "eff_p_axis"),
        ):
            for i, c in enumerate(clusters):
                sub = table[table["cluster"] == c].set_index("variant")
                y = np.arange(len(variants)) + (i - (len(clusters) - 1) / 2) * 0.7 / len(clusters)
                mid, lo, hi = (np.array([_cell(sub, v, col) for v in variants]) * factor for col in cols)
                st = styles[c]
                ax.errorbar(
                    mid,
                    y,
                    xerr=np.nan_to_num(np.vstack([mid - lo, hi - mid])),
                    fmt=st["marker"],
                    color=st["color"],
                    capsize=2,
                    ms=5,
                    lw=1.2,
                    label=cluster_name(c, lang, short=True),
                )
            ax.axvline(0, color="0.3", lw=0.9)
            ax.grid(axis="x", alpha=0.3)
            ax.set_xlabel(tr(xlabel, lang, end=end_year))
        axes[0].set_yticks(np.arange(len(variants)), [textwrap.shorten(v, 48) for v in variants], fontsize=8.5)
        axes[0].invert_yaxis()
        axes[1].legend(fontsize=8.5, loc="best")
        fig.suptitle(title or tr("eff_title", lang, end=end_year), fontsize=11)
        return fig


# ---------------------------------------------------------------------------------- discovery
def discovery_chart(
    levers: Sequence[dict[str, Any]],
    boxes: Sequence[dict[str, Any]],
    points: pd.DataFrame,
    *,
    event: str,
    p_min: float,
    replications: int,
    lang: Lang = "en",
) -> Figure:
    """Scenario-discovery boxes a planner reads: one row per lever explored, its explored range
    as a grey bar from end to end (labelled with the values in its unit), each box's range of
    that lever as a coloured bar inside it, and every design point as a dot at its value
    (filled: passes, hollow: fails).

    levers: dicts with `path`, `low`, `high`, `unit`; boxes: dicts with `coverage`, `density`
    and `restricted` ({path: (low, high)} or {path: {"low", "high"}}); points: one row per
    design point with a column per lever path and a boolean `passes`."""
    with language(lang) as lang:
        n = len(levers)
        fig = Figure(figsize=(11, 1.9 + 0.75 * n), layout="constrained")
        ax = fig.subplots()
        passes = points["passes"].to_numpy(dtype=bool) if "passes" in points else np.zeros(len(points), bool)
        rng = np.random.default_rng(0)  # jitter only
        labelled: set[str] = set()
        for i, lv in enumerate(levers):
            lo, hi = float(lv["low"]), float(lv["high"])
            span = hi - lo or 1.0
            ax.barh(
                i,
                1.0,
                left=0.0,
                height=0.62,
                color="0.88",
                edgecolor="0.6",
                label=tr("disc_explored", lang) if i == 0 else None,
            )
            for b, box in enumerate(boxes):
                r = box.get("restricted", {}).get(lv["path"])
                if r is None:
                    continue
                blo, bhi = (r["low"], r["high"]) if isinstance(r, dict) else r
                h = 0.5 / max(len(boxes), 1)
                y = i - 0.25 + h * (b + 0.5)
                label = tr("disc_box_range", lang, k=b + 1)
                ax.barh(
                    y,
                    (bhi - blo) / span,
                    left=(blo - lo) / span,
                    height=h * 0.9,
                    color=f"C{b + 2}",
                    alpha=0.75,
                    label=None if label in labelled else label,
                )
                labelled.add(label)
                for v, ha, dx in ((blo, "right", -0.004), (bhi, "left", 0.004)):
                    if not lo + 0.01 * span < v < hi - 0.01 * span:
                        continue  # at the end of the explored range: labelled there
                    ax.text(
                        (v - lo) / span + dx,
                        y,
                        _lever_value(v, lv["unit"], lang),
                        ha=ha,
                        va="center",
                        fontsize=7.5,
                        color=f"C{b + 2}",
                    )
            if lv["path"] in points:
                x = (points[lv["path"]].to_numpy(dtype=float) - lo) / span
                y = i + 0.12 + rng.uniform(-0.1, 0.1, len(x))
                ax.scatter(
                    x[~passes],
                    y[~passes],
                    s=16,
                    facecolors="none",
                    edgecolors="0.45",
                    lw=0.8,
                    label=tr("disc_fail", lang) if i == 0 else None,
                )
                ax.scatter(
                    x[passes], y[passes], s=18, color="tab:green", label=tr("disc_pass", lang) if i == 0 else None
                )
            ax.text(-0.01, i, _lever_value(lo, lv["unit"], lang), ha="right", va="center", fontsize=8)
            ax.text(1.01, i, _lever_value(hi, lv["unit"], lang), ha="left", va="center", fontsize=8)
        ax.set_yticks(range(n), [_lever_name(lv) for lv in levers], fontsize=9)
        ax.set_xlim(-0.22, 1.22)
        ax.set_xticks([])
        ax.set_xlabel(tr("disc_axis", lang))
        ax.invert_yaxis()
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8.5)
        lines = [
            tr(
                "disc_title",
                lang,
                event=event,
                p_min=f"{p_min:g}",
                passing=int(passes.sum()),
                points=len(points),
                reps=replications,
            )
        ]
        lines += [
            tr("disc_box", lang, k=b + 1, coverage=f"{box['coverage']:.0%}", density=f"{box['density']:.0%}")
            for b, box in enumerate(boxes)
        ] or [tr("disc_no_box", lang)]
        fig.suptitle("\n".join(lines), fontsize=10)
        return fig


def _lever_name(lever: dict[str, Any]) -> str:
    unit = lever.get("unit", "")
    unit = unit.replace("yuan", "bn yuan", 1) if unit.startswith("yuan") else unit
    return f"{lever['path']}\n({unit})" if unit else lever["path"]


def _lever_value(value: float, unit: str, lang: Lang) -> str:
    """A lever value for a chart label: yuan amounts in bn (or 亿元), others as they are."""
    if unit.startswith("yuan"):
        return money(value / BN, lang, 1).replace(" yuan", "")
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


# ---------------------------------------------------------------------------------- variance split
def outcome_label(name: str, lang: Lang = "en") -> str:
    """An outcome of `etown uncertainty` (`p_100bn:ngit`, `output_2025_bn:ngit`, `gdp_2025_bn`,
    `p_all_four`...) in words."""
    head, _, sid = name.partition(":")
    if head == "p_all_four":
        return tr("var_p", lang, cluster=cluster_name("all_four", lang))
    if head.startswith("p_100bn") and sid:
        return tr("var_p", lang, cluster=cluster_name(sid, lang, short=True))
    parts = head.split("_")
    year = next((p for p in parts if p.isdigit()), "")
    if head.startswith("output_") and sid:
        return tr("var_output", lang, cluster=cluster_name(sid, lang, short=True), year=year)
    if head.startswith("gdp_"):
        return tr("var_gdp", lang, year=year)
    if head.startswith("industrial_output_"):
        return tr("var_industrial", lang, year=year)
    return name


VARIANCE_SOURCES = (("parameters", "tab:blue"), ("baseline", "tab:orange"), ("stochastic", "tab:gray"))


def variance_chart(table: pd.DataFrame, *, title: str = "", lang: Lang = "en") -> Figure:
    """Stacked bars: the share of each outcome's ensemble variance from each source
    (parameters, 2020 data, randomness). table: one row per outcome with `outcome` and
    `share_parameters`, `share_baseline`, `share_stochastic` (uncertainty.csv)."""
    with language(lang) as lang:
        fig = Figure(figsize=(9, 0.42 * len(table) + 1.6), layout="constrained")
        ax = fig.subplots()
        left = np.zeros(len(table))
        y = np.arange(len(table))
        for src, colour in VARIANCE_SOURCES:
            v = table[f"share_{src}"].fillna(0).to_numpy(dtype=float)
            ax.barh(y, v, left=left, color=colour, label=tr(f"var_{src}", lang))
            left += v
        ax.set_yticks(y, [outcome_label(o, lang) for o in table["outcome"]], fontsize=8.5)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(tr("var_axis", lang))
        fig.legend(fontsize=8.5, loc="outside lower center", ncol=3)
        if title:
            ax.set_title(title, fontsize=9.5)
        return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 110, lang: Lang = "en") -> Path:
    """Write a figure as PNG atomically (no half-written file if interrupted)."""
    path = Path(path)
    with language(lang):
        write_atomic(path, lambda p: fig.savefig(p, dpi=dpi, format="png"))
    return path
