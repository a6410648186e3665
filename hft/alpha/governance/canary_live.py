"""`hft alpha canary NAME --live`: the canary's observations from the live service's records in the audit store.

The promoted alpha's execution strategy runs as a client of `hft gateway serve` (paper or live venue), trading
as the gateway strategy named after the alpha (or ``--strategy``). Its records reach the audit store through
the service's WAL (``hft audit load``): decisions (``audit.gateway_decisions``, ``run_id = ''``), fills
(``sim.fills``, ``run_id = 'live'``) and the venue's marks (``sim.orders``, ``source = 'mark'``).
`live_observations` turns those newer than the last canary step's window into a run folder in the simulator's
format (`hft.alpha.governance.canary.RUN_FILES`), which `run_canary` then evaluates like any other observations:

- ``orders``: the strategy's accepted new orders (action 1), cancels (action 2) and replaces (action 3);
- ``decisions``: every decision of the strategy (accepted or not: the reject rate);
- ``fills``: the fills of its orders, each with its liquidity as the venue reported it (a replay's codes,
  `hft.core.orders.LIQ_*`: 1 maker, 2 taker, 0 not said; the store's ``sim.fills`` codes taker -1);
- ``equity``: at every mark of its symbols and every fill, position, cash and equity in money units
  (ticks x lots: the paper venue's symbols trade with multiplier 1), ``mid2`` = 2 x the mark;
- ``summary.json``: the alpha and its promoted code hash, net PnL (equity at the last sample), max drawdown,
  ``run_hash`` (a digest of the rows), ``maker_share`` (the share of its fills that rested, as a replay's summary
  says it: `hft.core.orders.maker_share`), ``source: live``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

from hft.core.errors import GovernanceError
from hft.core.fileio import atomic_write_text
from hft.core.money import micro_units, round_micro
from hft.core.orders import FILL, LIQ_NONE, LIQUIDITY_CODES, maker_share, order_counts
from hft.sim.replay import money_units

_LIQ = {code: LIQUIDITY_CODES[name] for code, name in FILL.field("liquidity").enum.items()}  # type: ignore[union-attr]


def _q(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def read_live_records(store: Any, strategy: str, after_ns: int) -> dict[str, list[dict[str, Any]]]:
    """Decisions, fills and marks of `strategy` recorded by the live service after `after_ns`."""
    s = _q(strategy)
    dec = store.query(
        "SELECT seq, toUnixTimestamp64Nano(ts) AS t, order_id, target_id, kind, side, price, qty, accepted, reason,"
        " symbol_name FROM audit.gateway_decisions FINAL"
        f" WHERE run_id = '' AND strategy_name = {s} AND toUnixTimestamp64Nano(ts) > {int(after_ns)}"
        " ORDER BY seq").dicts()
    fills = store.query(
        "SELECT toUnixTimestamp64Nano(ts) AS t, fill_id, order_id, side, price, qty, fee, fee_frac, liquidity,"
        " symbol_name"
        " FROM sim.fills FINAL WHERE run_id = 'live' AND order_id IN (SELECT order_id FROM"
        f" audit.gateway_decisions FINAL WHERE run_id = '' AND strategy_name = {s} AND kind = 1 AND accepted)"
        f" AND toUnixTimestamp64Nano(ts) > {int(after_ns)} ORDER BY t, fill_id").dicts()
    for rows in (dec, fills):
        for r in rows:
            r["ts"] = r.pop("t")
    symbols = sorted({d["symbol_name"] for d in dec if d["symbol_name"]})
    marks = store.query(
        "SELECT toUnixTimestamp64Nano(ts) AS t, symbol_name, price FROM sim.orders FINAL"
        f" WHERE run_id = 'live' AND source = 'mark' AND symbol_name IN ({', '.join(map(_q, symbols)) or _q('')})"
        f" AND toUnixTimestamp64Nano(ts) > {int(after_ns)} ORDER BY t").dicts() if symbols else []
    for r in marks:
        r["ts"] = r.pop("t")
    return {"decisions": dec, "fills": fills, "marks": marks}


def _equity(fills: list[dict[str, Any]], marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Position, cash and equity after every mark and fill, in time order (fills first at equal times). Fees are
    exact (``fee + fee_frac / 1e6``, `hft.core.money`): summed in millionths, cash and equity rounded once per row."""
    events = sorted([(f["ts"], 0, f) for f in fills] + [(m["ts"], 1, m) for m in marks], key=lambda e: e[:2])
    pos: dict[str, int] = {}
    last: dict[str, int] = {}
    cash = 0  # in millionths of a money unit: exact
    out = []
    for ts, kind, e in events:
        sym = e["symbol_name"]
        if kind == 0:
            pos[sym] = pos.get(sym, 0) + e["side"] * e["qty"]
            cash -= micro_units(e["side"] * e["price"] * e["qty"] + e["fee"], e.get("fee_frac", 0))
            last.setdefault(sym, e["price"])
        else:
            last[sym] = e["price"]
        eq = cash + micro_units(sum(p * last.get(y, 0) for y, p in pos.items()))
        out.append({"ts": ts, "mid2": 2 * last.get(sym, 0), "position": sum(pos.values()),
                    "cash": round_micro(cash), "equity": round_micro(eq)})
    return out


def live_observations(p: Any, strategy: str | None = None, *, records: Any, runs_root: Path,
                      after_ns: int | None = None) -> Path:
    """Write the live observations of promotion `p`'s alpha (newer than its last canary step) as a run folder
    ``<runs_root>/<alpha_id>/live-<digest>``; returns it. `records(strategy, after_ns)` returns what
    `read_live_records` reads (the composition root opens the audit store for it).

    Raises:
        GovernanceError: nothing the strategy did is recorded in the store after the last step's window.
    """
    strategy = strategy or p.alpha_id
    if after_ns is None:
        last = next((h for h in reversed(p.history) if h.window is not None), None)
        after_ns = int(last.window[1]) if last is not None else 0
    recs = records(strategy, after_ns)
    dec, fills, marks = recs["decisions"], recs["fills"], recs["marks"]
    # a fill's liquidity: the store's code (`FILL`: 1 maker, -1 taker) as a run folder's (`hft.core.orders.LIQ_*`)
    fills = [{**f, "liquidity": _LIQ.get(f.get("liquidity", 0), LIQ_NONE)} for f in fills]
    if not dec:
        raise GovernanceError(f"canary {p.alpha_id} --live: expected decisions of gateway strategy {strategy!r} "
                              f"newer than {after_ns} ns in the audit store, found none", key="observations",
                              hint="run the strategy against `hft gateway serve`, then `hft audit load`")
    orders = [{"ts": d["ts"], "order_id": d["order_id"] if d["kind"] == 1 else d["target_id"],
               "action": d["kind"], "side": d["side"], "price": d["price"], "qty": d["qty"]}
              for d in dec if d["accepted"] and d["kind"] in (1, 2, 3)]
    equity = _equity(fills, marks)
    digest = hashlib.blake2b(json.dumps([dec, fills, marks], sort_keys=True, default=str).encode(),
                             digest_size=16).hexdigest()
    eq = [e["equity"] for e in equity]
    peak, max_dd = float("-inf"), 0.0
    for v in eq:
        peak = max(peak, v)
        max_dd = max(max_dd, peak - v)
    summary = {"ok": True, "source": "live", "strategy": strategy,
               "alpha": {"alpha_id": p.alpha_id, "code_hash": p.code_hash}, "run_hash": digest,
               "pnl_money_units": money_units(eq[-1]) if eq else 0, "max_drawdown_money_units": money_units(max_dd),
               "decisions": len(dec), "orders": order_counts({k: [o[k] for o in orders] for k in ("action", "qty")}).orders, "fills": len(fills),
               "maker_share": maker_share([f["liquidity"] for f in fills]),
               "symbols": sorted({d["symbol_name"] for d in dec if d["symbol_name"]})}
    folder = Path(runs_root) / p.alpha_id / f"live-{digest[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    schemas = {
        "orders": {"ts": pl.Int64, "order_id": pl.Int64, "action": pl.Int8, "side": pl.Int8, "price": pl.Int64,
                   "qty": pl.Int64},
        "decisions": {"seq": pl.Int64, "ts": pl.Int64, "order_id": pl.Int64, "target_id": pl.Int64,
                      "kind": pl.Int8, "side": pl.Int8, "price": pl.Int64, "qty": pl.Int64, "accepted": pl.Int8,
                      "reason": pl.Int16, "symbol_name": pl.Utf8},
        "fills": {"ts": pl.Int64, "fill_id": pl.Int64, "order_id": pl.Int64, "side": pl.Int8, "price": pl.Int64,
                  "qty": pl.Int64, "fee": pl.Int64, "fee_frac": pl.Int64, "liquidity": pl.Int8, "symbol_name": pl.Utf8},
        "equity": {"ts": pl.Int64, "mid2": pl.Int64, "position": pl.Int64, "cash": pl.Int64, "equity": pl.Int64},
    }
    rows = {"orders": orders, "decisions": [{**d, "accepted": int(d["accepted"])} for d in dec], "fills": fills,
            "equity": equity}

    for name, schema in schemas.items():
        tmp = folder / f".{name}.parquet.tmp"
        pl.DataFrame(rows[name], schema=schema).write_parquet(tmp)
        tmp.replace(folder / f"{name}.parquet")
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=1))
    return folder
