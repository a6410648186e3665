"""A seeded synthetic L2 stream for the simulator benchmark, as the peer's rows and as our events (the same rows).

The book is a ladder around a touch that random-walks one tick at a time: each message is a few depth updates
within `LEVELS` ticks of the touch (the touch levels always keep quantity, deeper levels may empty), sometimes a
move of the touch (the level it leaves on the side it moves into is emptied first, so the book never crosses),
and sometimes a trade at the touch. Times advance by a random 20-200 µs per message; the local timestamp is the
exchange timestamp + 500 µs (feed latency from the data). Our events carry ``FLAG_EOM`` on the last row of each
message (the peer has no message boundary; its strategy wakes on every row).
"""

from __future__ import annotations

import numpy as np
from numba import njit

TICK, LOT = 0.1, 0.001
BASE_TICKS = 500_000  # 50,000.0
LEVELS = 10
# hftbacktest event flags (hftbacktest.types)
_DEPTH, _TRADE = 1, 2
_EXCH, _LOCAL, _BUY, _SELL = 1 << 31, 1 << 30, 1 << 29, 1 << 28


@njit(cache=True)
def _generate(n, seed, ev, ts, px, qty, eom):
    """Fill `n` rows: ev flags, exchange time, price (ticks), qty (lots), end-of-message flag."""
    np.random.seed(seed)
    bid = BASE_TICKS
    ask = BASE_TICKS + 1
    t = 1_700_000_000_000_000_000
    i = 0
    while i < n:
        t += np.random.randint(20_000, 200_000)
        start = i
        r = np.random.random()
        if r < 0.08 and i + 2 <= n:  # the touch moves one tick
            if np.random.random() < 0.5:  # up: the ask level at the old ask empties, a bid appears there
                ev[i], px[i], qty[i] = _EXCH | _LOCAL | _DEPTH | _SELL, ask, 0
                ev[i + 1], px[i + 1], qty[i + 1] = _EXCH | _LOCAL | _DEPTH | _BUY, ask, np.random.randint(1, 50)
                bid += 1
                ask += 1
            else:
                ev[i], px[i], qty[i] = _EXCH | _LOCAL | _DEPTH | _BUY, bid, 0
                ev[i + 1], px[i + 1], qty[i + 1] = _EXCH | _LOCAL | _DEPTH | _SELL, bid, np.random.randint(1, 50)
                bid -= 1
                ask -= 1
            ts[i] = t
            ts[i + 1] = t
            i += 2
        elif r < 0.16:  # a trade at the touch
            if np.random.random() < 0.5:
                ev[i], px[i] = _EXCH | _LOCAL | _TRADE | _BUY, ask
            else:
                ev[i], px[i] = _EXCH | _LOCAL | _TRADE | _SELL, bid
            qty[i] = np.random.randint(1, 20)
            ts[i] = t
            i += 1
        k = np.random.randint(1, 6)  # depth updates of the message
        while k > 0 and i < n:
            off = np.random.randint(0, LEVELS)
            q = np.random.randint(1 if off == 0 else 0, 60)  # the touch keeps quantity
            if np.random.random() < 0.5:
                ev[i], px[i] = _EXCH | _LOCAL | _DEPTH | _BUY, bid - off
            else:
                ev[i], px[i] = _EXCH | _LOCAL | _DEPTH | _SELL, ask + off
            qty[i] = q
            ts[i] = t
            i += 1
            k -= 1
        if i > start:
            eom[i - 1] = 1


def synthetic_rows(n: int = 2_000_000, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """(peer rows in hftbacktest's event dtype, our EVENT_DTYPE events) of the same `n`-row stream."""
    from hft.core.dtypes import EV_LEVEL_SET, EV_TRADE, EVENT_DTYPE, FLAG_EOM

    ev = np.zeros(n, np.uint64)
    ts = np.zeros(n, np.int64)
    px = np.zeros(n, np.int64)
    qty = np.zeros(n, np.int64)
    eom = np.zeros(n, np.uint8)
    # a bootstrap snapshot: LEVELS levels a side, so the first messages find a two-sided book
    boot = 2 * LEVELS
    _generate(n - boot, seed, ev[boot:], ts[boot:], px[boot:], qty[boot:], eom[boot:])
    for j in range(LEVELS):
        ev[j], px[j], qty[j] = _EXCH | _LOCAL | _DEPTH | _BUY, BASE_TICKS - j, 30
        ev[LEVELS + j], px[LEVELS + j], qty[LEVELS + j] = _EXCH | _LOCAL | _DEPTH | _SELL, BASE_TICKS + 1 + j, 30
    ts[:boot] = ts[boot] - 1_000
    eom[boot - 1] = 1
    from hftbacktest.types import event_dtype

    rows = np.zeros(n, event_dtype)
    rows["ev"] = ev
    rows["exch_ts"] = ts
    rows["local_ts"] = ts + 500_000
    rows["px"] = px * TICK
    rows["qty"] = qty * LOT
    ours = np.zeros(n, EVENT_DTYPE)
    ours["kind"] = np.where((ev & 0xFF) == _TRADE, EV_TRADE, EV_LEVEL_SET)
    ours["side"] = np.where((ev & _BUY) != 0, 1, -1)
    ours["price"] = px
    ours["qty"] = qty
    ours["exch_ts"] = ts
    ours["local_ts"] = ts + 500_000
    ours["seq"] = np.arange(n)
    ours["flags"] = np.where(eom != 0, FLAG_EOM, 0)
    ours.flags.writeable = False
    return rows, ours


def synthetic_market_data(events: np.ndarray):
    """A `hft.data.sources.MarketData` around `events` (symbol SYNTHL2, tick 0.1, lot 0.001, L2)."""
    from hft.core.instrument import Instrument
    from hft.data.sources import MarketData

    inst = Instrument(symbol="SYNTHL2", venue="SYNTH", tick_size="0.1", lot_size="0.001", book_level="L2")
    return MarketData("synthetic", events, inst, {})
