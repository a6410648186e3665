"""Every structured dtype, enum code and flag of `hft`, defined once.

Market events
-------------
`EVENT_DTYPE` is the canonical market event. All fields are integers: times in int64 ns UTC, prices in integer
ticks, quantities in integer lots (see `hft.core.instrument.Instrument` for the scale). Int64 fields come first
so every field is naturally aligned (56-byte records), which numba reads fastest.

=========  =====  ===========================================================================================
field      type   meaning
=========  =====  ===========================================================================================
exch_ts    i8     exchange timestamp, ns UTC
local_ts   i8     local (receive) timestamp, ns UTC; equals exch_ts when the source has no receive time
price      i8     price in ticks (0 for CLEAR / HALT)
qty        i8     quantity in lots. ADD: order size; CANCEL / EXEC: size removed; DELETE: size removed
                  (LOBSTER gives it); LEVEL_SET / SNAPSHOT_LEVEL: new total at the level (0 deletes it);
                  TRADE: traded size
order_id   i8     venue order id for L3 events, trade id for TRADE, 0 when not applicable
seq        i8     source sequence number: LOBSTER message row, Binance update id (`u`) or trade id
kind       u1     one of the `EV_*` codes below
side       i1     `BUY` (1) / `SELL` (-1) / 0. For book events: the side of the resting order or level.
                  For TRADE: the *aggressor* side. For EXEC (L3): the resting order's side (as LOBSTER).
flags      u1     bit set of `FLAG_*`
=========  =====  ===========================================================================================
"""

from __future__ import annotations

import numpy as np

# --- sides -------------------------------------------------------------------------------------------------
BUY = 1
SELL = -1

# --- event kinds -------------------------------------------------------------------------------------------
EV_ADD = 1  # new resting order (L3)
EV_CANCEL = 2  # partial cancel of a resting order (L3); qty = size removed
EV_DELETE = 3  # full delete of a resting order (L3); qty = size removed
EV_EXEC = 4  # visible execution against a resting order (L3); qty = size executed
EV_HIDDEN_EXEC = 5  # execution against hidden liquidity; book unchanged
EV_TRADE = 6  # a trade print (L2 feeds; LOBSTER cross trade); side = aggressor
EV_LEVEL_SET = 7  # L2 depth update: the level's total quantity becomes qty (0 removes it)
EV_CLEAR = 8  # clear the book (side 0 = both sides); used before a snapshot / resync
EV_SNAPSHOT_LEVEL = 9  # a level of a full snapshot (after a CLEAR); same semantics as LEVEL_SET
EV_HALT = 10  # trading halt / resume marker (LOBSTER type 7); price -1 halt, 1 quote, 0 resume
EV_TICKER = 11  # venue's own best bid or ask (Binance bookTicker); side says which; informational only

EVENT_KIND_NAMES: dict[int, str] = {
    EV_ADD: "add",
    EV_CANCEL: "cancel",
    EV_DELETE: "delete",
    EV_EXEC: "exec",
    EV_HIDDEN_EXEC: "hidden_exec",
    EV_TRADE: "trade",
    EV_LEVEL_SET: "level_set",
    EV_CLEAR: "clear",
    EV_SNAPSHOT_LEVEL: "snapshot_level",
    EV_HALT: "halt",
    EV_TICKER: "ticker",
}

# --- event flags -------------------------------------------------------------------------------------------
FLAG_EOM = 1  # last event of a source message: the book is consistent after applying it
FLAG_RESYNC = 2  # part of a resynchronisation after a gap (--allow-gaps)
FLAG_PREOPEN = 4  # reconstructs state that existed before the recording started (seeded liquidity)

EVENT_DTYPE = np.dtype(
    [
        ("exch_ts", "<i8"),
        ("local_ts", "<i8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("order_id", "<i8"),
        ("seq", "<i8"),
        ("kind", "u1"),
        ("side", "i1"),
        ("flags", "u1"),
    ],
    align=True,
)

EVENT_FIELDS: tuple[str, ...] = tuple(EVENT_DTYPE.names or ())

# Sentinels for empty book levels in top-N snapshots.
NO_PRICE = np.iinfo(np.int64).min


def empty_events(n: int) -> np.ndarray:
    """A zeroed, writable event array of length `n`."""
    return np.zeros(n, dtype=EVENT_DTYPE)
