"""What an assimilation reports: the headline before and after, which observations moved what,
and the nowcast chart (prior band, updated band, observations as points per period)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..analysis import BN, EnsembleAggregate, p_key
from ..plots import footer_text
from ..sectors import SECTOR_INDEX, SECTORS, TARGET_SECTORS
from .observations import METRICS, Observation, ObservationModel, parse_period
from .smc import SMCResult, SMCSettings


def weighted_p(aggregate: EnsembleAggregate, logw: np.ndarray, end_year: int) -> dict[str, float]:
    """P(>= 100 bn by the end year) per cluster of an ensemble whose runs carry weights exp(logw):
    the weighted share of runs whose crossing year (analysis.EnsembleAggregate.crossing_years)
    is at most the end year."""
    w = np.exp(logw - logw.max())
    w /= w.sum()
    hit = aggregate.crossing_years() <= end_year
    return {s.id: float(w @ hit[:, i]) for i, s in enumerate(SECTORS)}


def observation_effects(
    prior: EnsembleAggregate, obs: ObservationModel, prior_sims: np.ndarray, end_year: int
) -> list[dict[str, Any]]:
    """Each observation alone, then all together, as importance weights on the prior ensemble:
    the ESS of the weights and P per target cluster (the change it alone would make)."""
    terms = obs.terms(prior_sims)
    rows = []
    base = weighted_p(prior, np.zeros(len(prior_sims)), end_year)
    for k, label in [*enumerate(obs.labels), (None, "all together (weights only)")]:
        logw = terms.sum(axis=1) if k is None else terms[:, k]
        w = np.exp(logw - logw.max())
        p = weighted_p(prior, logw, end_year)
        rows.append(
            {
                "observation": label,
                "ess": float(w.sum() ** 2 / (w**2).sum()),
                "p": {s: p[s] for s in TARGET_SECTORS},
                "change": {s: p[s] - base[s] for s in TARGET_SECTORS},
            }
        )
    return rows


def parameter_shifts(prior: pd.DataFrame, updated: pd.DataFrame) -> list[dict[str, Any]]:
    """Every parameter's prior and updated p10/p50/p90 (inputs tables, param.* columns), with
    the shift of its median in prior standard deviations; largest shifts first."""
    from ..params import param_specs

    rows = []
    for name, spec in param_specs().items():
        a, b = prior[f"param.{name}"].to_numpy(dtype=float), updated[f"param.{name}"].to_numpy(dtype=float)
        sd = float(np.std(a))
        if sd <= 0:
            continue
        pa, pb = np.quantile(a, [0.1, 0.5, 0.9]), np.quantile(b, [0.1, 0.5, 0.9])
        rows.append(
            {
                "parameter": name,
                "label": spec.label,
                "unit": spec.unit,
                "prior": dict(zip(("p10", "p50", "p90"), map(float, pa), strict=True)),
                "updated": dict(zip(("p10", "p50", "p90"), map(float, pb), strict=True)),
                "shift_sd": float((pb[1] - pa[1]) / sd),
                "spread_ratio": float(np.std(b) / sd),
            }
        )
    return sorted(rows, key=lambda r: -abs(r["shift_sd"]))


def parameters_text(shifts: list[dict[str, Any]], top: int = 5) -> str:
    """The parameters whose medians the update moved most."""
    lines = ["parameters the observations moved most (median before -> after, in prior sd):"]
    for r in shifts[:top]:
        lines.append(
            f"  {r['parameter']} ({r['label']}): {r['prior']['p50']:.3g} -> {r['updated']['p50']:.3g} {r['unit']} "
            f"({r['shift_sd']:+.1f} sd; spread x{r['spread_ratio']:.2f})"
        )
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]], left: int = 1) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(v.ljust(w) if i < left else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "-" * max(len(x) for x in lines))
    return "\n".join(lines)


def before_after_table(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Per cluster (targets first): P(>= 100 bn by the end year) with its 95% interval, median
    end-year output and median crossing year, before and after the update."""
    end = int(after["end_year"])
    key = p_key(end)
    rows = [
        (
            "cluster",
            "P before",
            "95% CI",
            "P after",
            "95% CI",
            "change",
            f"{end} bn before",
            "after",
            "cross before",
            "after",
        )
    ]
    ordered = sorted(after["clusters"], key=lambda s: not after["clusters"][s]["target"])
    for sid in ordered:
        b, a = before["clusters"][sid], after["clusters"][sid]
        rows.append(
            (
                ("*" if a["target"] else " ") + sid,
                f"{b[key]:.2f}",
                "[{:.2f}, {:.2f}]".format(*b["p_ci95"]),
                f"{a[key]:.2f}",
                "[{:.2f}, {:.2f}]".format(*a["p_ci95"]),
                f"{a[key] - b[key]:+.2f}",
                f"{b['output_bn'][str(end)]['p50']:.1f}",
                f"{a['output_bn'][str(end)]['p50']:.1f}",
                str(b["median_cross_year"] or "-"),
                str(a["median_cross_year"] or "-"),
            )
        )
    text = _table(rows)
    b, a = before["p_all_four_targets"], after["p_all_four_targets"]
    text += (
        f"\nP(all four targets >= 100bn by {end}): {b:.2f} -> {a:.2f}"
        f"   (* = 2025 target; CIs of the update count its {after['assimilation']['distinct_pasts']} distinct pasts)"
    )
    return text


def effects_table(effects: list[dict[str, Any]], runs: int) -> str:
    """Which observations moved what: each alone (importance weights on the prior ensemble)."""
    rows = [("observation", "ESS alone", *(f"dP {s}" for s in TARGET_SECTORS))]
    for e in effects:
        rows.append((e["observation"], f"{e['ess']:.0f}/{runs}", *(f"{e['change'][s]:+.2f}" for s in TARGET_SECTORS)))
    return _table(rows)


def stages_text(result: SMCResult, settings: SMCSettings, runs: int) -> str:
    """How the update went: ESS, tempering stages, rejuvenations and acceptance."""
    ess_floor = settings.ess_threshold * runs
    enough = result.ess_prior >= ess_floor
    lines = [
        f"ESS of the prior ensemble weighted by all observations: {result.ess_prior:.1f} of {runs} "
        f"(threshold {ess_floor:.0f}: {'above, no rejuvenation needed' if enough else 'below'})"
    ]
    if result.rejuvenations:
        acc = [s for s in result.stages if s.rejuvenated]
        lines.append(
            f"rejuvenated {result.rejuvenations} time(s) (tempering exponents "
            + ", ".join(f"{s.phi:.3g}" for s in result.stages)
            + f"); {settings.sweeps} MCMC sweep(s) each; acceptance of parameter moves "
            + ", ".join("-" if s.accept_parameters is None else f"{s.accept_parameters:.2f}" for s in acc)
            + ", of path moves "
            + ", ".join(f"{s.accept_paths:.2f}" for s in acc)
            + f"; {result.prefix_runs} runs to the last observation"
        )
    lines.append(
        f"{result.distinct} distinct pasts (parameters and path to the last observation) among the {runs} updated runs"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------- the chart
def _quarter_x(year: np.ndarray, quarter: np.ndarray) -> np.ndarray:
    return year + (quarter - 0.5) / 4.0


def _panel_series(observations: list[Observation]) -> list[tuple[str, str, bool]]:
    """(quarters.parquet column, title, is a flow) for the four targets and every observed series."""
    out: list[tuple[str, str, bool]] = [(f"output.{s}", SECTORS[SECTOR_INDEX[s]].name_en, True) for s in TARGET_SECTORS]
    for o in observations:
        col, flow, _ = METRICS[o.metric]
        col = f"output.{o.cluster}" if col == "output" else col
        if col not in [c for c, _, _ in out]:
            title = (
                SECTORS[SECTOR_INDEX[o.cluster]].name_en
                if o.cluster
                else o.metric.removesuffix("_bn").replace("_", " ")
            )
            out.append((col, title, flow))
    return out


def nowcast_figure(
    prior: pd.DataFrame,
    updated: pd.DataFrame | None,
    observations: list[Observation],
    summary: dict[str, Any],
    threshold_bn: float = 100.0,
    note: str = "",
) -> Figure:
    """Per series, quarter by quarter: the prior ensemble's 80% band (grey), the updated
    ensemble's 80% and 50% bands and median (blue; left out when `updated` is None), and the
    observations (black: a flow as its mean annual rate over its period, drawn across it; a
    count at its period's end; bars +-1 sd of the observation error). Flows in bn yuan a year
    (the quarter's output x 4), counts in firms. prior, updated: quarters.parquet tables;
    note: what the observations are (the file's description), in the footer."""
    panels = _panel_series(observations)
    ncols = 3
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(4.6 * ncols, 3.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (col, title, flow) in zip(axes.flat, panels, strict=False):
        factor = 4.0 / BN if flow else 1.0
        for table, colour, label in ((prior, "grey", "prior"), (updated, "tab:blue", "updated")):
            if table is None:
                continue
            q = (
                (table[col] * factor)
                .groupby([table["year"], table["quarter"]])
                .quantile([0.1, 0.25, 0.5, 0.75, 0.9])
                .unstack()
            )
            x = _quarter_x(q.index.get_level_values(0).to_numpy(), q.index.get_level_values(1).to_numpy())
            ax.fill_between(
                x, q[0.1], q[0.9], color=colour, alpha=0.25 if label == "prior" else 0.3, lw=0, label=f"{label} 80%"
            )
            if label == "updated":
                ax.fill_between(x, q[0.25], q[0.75], color=colour, alpha=0.4, lw=0, label="updated 50%")
            ax.plot(x, q[0.5], color=colour, lw=1.5, ls="--" if label == "prior" else "-", label=f"{label} median")
        for o in observations:
            ocol, oflow, _ = METRICS[o.metric]
            if (f"output.{o.cluster}" if ocol == "output" else ocol) != col:
                continue
            first, last = parse_period(o.period)
            x0, x1 = first / 4.0, (last + 1) / 4.0
            if oflow:
                n = last - first + 1
                y, e = o.value * 4.0 / n, o.sd * 4.0 / n
                ax.plot([x0, x1], [y, y], color="black", lw=2)
                ax.errorbar((x0 + x1) / 2, y, yerr=e, fmt="o", color="black", ms=4, capsize=3)
            else:
                ax.errorbar(x1, o.value, yerr=o.sd, fmt="o", color="black", ms=4, capsize=3)
        if flow and col.startswith("output."):
            ax.axhline(threshold_bn, color="tab:red", ls="--", lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("bn yuan a year (quarter x 4)" if flow else "firms at quarter end", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles.append(axes.flat[0].errorbar([], [], yerr=[], fmt="o", color="black"))
    labels.append("observation (+-1 sd;\na flow across its period)")
    fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    fig.suptitle(f"{summary.get('scenario', '')}: projection before and after the observations", fontsize=12)
    footer = footer_text(summary) + (f"\nobservations: {note[:200]}" if note else "")
    fig.text(0.005, 0.002, footer, fontsize=8, color="dimgrey", ha="left", va="bottom")
    fig.get_layout_engine().set(rect=(0, 0.05 if note else 0.03, 1, 0.95 if note else 0.97))  # room for the footer
    return fig
