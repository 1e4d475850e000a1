"""Charts: fan charts of cluster output with the 100-billion line, ready for a report.

Library code never chooses a matplotlib backend: every function here builds a
`matplotlib.figure.Figure` directly (no pyplot), returns it, and leaves showing or saving it to
the caller (`save_figure`). Notebooks display the returned figure inline; the CLI saves it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findSystemFonts, fontManager

from .analysis import BN, p_key
from .data import facts
from .io import write_atomic
from .sectors import SECTORS, Sector

BANDS = ((0.10, 0.90, 0.20, "80% band"), (0.25, 0.75, 0.40, "50% band"))
Names = Literal["en", "zh"]
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei")
"""Fonts with Chinese glyphs, by preference (Debian: apt-get install fonts-noto-cjk)."""
CJK_FILE_HINTS = ("NotoSansCJK-Regular", "NotoSansCJK", "SourceHanSans", "wqy-zenhei", "wqy-microhei")


@cache
def cjk_font() -> FontProperties | None:
    """A font that has Chinese glyphs, or None if the machine has none.

    Looks in matplotlib's font list first, then among the system's font files (matplotlib's
    cached list predates fonts installed after it was built). Nothing global is changed."""
    known = {f.name: f.fname for f in fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return FontProperties(fname=known[family])
    files = findSystemFonts()
    for hint in CJK_FILE_HINTS:
        for path in sorted(files):
            if hint.lower() in Path(path).name.lower():
                return FontProperties(fname=path)
    return None


def cluster_label(sector: Sector, names: Names = "en") -> tuple[str, FontProperties | None]:
    """A panel title for a cluster and the font to draw it with. `names="zh"` gives the Chinese
    name with the English one after it; without a CJK font it falls back to English with a
    warning (once per session)."""
    target = " (2025 target)" if sector.target_2025 else ""
    if names == "zh":
        font = cjk_font()
        if font is not None:
            return f"{sector.name_zh}{target.replace(' (2025 target)', '（2025目标）')}\n{sector.name_en}", font
        _warn_no_cjk()
    return f"{sector.name_en}{target}", None


@cache
def _warn_no_cjk() -> None:
    warnings.warn(
        "no font with Chinese glyphs found (e.g. Debian: apt-get install fonts-noto-cjk); using English names",
        UserWarning,
        stacklevel=3,
    )


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


def footer_text(summary: dict[str, Any]) -> str:
    """Scenario, runs, seed, scale, parameter uncertainty and model version of a run."""
    settings = summary.get("settings", {})
    parts = [
        f"scenario {summary.get('scenario', '?')}",
        f"{summary.get('runs', '?')} runs",
        f"seed {summary.get('seed', '?')}",
        f"scale {settings.get('scale', '?')}",
    ]
    if summary.get("parameter_uncertainty"):
        parts.append(f"parameters: {summary['parameter_uncertainty']}")
    if summary.get("model_version"):
        parts.append(f"model {summary['model_version']}")
    return " · ".join(parts)


def _headline(c: dict[str, Any], end: int) -> str:
    lo, hi = c["p_ci95"]
    cy = c.get("median_cross_year")
    cross = f"median crossing year {cy}" if cy is not None else "median run does not cross"
    return f"P(≥100 bn by {end}) = {c[p_key(int(end))]:.2f} [{lo:.2f}, {hi:.2f}]\n{cross}"


def fan_chart(
    sectors: pd.DataFrame,
    summary: dict[str, Any],
    *,
    names: Names = "en",
    history: bool = True,
    title: str | None = None,
    clusters: Sequence[str] | None = None,
) -> Figure:
    """One panel per cluster: median and 50%/80% bands of annual output (bn yuan) across runs,
    the 2015-2020 data points (when `history`), the 100-bn line (always in view), the end year
    marked, and P(>= 100 bn by the end year) with its 95% interval and the median crossing year.
    A footer records scenario, runs, seed and scale.

    sectors: (year, sector, output_yuan) rows of every run (e.g. `EnsembleResult.sectors`);
    summary: the run's summary (summary.json); names: "en" or "zh" (Chinese cluster names);
    clusters: sector ids to show (default: all seven).
    """
    threshold = float(summary.get("threshold_bn", 100.0))
    years = sorted(int(y) for y in sectors["year"].unique())
    end = int(summary.get("years", years)[-1])
    hist = sector_history() if history else {}
    shown = [s for s in SECTORS if clusters is None or s.id in clusters]
    ncols = 4 if len(shown) + 1 > 6 else 3
    nrows = math.ceil((len(shown) + 1) / ncols)
    fig = Figure(figsize=(4 * ncols, 4.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    results = summary.get("clusters", {})
    first_year = min([years[0], *(p[0] for pts in hist.values() for p in pts)])
    for ax, s in zip(axes.flat, shown, strict=False):
        out = sectors.loc[sectors["sector"] == s.id]
        q = (out["output_yuan"] / BN).groupby(out["year"], observed=True).quantile([0.1, 0.25, 0.5, 0.75, 0.9])
        q = q.unstack()
        for lo, hi, alpha, label in BANDS:
            ax.fill_between(q.index, q[lo], q[hi], color="tab:blue", alpha=alpha, lw=0, label=label)
        ax.plot(q.index, q[0.5], color="tab:blue", lw=2, label="median of runs")
        top = float(q[0.9].max())
        if hist.get(s.id):
            pts = np.array(hist[s.id])
            ax.plot(pts[:, 0], pts[:, 1], color="black", ls=":", lw=1)
            ax.errorbar(
                pts[:, 0],
                pts[:, 1],
                yerr=[pts[:, 1] - pts[:, 2], pts[:, 3] - pts[:, 1]],
                fmt="o",
                color="black",
                ms=4,
                capsize=3,
                label="data 2015-2020 (2015 derived; 2020 estimate, range)",
            )
            top = max(top, float(pts[:, 3].max()))
        ax.axhline(threshold, color="tab:red", ls="--", lw=1.2, label=f"{threshold:g} bn yuan")
        ax.set_ylim(0, max(top, threshold) * 1.18)
        ax.axvline(end, color="grey", ls=":", lw=1)
        ax.text(end, ax.get_ylim()[1] * 0.99, f"{end} target ", ha="right", va="top", fontsize=8, color="dimgrey")
        label, font = cluster_label(s, names)
        if s.id in results:
            label += "\n" + _headline(results[s.id], end)
        ax.set_title(label, fontsize=9.5, fontproperties=font)
        ax.set_ylabel("output, bn yuan/yr")
        ax.grid(alpha=0.3)
        ax.set_xlim(first_year - 0.3, end + 0.3)
    for ax in axes.flat[len(shown) :]:
        ax.axis("off")
    last = axes.flat[-1]
    handles, labels = axes.flat[0].get_legend_handles_labels()
    last.legend(handles, labels, loc="center", fontsize=9, title="P: share of runs that reach 100 bn\n[95% interval]")
    axes.flat[0].set_xticks(range(first_year, end + 1))
    for i, ax in enumerate(axes.flat[: len(shown)]):
        if i + ncols >= len(shown):  # nothing shown below: this panel carries the year labels
            ax.tick_params(axis="x", labelbottom=True, labelrotation=90, labelsize=8)
    fig.suptitle(title or f"{summary.get('scenario', '')}: annual output by cluster, {first_year}-{end}", fontsize=13)
    fig.text(0.005, 0.002, footer_text(summary), fontsize=8, color="dimgrey", ha="left", va="bottom")
    fig.get_layout_engine().set(rect=(0, 0.025, 1, 0.975))  # room for the footer
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write a figure as PNG atomically (no half-written file if interrupted)."""
    path = Path(path)
    write_atomic(path, lambda p: fig.savefig(p, dpi=dpi, format="png"))
    return path
