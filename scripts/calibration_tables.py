"""Markdown tables of a finished calibration, for docs/calibration.md.

Reads the folder `etown calibrate` wrote (generations.csv, posterior.csv, fit_table.csv) and
prints the convergence, posterior-against-prior and fit tables in the format of the docs.

Run: `.venv/bin/python scripts/calibration_tables.py [results/calibration]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def _g(x: float) -> str:
    return f"{x:.3g}"


def _money_or_count(target: str, x: float) -> str:
    if any(k in target for k in ("gdp_20", "industrial_output_", "output_20")):
        return f"{x / 1e9:,.1f} bn"
    if target.startswith(("firms_", "high_tech_firms")):
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:,.0f}"


def convergence(folder: Path) -> str:
    g = pd.read_csv(folder / "generations.csv")
    rows = ["| generation | tolerance | simulations | accepted moves | MCMC acceptance | steps | ESS | wall s |"]
    rows.append("|---|---|---|---|---|---|---|---|")
    for r in g.itertuples():
        eps = "prior" if pd.isna(r.epsilon) else f"{r.epsilon:.2f}"
        rows.append(
            f"| {r.generation} | {eps} | {r.simulations} | {r.accepted_moves} | {r.acceptance_rate:.3f} | "
            f"{r.mcmc_steps} | {r.ess:.0f} | {r.wall_s:.0f} |"
        )
    rows.append(f"| total | | {g['simulations'].sum():,} | | | | | {g['wall_s'].sum():.0f} |")
    return "\n".join(rows)


def posterior(folder: Path) -> str:
    p = pd.read_csv(folder / "posterior.csv")
    rows = [
        "| parameter | prior | prior p5 | p50 | p95 | posterior p5 | p50 | p95 | width ratio | data |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in p.itertuples():
        rows.append(
            f"| {r.parameter} | {r.prior} | {_g(r.prior_p5)} | {_g(r.prior_p50)} | {_g(r.prior_p95)} | "
            f"{_g(r.post_p5)} | {_g(r.post_p50)} | {_g(r.post_p95)} | {r.width_ratio:.2f} | {r.verdict} |"
        )
    return "\n".join(rows)


def fit(folder: Path) -> str:
    f = pd.read_csv(folder / "fit_table.csv")
    rows = ["| target | observed | p10 | p25 | median | p75 | p90 | in 80% band |", "|---|---|---|---|---|---|---|---|"]
    for r in f.itertuples():
        name = r.target if r.in_distance else f"{r.target} (not in distance)"
        try:
            obs = _money_or_count(r.target, float(r.observed))
        except ValueError:  # a band, e.g. "0.8-1.3"
            obs = str(r.observed)
        cells = [_money_or_count(r.target, getattr(r, q)) for q in ("p10", "p25", "median", "p75", "p90")]
        rows.append(f"| {name} | {obs} | {' | '.join(cells)} | {'yes' if r.inside_80 else '**no**'} |")
    inside = int(f["inside_80"].sum())
    rows.append(f"\n{inside} of {len(f)} targets inside the posterior-predictive 80% band.")
    return "\n".join(rows)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "results/calibration")
    if not (folder / "fit_table.csv").is_file():
        sys.exit(f"calibration_tables: {folder} holds no fit_table.csv (run `etown calibrate --out {folder}`)")
    for title, table in (("Convergence", convergence), ("Posterior", posterior), ("Fit", fit)):
        print(f"### {title}\n\n{table(folder)}\n")


if __name__ == "__main__":
    main()
