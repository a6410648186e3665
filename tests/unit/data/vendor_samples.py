"""Small sample files in each vendor's documented format, written from one seeded synthetic L2 market.

Used by the importer and verify tests and by bench/bench_data.py (larger `n`). Nothing is downloaded: every file
is written here as the vendor documents it (Tardis.dev CSV columns, hftbacktest's event dtype, Databento DBN
through databento-dbn's own encoder, Binance capture lines as the recorder writes them).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

T0_US = 1_723_161_600_000_000  # 2024-08-09 00:00 UTC in microseconds


@dataclass
class Market:
    """A synthetic L2 market: snapshot levels, then updates and trades (ticks and lots as integers)."""

    snapshot: list[tuple[int, int, int]]  # (side +1 bid / -1 ask, price ticks, qty lots)
    updates: list[tuple[int, int, int, int]]  # (t_us, side, price, qty) — qty 0 deletes
    trades: list[tuple[int, int, int, int, int]]  # (t_us, trade id, aggressor side, price, qty)
    tick: float = 0.1
    lot: float = 0.001


def market(n: int = 200, seed: int = 1) -> Market:
    rng = np.random.default_rng(seed)
    mid = 600_000
    snap = [(1, mid - k, int(rng.integers(1, 50))) for k in range(1, 11)] + \
           [(-1, mid + k, int(rng.integers(1, 50))) for k in range(1, 11)]
    ups, trs = [], []
    t = T0_US
    for i in range(n):
        t += int(rng.integers(1, 5_000))
        if rng.random() < 0.2:
            side = 1 if rng.random() < 0.5 else -1
            trs.append((t, 1000 + i, side, mid + (1 if side == 1 else -1), int(rng.integers(1, 10))))
        else:
            side = 1 if rng.random() < 0.5 else -1
            off = int(rng.integers(1, 11))
            ups.append((t, side, mid - off if side == 1 else mid + off, int(rng.integers(0, 60))))
    return Market(snap, ups, trs)


def _px(m: Market, ticks: int) -> str:
    return f"{ticks * m.tick:.1f}"


def _qty(m: Market, lots: int) -> str:
    return f"{lots * m.lot:.3f}"


def write_tardis(m: Market, folder: Path, *, gz: bool = False, symbol: str = "BTCUSDT",
                 day: int = 0) -> tuple[Path, Path]:
    """``incremental_book_L2`` and ``trades`` CSVs (Tardis.dev's documented columns, µs timestamps) of 2024-08-09
    + `day` days (the market's times moved by that many days: Tardis files are daily, each book file starting with
    its snapshot)."""
    head = "exchange,symbol,timestamp,local_timestamp,"
    shift = day * 86_400_000_000
    book = [head + "is_snapshot,side,price,amount"]
    for side, p, q in m.snapshot:
        t = T0_US + shift
        book.append(f"binance-futures,{symbol},{t},{t + 700},true,{'bid' if side == 1 else 'ask'},"
                    f"{_px(m, p)},{_qty(m, q)}")
    for t, side, p, q in m.updates:
        t += shift
        book.append(f"binance-futures,{symbol},{t},{t + 700},false,{'bid' if side == 1 else 'ask'},{_px(m, p)},"
                    f"{_qty(m, q)}")
    trades = [head + "id,side,price,amount"]
    for t, tid, side, p, q in m.trades:
        t += shift
        trades.append(f"binance-futures,{symbol},{t},{t + 700},{tid},{'buy' if side == 1 else 'sell'},"
                      f"{_px(m, p)},{_qty(m, q)}")
    suffix = ".csv.gz" if gz else ".csv"
    date = (np.datetime64("2024-08-09") + day).astype(str)
    out = []
    for name, lines in (("incremental_book_L2", book), ("trades", trades)):
        path = folder / f"binance-futures_{name}_{date}_{symbol}{suffix}"
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        out.append(path)
    return out[0], out[1]


def write_tardis_snapshots(m: Market, folder: Path, depth: int = 25) -> tuple[Path, Path]:
    """``book_snapshot_<depth>`` (the book after the snapshot and after each update) and ``quotes`` CSVs."""
    book = {(s, p): q for s, p, q in m.snapshot}
    cols = ",".join(f"asks[{k}].price,asks[{k}].amount,bids[{k}].price,bids[{k}].amount" for k in range(depth))
    snap = [f"exchange,symbol,timestamp,local_timestamp,{cols}"]
    quotes = ["exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"]
    for t, side, p, q in [(T0_US, 0, 0, 0), *m.updates]:
        if side:
            book[(side, p)] = q
            if q == 0:
                del book[(side, p)]
        bids = sorted(((p, q) for (s, p), q in book.items() if s == 1), reverse=True)
        asks = sorted((p, q) for (s, p), q in book.items() if s == -1)
        row = []
        for k in range(depth):
            for lv in (asks, bids):
                row += [_px(m, lv[k][0]), _qty(m, lv[k][1])] if k < len(lv) else ["", ""]
        snap.append(f"binance-futures,BTCUSDT,{t},{t + 700}," + ",".join(row))
        quotes.append(f"binance-futures,BTCUSDT,{t},{t + 700},{_qty(m, asks[0][1])},{_px(m, asks[0][0])},"
                      f"{_px(m, bids[0][0])},{_qty(m, bids[0][1])}")
    a = folder / f"binance-futures_book_snapshot_{depth}_2024-08-09_BTCUSDT.csv"
    b = folder / "binance-futures_quotes_2024-08-09_BTCUSDT.csv"
    a.write_text("\n".join(snap) + "\n")
    b.write_text("\n".join(quotes) + "\n")
    return a, b


HFTBT_DTYPE = np.dtype([("ev", "<u8"), ("exch_ts", "<i8"), ("local_ts", "<i8"), ("px", "<f8"), ("qty", "<f8"),
                        ("order_id", "<u8"), ("ival", "<i8"), ("fval", "<f8")], align=True)
EXCH, LOCAL, BUYF, SELLF = 1 << 31, 1 << 30, 1 << 29, 1 << 28


def write_hftbacktest(m: Market, path: Path) -> Path:
    """An hftbacktest event file (its documented 64-byte dtype and flags), as its converters save it."""
    rows = [(EXCH | LOCAL | 3 | BUYF, T0_US * 1000, T0_US * 1000 + 700_000, 0.0, 0.0, 0, 0, 0.0),
            (EXCH | LOCAL | 3 | SELLF, T0_US * 1000, T0_US * 1000 + 700_000, 0.0, 0.0, 0, 0, 0.0)]
    for side, p, q in m.snapshot:
        rows.append((EXCH | LOCAL | 4 | (BUYF if side == 1 else SELLF), T0_US * 1000, T0_US * 1000 + 700_000,
                     p * m.tick, q * m.lot, 0, 0, 0.0))
    merged = sorted([(t, 1, (side, p, q, 0)) for t, side, p, q in m.updates] +
                    [(t, 0, (side, p, q, tid)) for t, tid, side, p, q in m.trades])
    for t, is_depth, (side, p, q, tid) in merged:
        code = 1 if is_depth else 2
        rows.append((EXCH | LOCAL | code | (BUYF if side == 1 else SELLF), t * 1000, t * 1000 + 700_000, p * m.tick,
                     q * m.lot, tid, 0, 0.0))
    arr = np.array(rows, dtype=HFTBT_DTYPE)
    np.savez_compressed(path, data=arr)
    return path


def write_dbn(m: Market, folder: Path, *, symbol: str = "AAPL") -> dict[str, Path]:
    """DBN files (MBO, MBP-10, MBP-1, trades) of `symbol` written with databento-dbn's own encoder."""
    import databento_dbn as d

    P = 1_000_000_000

    def meta(schema):
        return d.Metadata(dataset="XNAS.ITCH", schema=schema, start=0, stype_in=d.SType.RAW_SYMBOL,
                          stype_out=d.SType.INSTRUMENT_ID, symbols=[symbol], partial=[], not_found=[], mappings=[])

    def px(ticks: int) -> int:  # 0.01 USD ticks as DBN fixed-point 1e-9
        return ticks * 10_000_000

    side_of = {1: d.Side.BID, -1: d.Side.ASK}
    agg_of = {1: d.Side.BID, -1: d.Side.ASK}
    # MBO: one order per snapshot level, each update replaces its level's order (cancel + add), trades fill
    mbo, oid, level_oid, level_qty = [], 1, {}, {}
    for side, p, q in m.snapshot:
        p = p - 590_000
        mbo.append(d.MBOMsg(publisher_id=1, instrument_id=7, ts_event=T0_US * 1000, order_id=oid, price=px(p),
                            size=q, action=d.Action.ADD, side=side_of[side], ts_recv=T0_US * 1000 + 500, flags=128,
                            sequence=oid))
        level_oid[(side, p)], level_qty[(side, p)] = oid, q
        oid += 1
    for t, side, p, q in m.updates:
        p = p - 590_000
        key, ts = (side, p), t * 1000
        if key in level_oid:
            mbo.append(d.MBOMsg(publisher_id=1, instrument_id=7, ts_event=ts, order_id=level_oid.pop(key),
                                price=px(p), size=level_qty.pop(key), action=d.Action.CANCEL, side=side_of[side],
                                ts_recv=ts + 500, flags=0 if q else 128, sequence=oid))
        if q:
            mbo.append(d.MBOMsg(publisher_id=1, instrument_id=7, ts_event=ts, order_id=oid, price=px(p), size=q,
                                action=d.Action.ADD, side=side_of[side], ts_recv=ts + 500, flags=128, sequence=oid))
            level_oid[key], level_qty[key] = oid, q
            oid += 1
    trades = [d.TradeMsg(publisher_id=1, instrument_id=7, ts_event=t * 1000, price=px(p - 590_000), size=q,
                         action=d.Action.TRADE, side=agg_of[s], depth=0, ts_recv=t * 1000 + 500, flags=128,
                         sequence=tid) for t, tid, s, p, q in m.trades]
    mbp10, mbp1 = [], []
    book = {(s, p - 590_000): q for s, p, q in m.snapshot}
    for t, side, p, q in m.updates:
        p = p - 590_000
        book[(side, p)] = q
        if q == 0:
            del book[(side, p)]
        bids = sorted(((p, q) for (s, p), q in book.items() if s == 1), reverse=True)
        asks = sorted((p, q) for (s, p), q in book.items() if s == -1)

        def pair(k, bids=bids, asks=asks):
            b = bids[k] if k < len(bids) else None
            a = asks[k] if k < len(asks) else None
            return d.BidAskPair(bid_px=px(b[0]) if b else d.UNDEF_PRICE, ask_px=px(a[0]) if a else d.UNDEF_PRICE,
                                bid_sz=b[1] if b else 0, ask_sz=a[1] if a else 0)
        kw = dict(publisher_id=1, instrument_id=7, ts_event=t * 1000, price=px(p), size=q, action=d.Action.ADD,
                  side=side_of[side], depth=0, ts_recv=t * 1000 + 500, flags=128)
        mbp10.append(d.MBP10Msg(**kw, levels=[pair(k) for k in range(10)]))
        mbp1.append(d.MBP1Msg(**kw, levels=pair(0)))
    out = {}
    for name, schema, recs in (("mbo", d.Schema.MBO, mbo), ("mbp-10", d.Schema.MBP_10, mbp10),
                               ("mbp-1", d.Schema.MBP_1, mbp1), ("trades", d.Schema.TRADES, trades)):
        path = folder / f"xnas-itch-20240809.{name}.dbn"
        path.write_bytes(meta(schema).encode() + b"".join(bytes(r) for r in recs))
        out[name] = path
    _ = P
    return out


MAPPING = """\
instrument: {symbol: XYZ, venue: MYVENUE, tick_size: "0.1", lot_size: "0.001", currency: USDT}
time_unit: us
columns: {exch_ts: ts, local_ts: recv, kind: type, side: side, price: px, qty: size, order_id: id}
kinds: {S: snapshot_level, L: level_set, T: trade, C: clear}
sides: {B: buy, A: sell, N: none}
"""


def write_table(m: Market, folder: Path, *, parquet: bool = False, sidecar: bool = True) -> Path:
    """A generic table (one row per event) with its column mapping beside it (``<name>.mapping.yaml``)."""
    import polars as pl

    rows = [(T0_US, T0_US + 700, "C", "N", None, None, None)]
    rows += [(T0_US, T0_US + 700, "S", "B" if s == 1 else "A", _px(m, p), _qty(m, q), None) for s, p, q in m.snapshot]
    ev = sorted([(t, 1, ("L", s, p, q, None)) for t, s, p, q in m.updates] +
                [(t, 0, ("T", s, p, q, tid)) for t, tid, s, p, q in m.trades])
    for t, _, (k, s, p, q, tid) in ev:
        rows.append((t, t + 700, k, "B" if s == 1 else "A", _px(m, p), _qty(m, q), tid))
    df = pl.DataFrame(rows, schema=["ts", "recv", "type", "side", "px", "size", "id"], orient="row")
    path = folder / ("xyz.parquet" if parquet else "xyz.csv")
    if parquet:
        df.write_parquet(path)
    else:
        df.write_csv(path)
    if sidecar:
        (folder / "xyz.mapping.yaml").write_text(MAPPING)
    return path


# --- Binance captures (``<local_receive_ts_ns> <raw JSON>`` lines, gzipped; usdm BTCUSDT) ----------------------
BINANCE_E0 = 1_723_161_257_000  # exchange time of a capture's first line, ms


def _binance_line(ms: int, obj: dict) -> str:
    """A capture line `ms` after `BINANCE_E0`, received 1.27 s later (as the recorder's clock runs)."""
    return f"{(BINANCE_E0 + ms) * 1_000_000 + 1_270_000_000} {json.dumps(obj, separators=(',', ':'))}"


def binance_depth(ms: int, first: int, last: int, pu: int, b: list, a: list) -> str:
    """A usdm ``depthUpdate`` diff (``pu``: the update it follows)."""
    return _binance_line(ms, {"stream": "btcusdt@depth@0ms", "data": {
        "e": "depthUpdate", "E": BINANCE_E0 + ms, "T": BINANCE_E0 + ms, "s": "BTCUSDT", "U": first, "u": last,
        "pu": pu, "b": b, "a": a}})


def binance_snapshot(ms: int, lid: int, bids: list, asks: list) -> str:
    """The REST depth snapshot line."""
    return _binance_line(ms, {"lastUpdateId": lid, "E": BINANCE_E0 + ms, "T": BINANCE_E0 + ms, "bids": bids,
                              "asks": asks})


def binance_trade(ms: int, tid: int, p: str, q: str) -> str:
    return _binance_line(ms, {"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": BINANCE_E0 + ms, "T": BINANCE_E0 + ms, "s": "BTCUSDT", "t": tid, "p": p, "q": q,
        "X": "MARKET", "m": True}})


def write_binance(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def binance_crossing(folder: Path) -> tuple[list[Path], int]:
    """Two days of one usdm stream (``<folder>/usdm/btcusdt_2024080{8,9}.gz``); line 3 of the second day puts a
    bid above the best ask, and the book stays crossed one more line. Returns the files and the exchange time
    (ns) of the crossing line."""
    day1 = write_binance(folder / "usdm" / "btcusdt_20240808.gz", [
        binance_depth(0, 96, 105, 95, [["99.80", "3.000"]], []),  # buffered, spans the snapshot
        binance_snapshot(1, 100, [["100.00", "1.000"]], [["100.10", "1.000"], ["100.30", "1.000"]]),
        binance_trade(2, 7, "100.00", "0.001"),
        binance_depth(3, 106, 110, 105, [["99.90", "1.000"]], []),
    ])
    day2 = write_binance(folder / "usdm" / "btcusdt_20240809.gz", [
        binance_depth(10, 111, 115, 110, [], [["100.20", "2.000"]]),
        binance_depth(11, 116, 120, 115, [], [["100.10", "0"]]),  # best ask now 100.20
        binance_depth(12, 121, 125, 120, [["100.30", "1.000"]], []),  # crossed: bid 100.30 over ask 100.20
        binance_depth(13, 126, 130, 125, [], [["100.30", "0"]]),  # still crossed
    ])
    return [day1, day2], (BINANCE_E0 + 12) * 1_000_000
