"""`hft data inspect`: what is in a market-data stream.

Reports the instrument, the time span in exchange time (``exch_ts``: UTC, and the wall time of the instrument's
time zone) and in receive time (``local_ts``, when the source records it apart) with the receive latency
(``local_ts - exch_ts``), counts by event kind, trade count and volume, the top-of-book statistics
(spread in ticks, quantity at the best level and in the best 5 levels) sampled at every point where the book
is consistent (events flagged `FLAG_EOM`), crossed and locked book counts, sequence gaps recorded by the
importer and the largest silence between events.

Where the book comes from:
* LOBSTER (raw or imported with its ``.ref.parquet``): the provider's orderbook rows (exact; `hft data verify`
  proves our rebuild equals them).
* L2 streams (Binance): rebuilt with the L2 kernels (`hft.book.l2`).
* L3 event files without a reference book: level totals rebuilt from the events (adds add, cancels /
  deletes / executions subtract; quantity from before the recording start is unknown, so levels are floored
  at 0 — the report says so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from hft.book.l2 import (
    L2_OK,
    L2_OUT_OF_RANGE,
    L2Book,
    book_for,
    grow,
    top_n,
)
from hft.book.l2_view import local_apply
from hft.core.dtypes import (
    EV_EXEC,
    EV_HIDDEN_EXEC,
    EV_TRADE,
    EVENT_KIND_NAMES,
    FLAG_EOM,
    NO_PRICE,
)
from hft.core.instrument import Instrument
from hft.core.jit import njit
from hft.data._convert import iso_time
from hft.data.sources import MarketData, each_stream

DEPTH_LEVELS = 5


def inspect_files(files: list[Path], *, allow_gaps: bool = False, fmt: str | None = None,
                  mapping: Path | None = None) -> dict[str, Any]:
    """Describe each stream of `files` (`hft.data.sources.each_stream`: several LOBSTER days, say, each on its own;
    the files that chain as one)."""
    return each_stream(files, inspect_market_data, allow_gaps=allow_gaps, fmt=fmt, mapping=mapping)


def inspect_market_data(md: MarketData) -> dict[str, Any]:
    """Describe an opened stream (see the module docstring)."""
    ev = md.events
    inst = md.instrument
    kinds, counts = np.unique(ev["kind"], return_counts=True)
    trades = np.isin(ev["kind"], (EV_TRADE, EV_EXEC, EV_HIDDEN_EXEC))  # every print, visible or hidden
    if md.lobster is not None:
        bpx, bq, apx, aq, b5, a5 = _from_reference(md.lobster.reference, md.lobster.levels)
        book_source = "reference orderbook file"
    else:
        bpx, bq, apx, aq, b5, a5, _ = book_tops(ev, inst)
        book_source = "rebuilt from events" + (" (pre-recording quantity unknown)" if inst.book_level == "L3" else "")
    both = (bpx != NO_PRICE) & (apx != NO_PRICE)
    spread = (apx[both] - bpx[both]).astype(np.int64)
    gaps_ts = np.diff(ev["exch_ts"]) if len(ev) > 1 else np.zeros(0, np.int64)
    return {
        "ok": True,
        "kind": md.kind,
        "instrument": _instrument_dict(inst),
        "events": len(ev),
        **_times(ev, inst),
        "counts": {EVENT_KIND_NAMES.get(int(k), str(int(k))): int(c) for k, c in zip(kinds, counts, strict=True)},
        "trades": int(trades.sum()),
        "traded_qty_lots": int(ev["qty"][trades].sum()),
        "book_source": book_source,
        "book_samples": len(bpx),
        "spread_ticks": _dist(spread),
        "best_qty_lots": {"bid_mean": _mean(bq[bpx != NO_PRICE]), "ask_mean": _mean(aq[apx != NO_PRICE])},
        "top5_qty_lots": {"bid_mean": _mean(b5), "ask_mean": _mean(a5)},
        "crossed": int((spread < 0).sum()),
        "locked": int((spread == 0).sum()),
        "one_sided_samples": int((~both).sum()),
        "gaps": int(md.meta.get("gaps", 0)),
        "max_event_gap_s": round(float(gaps_ts.max()) / 1e9, 6) if len(gaps_ts) else 0.0,
    }


def _instrument_dict(inst: Instrument) -> dict[str, Any]:
    return {"symbol": inst.symbol, "venue": inst.venue, "tick_size": inst.tick_size, "lot_size": inst.lot_size,
            "currency": inst.currency, "timezone": inst.timezone, "book_level": inst.book_level,
            **({"kind": inst.kind, "contract_size": inst.contract_size, "settle_currency": inst.settlement}
               if inst.inverse or inst.contract_size != "1" else {})}


def _times(ev: np.ndarray, inst: Instrument) -> dict[str, Any]:
    """The stream's times, each named for what it is: ``exchange_time`` (the span of ``exch_ts``, in UTC and, for
    an instrument with another time zone, as the wall time there), ``receive_time`` (the span of ``local_ts``,
    when the source recorded our receive time apart from the exchange's) and then ``receive_latency_ms``
    (``local_ts - exch_ts``: min, median, p99, max; a negative one means the two clocks disagree)."""
    if len(ev) == 0:
        return {"exchange_time": {"start_utc": "—", "end_utc": "—", "duration_s": 0.0},
                "receive_time": {"recorded": False}}
    exch, local = ev["exch_ts"], ev["local_ts"]
    out: dict[str, Any] = {"exchange_time": _span(int(exch.min()), int(exch.max()), inst.timezone)}
    if np.array_equal(exch, local):  # LOBSTER and other sources with one time
        out["receive_time"] = {"recorded": False, "note": "the source records one time (local_ts = exch_ts)"}
        return out
    out["receive_time"] = {"recorded": True, **_span(int(local.min()), int(local.max()), "UTC")}
    lat = (local - exch).astype(np.float64) / 1e6
    out["receive_latency_ms"] = {"min": round(float(lat.min()), 3), "median": round(float(np.median(lat)), 3),
                                 "p99": round(float(np.percentile(lat, 99)), 3), "max": round(float(lat.max()), 3)}
    if lat.min() < 0:
        out["receive_latency_ms"]["note"] = ("negative: local_ts before exch_ts, the receiver's clock is behind "
                                             "the exchange's (not a latency)")
    return out


def _span(t0: int, t1: int, timezone: str) -> dict[str, Any]:
    """Start and end (ns) in UTC, and as the wall time in `timezone` when it is not UTC, and the duration."""
    span: dict[str, Any] = {"start_utc": iso_time(t0), "end_utc": iso_time(t1)}
    if timezone not in ("UTC", "Etc/UTC"):
        tz = ZoneInfo(timezone)
        span.update({"timezone": timezone, "start_in_timezone": iso_time(t0, tz), "end_in_timezone": iso_time(t1, tz)})
    span["duration_s"] = round((t1 - t0) / 1e9, 3)
    return span


def _dist(x: np.ndarray) -> dict[str, float | int | None]:
    if len(x) == 0:
        return {"mean": None, "median": None, "p95": None, "min": None, "max": None}
    return {"mean": round(float(x.mean()), 4), "median": float(np.median(x)), "p95": float(np.percentile(x, 95)),
            "min": int(x.min()), "max": int(x.max())}


def _mean(x: np.ndarray) -> float | None:
    return round(float(x.mean()), 3) if len(x) else None


def _from_reference(ref: np.ndarray, levels: int) -> tuple[np.ndarray, ...]:
    n = min(levels, DEPTH_LEVELS)
    bid_q = ref[:, 3:4 * n:4]
    ask_q = ref[:, 1:4 * n:4]
    return ref[:, 2], ref[:, 3], ref[:, 0], ref[:, 1], bid_q.sum(axis=1), ask_q.sum(axis=1)


def book_tops(ev: np.ndarray, inst: Instrument) -> tuple[np.ndarray, ...]:
    """The book rebuilt from the events, sampled at each consistent point (an `FLAG_EOM` event): best bid price,
    its quantity, best ask price, its quantity, the best 5 levels' quantity a side, and the sample's event row
    (a malformed level update is skipped, so samples and EOM events need not pair one to one)."""
    n_eom = int(np.count_nonzero(ev["flags"] & FLAG_EOM))
    out = np.empty((7, n_eom), dtype=np.int64)
    book = book_for(ev)
    is_l3 = inst.book_level == "L3"
    i, k = 0, 0
    while i < len(ev):
        status, i, k = _top_series(book, ev, i, k, is_l3, out)
        if status == L2_OUT_OF_RANGE:
            book = grow(book, int(ev[i]["side"]), int(ev[i]["price"]))
        elif status != L2_OK:
            i += 1  # a malformed level update: skip it (verify reports these precisely)
    return tuple(out[:, :k])


@njit(cache=True)
def _top_series(book: L2Book, ev: np.ndarray, start: int, k: int, is_l3: bool,
                out: np.ndarray) -> tuple[int, int, int]:
    """Replay from `start`, writing top-of-book samples at EOM events into `out` from column `k`.

    Preconditions (`book_tops`): `out` has a column per FLAG_EOM event (an event writes at most one sample, and one
    not applied returns before it writes), and `ev` passed the event check (`hft.data._eventcheck`: quantities
    summing to at most 2**61), so a level's size and the sum of the best 5 stay in int64."""
    bpx = np.empty(5, np.int64)
    bq = np.empty(5, np.int64)
    apx = np.empty(5, np.int64)
    aq = np.empty(5, np.int64)
    top = np.empty(4, np.int64)
    for i in range(start, len(ev)):
        e = ev[i]
        status = local_apply(book, e.kind, e.side, e.price, e.qty, is_l3, top)
        if status != L2_OK:
            return status, i, k
        if e.flags & FLAG_EOM:
            top_n(book, bpx, bq, apx, aq)
            out[0, k] = bpx[0]
            out[1, k] = bq[0]
            out[2, k] = apx[0]
            out[3, k] = aq[0]
            out[4, k] = bq.sum()
            out[5, k] = aq.sum()
            out[6, k] = i
            k += 1
    return L2_OK, len(ev), k
