"""Charts: fan charts of cluster output with the 100-billion line."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from .analysis import BN
from .io import write_atomic
from .sectors import SECTORS

BANDS = ((0.10, 0.90, 0.20, "80% band"), (0.25, 0.75, 0.40, "50% band"))


def fan_chart(sectors: pd.DataFrame, threshold_yuan: float, title: str, path: Path) -> None:
    """One panel per cluster: median and 50%/80% bands of annual output (bn yuan), the
    100-bn line and the end-year mark; written atomically to `path` (PNG)."""
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), sharex=True)
    years = sorted(sectors["year"].unique())
    for ax, s in zip(axes.flat, SECTORS, strict=False):
        out = sectors.loc[sectors["sector"] == s.id]
        q = (out["output_yuan"] / BN).groupby(out["year"]).quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
        for lo, hi, alpha, label in BANDS:
            ax.fill_between(q.index, q[lo], q[hi], color="tab:blue", alpha=alpha, lw=0, label=label)
        ax.plot(q.index, q[0.5], color="tab:blue", lw=2, label="median")
        ax.axhline(threshold_yuan / BN, color="tab:red", ls="--", lw=1, label="100 bn yuan")
        ax.axvline(years[-1], color="grey", ls=":", lw=1)
        ax.set_title(f"{s.name_en}{' (target)' if s.target_2025 else ''}", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("output, bn yuan/yr")
        ax.grid(alpha=0.3)
    last = axes.flat[-1]
    handles, labels = axes.flat[0].get_legend_handles_labels()
    last.axis("off")
    last.legend(handles, labels, loc="center")
    for ax in axes[-1]:
        ax.set_xticks(years)
    fig.suptitle(title)
    fig.tight_layout()
    write_atomic(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
