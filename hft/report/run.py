"""The tearsheet of a replay run: ``report.html`` in the run folder, self-contained (plots embedded as PNG).

Sections: the headline numbers (in the quote currency and instrument units), equity and drawdown, position,
our fills on the price path, gross PnL against fees, per-trade statistics, order latency (send → ACK received
and send → fill received), queue position at entry of filled and unfilled orders, rejects by reason, the hashes
and the effective config. Built from the run's readable tables (`hft.sim.run_tables`).

Per-trade statistics: every fill is a trade. Its edge, in ticks, is ``side × (mid − price)``: positive when we
bought below (sold above) the mid. "At fill" takes the mid at the fill's local time; "after 1 s / 10 s" the mid
that much later — both read from the equity samples (every ``sample_s``, the last sample at or before the
time), so they are as fine as the sampling. Win rate: the share of fills whose edge after 10 s is positive.

Queue position: the quantity ahead of an order when it joined its price level, from its ACK (exact on L3; the
displayed level, the queue model's starting estimate, on L2). Shown for the orders that filled as makers against
those that rested and did not fill: how deep in the queue a fill came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hft.core.orders import fill_ratio, order_counts
from hft.report.html import esc, page, png_figure, table
from hft.sim.fees import fill_value_py

HORIZONS_S = (1, 10)


def trade_stats(fills: Any, equity: Any) -> dict[str, Any]:
    """Count, win rate and mean edge in ticks at the fill and after each of `HORIZONS_S` (see the module doc)."""
    n = fills.height
    out: dict[str, Any] = {"trades": n, "win_rate": None, "edge_ticks_at_fill": None}
    for h in HORIZONS_S:
        out[f"edge_ticks_after_{h}s"] = None
    if n == 0 or equity.height == 0:
        return out
    ts = equity["ts"].to_numpy()
    mid2 = equity["mid2"].to_numpy().astype(np.float64)
    mid = np.where(mid2 > 0, mid2 / 2.0, np.nan)
    side = fills["side"].to_numpy().astype(np.float64)
    price = fills["price"].to_numpy().astype(np.float64)
    t = fills["local_ts"].to_numpy()

    def mid_at(when: np.ndarray) -> np.ndarray:
        i = np.searchsorted(ts, when, side="right") - 1
        return np.where(i >= 0, mid[np.maximum(i, 0)], np.nan)

    def mean(x: np.ndarray) -> float | None:
        return float(np.nanmean(x)) if np.isfinite(x).any() else None

    out["edge_ticks_at_fill"] = mean(side * (mid_at(t) - price))
    for h in HORIZONS_S:
        edge = side * (mid_at(t + h * 1_000_000_000) - price)
        out[f"edge_ticks_after_{h}s"] = mean(edge)
        if h == HORIZONS_S[-1] and np.isfinite(edge).any():
            out["win_rate"] = float((edge[np.isfinite(edge)] > 0).mean())
    return out


def order_latency_ms(orders: Any, fills: Any) -> np.ndarray:
    """Milliseconds from each order's send (its ``new`` row) to each of its fills received."""
    if fills.height == 0 or orders.height == 0:
        return np.zeros(0)
    new = orders.filter(orders["action"] == 1).select("order_id", sent="ts")
    j = fills.select("order_id", "local_ts").join(new, on="order_id", how="inner")
    return ((j["local_ts"] - j["sent"]).to_numpy() / 1e6).astype(np.float64)


def queue_at_entry(orders: Any, fills: Any) -> tuple[np.ndarray, np.ndarray]:
    """(queue ahead at entry of orders with a maker fill, of resting orders without one), instrument units."""
    rested = orders.filter(orders["queue_at_entry_inst"].is_not_null())
    if rested.height == 0:
        return np.zeros(0), np.zeros(0)
    made = (fills.filter(fills["liquidity_name"] == "maker")["order_id"].unique().to_list() if fills.height
            else [])
    hit = rested["order_id"].is_in(made)
    q = rested["queue_at_entry_inst"].to_numpy().astype(np.float64)
    return q[hit.to_numpy()], q[~hit.to_numpy()]


def _latency_figure(ack: np.ndarray, fill: np.ndarray) -> tuple[Any, str]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3))
    axes = fig.subplots(1, 2)
    for ax, x, label, color in ((axes[0], ack, "sent → ACK received (ms)", "#3b6fb6"),
                                (axes[1], fill, "sent → fill received (ms)", "#e8710a")):
        if len(x):
            lo, hi = max(float(x.min()), 1e-3), max(float(x.max()), 1e-3)
            ax.hist(np.maximum(x, 1e-3), bins=np.geomspace(lo, hi * 1.0001, 30) if hi > lo * 1.01 else 10,
                    color=color)
            if hi > lo * 1.01:
                ax.set_xscale("log")
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(label, fontsize=8)
    axes[0].set_ylabel("count")
    fig.tight_layout()

    def med(x: np.ndarray) -> str:
        return f"median {np.median(x):.3g} ms" if len(x) else "none"

    return fig, (f"Order latency: {len(ack):,} ACKs ({med(ack)}: entry + response latency), "
                 f"{len(fill):,} fills ({med(fill)}: also the time resting)")


def _queue_figure(filled: np.ndarray, unfilled: np.ndarray) -> tuple[Any, str]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3))
    ax1 = fig.subplots()
    both = np.concatenate([filled, unfilled])
    if len(both):
        bins = np.linspace(0.0, max(float(both.max()), 1e-9) * 1.0001, 40)
        if len(unfilled):
            ax1.hist(unfilled, bins=bins, color="#9aa0a6", alpha=0.7, density=True, label="rested, no maker fill")
        if len(filled):
            ax1.hist(filled, bins=bins, color="#137333", alpha=0.7, density=True, label="filled as maker")
        ax1.legend(loc="upper right", fontsize=7)
    else:
        ax1.text(0.5, 0.5, "no resting orders", ha="center", va="center", transform=ax1.transAxes)
    ax1.set_xlabel("quantity ahead when the order joined its level (instrument units)")
    ax1.set_ylabel("share of orders (density)")
    fig.tight_layout()

    def med(x: np.ndarray) -> str:
        return f"median {np.median(x):.6g}" if len(x) else "none"

    return fig, (f"Queue ahead at entry: {len(filled):,} filled ({med(filled)}), "
                 f"{len(unfilled):,} not ({med(unfilled)})")


NIGHT_S = 3600  # a gap between equity samples longer than this, in a run over several days, is a night (left out)


def time_axis(ts: np.ndarray, several_days: bool) -> tuple[Any, str, list[float]]:
    """The figures' x axis for equity sample times `ts` (int ns): ``(to_axis, label, day_starts)``. One day:
    seconds from the first sample. Several days: hours of trading, the nights (gaps over `NIGHT_S`) left out, so
    the days sit side by side, with the axis position where each day starts after the first."""
    t0 = int(ts[0]) if len(ts) else 0
    if not several_days or len(ts) < 2:
        return (lambda t: (np.asarray(t) - t0) / 1e9), "seconds from start", []
    gap = np.diff(ts)
    night = np.flatnonzero(gap > NIGHT_S * 1_000_000_000)
    starts, cut = ts[night + 1], np.cumsum(gap[night])  # where each later day starts; the time left out by then

    def to_axis(t: Any) -> np.ndarray:
        t = np.asarray(t)
        k = np.searchsorted(starts, t, side="right")  # the nights before t
        removed = np.where(k > 0, cut[np.maximum(k - 1, 0)], 0)
        return (t - t0 - removed) / 3.6e12

    return to_axis, "hours of trading (nights left out)", [float(x) for x in to_axis(starts)]


def run_figures(frames: Mapping[str, Any], summary: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """The tearsheet's figures of a run of one instrument, as ``(matplotlib Figure, caption)``: net equity and
    drawdown, position, fills on the price path, gross PnL against fees, order latency, queue ahead at entry."""
    from matplotlib.figure import Figure  # lazy: matplotlib only when a figure is drawn

    eq, fills, orders = frames["equity"], frames["fills"], frames["orders"]
    ccy = summary.get("currency", "")
    to_axis, xlabel, day_starts = time_axis(eq["ts"].to_numpy(), isinstance(summary.get("days"), list))
    secs = to_axis(eq["ts"].to_numpy())
    figs = []

    net = eq["net_equity_ccy"].to_numpy() if eq.height else np.zeros(0)
    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots(2, 1, sharex=True)
    ax[0].plot(secs, net, lw=0.9)
    ax[0].set_ylabel(f"net equity ({ccy})")
    dd = net - np.maximum.accumulate(net) if len(net) else net
    ax[1].fill_between(secs, dd, 0, color="#b3261e", alpha=0.4, lw=0)
    ax[1].set_ylabel(f"drawdown ({ccy})")
    ax[1].set_xlabel(xlabel)
    for x in day_starts:  # several days: where each day starts
        for a in ax:
            a.axvline(x, color="#9aa0a6", lw=0.6, ls="--")
    fig.tight_layout()
    figs.append((fig, f"Net equity and drawdown, {ccy} (max drawdown {summary.get('max_drawdown')})"))

    fig = Figure(figsize=(7, 3))
    ax1 = fig.subplots()
    ax1.step(secs, eq["position_inst"].to_numpy() if eq.height else secs, where="post", lw=0.9)
    ax1.set_ylabel("position (instrument units)")
    ax1.set_xlabel(xlabel)
    fig.tight_layout()
    figs.append((fig, "Position"))

    fig = Figure(figsize=(7, 3.4))
    ax1 = fig.subplots()
    if eq.height:
        ax1.plot(secs, eq["mid_px"].to_numpy(), lw=0.8, color="#5a6475", label="mid")
    if fills.height:
        ft = to_axis(fills["local_ts"].to_numpy())
        buy = fills["side"].to_numpy() > 0
        px = fills["price_px"].to_numpy()
        ax1.scatter(ft[buy], px[buy], s=7, c="#137333", label="our buys", zorder=3)
        ax1.scatter(ft[~buy], px[~buy], s=7, c="#b3261e", label="our sells", zorder=3)
    ax1.set_ylabel(f"price ({ccy})")
    ax1.set_xlabel(xlabel)
    ax1.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    figs.append((fig, "Fills on the price path"))

    fig = Figure(figsize=(7, 3))
    ax1 = fig.subplots()
    if eq.height:
        gross = eq["realised_ccy"].to_numpy() + eq["unrealised_ccy"].to_numpy()
        ax1.plot(secs, gross, lw=0.9, label="gross PnL (realised + unrealised)")
        ax1.plot(secs, eq["fees_ccy"].to_numpy(), lw=0.9, label="fees paid (negative: rebates)")
        ax1.plot(secs, net, lw=0.9, label="net", alpha=0.7)
    ax1.set_ylabel(ccy)
    ax1.set_xlabel(xlabel)
    ax1.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    figs.append((fig, "Gross PnL against fees"))

    ack = orders["ack_latency_ms"].drop_nulls().to_numpy() if orders.height else np.zeros(0)
    figs.append(_latency_figure(np.asarray(ack, dtype=np.float64), order_latency_ms(orders, fills)))
    figs.append(_queue_figure(*queue_at_entry(orders, fills)))
    return figs


def _days(days: list[dict[str, Any]], ccy: str) -> str:
    cols = ("day", "pnl", "pnl_cumulative", "fees", "max_drawdown", "orders", "cancels", "fills", "fill_ratio",
            "position", "run_hash")
    return (table(([d.get(c) for c in cols] for d in days), cols)
            + f'<p class="note">Each day alone (money in {esc(ccy)}); pnl_cumulative: since the first day. Each '
              "day's own run folder, with its tearsheet, is under days/.</p>")


def _rejects(decisions: Any) -> str:
    rej = decisions.filter(decisions["status"] == "rejected") if decisions.height else decisions
    if rej.height == 0:
        return '<p class="note">No gateway rejects.</p>'
    counts = rej.group_by("reason_name").len().sort("len", descending=True)
    return table(([r["reason_name"], int(r["len"])] for r in counts.iter_rows(named=True)), ["reason", "decisions"])


def run_stats(frames: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The tearsheet's figures of a run of one instrument, by name (money in the run's ``currency``, positions and
    quantities in instrument units): ``pnl``, ``pnl_gross``, ``fees``, ``max_drawdown``, ``sharpe_per_sample``
    (per ``sample_s``), ``orders`` (new + replace), ``replaces``, ``cancels``, ``fills``, ``filled_inst``,
    ``fill_ratio``, ``maker_share``, ``turnover`` (the traded value), ``position_inst``, the per-trade statistics of
    `trade_stats`, ``events`` and ``run_hash``."""
    s = summary
    fills = frames["fills"]
    counts = order_counts(frames["orders"])  # the one definition of an order and of the fill ratio
    money, unit = int(s.get("money_factor", 1)), float(s.get("money_unit", 1.0))
    traded = sum(fill_value_py(p, q, money) for p, q in zip(fills["price"].to_list(), fills["qty"].to_list(),
                                                             strict=True)) if fills.height else 0
    out = {k: s.get(k) for k in ("currency", "pnl", "pnl_gross", "fees", "max_drawdown", "sharpe_per_sample",
                                  "sample_s")}
    out |= {"orders": counts.orders, "replaces": counts.replaces, "cancels": counts.cancels, "fills": fills.height,
            "filled_inst": s.get("filled_inst"),
            "fill_ratio": fill_ratio(int(fills["qty"].sum()) if fills.height else 0, counts.submitted_qty),
            "maker_share": s.get("maker_share"), "turnover": round(traded * unit, 10),
            "position_inst": s.get("position_inst")}
    out |= trade_stats(fills, frames["equity"])
    out |= {"events": s.get("events"), "run_hash": s.get("run_hash")}
    return out


def write_tearsheet(path: str | Path, frames: Mapping[str, Any], summary: Mapping[str, Any],
                    config_text: str | None = None) -> Path:
    """Write the run's ``report.html`` (see the module docstring) from its readable tables and summary."""
    s = summary
    ccy = s.get("currency", "")
    stats = run_stats(frames, s)
    head = [("PnL (net)", f"{s.get('pnl')} {ccy}"), ("gross PnL", f"{s.get('pnl_gross')} {ccy}"),
            ("fees", f"{s.get('fees')} {ccy}"), ("max drawdown", f"{s.get('max_drawdown')} {ccy}"),
            ("Sharpe per sample", f"{s.get('sharpe_per_sample')} (sample {s.get('sample_s')} s)"),
            ("orders (new + replace) / cancels",
             f"{stats['orders']:,} ({stats['replaces']:,} replaces) / {stats['cancels']:,}"),
            ("fills", f"{stats['fills']:,} ({s.get('filled_inst')} units; fill ratio {stats['fill_ratio']}, maker "
                      f"share {s.get('maker_share')})"),
            ("turnover", f"{stats['turnover']} {ccy}"),
            ("final position", f"{s.get('position_inst')} units ({s.get('position')} lots)"),
            ("events", f"{s.get('events'):,} in {s.get('wall_s')} s ({s.get('events_per_s')}/s"
                       + (f"; {s.get('compile_s')} s kernel compilation not counted)" if s.get("compile_s") else ")"))]
    trade_rows = [("trades (fills)", stats["trades"]), ("win rate (edge after 10 s > 0)", stats["win_rate"]),
                  ("average edge at fill (ticks)", stats["edge_ticks_at_fill"])]
    trade_rows += [(f"average edge after {h} s (ticks)", stats[f"edge_ticks_after_{h}s"]) for h in HORIZONS_S]
    ident = [("run hash", s.get("run_hash")), ("config hash", s.get("config_hash")), ("data hash", s.get("data_hash")),
             ("engine", s.get("engine")), ("seed", s.get("seed")), ("version", s.get("version")),
             ("git commit", s.get("git_commit")), ("config layers", ", ".join(s.get("config_sources") or []) or "-")]
    figs = [png_figure(fig, caption) for fig, caption in run_figures(frames, s)]
    sections = [
        ("Summary", table(head)),
        ("Equity, position, fills", f'<div class="grid">{"".join(figs[:4])}</div>'),
        ("Per-trade statistics", table(trade_rows) + '<p class="note">Edge = side × (mid − fill price) in ticks; '
                                                     "mids from the equity samples.</p>"),
        ("Order latency and queue position at entry",
         f'<div class="grid">{"".join(figs[4:6])}</div><p class="note">Queue ahead at entry: '
         + ("exact (L3 venue)" if s.get("book_level") == "L3" else
            "the displayed level, the queue model\u2019s starting estimate (L2 venue)") + ".</p>"),
        *([("Days", _days(s["days"], ccy))] if isinstance(s.get("days"), list) else []),
        ("Rejects by reason", _rejects(frames["decisions"])),
        ("Identity", table(ident)),
        ("Strategy parameters", table(sorted((k, v) for k, v in (s.get("params") or {}).items()))),
        ("Effective config", f"<pre>{esc(config_text)}</pre>" if config_text else '<p class="note">-</p>'),
    ]
    title = f"{s.get('strategy')} on {s.get('symbol')} ({s.get('venue')}, {s.get('book_level')})"
    path = Path(path)
    path.write_text(page(title, f"run {s.get('run_hash')} · {ccy}", sections))
    return path


def portfolio_figures(portfolio: Any, summary: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """The figures of a run over several instruments, as ``(matplotlib Figure, caption)``: the portfolio's and each
    leg's net equity with the portfolio's drawdown, and the exposures with each leg's position."""
    from matplotlib.figure import Figure  # lazy: matplotlib only when a figure is drawn

    ccy = summary.get("currency", "")
    symbols = list(summary.get("symbols") or [])
    t0 = int(portfolio["ts"][0]) if portfolio.height else 0
    secs = (portfolio["ts"].to_numpy() - t0) / 1e9 if portfolio.height else np.zeros(0)
    net = portfolio["net_equity_ccy"].to_numpy() if portfolio.height else np.zeros(0)

    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots(2, 1, sharex=True)
    ax[0].plot(secs, net, lw=1.1, color="#202124", label="portfolio")
    for sym in symbols:
        ax[0].plot(secs, portfolio[f"{sym}_net_equity_ccy"].to_numpy(), lw=0.8, label=sym)
    ax[0].set_ylabel(f"net equity ({ccy})")
    ax[0].legend(loc="upper left", fontsize=7)
    dd = net - np.maximum.accumulate(net) if len(net) else net
    ax[1].fill_between(secs, dd, 0, color="#b3261e", alpha=0.4, lw=0)
    ax[1].set_ylabel(f"drawdown ({ccy})")
    ax[1].set_xlabel("seconds from start")
    fig.tight_layout()
    figs = [(fig, f"Net equity of the portfolio and of each leg, and the portfolio's drawdown, {ccy} "
                  f"(max drawdown {summary.get('max_drawdown')})")]

    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots(2, 1, sharex=True)
    for key, label in (("net_exposure_ccy", "net"), ("gross_exposure_ccy", "gross")):
        ax[0].plot(secs, portfolio[key].to_numpy() if portfolio.height else secs, lw=0.9, label=label)
    ax[0].set_ylabel(f"exposure ({ccy})")
    ax[0].legend(loc="upper left", fontsize=7)
    for sym in symbols:
        ax[1].step(secs, portfolio[f"{sym}_position"].to_numpy(), where="post", lw=0.8, label=sym)
    ax[1].set_ylabel("position (lots)")
    ax[1].set_xlabel("seconds from start")
    ax[1].legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    figs.append((fig, "Exposure of the portfolio, and each leg's position"))
    return figs


def pnl_correlation(portfolio: Any, symbols: list[str]) -> list[list[float | None]]:
    """Correlation of the legs' PnL: of the changes of each leg's net equity between equity samples (``None``
    where a leg's PnL never changes)."""
    if portfolio.height < 3 or not symbols:
        return [[None] * len(symbols) for _ in symbols]
    d = np.diff(np.stack([portfolio[f"{sym}_net_equity_ccy"].to_numpy().astype(np.float64) for sym in symbols]),
                axis=1)
    moving = d.std(axis=1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # a leg that never moves: its row is None
        c = np.atleast_2d(np.corrcoef(d))
    return [[round(float(c[i, j]), 4) if moving[i] and moving[j] else None for j in range(len(symbols))]
            for i in range(len(symbols))]


def write_portfolio_tearsheet(path: str | Path, portfolio: Any,
                              legs: list[tuple[Mapping[str, Any], Mapping[str, Any]]], summary: Mapping[str, Any],
                              config_text: str | None = None) -> Path:
    """Write ``report.html`` of a run over several instruments: the portfolio's figures, the legs side by side
    (`run_stats` of each), net equity and exposure (`portfolio_figures`), the legs' PnL correlation
    (`pnl_correlation`), identity and config. `legs`: each leg's ``(tables, summary)`` in leg order; each leg's own
    tearsheet is in its run folder (``legs/NN_<symbol>/report.html``)."""
    s = summary
    ccy = s.get("currency", "")
    symbols = [str(ls.get("symbol")) for _, ls in legs]
    stats = [run_stats(frames, ls) for frames, ls in legs]
    head = [("PnL (net)", f"{s.get('pnl')} {ccy}"), ("gross PnL", f"{s.get('pnl_gross')} {ccy}"),
            ("fees", f"{s.get('fees')} {ccy}"), ("max drawdown", f"{s.get('max_drawdown')} {ccy}"),
            ("Sharpe per sample", f"{s.get('sharpe_per_sample')} (sample {s.get('sample_s')} s)"),
            ("positions", ", ".join(f"{k} {v}" for k, v in (s.get("positions") or {}).items()) or "-")]
    keys = ("pnl", "pnl_gross", "fees", "max_drawdown", "sharpe_per_sample", "orders", "cancels", "fills",
            "fill_ratio", "maker_share", "turnover", "position_inst", "win_rate", "edge_ticks_at_fill",
            "edge_ticks_after_10s", "events", "run_hash")
    side_by_side = table(([k, *(st[k] for st in stats)] for k in keys), ["", *symbols])
    corr = pnl_correlation(portfolio, symbols)
    figs = [png_figure(fig, caption) for fig, caption in portfolio_figures(portfolio, s)]
    ident = [("run hash", s.get("run_hash")), ("config hash", s.get("config_hash")), ("engine", s.get("engine")),
             ("seed", s.get("seed")), ("version", s.get("version")), ("git commit", s.get("git_commit"))]
    sections = [
        ("Summary", table(head)),
        ("Legs side by side", side_by_side + f'<p class="note">Money in {esc(ccy)}, positions in instrument '
                                             "units; each leg's own tearsheet is in its folder under legs/.</p>"),
        ("Net equity and exposure", f'<div class="grid">{"".join(figs)}</div>'),
        ("PnL correlation", table(([sym, *row] for sym, row in zip(symbols, corr, strict=True)), ["", *symbols])
         + '<p class="note">Correlation of the changes of each leg\u2019s net equity between equity samples.</p>'),
        ("Identity", table(ident)),
        ("Effective config", f"<pre>{esc(config_text)}</pre>" if config_text else '<p class="note">-</p>'),
    ]
    title = f"{s.get('strategy')} on {', '.join(symbols)}"
    path = Path(path)
    path.write_text(page(title, f"run {s.get('run_hash')} · {ccy}", sections))
    return path
