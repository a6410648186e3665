"""The peer's market-by-order backtest on a LOBSTER day: hftbacktest 2.4.4, `l3_fifo_queue_model()`.

`peer_rows(events)` converts OUR canonical events of a LOBSTER day (`hft.data.lobster`: one event per message) into
the peer's L3 events, so that both tools replay the same messages:

==================== =====================================================================================
our event            the peer's rows (flags ``EXCH_EVENT | LOCAL_EVENT``; side = the resting order's side)
==================== =====================================================================================
EV_ADD               ADD_ORDER_EVENT (id, price, qty)
EV_CANCEL (partial)  MODIFY_ORDER_EVENT (id, price, remaining qty), or CANCEL_ORDER_EVENT when none remains
EV_DELETE            CANCEL_ORDER_EVENT (id)
EV_EXEC              FILL_EVENT (id, price, qty) then MODIFY_ORDER_EVENT / CANCEL_ORDER_EVENT as a cancel:
                     the peer's FILL does not change its book, a MODIFY or CANCEL must follow
EV_HIDDEN_EXEC,      TRADE_EVENT (aggressor side; the peer's L3 exchange ignores trades, its local side keeps none:
EV_TRADE             ``last_trades_capacity(0)``)
==================== =====================================================================================

The peer refuses a cancel, modify or fill of an id its book does not hold, and a LOBSTER file references orders
that rested before the recording started (or outside a level-L window): the first reference to such an id is
preceded by an ADD (same time, same price) of the quantity the file removes from it over the day, so the order
enters and leaves the peer's book where the file says. Prices are integer ticks and sizes integer lots (tick and
lot size 1.0), as in our events.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from hft.core.dtypes import BUY, EV_ADD, EV_CANCEL, EV_DELETE, EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE

PEER_OID_BASE = 1 << 40  # the peer strategy's order ids, far above LOBSTER's


def peer_rows(events: np.ndarray) -> np.ndarray:
    """The peer's L3 event rows for our LOBSTER events (module docstring)."""
    from hftbacktest.types import (
        ADD_ORDER_EVENT,
        BUY_EVENT,
        CANCEL_ORDER_EVENT,
        EXCH_EVENT,
        FILL_EVENT,
        LOCAL_EVENT,
        MODIFY_ORDER_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    kind, side, price, qty, oid = (events[f].tolist() for f in ("kind", "side", "price", "qty", "order_id"))
    ets, lts = events["exch_ts"].tolist(), events["local_ts"].tolist()
    added: set[int] = set()
    removed: dict[int, int] = {}  # ids referenced before any add: lots the file removes from them
    for k, o, q in zip(kind, oid, qty, strict=True):
        if k == EV_ADD:
            added.add(o)
        elif k in (EV_CANCEL, EV_DELETE, EV_EXEC) and o not in added:
            removed[o] = removed.get(o, 0) + q
    both = EXCH_EVENT | LOCAL_EVENT
    rows: list[tuple] = []
    live: dict[int, int] = {}
    for i, k in enumerate(kind):
        s, p, q, o = side[i], float(price[i]), qty[i], oid[i]
        sflag = BUY_EVENT if s == BUY else SELL_EVENT
        if k == EV_ADD:
            live[o] = q
            rows.append((both | ADD_ORDER_EVENT | sflag, ets[i], lts[i], p, float(q), o, 0, 0.0))
            continue
        if k in (EV_HIDDEN_EXEC, EV_TRADE):
            aggressor = s if k == EV_TRADE else -s
            rows.append((both | TRADE_EVENT | (BUY_EVENT if aggressor == BUY else SELL_EVENT), ets[i], lts[i], p,
                         float(q), 0, 0, 0.0))
            continue
        if k not in (EV_CANCEL, EV_DELETE, EV_EXEC):
            continue
        if o not in live:
            if o in added or removed.get(o, 0) <= 0:
                continue  # already gone from the book (a clipped reference): nothing for the peer
            live[o] = removed.pop(o)
            rows.append((both | ADD_ORDER_EVENT | sflag, ets[i], lts[i], p, float(live[o]), o, 0, 0.0))
        if k == EV_EXEC:
            rows.append((both | FILL_EVENT | sflag, ets[i], lts[i], p, float(q), o, 0, 0.0))
        left = 0 if k == EV_DELETE else max(live[o] - q, 0)
        if left > 0:
            live[o] = left
            rows.append((both | MODIFY_ORDER_EVENT | sflag, ets[i], lts[i], p, float(left), o, 0, 0.0))
        else:
            del live[o]
            rows.append((both | CANCEL_ORDER_EVENT | sflag, ets[i], lts[i], p, 0.0, o, 0, 0.0))
    return np.array(rows, dtype=event_dtype)


def _asset(rows: np.ndarray) -> Any:
    from hftbacktest import BacktestAsset

    return (BacktestAsset().data([rows]).linear_asset(1.0).constant_order_latency(1_000_000, 1_000_000)
            .l3_fifo_queue_model().no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
            .tick_size(1.0).lot_size(1.0).last_trades_capacity(0))


def _backtest(rows: np.ndarray | list[np.ndarray]) -> Any:
    """The peer's backtest of one asset per row array (several: one clock over the assets, the peer's own merge)."""
    from hftbacktest import HashMapMarketDepthBacktest

    return HashMapMarketDepthBacktest([_asset(r) for r in (rows if isinstance(rows, list) else [rows])])


def peer_replay(rows: np.ndarray | list[np.ndarray]) -> tuple[float, tuple[float, float]]:
    """(seconds incl. construction, final best bid / ask of the first asset) of a pure replay: no orders, elapse
    to the end; `rows` one asset's rows or a list of several assets' (one backtest)."""
    t0 = time.perf_counter()
    hbt = _backtest(rows)
    while hbt.elapse(1 << 62) == 0:
        pass
    dt = time.perf_counter() - t0
    depth = hbt.depth(0)
    best = (float(depth.best_bid), float(depth.best_ask))
    hbt.close()
    return dt, best


def peer_mm(rows: np.ndarray | list[np.ndarray], kernel: Any, lot: int, max_position: int) -> tuple[float, int]:
    """(seconds incl. construction, orders sent) of one quote-at-touch run, quoting every asset of `rows`."""
    t0 = time.perf_counter()
    hbt = _backtest(rows)
    n = kernel(hbt, len(rows) if isinstance(rows, list) else 1, float(lot), float(max_position), PEER_OID_BASE, True)
    dt = time.perf_counter() - t0
    hbt.close()
    return dt, int(n)


def peer_python_loop(rows: np.ndarray) -> tuple[float, int]:
    """(seconds incl. construction, feed wake-ups) of the peer's loop written in plain Python, doing nothing at each
    feed (``wait_next_feed`` to the end of the data): what a strategy written as a Python loop over the peer costs,
    the peer's counterpart of our no-op Python ``on_book``."""
    t0 = time.perf_counter()
    hbt = _backtest(rows)
    wakes = 0
    while True:
        r = hbt.wait_next_feed(False, 1 << 62)  # 0: timeout, 1: end of data, 2 + asset: a feed event
        if r == 1:
            break
        wakes += r >= 2
    dt = time.perf_counter() - t0
    hbt.close()
    return dt, wakes


def peer_queue_quote_kernel() -> Any:
    """``peer_queue_quote(hbt, lot, max_pos, k_pct, oid0) -> orders sent`` (njit, built lazily): the rule of our
    example kernel with the full context (docs/examples/queue_quote.py) on the peer's API, no gateway. Rest one
    buy at the best bid; step inside the spread (bid + 1) when more than k_pct % of the bid level is ahead of it; at
    max_pos offer the position at the best ask (following it). The peer's strategy API shows no queue position on
    its market-by-order backtest, so the queue ahead is the level's quantity when the order was placed (what a
    strategy on it can know); it keeps no trade prints (``last_trades_capacity(0)``): the last-print test of ours
    has no counterpart. The work per feed is the same: the depth at our level, our orders, the position."""
    from numba import njit

    @njit
    def peer_queue_quote(hbt, lot, max_pos, k_pct, oid0):
        oid = oid0
        n_orders = 0
        ahead = 0.0
        while True:
            r = hbt.wait_next_feed(True, 1 << 62)
            if r == 1:
                break
            if r != 2 and r != 3:
                continue
            depth = hbt.depth(0)
            bid = depth.best_bid
            ask = depth.best_ask
            if not (bid == bid and ask == ask) or bid >= ask:  # NaN: a side empty; the L3 book may cross
                continue
            hbt.clear_inactive_orders(0)
            buy_id = 0
            buy_px = 0.0
            buy_ok = False
            sell_id = 0
            sell_px = 0.0
            sell_ok = False
            values = hbt.orders(0).values()
            while True:
                o = values.next()
                if o is None:
                    break
                if o.side == 1:
                    buy_id = o.order_id
                    buy_px = o.price
                    buy_ok = o.cancellable
                else:
                    sell_id = o.order_id
                    sell_px = o.price
                    sell_ok = o.cancellable
            pos = hbt.position(0)
            if pos >= max_pos * lot:
                if buy_id != 0 and buy_ok:
                    hbt.cancel(0, buy_id, False)
                if sell_id == 0:
                    oid += 1
                    n_orders += 1
                    hbt.submit_sell_order(0, oid, ask, pos, 0, 0, False)
                elif sell_ok and sell_px != ask:
                    hbt.cancel(0, sell_id, False)
                continue
            if buy_id == 0:
                oid += 1
                n_orders += 1
                hbt.submit_buy_order(0, oid, bid, lot, 0, 0, False)
                ahead = depth.bid_qty_at_tick(depth.best_bid_tick)
                continue
            if not buy_ok:
                continue
            if buy_px < bid or buy_px >= ask:
                hbt.cancel(0, buy_id, False)
                continue
            if buy_px == bid and ask - bid > 1.0:
                level = depth.bid_qty_at_tick(depth.best_bid_tick)
                if ahead * 100.0 > k_pct * level:
                    hbt.cancel(0, buy_id, False)
                    oid += 1
                    n_orders += 1
                    hbt.submit_buy_order(0, oid, bid + 1.0, lot, 0, 0, False)
                    ahead = 0.0
        return n_orders

    return peer_queue_quote


def peer_queue_quote(rows: np.ndarray, kernel: Any, lot: int, max_position: int, k_pct: int) -> tuple[float, int]:
    """(seconds incl. construction, orders sent) of one run of `peer_queue_quote_kernel`'s loop."""
    t0 = time.perf_counter()
    hbt = _backtest(rows)
    n = kernel(hbt, float(lot), float(max_position), float(k_pct), PEER_OID_BASE)
    dt = time.perf_counter() - t0
    hbt.close()
    return dt, int(n)
