"""PNG plots of a validation run (matplotlib, Agg backend; no display needed).

`write_validation_plots` writes four files into a folder:

* ``ic_decay.png``          mean bucket IC (Spearman and Pearson) at each horizon;
* ``quantile_returns.png``  mean forward return per signal quantile (mean over buckets), one group per horizon;
* ``cumulative_ic.png``     cumulative sum of the per-bucket Spearman IC at the primary horizon;
* ``signal_vs_forward.png`` a sample of (signal, forward return) pairs at the primary horizon, with the mean
  forward return per signal decile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PLOT_FILES", "write_validation_plots"]

PLOT_FILES = ("ic_decay.png", "quantile_returns.png", "cumulative_ic.png", "signal_vs_forward.png")


def write_validation_plots(folder: Path, series: dict[str, Any], metrics_b: dict[str, Any],
                           title: str) -> list[Path]:
    """Write the four PNGs into `folder` (created); returns their paths.

    Args:
        series: gate B's series (`hft.alpha.gates.gate_b.gate_b` second return value).
        metrics_b: gate B's metrics (per-horizon IC summaries).
        title: prefix of every plot title (e.g. ``"obi_l1 1.0.0"``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def subplots(size: tuple[float, float]) -> tuple[Any, Any]:
        # Figure + Agg canvas directly: no pyplot state, no GUI backend, nothing left open
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.15, right=0.97, bottom=0.14, top=0.9)  # fixed margins: no layout pass
        return fig, ax

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(series["horizons"])
    primary = series["primary"]
    per_h = metrics_b["horizons"]
    out: list[Path] = []

    def save(fig: Any, name: str) -> None:
        path = folder / name
        fig.savefig(path, dpi=90)
        out.append(path)

    # IC decay
    fig, ax = subplots((6, 4))
    x = np.arange(len(names))
    sp = [_nan(per_h[n]["all"]["spearman"]["mean_raw"]) for n in names]
    pe = [_nan(per_h[n]["all"]["pearson"]["mean_raw"]) for n in names]
    ax.bar(x - 0.2, sp, 0.4, label="Spearman")
    ax.bar(x + 0.2, pe, 0.4, label="Pearson")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(x, [n.removeprefix("fwd_ret_") for n in names])
    ax.set_xlabel("horizon")
    ax.set_ylabel("mean bucket IC")
    ax.set_title(f"{title}: IC decay")
    ax.legend()
    save(fig, "ic_decay.png")

    # quantile returns
    fig, ax = subplots((6, 4))
    width = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        q = np.asarray(series["quantile_returns"][n], np.float64) * 1e4
        ax.bar(np.arange(len(q)) + (i - (len(names) - 1) / 2) * width, np.nan_to_num(q), width,
               label=n.removeprefix("fwd_ret_"))
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel("signal quantile (0 = lowest)")
    ax.set_ylabel("mean forward return (bps)")
    ax.set_title(f"{title}: quantile returns")
    ax.legend(title="horizon")
    save(fig, "quantile_returns.png")

    # cumulative IC
    fig, ax = subplots((7, 4))
    t, ic = series["bucket_ic"][primary]
    ic = np.asarray(ic, np.float64)
    ok = np.isfinite(ic)
    hours = (np.asarray(t, np.int64)[ok] % 86_400_000_000_000) / 3.6e12
    ax.plot(hours, np.cumsum(ic[ok]), marker="o", ms=3)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel("bucket start (hours UTC)")
    ax.set_ylabel("cumulative Spearman IC")
    ax.set_title(f"{title}: cumulative IC at {primary.removeprefix('fwd_ret_')}")
    save(fig, "cumulative_ic.png")

    # signal vs forward return
    fig, ax = subplots((6, 4))
    sx, sy = series["sample"]
    sx = np.asarray(sx, np.float64)
    sy = np.asarray(sy, np.float64) * 1e4
    ax.scatter(sx, sy, s=2, alpha=0.25, rasterized=True)
    if len(sx) >= 10:
        edges = np.unique(np.quantile(sx, np.linspace(0, 1, 11)))
        if len(edges) > 1:
            idx = np.clip(np.searchsorted(edges, sx, side="right") - 1, 0, len(edges) - 2)
            means = np.array([sy[idx == k].mean() if np.any(idx == k) else np.nan for k in range(len(edges) - 1)])
            ax.plot(0.5 * (edges[:-1] + edges[1:]), means, color="red", marker="o", label="decile mean")
            ax.legend()
    ax.set_xlabel("signal")
    ax.set_ylabel(f"forward return {primary.removeprefix('fwd_ret_')} (bps)")
    ax.set_title(f"{title}: signal vs forward return")
    save(fig, "signal_vs_forward.png")
    return out


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)
